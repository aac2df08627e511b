package remote

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"colt/core"
)

// SnapshotEvery is how often a server's run attaches a console snapshot to its events.
const SnapshotEvery = 500 * time.Millisecond

// serverRun is one search of the server: a core session on goroutines of its own, whose events
// a publisher turns into event messages (history as deltas) and progress lines, and whose
// latest state answers consoles that attach.
type serverRun struct {
	s       *Server
	id      string
	spec    RunSpec
	started time.Time
	sess    *core.Session // nil for a run that ended under an earlier server
	cancel  context.CancelFunc
	events  chan core.Event
	done    chan struct{} // closed once the run has ended and its end is published

	mu       sync.Mutex
	info     RunInfo
	latest   *core.Event    // the latest event, with the task's latest snapshot
	snapshot *core.Snapshot // the latest snapshot of latest's task
	pubTask  string         // the task whose history was published last, and how much of it
	pubN     int
	// taskSamples are the samples each task has measured in this process.
	taskSamples map[string]int
	consoles    map[string]time.Time
	report      *core.SessionReport
}

// startRun starts a run (id "" = a new one) of spec.
func (s *Server) startRun(id string, spec RunSpec, started time.Time) (*serverRun, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("the server is shutting down")
	}
	if id == "" {
		id = strconv.Itoa(s.nextID)
		s.nextID++
	}
	s.mu.Unlock()
	if spec.Workload == "" {
		return nil, errors.New("no workload given")
	}
	sess, err := core.NewSession(core.SessionOptions{Config: s.cfg, Workload: spec.Workload, Strategy: spec.Strategy,
		Budget: spec.Budget, TaskOrder: spec.TaskOrder, Seed: spec.Seed, Models: spec.Models, CostModel: spec.CostModel, SnapshotEvery: SnapshotEvery,
		Getenv: s.opt.Getenv, Logf: s.opt.Logf, Store: s.store, Gate: s.gate, RunID: id, Dispatch: s.queue})
	if err != nil {
		return nil, err
	}
	r := &serverRun{s: s, id: id, spec: spec, started: started, sess: sess, events: make(chan core.Event, 256),
		done: make(chan struct{}), consoles: map[string]time.Time{}, taskSamples: map[string]int{}}
	r.info = RunInfo{ID: id, Workload: spec.Workload, Target: sess.Target(), Strategy: sess.Strategy(), Tasks: sess.Tasks(),
		Budget: sess.Budget(), State: RunRunning, Started: started}
	if len(r.info.Tasks) > 0 {
		r.info.Task = r.info.Tasks[0].Name
	}
	ctx, cancel := context.WithCancel(s.ctx)
	r.cancel = cancel
	s.mu.Lock()
	s.runs[id] = r
	s.mu.Unlock()
	r.persist()
	go r.publish()
	go func() {
		defer cancel()
		var rep *core.SessionReport
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("internal error in the tuning engine (please report it): %v", p)
				}
			}()
			rep, err = sess.Run(ctx, core.ChannelSink(r.events))
		}()
		if cerr := sess.Close(); cerr != nil && err == nil {
			err = cerr
		}
		r.finish(rep, err)
		close(r.events)
	}()
	return r, nil
}

// endedRun is a finished run known from its file only.
func endedRun(s *Server, f runFile) *serverRun {
	r := &serverRun{s: s, id: f.ID, spec: f.Spec, started: f.Started, done: make(chan struct{}), consoles: map[string]time.Time{}, taskSamples: map[string]int{}}
	r.info = RunInfo{ID: f.ID, Workload: f.Spec.Workload, Target: s.target, Strategy: f.Spec.Strategy, State: f.State, Error: f.Error, Started: f.Started,
		Task: f.Task, Samples: f.Samples, Budget: f.Budget, BestS: f.BestS, Speedup: f.Speedup}
	close(r.done)
	return r
}

// finish records how the run ended.
func (r *serverRun) finish(rep *core.SessionReport, err error) {
	r.mu.Lock()
	r.report = rep
	switch {
	case err == nil && stoppedByOperator(rep):
		r.info.State = RunStopped
	case err == nil:
		r.info.State = RunDone
	case errors.Is(err, core.ErrInterrupted):
		r.info.State = RunInterrupted // only the server's closing interrupts a run
	default:
		r.info.State, r.info.Error = RunFailed, err.Error()
	}
	r.mu.Unlock()
	r.persist()
}

func stoppedByOperator(rep *core.SessionReport) bool {
	if rep == nil {
		return false
	}
	for _, t := range rep.Tasks {
		if t.StopReason == core.StopStopped {
			return true
		}
	}
	return false
}

// persist writes the run's file.
func (r *serverRun) persist() {
	r.mu.Lock()
	f := runFile{ID: r.id, Spec: r.spec, State: r.info.State, Error: r.info.Error, Started: r.started,
		Task: r.info.Task, Samples: r.info.Samples, Budget: r.info.Budget, BestS: r.info.BestS, Speedup: r.info.Speedup}
	r.mu.Unlock()
	if err := writeJSON(filepath.Join(r.s.cfg.WorkDir, RunsDir, r.id+".json"), f); err != nil {
		r.s.opt.Logf("run %s: %v", r.id, err)
	}
}

// interrupt ends the run's session (the server is closing).
func (r *serverRun) interrupt() {
	if r.cancel != nil {
		r.cancel()
	}
}

// wait returns once the run has ended and its end is published.
func (r *serverRun) wait() { <-r.done }

// runInfo describes the run now.
func (r *serverRun) runInfo() RunInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	info := r.info
	for id, seen := range r.consoles {
		if time.Since(seen) < 3*HeartbeatEvery {
			info.Consoles++
		} else {
			delete(r.consoles, id)
		}
	}
	return info
}

// publish is the run's publisher: it turns every event into an event message and a progress
// line, then publishes the run's end.
func (r *serverRun) publish() {
	defer close(r.done)
	for e := range r.events {
		msg, line := r.absorb(e)
		r.send(runSubject(r.id, "events"), msg)
		if line != "" {
			r.send(SubjectLogs+"."+r.id, &LogMessage{Run: r.id, Line: line})
		}
	}
	r.mu.Lock()
	info, rep := r.info, r.report
	end := &EventMessage{Ended: true, Report: rep, RunError: info.Error, HistoryFrom: -1}
	if info.State == RunInterrupted {
		end.RunError = "colt serve stopped; the run resumes when it starts again on the same work dir"
	}
	if r.latest != nil {
		end.Event = *r.latest
		end.Event.History, end.Event.Snapshot = nil, nil
	}
	r.mu.Unlock()
	r.send(runSubject(r.id, "events"), end)
	line := fmt.Sprintf("colt: run %s %s", r.id, info.State)
	if info.Error != "" {
		line += ": " + info.Error
	}
	r.send(SubjectLogs+"."+r.id, &LogMessage{Run: r.id, Line: line, End: true})
	_ = r.s.nc.Flush()
}

// absorb takes an event into the run's state and returns its message (the history since the
// last one) and its progress line.
func (r *serverRun) absorb(e core.Event) (*EventMessage, string) {
	line, _ := r.s.opt.LogLine(e)
	for _, w := range r.s.workerInfos() {
		e.Workers = append(e.Workers, core.WorkerStatus{ID: w.ID, Connected: w.Connected, Busy: w.Busy, Jobs: w.Jobs, Failures: w.Failures})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.latest == nil || r.latest.Workload != e.Workload {
		r.snapshot = nil
	}
	if e.Snapshot != nil {
		r.snapshot = e.Snapshot
	}
	kept := e
	kept.Snapshot = r.snapshot
	r.latest = &kept
	// The run's samples: what it measured before a restart, and each task's in this process.
	r.taskSamples[e.Workload] = e.Samples
	samples := r.sess.Resumed()
	for _, n := range r.taskSamples {
		samples += n
	}
	r.info.Task, r.info.Samples, r.info.Budget, r.info.BestS, r.info.Speedup = e.Workload, samples, r.sess.Budget(), e.BestS, e.Speedup()
	if going := r.info.State == RunRunning || r.info.State == RunPaused; going && e.State == "paused" {
		r.info.State = RunPaused
	} else if going && e.State != "" {
		r.info.State = RunRunning
	}
	from := 0
	if e.Workload == r.pubTask && r.pubN <= len(e.History) {
		from = r.pubN
	}
	r.pubTask, r.pubN = e.Workload, len(e.History)
	msg := &EventMessage{Event: e, HistoryFrom: from}
	msg.Event.History = e.History[from:]
	return msg, line
}

// send publishes a message; a failure is logged (the NATS connection reconnects by itself).
func (r *serverRun) send(subject string, v versioned) {
	msg, err := encode(subject, v)
	if err == nil {
		err = r.s.nc.PublishMsg(msg)
	}
	if err != nil {
		r.s.opt.Logf("run %s: publish %s: %v", r.id, subject, err)
	}
}

// onAttach answers a console that attaches with the run's whole state.
func (r *serverRun) onAttach(m *nats.Msg) {
	var req AttachRequest
	if err := decode(m, &req); err != nil {
		refuse(m, "%v", err)
		return
	}
	r.noteConsole(req.Console, false)
	info := r.runInfo()
	r.mu.Lock()
	var ev *EventMessage
	if r.latest != nil {
		ev = &EventMessage{Event: *r.latest, HistoryFrom: 0, Report: r.report}
	}
	r.mu.Unlock()
	respond(m, &AttachReply{Run: info, Event: ev})
}

// onCommand applies an operator command and answers with its outcome.
func (r *serverRun) onCommand(m *nats.Msg) {
	var req CommandRequest
	if err := decode(m, &req); err != nil {
		refuse(m, "%v", err)
		return
	}
	if r.sess == nil || r.isEnded() {
		refuse(m, "run %s has ended (%s); start another with colt tune --detach", r.id, r.runInfo().State)
		return
	}
	done := make(chan error, 1)
	cmd := core.Command{Kind: req.Kind, Model: req.Model, Node: req.Node, Done: done}
	select {
	case r.sess.Commands() <- cmd:
	case <-r.done:
		refuse(m, "run %s ended before the command was applied", r.id)
		return
	case <-time.After(10 * time.Second):
		refuse(m, "run %s did not take the command within 10 s", r.id)
		return
	}
	select {
	case err := <-done:
		if err != nil {
			refuse(m, "%v", err)
			return
		}
	case <-r.done:
	case <-time.After(30 * time.Second):
		refuse(m, "run %s did not apply the command within 30 s", r.id)
		return
	}
	respond(m, &CommandReply{})
}

// onConsole counts a console's heartbeat.
func (r *serverRun) onConsole(m *nats.Msg) {
	var beat ConsoleBeat
	if decode(m, &beat) == nil && beat.Console != "" {
		r.noteConsole(beat.Console, beat.Leaving)
	}
}

func (r *serverRun) noteConsole(id string, leaving bool) {
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if leaving {
		delete(r.consoles, id)
	} else {
		r.consoles[id] = time.Now()
	}
}

func (r *serverRun) isEnded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info.State.Ended() || r.info.State == RunInterrupted
}
