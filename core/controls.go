package core

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// CommandKind names an operator action on a running search.
type CommandKind string

// The operator actions. Each is applied as soon as it arrives, whatever the run is doing, and
// answered with an EventControl (CmdSelect with an EventProgram).
const (
	CmdPause    CommandKind = "pause"    // start no new work until resumed (work under way finishes)
	CmdResume   CommandKind = "resume"   // continue after a pause
	CmdPin      CommandKind = "pin"      // every expansion selected from now on uses Command.Model
	CmdUnpin    CommandKind = "unpin"    // model choice returns to the search
	CmdEscalate CommandKind = "escalate" // the next expansion selected uses the largest model
	CmdStop     CommandKind = "stop"     // end the run now; work under way is dropped, records are kept
	CmdExport   CommandKind = "export"   // export the best schedule so far into the work dir
	CmdSelect   CommandKind = "select"   // render the program of tree node Command.Node for the console
)

// Command is one operator action. The outcome is reported as an EventControl (and, when
// Done is set, sent to it: nil or the error).
type Command struct {
	Kind  CommandKind
	Model string // for CmdPin
	Node  int    // for CmdSelect
	Done  chan<- error
}

// errStopped is the cause of a run's end on the operator's request.
var errStopped = errors.New("stopped by the operator")

// control is a run's operator state: paused or not, and the commands' effects. The control
// goroutine applies commands; the search and the measuring side wait on it while paused.
type control struct {
	mu      sync.Mutex
	paused  bool
	running chan struct{} // closed while the run is not paused
}

func newControl() *control {
	c := &control{running: make(chan struct{})}
	close(c.running)
	return c
}

// waitRunning returns at once unless the run is paused; then it waits for the resume or the
// end of ctx (whose error it returns).
func (c *control) waitRunning(ctx context.Context) error {
	for {
		c.mu.Lock()
		ch := c.running
		c.mu.Unlock()
		select {
		case <-ch:
			return ctx.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *control) setPaused(p bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p == c.paused {
		return
	}
	c.paused = p
	if p {
		c.running = make(chan struct{})
	} else {
		close(c.running)
	}
}

// controlLoop applies the run's commands until done is closed.
func (r *run) controlLoop(done <-chan struct{}) {
	defer catchPanic("operator controls", r.cancel)
	for {
		select {
		case cmd := <-r.opt.Commands:
			r.apply(cmd)
		case <-done:
			return
		}
	}
}

// apply carries out one command and reports it.
func (r *run) apply(cmd Command) {
	var msg string
	var err error
	steer, steerable := r.opt.Strategy.(Steerable)
	switch cmd.Kind {
	case CmdPause:
		r.ctl.setPaused(true)
		msg = "paused: no new work starts (a model call, build or timed run under way finishes)"
	case CmdResume:
		r.ctl.setPaused(false)
		msg = "resumed"
	case CmdStop:
		r.ctl.setPaused(false)
		msg = "stopping: the records so far are kept"
	case CmdPin, CmdUnpin, CmdEscalate:
		if !steerable {
			err = fmt.Errorf("%s: the %s strategy has no models to steer (use --strategy colt or mcts)", cmd.Kind, r.opt.Strategy.Name())
			break
		}
		switch cmd.Kind {
		case CmdPin:
			if err = steer.Pin(cmd.Model); err == nil {
				msg = "pinned " + cmd.Model + ": every expansion selected from now on uses it"
			}
		case CmdUnpin:
			steer.Unpin()
			msg = "unpinned"
		case CmdEscalate:
			if err = steer.Escalate(); err == nil {
				msg = "escalation pending: the next expansion selected uses the largest model"
			}
		}
	case CmdExport:
		dir := filepath.Join(r.workDir(), "export", r.opt.Workload.Name)
		r.gate.Work(func() {
			_, err = Export(ExportOptions{
				Workload: r.opt.Workload, Store: r.opt.Store, WorkDir: r.opt.WorkDir, Target: r.opt.Backend.Target(),
				Compiler: r.opt.Backend.Compiler(), CFlags: r.opt.Backend.Config().CFlags, OutDir: dir,
			})
		})
		if err == nil {
			msg = "exported the best schedule to " + dir
		}
	case CmdSelect:
		r.board.update(func(b *board) { b.selected = cmd.Node })
		r.board.emit(EventProgram, alwaysSnapshot, nil)
		if cmd.Done != nil {
			cmd.Done <- nil
		}
		return
	default:
		err = fmt.Errorf("unknown command %q", cmd.Kind)
	}
	if err != nil {
		msg = "error: " + err.Error()
	}
	r.board.emit(EventControl, alwaysSnapshot, func(e *Event) { e.Message = msg })
	if cmd.Done != nil {
		cmd.Done <- err
	}
	if cmd.Kind == CmdStop {
		r.cancel(errStopped)
	}
}

// state is the run's state as the status line shows it; the pin and a pending escalation are
// the strategy's own.
func (r *run) state() string {
	r.ctl.mu.Lock()
	paused := r.ctl.paused
	r.ctl.mu.Unlock()
	var pinned string
	var escalating bool
	if st, ok := r.opt.Strategy.(Steerable); ok {
		pinned, escalating, _ = st.SteeringState()
	}
	switch {
	case paused:
		return "paused"
	case escalating:
		return "escalation pending"
	case pinned != "":
		return "pinned " + pinned
	}
	return "running"
}

// workDir is where the run keeps its files.
func (r *run) workDir() string {
	if r.opt.WorkDir != "" {
		return r.opt.WorkDir
	}
	return filepath.Dir(r.opt.Store.Path())
}
