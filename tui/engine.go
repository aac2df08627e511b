package tui

import (
	"context"
	"fmt"
	"time"

	"colt/core"
)

// SnapshotEvery limits how often the engine builds a snapshot for the console.
const SnapshotEvery = 100 * time.Millisecond

// Source is what the console drives: a tuning session's tasks, its run and its command
// channel (*core.Session is one).
type Source interface {
	Tasks() []core.TaskRef
	Commands() chan<- core.Command
	Run(ctx context.Context, onEvent func(core.Event)) (*core.SessionReport, error)
}

// Remote is a Source that runs somewhere else: a search of colt serve the console attached to.
// Quitting the console only detaches from it.
type Remote interface {
	Source
	// Remote names what the console is attached to ("run 3 of colt serve").
	Remote() string
}

// Engine is a tuning session running on its own goroutine, as the console drives it: events
// come out through a bounded channel that never blocks the search (the oldest event is dropped
// when the console is behind), commands go in through Commands.
type Engine struct {
	Events   <-chan core.Event
	Commands chan<- core.Command
	// Done is closed when the run has returned.
	Done <-chan struct{}
	// Tasks are the run's tasks in the order they are tuned.
	Tasks []core.TaskRef
	// Remote names the search the console is attached to ("" when the session runs here).
	Remote string

	cancel context.CancelFunc
	report *core.SessionReport
	err    error
}

// Start runs a session on a goroutine of its own. The session should have been made with
// SessionOptions.SnapshotEvery = SnapshotEvery, so its events carry what the panes draw.
func Start(ctx context.Context, src Source) *Engine {
	events := make(chan core.Event, 64)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	e := &Engine{Events: events, Commands: src.Commands(), Done: done, Tasks: src.Tasks(), cancel: cancel}
	if r, ok := src.(Remote); ok {
		e.Remote = r.Remote()
	}
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				e.err = fmt.Errorf("internal error in the tuning engine (please report it): %v", p)
			}
		}()
		e.report, e.err = src.Run(ctx, core.ChannelSink(events))
	}()
	return e
}

// Stop ends the run at once: work under way is dropped, every measured candidate is recorded.
func (e *Engine) Stop() { e.cancel() }

// Result waits for the run to return and gives its report and error.
func (e *Engine) Result() (*core.SessionReport, error) {
	<-e.Done
	return e.report, e.err
}
