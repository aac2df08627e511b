package core

import (
	"time"

	"colt/schedule"
	"colt/workloads"
)

// EventExpand reports that the search grew (a model expanded a node) between samples; it is
// sent at most once per TuneOptions.SnapshotEvery and always carries a Snapshot.
const EventExpand EventKind = "expand"

// Snapshot is the state a console shows: the search tree, the model table, the latency series
// and the programs. It is built on the engine's goroutine and never changed afterwards, so a
// consumer on another goroutine may keep and read it.
type Snapshot struct {
	// Tree is the search tree in node-ID order (a parent before its children); nil for
	// strategies that keep no tree.
	Tree []TreeNode
	// Models are the per-model statistics (nil without models).
	Models []ModelStat
	// Series has one point per sample of this run, in order.
	Series []SeriesPoint
	// Best is the fastest program known (earlier runs included), Current the latest one
	// measured; nil until there is one.
	Best, Current *Program
	// Pinned is the model the operator pinned ("" for none); Escalating says an escalation is
	// pending (the next expansion is the largest model's).
	Pinned     string
	Escalating bool
	// Largest is the largest model of the set ("" without models).
	Largest string
}

// TreeNode is one node of the search tree as the console draws it.
type TreeNode struct {
	ID, Parent, Depth int // Parent is -1 for the root
	// Transformations made the node from its parent ("" for the root and sketch samples);
	// ProposedBy is the model that proposed them ("" for the root, sketch samples and random
	// expansions); Model is the model that expands the node.
	Transformations string
	ProposedBy      string
	Model           string
	// Score is the cost model's prediction for the program; LatencyS its measured latency
	// (0 until measured or when it failed).
	Score    float64
	LatencyS float64
	Measured bool
	Visits   int
	// Pruned nodes were removed by a course alteration; Altered nodes are the largest model's
	// re-expansions; OnBestPath marks the path from the root to the best program.
	Pruned, Altered, OnBestPath bool
	// Program is the node's program (the root's is the unscheduled program).
	Program *Program
}

// SeriesPoint is one sample of the latency plot.
type SeriesPoint struct {
	Sample   int
	LatencyS float64 // 0 when the candidate failed
	BestS    float64 // best so far, earlier runs included (0 = none yet)
}

// Program is a candidate program by its trace; its text is built on request, so a snapshot
// stays cheap however large the tree.
type Program struct {
	Hash  string
	task  *workloads.Task
	trace *schedule.Trace
	space schedule.SpaceOptions
}

// NewProgram is the program a trace makes of a task's unscheduled program (an empty trace: the
// unscheduled program itself), identified by hash.
func NewProgram(hash string, t *workloads.Task, tr *schedule.Trace, space schedule.SpaceOptions) *Program {
	return &Program{Hash: hash, task: t, trace: tr, space: space}
}

// Text renders the program as TIR ("tir") or C ("c"); a trace that no longer builds is an
// error saying why.
func (p *Program) Text(format string) (string, error) {
	return EmitTrace(p.task, p.trace, p.space, format)
}

// TreeSnapshotter is a strategy that keeps a search tree the console can draw.
type TreeSnapshotter interface {
	// TreeSnapshot returns the tree's nodes in ID order, with the best path marked.
	TreeSnapshot(program func(hash string, t *schedule.Trace) *Program) []TreeNode
}

// Steering reports a steerable strategy's pin and pending escalation.
type Steering interface {
	SteeringState() (pinned string, escalating bool, largest string)
}

// ProgressReporter is a strategy that reports its own steps (a model's expansion) between
// samples, so a console stays live while slow model calls run.
type ProgressReporter interface {
	SetProgress(func())
}

// snapshot builds the run's snapshot.
func (r *run) snapshot() *Snapshot {
	s := &Snapshot{Series: r.series[:len(r.series):len(r.series)], Best: r.best, Current: r.current}
	if ms, ok := r.opt.Strategy.(interface{ ModelStats() []ModelStat }); ok {
		s.Models = ms.ModelStats()
	}
	if st, ok := r.opt.Strategy.(Steering); ok {
		s.Pinned, s.Escalating, s.Largest = st.SteeringState()
	}
	if ts, ok := r.opt.Strategy.(TreeSnapshotter); ok {
		s.Tree = ts.TreeSnapshot(r.program)
	}
	return s
}

// program makes a Program of a trace of the run's task.
func (r *run) program(hash string, t *schedule.Trace) *Program {
	if t == nil {
		return nil
	}
	return NewProgram(hash, r.task, t, r.space)
}

// withSnapshot attaches a snapshot to an event when one is due: always for the start, the end
// and operator actions, at most once per SnapshotEvery otherwise.
func (r *run) withSnapshot(e *Event, always bool) {
	if r.opt.SnapshotEvery <= 0 {
		return
	}
	now := time.Now()
	if !always && now.Sub(r.lastSnapshot) < r.opt.SnapshotEvery {
		return
	}
	r.lastSnapshot = now
	e.Snapshot = r.snapshot()
}

// expanded is the strategy's progress callback: a throttled EventExpand with a snapshot.
func (r *run) expanded() {
	if r.opt.SnapshotEvery <= 0 || time.Since(r.lastSnapshot) < r.opt.SnapshotEvery {
		return
	}
	e := r.event(EventExpand, nil)
	r.withSnapshot(&e, true)
	r.emit(e)
}
