package core

import (
	"sync"
	"time"

	"colt/schedule"
)

// board holds what one task's run shows: the counters, the latest published tree, the best and
// the latest program, what the measuring side does, and it sends the events. The search side,
// the measuring side, the control goroutine and the ticker all report through it; one lock
// keeps the events in order. Lock order: board, then the CPU gate (never the other way round).
type board struct {
	mu            sync.Mutex
	onEvent       func(Event)
	snapshotEvery time.Duration
	strategy      Strategy
	render        *renderer
	state         func() string // the control's state for the status line

	workload, target, strategyName string
	allocations                    *allocationBoard // a model's allocation (nil: none)

	stats        Stats
	started      time.Time // the run
	timingSince  time.Time // the baseline was known (the pace of the ETA starts here)
	lastSample   time.Time // the latest sample, or the latest round's start (for EventWaiting)
	parked       bool      // between two rounds of the task scheduler: the ticker is quiet
	lastWaiting  time.Time
	activity     string
	tree         []TreeNode
	treeAt       time.Time          // when tree was published
	measured     map[string]float64 // this run's measured candidates: hash → latency (0: failed)
	best         programRef
	current      programRef
	selected     int // node ID, -1 for none
	lastSnapshot time.Time
}

// programRef names a program by its trace; the renderer makes its text when a snapshot needs
// it.
type programRef struct {
	hash  string
	trace *schedule.Trace
}

// snapshotPolicy says whether an event gets a snapshot.
type snapshotPolicy int

const (
	noSnapshot     snapshotPolicy = iota
	snapshotIfDue                 // at most once per snapshotEvery
	alwaysSnapshot                // whenever snapshots are on
)

// update changes the board under its lock.
func (b *board) update(f func(b *board)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(b)
}

// emit sends an event of the run's current state; fill adds the event's own fields.
func (b *board) emit(kind EventKind, policy snapshotPolicy, fill func(*Event)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.emitLocked(kind, policy, fill)
}

func (b *board) emitLocked(kind EventKind, policy snapshotPolicy, fill func(*Event)) {
	if b.onEvent == nil {
		return
	}
	now := time.Now()
	e := Event{Kind: kind, Time: now, Workload: b.workload, Target: b.target, Strategy: b.strategyName,
		Stats: b.stats.value(), State: b.state(), Elapsed: now.Sub(b.started), Allocation: b.allocations.current()}
	if !b.timingSince.IsZero() && e.Samples > 0 && e.Samples < e.Budget {
		per := now.Sub(b.timingSince) / time.Duration(e.Samples)
		e.ETA = per * time.Duration(e.Budget-e.Samples)
	}
	if fill != nil {
		fill(&e)
	}
	if b.snapshotEvery > 0 && (policy == alwaysSnapshot || policy == snapshotIfDue && now.Sub(b.lastSnapshot) >= b.snapshotEvery) {
		b.lastSnapshot = now
		e.Snapshot = b.snapshotLocked()
	}
	b.onEvent(e)
}

// snapshotLocked builds the console's view from what the board holds.
func (b *board) snapshotLocked() *Snapshot {
	s := &Snapshot{Tree: b.treeWithMeasurements(), SelectedNode: b.selected,
		Best: b.render.program(b.best.hash, b.best.trace), Current: b.render.program(b.current.hash, b.current.trace)}
	if b.selected >= 0 && b.selected < len(b.tree) {
		n := b.tree[b.selected]
		s.Selected = b.render.program(n.Hash, n.trace)
	}
	if ms, ok := b.strategy.(ModelStatser); ok {
		s.Models = ms.ModelStats()
	}
	if st, ok := b.strategy.(Steerable); ok {
		s.Pinned, s.Escalating, s.Largest = st.SteeringState()
	}
	return s
}

// treeWithMeasurements is the published tree with what the measuring side has measured since
// (the search side learns of it only when it observes the batch), and the path from the root to
// the fastest measured program marked.
func (b *board) treeWithMeasurements() []TreeNode {
	if len(b.tree) == 0 {
		return b.tree
	}
	tree := make([]TreeNode, len(b.tree))
	best := -1
	for i, n := range b.tree {
		if lat, ok := b.measured[n.Hash]; ok && n.Hash != "" {
			n.Measured, n.LatencyS = true, lat
		}
		n.OnBestPath = false
		if n.LatencyS > 0 && (best < 0 || n.LatencyS < tree[best].LatencyS) {
			best = i
		}
		tree[i] = n
	}
	for i := best; i >= 0; i = tree[i].Parent {
		tree[i].OnBestPath = true
	}
	return tree
}

// publishTree replaces the tree snapshots show; call it from the search side.
func (b *board) publishTree() {
	ts, ok := b.strategy.(TreeSnapshotter)
	if !ok || b.snapshotEvery <= 0 {
		return
	}
	tree := ts.TreeSnapshot()
	b.update(func(b *board) { b.tree, b.treeAt = tree, time.Now() })
}

// waiting is the EventWaiting of the moment, or nil when a sample finished recently.
func (b *board) waitingLocked(now time.Time, every time.Duration) *Waiting {
	since := b.lastSample
	if since.IsZero() {
		since = b.started
	}
	if now.Sub(since) < every || now.Sub(b.lastWaiting) < every {
		return nil
	}
	w := &Waiting{Since: now.Sub(since), Activity: b.activity}
	if ms, ok := b.strategy.(ModelStatser); ok {
		for _, m := range ms.ModelStats() {
			if m.InFlight > 0 {
				w.Calls = append(w.Calls, CallsInFlight{Model: m.Name, Calls: m.InFlight, Oldest: time.Duration(m.OldestS * float64(time.Second))})
			}
		}
	}
	return w
}
