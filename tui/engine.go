package tui

import (
	"context"
	"fmt"
	"time"

	"colt/core"
)

// snapshotEvery limits how often the engine builds a snapshot for the console.
const snapshotEvery = 100 * time.Millisecond

// Engine is a tuning run on its own goroutine, as the console drives it: events come out
// through a bounded channel that never blocks the search (the oldest event is dropped when the
// console is behind), commands go in through Commands.
type Engine struct {
	Events   <-chan core.Event
	Commands chan<- core.Command
	// Done is closed when the run has returned.
	Done <-chan struct{}

	cancel context.CancelFunc
	report *core.Report
	err    error
}

// Start starts a tuning run; opt's OnEvent, Commands and SnapshotEvery are the engine's.
func Start(ctx context.Context, opt core.TuneOptions) (*Engine, error) {
	events := make(chan core.Event, 64)
	cmds := make(chan core.Command, 8)
	opt.OnEvent = core.ChannelSink(events)
	opt.Commands = cmds
	opt.SnapshotEvery = snapshotEvery
	tuner, err := core.NewTuner(opt)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	e := &Engine{Events: events, Commands: cmds, Done: done, cancel: cancel}
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				e.err = fmt.Errorf("internal error in the tuning engine (please report it): %v", p)
			}
		}()
		e.report, e.err = tuner.Run(ctx)
	}()
	return e, nil
}

// Stop ends the run: the candidate in flight is dropped, every measured one is recorded.
func (e *Engine) Stop() { e.cancel() }

// Result waits for the run to return and gives its report and error.
func (e *Engine) Result() (*core.Report, error) {
	<-e.Done
	return e.report, e.err
}
