package core

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// RoundReport is one round of the task scheduler: the task it went to, what the task measured
// in it, and the allocation and end-to-end estimate after it.
type RoundReport struct {
	Round   int    `json:"round"`
	Task    string `json:"task"`
	Samples int    `json:"samples"`
	// Spent is the samples measured over all tasks after the round.
	Spent int `json:"spent"`
	// EndToEndS is Σ weight × best latency over the Covered tasks that have a latency.
	EndToEndS float64 `json:"estimated_end_to_end_s"`
	Covered   int     `json:"tasks_covered"`
	// Shares are the samples of every task after the round, in the model's order.
	Shares []TaskShare `json:"shares"`
}

// roundSize is the samples of one round of the task scheduler: a batch, or less when the budget
// would not give every task a warm-up round and a few more rounds.
func roundSize(budget, tasks, batch int) int {
	return max(1, min(batch, budget/(3*max(tasks, 1))))
}

// taskRunner is one task's tuner running under the task scheduler, in its own goroutine.
type taskRunner struct {
	allow  *allowance
	cmds   chan Command
	done   chan struct{} // closed when the tuner has returned
	report *Report
	err    error
}

// startTask starts a task's tuner with its first round of samples.
func (s *Session) startTask(ctx context.Context, t sessionTask, samples int, onEvent func(Event), allocs *allocationBoard) (*taskRunner, error) {
	tr := &taskRunner{allow: newAllowance(), cmds: make(chan Command, 16), done: make(chan struct{})}
	tuner, err := s.newTaskTuner(t, samples, onEvent, tr.cmds, tr.allow, allocs)
	if err != nil {
		return nil, err
	}
	go func() {
		defer close(tr.done)
		tr.report, tr.err = tuner.Run(ctx)
	}()
	return tr, nil
}

// schedulerState is what the task scheduler knows while it runs: the tasks' progress and
// latest best latencies, the runners, the rounds.
type schedulerState struct {
	tasks    []sessionTask
	progress []taskProgress
	latest   []float64 // best latency, or the baseline's, once known (0 before)
	runners  []*taskRunner
	finished []bool // the tuner has returned
	budget   int
	spent    int
	rounds   []RoundReport
}

// runScheduled shares a model's budget among its tasks in rounds by the gradient rule. Every
// task's tuner runs in its own goroutine and waits between its rounds, so its search state
// carries over; one task measures at a time. When the budget is spent (or no task can take
// another round), each task in turn confirms its best and reports.
func (s *Session) runScheduled(ctx context.Context, onEvent func(Event), rep *SessionReport) error {
	st := &schedulerState{tasks: s.tasks, progress: make([]taskProgress, len(s.tasks)), latest: make([]float64, len(s.tasks)),
		runners: make([]*taskRunner, len(s.tasks)), finished: make([]bool, len(s.tasks))}
	st.budget = s.budget - s.resumed
	for i, t := range s.tasks {
		st.progress[i] = taskProgress{Name: t.ref.Name, Weight: t.ref.Weight, Group: t.group, FLOPs: t.flops}
	}
	round := roundSize(st.budget, len(s.tasks), s.cfg.Search.BatchSize)
	allocs := &allocationBoard{}
	allocs.set(st.allocation())

	// Operator commands go to the task measuring now; pause and stop also hold the scheduler.
	ctl := newControl()
	var active atomic.Pointer[taskRunner]
	var stop atomic.Bool
	forwarding := make(chan struct{})
	defer close(forwarding)
	go s.forwardCommands(ctl, &active, &stop, forwarding)

	rule := defaultGradientRule()
	var failure error
	for st.spent < st.budget && failure == nil && !stop.Load() {
		if err := ctl.waitRunning(ctx); err != nil || stop.Load() {
			break
		}
		i := rule.next(st.progress, st.finished)
		if i < 0 {
			break
		}
		samples := min(round, st.budget-st.spent)
		tr := st.runners[i]
		if tr == nil {
			var err error
			if tr, err = s.startTask(ctx, s.tasks[i], samples, onEvent, allocs); err != nil {
				failure = err
				break
			}
			st.runners[i] = tr
		} else {
			tr.allow.grants <- grant{samples: samples}
		}
		active.Store(tr)
		before := st.progress[i].Samples
		select {
		case e := <-tr.allow.ends:
			st.progress[i].Samples, st.latest[i] = e.observed, e.bestS
			st.progress[i].Rounds = append(st.progress[i].Rounds, e.bestS)
		case <-tr.done:
			if err := st.collect(i); err != nil {
				failure = err
			} else if tr.report != nil && tr.report.StopReason == StopStopped {
				stop.Store(true)
			}
		}
		st.spent += st.progress[i].Samples - before
		st.rounds = append(st.rounds, st.roundReport(len(st.rounds)+1, i, st.progress[i].Samples-before))
		allocs.set(st.allocation())
	}

	// Each task still waiting confirms its best and reports, in the model's order (or ends at
	// once when the model was stopped, failed or interrupted).
	end := grant{end: true, stop: stop.Load() || failure != nil}
	for i, tr := range st.runners {
		if tr == nil || st.finished[i] {
			continue
		}
		active.Store(tr)
		tr.allow.grants <- end
		<-tr.done
		if err := st.collect(i); err != nil && failure == nil {
			failure = err
		}
	}
	for _, tr := range st.runners {
		if tr != nil && tr.report != nil {
			rep.Tasks = append(rep.Tasks, tr.report)
		}
	}
	rep.Rounds = st.rounds
	if failure == nil && ctx.Err() != nil {
		return fmt.Errorf("%w after %d of %d samples: %v", ErrInterrupted, st.spent, st.budget, ctx.Err())
	}
	return failure
}

// collect takes in the report of a task whose tuner returned, and its error (an interrupt is
// not the task's failure: the caller reports it for the model).
func (st *schedulerState) collect(i int) error {
	tr := st.runners[i]
	st.finished[i] = true
	if r := tr.report; r != nil {
		st.progress[i].Samples = r.Samples
		st.latest[i] = r.BaselineLatencyS
		if r.BestLatencyS != nil {
			st.latest[i] = *r.BestLatencyS
		}
	}
	if tr.err != nil && !errors.Is(tr.err, ErrInterrupted) {
		return tr.err
	}
	return nil
}

// allocation is the current allocation of the budget, with the end-to-end estimate.
func (st *schedulerState) allocation() *Allocation {
	a := &Allocation{Budget: st.budget, Round: len(st.rounds)}
	for i, t := range st.tasks {
		a.Shares = append(a.Shares, TaskShare{Task: t.ref.Name, Samples: st.progress[i].Samples})
		if st.latest[i] > 0 {
			a.EndToEndS += float64(t.ref.Weight) * st.latest[i]
			a.Covered++
		}
	}
	return a
}

// roundReport describes round n, which went to task i and measured samples.
func (st *schedulerState) roundReport(n, i, samples int) RoundReport {
	a := st.allocation()
	return RoundReport{Round: n, Task: st.tasks[i].ref.Name, Samples: samples, Spent: st.spent,
		EndToEndS: a.EndToEndS, Covered: a.Covered, Shares: a.Shares}
}

// forwardCommands hands the operator's commands to the task measuring now until done is
// closed. Pause holds the scheduler too (no task gets a new round), and stop ends the model.
func (s *Session) forwardCommands(ctl *control, active *atomic.Pointer[taskRunner], stop *atomic.Bool, done <-chan struct{}) {
	for {
		var cmd Command
		select {
		case cmd = <-s.cmds:
		case <-done:
			return
		}
		switch cmd.Kind {
		case CmdPause:
			ctl.setPaused(true)
		case CmdResume:
			ctl.setPaused(false)
		case CmdStop:
			stop.Store(true)
			ctl.setPaused(false)
		}
		tr := active.Load()
		if tr == nil {
			reply(cmd, errors.New("no task has started yet: try again once the first baseline is measured"))
			continue
		}
		select {
		case tr.cmds <- cmd:
		case <-tr.done:
			reply(cmd, errors.New("the task has finished"))
		case <-done:
			return
		}
	}
}

// reply answers a command that reached no run.
func reply(cmd Command, err error) {
	if cmd.Done != nil {
		select {
		case cmd.Done <- err:
		default:
		}
	}
}
