package core

import (
	"errors"
	"fmt"
	"path/filepath"
)

// CommandKind names an operator action on a running search.
type CommandKind string

// The operator actions. They are applied between steps (before a batch and between the samples
// of a batch), never in the middle of a build or a timed run.
const (
	CmdPause    CommandKind = "pause"    // stop starting new work until resumed
	CmdResume   CommandKind = "resume"   // continue after a pause
	CmdPin      CommandKind = "pin"      // every expansion uses Command.Model until unpinned
	CmdUnpin    CommandKind = "unpin"    // model choice returns to the search
	CmdEscalate CommandKind = "escalate" // the next expansion uses the largest model
	CmdStop     CommandKind = "stop"     // end the run after the current step; records are kept
	CmdExport   CommandKind = "export"   // export the best schedule so far into the work dir
)

// Command is one operator action. The outcome is reported as an EventControl (and, when
// Done is set, sent to it: nil or the error).
type Command struct {
	Kind  CommandKind
	Model string // for CmdPin
	Done  chan<- error
}

// Steerable is a strategy an operator can steer: the colt and mcts strategies.
type Steerable interface {
	Pin(model string) error
	Unpin()
	Escalate() error
}

// EventControl reports the outcome of an operator command: Message says what happened (or
// went wrong) and State is the run's state afterwards.
const EventControl EventKind = "control"

// errStopped ends a run on the operator's request.
var errStopped = errors.New("stopped by the operator")

// steer applies the commands waiting on the command channel. While the run is paused it waits
// for more (resume, stop, or the end of the context), applying the others as they come. It
// returns errStopped when the run should end.
func (r *run) steer() error {
	if r.opt.Commands == nil {
		return nil
	}
	for {
		if r.paused {
			select {
			case cmd := <-r.opt.Commands:
				if err := r.apply(cmd); err != nil {
					return err
				}
			case <-r.ctx.Done():
				return nil
			}
			continue
		}
		select {
		case cmd := <-r.opt.Commands:
			if err := r.apply(cmd); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// apply carries out one command and reports it.
func (r *run) apply(cmd Command) error {
	var msg string
	var err error
	steer, steerable := r.opt.Strategy.(Steerable)
	switch cmd.Kind {
	case CmdPause:
		r.paused, msg = true, "paused"
	case CmdResume:
		r.paused, msg = false, "resumed"
	case CmdStop:
		r.paused, msg = false, "stopping: the records so far are kept"
	case CmdPin, CmdUnpin, CmdEscalate:
		if !steerable {
			err = fmt.Errorf("%s: the %s strategy has no models to steer (use --strategy colt or mcts)", cmd.Kind, r.opt.Strategy.Name())
			break
		}
		switch cmd.Kind {
		case CmdPin:
			if err = steer.Pin(cmd.Model); err == nil {
				r.pinned, msg = cmd.Model, "pinned "+cmd.Model
			}
		case CmdUnpin:
			steer.Unpin()
			r.pinned, msg = "", "unpinned"
		case CmdEscalate:
			if err = steer.Escalate(); err == nil {
				msg = "escalation pending: the next expansion uses the largest model"
			}
		}
	case CmdExport:
		dir := filepath.Join(r.workDir(), "export", r.opt.Workload.Name)
		_, err = Export(ExportOptions{
			Workload: r.opt.Workload, Store: r.opt.Store, WorkDir: r.opt.WorkDir, Target: r.opt.Backend.Target(),
			Compiler: r.opt.Backend.Compiler(), CFlags: r.opt.Backend.Config().CFlags, OutDir: dir,
		})
		if err == nil {
			msg = "exported the best schedule to " + dir
		}
	default:
		err = fmt.Errorf("unknown command %q", cmd.Kind)
	}
	if err != nil {
		msg = "error: " + err.Error()
	}
	r.emit(r.event(EventControl, func(e *Event) { e.Message = msg }))
	if cmd.Done != nil {
		cmd.Done <- err
	}
	if cmd.Kind == CmdStop {
		return errStopped
	}
	return nil
}

// state is the run's state as the status line shows it.
func (r *run) state() string {
	switch {
	case r.paused:
		return "paused"
	case r.escalating():
		return "escalation pending"
	case r.pinned != "":
		return "pinned " + r.pinned
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

// escalating reports an escalation the strategy has not carried out yet.
func (r *run) escalating() bool {
	st, ok := r.opt.Strategy.(Steering)
	if !ok {
		return false
	}
	_, pending, _ := st.SteeringState()
	return pending
}
