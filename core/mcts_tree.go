package core

import (
	"math"

	"colt/schedule"
)

// Node is a joint state of the COLT search tree: a program (its schedule trace) and the model
// that will expand it. The tree is shared by every model.
type Node struct {
	ID       int
	Parent   *Node
	Children []*Node
	Depth    int

	Trace *schedule.Trace
	Func  *schedule.Func
	Hash  string

	// Model is the model that expands this node (the joint state's model component).
	Model string
	// ProposedBy is the model whose expansion created this node ("" for the root and for
	// random expansions); Transformations are what it applied to the parent's program.
	ProposedBy      string
	Transformations []string
	// Altered marks a node made by a course alteration (the largest model re-expanding a
	// parent after repeated small-model regressions).
	Altered bool

	// Score is the cost model's prediction for this node's program (higher is faster).
	Score float64
	// Visits and Value are the MCTS statistics: visits through this node and the sum of the
	// rollout rewards back-propagated through it.
	Visits int
	Value  float64
	// Pruned nodes were removed from their parent by a course alteration; they stay reachable
	// for reports, never for selection.
	Pruned bool
	// LatencyS is the measured latency once measured (0 until then or when it failed).
	LatencyS float64
	Measured bool

	// pending counts the expansions of this node in flight: they will be its children, so
	// selection counts them against the branching factor. virtual counts the selections in
	// flight through this node: each weighs in MA-UCT as a visit with reward 0 (virtual loss),
	// so concurrent selections spread over different paths.
	pending, virtual int
}

// Regressed reports whether the node's program is predicted slower than its parent's.
func (n *Node) Regressed() bool { return n.Parent != nil && n.Score < n.Parent.Score }

// Mean is the node's average reward, W/N (0 before any visit).
func (n *Node) Mean() float64 {
	if n.Visits == 0 {
		return 0
	}
	return n.Value / float64(n.Visits)
}

// ModelSizes gives each model's parameter count, for the size term of MA-UCT.
type ModelSizes map[string]float64

// PhiSmall is the paper's size preference of a model: 1 for the smallest model of the set, 0 for
// the largest, linear in log parameter count between them; 0 when all models have one size (or
// the model is unknown or the search uses no models).
func (sizes ModelSizes) PhiSmall(model string) float64 {
	n, ok := sizes[model]
	if !ok || n <= 0 {
		return 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range sizes {
		if s > 0 {
			lo, hi = min(lo, s), max(hi, s)
		}
	}
	if !(hi > lo) {
		return 0
	}
	return (math.Log(hi) - math.Log(n)) / (math.Log(hi) - math.Log(lo))
}

// Largest is the name of the model with the most parameters ("" with no models); ties go to the
// name that sorts first, so the choice is deterministic.
func (sizes ModelSizes) Largest() string {
	best, bestN := "", -1.0
	for name, n := range sizes {
		if n > bestN || (n == bestN && name < best) {
			best, bestN = name, n
		}
	}
	return best
}

// UCTParams are the constants of MA-UCT.
type UCTParams struct {
	Lambda      float64 // weight of the size preference (paper: 0.5)
	Exploration float64 // c (paper: √2)
}

// MAUCT is the model-aware UCT value of a child: (1−λ)·W/N + λ·φ_small(m) + c·√(ln N_parent / N),
// with m the model that expands the child. N counts the selections in flight through the child
// as visits with reward 0 (virtual loss). An unvisited child is +Inf, so it is tried first.
func MAUCT(child *Node, sizes ModelSizes, p UCTParams) float64 {
	visits := child.Visits + child.virtual
	if visits == 0 {
		return math.Inf(1)
	}
	parentVisits := 1
	if child.Parent != nil {
		parentVisits = max(child.Parent.Visits+child.Parent.virtual, 1)
	}
	explore := p.Exploration * math.Sqrt(math.Log(float64(parentVisits))/float64(visits))
	return (1-p.Lambda)*child.Value/float64(visits) + p.Lambda*sizes.PhiSmall(child.Model) + explore
}

// SelectLeaf descends from root by MA-UCT to the first node with fewer than branching live
// children, counting expansions in flight as children: the node to expand next. Ties go to the
// earlier child, so selection is deterministic.
func SelectLeaf(root *Node, branching int, sizes ModelSizes, p UCTParams) *Node {
	n := root
	for {
		live := n.LiveChildren()
		if len(live)+n.pending < branching || len(live) == 0 {
			return n
		}
		best, bestV := live[0], math.Inf(-1)
		for _, c := range live {
			if v := MAUCT(c, sizes, p); v > bestV {
				best, bestV = c, v
			}
		}
		n = best
	}
}

// LiveChildren are the children not pruned by a course alteration.
func (n *Node) LiveChildren() []*Node {
	var out []*Node
	for _, c := range n.Children {
		if !c.Pruned {
			out = append(out, c)
		}
	}
	return out
}

// reserve marks an expansion of leaf in flight: one more pending child of leaf, one more
// virtual loss on every node from leaf to the root. release undoes it when the answer is in.
func reserve(leaf *Node) {
	leaf.pending++
	for n := leaf; n != nil; n = n.Parent {
		n.virtual++
	}
}

func release(leaf *Node) {
	leaf.pending--
	for n := leaf; n != nil; n = n.Parent {
		n.virtual--
	}
}

// Backpropagate adds one visit and the reward to the node and each of its ancestors.
func Backpropagate(n *Node, reward float64) {
	for ; n != nil; n = n.Parent {
		n.Visits++
		n.Value += reward
	}
}

// NeedsCourseAlteration is the paper's trigger, tested after a child made by a small model has
// been rolled out and before back-propagation: the child regresses against its parent, and
// another node on the same root-to-node path was also made by a small model and regressed
// against its own parent, with no step of the largest model between them (the two small-model
// regressions are consecutive; the largest model's step, a course alteration or a regular
// expansion, starts the count again). Regressions on other branches do not count.
func NeedsCourseAlteration(child *Node, largest string) bool {
	if !smallRegression(child, largest) {
		return false
	}
	for a := child.Parent; a != nil && a.ProposedBy != largest; a = a.Parent {
		if smallRegression(a, largest) {
			return true
		}
	}
	return false
}

// smallRegression reports a node made by a model other than the largest that regressed.
func smallRegression(n *Node, largest string) bool {
	return n.ProposedBy != "" && n.ProposedBy != largest && !n.Altered && n.Regressed()
}

// Prune removes a child from the search (it stays in the tree for reports).
func Prune(child *Node) { child.Pruned = true }

// FloorModel returns the largest model when it has had less than floor of all model calls so
// far (counting the call about to be made), so the largest model keeps its minimum share; ""
// when the floor is met.
func FloorModel(calls map[string]int, largest string, floor float64) string {
	if largest == "" || floor <= 0 {
		return ""
	}
	total := 0
	for _, c := range calls {
		total += c
	}
	if float64(calls[largest]) < floor*float64(total+1) {
		return largest
	}
	return ""
}
