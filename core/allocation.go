package core

import (
	"context"
	"sync"
)

// Allocation is how the task scheduler has shared a model's budget so far. Events of a model's
// tasks carry the latest one; it is a value, never changed once sent.
type Allocation struct {
	// Budget is the model's total budget; Round the number of rounds finished so far.
	Budget, Round int
	// Shares are the samples each task has measured or been granted, in the session's task
	// order.
	Shares []TaskShare
	// EndToEndS is Σ weight × best latency over the tasks with a latency (the unscheduled one
	// until a candidate succeeds) after the latest finished round; Covered counts those tasks.
	EndToEndS float64
	Covered   int
}

// TaskShare is one task's part of a model's budget.
type TaskShare struct {
	Task    string
	Samples int
}

// Share is the task's fraction of the budget (0 for a task the allocation does not name).
func (a *Allocation) Share(task string) float64 {
	if a == nil || a.Budget <= 0 {
		return 0
	}
	for _, s := range a.Shares {
		if s.Task == task {
			return float64(s.Samples) / float64(a.Budget)
		}
	}
	return 0
}

// allocationBoard holds the latest Allocation for the events of every task of a session.
type allocationBoard struct {
	mu  sync.Mutex
	cur *Allocation
}

func (b *allocationBoard) set(a *Allocation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cur = a
}

// current is the latest allocation (nil on a nil board or before the first round).
func (b *allocationBoard) current() *Allocation {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur
}

// allowance is the link between the task scheduler and one task's tuner: the tuner measures
// until it has used its grant, reports the round's end and waits for the next grant.
type allowance struct {
	grants chan grant    // scheduler → tuner
	ends   chan roundEnd // tuner → scheduler
}

// grant is the scheduler's answer at the end of a round: more samples, or the end of the task
// (end: confirm and report; stop: the operator stopped the model, end now).
type grant struct {
	samples   int
	end, stop bool
}

// roundEnd is what a tuner reports when it has measured its grant: how many samples it has
// measured in all and its best latency (the baseline's while nothing succeeded).
type roundEnd struct {
	observed int
	bestS    float64
}

func newAllowance() *allowance {
	return &allowance{grants: make(chan grant, 1), ends: make(chan roundEnd, 1)}
}

// endRound reports the end of a round and waits for the scheduler's next grant (or the end of
// ctx, whose error it returns).
func (a *allowance) endRound(ctx context.Context, e roundEnd) (grant, error) {
	select {
	case a.ends <- e:
	case <-ctx.Done():
		return grant{}, ctx.Err()
	}
	select {
	case g := <-a.grants:
		return g, nil
	case <-ctx.Done():
		return grant{}, ctx.Err()
	}
}
