package core

import "colt/schedule"

// Snapshot is the state a console shows: the search tree, the model table and the programs
// (the latency series is the history in Event.Stats). It is built on the engine's side and
// never changed afterwards, so a consumer on another goroutine may keep and read it.
type Snapshot struct {
	// Tree is the search tree in node-ID order (a parent before its children); nil for
	// strategies that keep no tree.
	Tree []TreeNode
	// Models are the per-model statistics, with the calls in flight (nil without models).
	Models []ModelStat
	// Best is the fastest program known (earlier runs included), Current the latest one
	// measured, Selected the program of the tree node the operator selected (CmdSelect); nil
	// until there is one.
	Best, Current, Selected *Program
	// SelectedNode is the ID of the selected node (-1 for none).
	SelectedNode int
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
	// Hash is the node's program's structural hash ("" for the root).
	Hash string

	trace *schedule.Trace // what the engine renders the node's program from
}

// Program is a program rendered for display: the TVMScript-like text the models read and the
// C the backend compiles, made on the engine's side.
type Program struct {
	Hash string
	TIR  string
	C    string
	// Err says why the program could not be rendered ("" when it was).
	Err string
}

// Text is the program in a format ("tir" or "c").
func (p *Program) Text(format string) string {
	if format == "c" {
		return p.C
	}
	return p.TIR
}

// TreeSnapshotter is a strategy that keeps a search tree the console can draw.
type TreeSnapshotter interface {
	// TreeSnapshot returns the tree's nodes in ID order; called on the goroutine that calls
	// the Strategy methods. The engine fills in later measurements and the best path.
	TreeSnapshot() []TreeNode
}

// Steerable is a strategy an operator can steer: the colt and mcts strategies. Its methods may
// be called from any goroutine.
type Steerable interface {
	Pin(model string) error
	Unpin()
	Escalate() error
	// SteeringState reports the pin, a pending escalation and the largest model.
	SteeringState() (pinned string, escalating bool, largest string)
}

// ModelStatser is a strategy that calls models; ModelStats may be called from any goroutine.
type ModelStatser interface {
	ModelStats() []ModelStat
}

// ProgressReporter is a strategy that reports its own steps (a round of expansions) between
// samples, so a console stays live while slow model calls run.
type ProgressReporter interface {
	SetProgress(func())
}

// BatchSizer is a strategy that asks for batches of its own size (at most the configured one).
type BatchSizer interface {
	BatchSize(configured int) int
}
