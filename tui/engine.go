package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"colt/core"
)

// snapshotEvery limits how often the engine builds a snapshot for the console.
const snapshotEvery = 100 * time.Millisecond

// Task is one task of a run as the console lists it: the workload name tuned (MODEL:TASK for a
// model's task) and how often it occurs in one run of the model.
type Task struct {
	Name   string
	Weight int
}

// Engine is a tuning run on its own goroutine, as the console drives it: events come out
// through a bounded channel that never blocks the search (the oldest event is dropped when the
// console is behind), commands go in through Commands. A run of several tasks tunes them one
// after another.
type Engine struct {
	Events   <-chan core.Event
	Commands chan<- core.Command
	// Done is closed when the run has returned.
	Done <-chan struct{}
	// Tasks are the run's tasks in the order they are tuned.
	Tasks []Task

	cancel  context.CancelFunc
	reports []*core.Report
	err     error
}

// Start starts a tuning run of one task; opt's OnEvent, Commands and SnapshotEvery are the
// engine's.
func Start(ctx context.Context, opt core.TuneOptions) (*Engine, error) {
	if _, err := core.NewTuner(opt); err != nil {
		return nil, err
	}
	task := Task{Name: opt.Workload.Name, Weight: 1}
	return StartTasks(ctx, []Task{task}, func(string) (core.TuneOptions, error) { return opt, nil })
}

// StartTasks starts a run of several tasks, tuned in order; options builds each task's run
// when its turn comes. The run ends after the last task, at the first error, or when the
// operator stops it.
func StartTasks(ctx context.Context, tasks []Task, options func(name string) (core.TuneOptions, error)) (*Engine, error) {
	if len(tasks) == 0 {
		return nil, errors.New("console: no task to tune")
	}
	events := make(chan core.Event, 64)
	cmds := make(chan core.Command, 8)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	e := &Engine{Events: events, Commands: cmds, Done: done, Tasks: tasks, cancel: cancel}
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				e.err = fmt.Errorf("internal error in the tuning engine (please report it): %v", p)
			}
		}()
		for _, t := range tasks {
			if ctx.Err() != nil {
				e.err = fmt.Errorf("%w before %s: %v", core.ErrInterrupted, t.Name, ctx.Err())
				return
			}
			opt, err := options(t.Name)
			if err != nil {
				e.err = fmt.Errorf("%s: %w", t.Name, err)
				return
			}
			opt.OnEvent, opt.Commands, opt.SnapshotEvery = core.ChannelSink(events), cmds, snapshotEvery
			tuner, err := core.NewTuner(opt)
			if err != nil {
				e.err = fmt.Errorf("%s: %w", t.Name, err)
				return
			}
			rep, err := tuner.Run(ctx)
			if rep != nil {
				e.reports = append(e.reports, rep)
			}
			if err != nil {
				e.err = err
				return
			}
			if rep.StopReason == "stopped" {
				return
			}
		}
	}()
	return e, nil
}

// Stop ends the run: the candidate in flight is dropped, every measured one is recorded.
func (e *Engine) Stop() { e.cancel() }

// Result waits for the run to return and gives the report of the last task run and the
// run's error.
func (e *Engine) Result() (*core.Report, error) {
	<-e.Done
	if len(e.reports) == 0 {
		return nil, e.err
	}
	return e.reports[len(e.reports)-1], e.err
}

// Reports waits for the run to return and gives every task's report, in order.
func (e *Engine) Reports() ([]*core.Report, error) {
	<-e.Done
	return e.reports, e.err
}
