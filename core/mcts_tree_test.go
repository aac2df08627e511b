package core

import (
	"math"
	"testing"
)

// paperSizes is the COLT(4) model set of the paper, in billions of parameters.
func paperSizes() ModelSizes {
	return ModelSizes{"gpt-5.2": 300, "gpt-5-mini": 20, "qwen-32b": 32, "llama-8b": 8}
}

func TestPhiSmall(t *testing.T) {
	sizes := paperSizes()
	tests := []struct {
		model string
		want  float64
	}{
		{"llama-8b", 1}, // smallest
		{"gpt-5.2", 0},  // largest
		{"gpt-5-mini", (math.Log(300) - math.Log(20)) / (math.Log(300) - math.Log(8))},
		{"unknown", 0},
	}
	for _, tt := range tests {
		if got := sizes.PhiSmall(tt.model); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("PhiSmall(%s) = %v, want %v", tt.model, got, tt.want)
		}
	}
	if got := (ModelSizes{"a": 7, "b": 7}).PhiSmall("a"); got != 0 {
		t.Errorf("equal sizes: PhiSmall = %v, want 0", got)
	}
	if sizes.Largest() != "gpt-5.2" {
		t.Errorf("Largest = %q", sizes.Largest())
	}
}

// twoChildren builds a root (visited 10 times) with a small-model child of higher mean reward
// and a large-model child.
func twoChildren() (root, small, large *Node) {
	root = &Node{Visits: 10}
	small = &Node{Parent: root, Model: "llama-8b", Visits: 5, Value: 5 * 0.4}
	large = &Node{Parent: root, Model: "gpt-5.2", Visits: 5, Value: 5 * 0.6}
	root.Children = []*Node{small, large}
	return root, small, large
}

func TestMAUCTLambdaExtremes(t *testing.T) {
	sizes := paperSizes()
	_, small, large := twoChildren()
	// λ = 0: plain UCT; equal visits, so the higher mean (the large-model child) wins.
	p0 := UCTParams{Lambda: 0, Exploration: math.Sqrt2}
	if MAUCT(large, sizes, p0) <= MAUCT(small, sizes, p0) {
		t.Error("λ=0: the child with the higher mean reward should win")
	}
	// λ = 1: rewards are ignored; the size term alone (plus equal exploration) decides.
	p1 := UCTParams{Lambda: 1, Exploration: math.Sqrt2}
	if MAUCT(small, sizes, p1) <= MAUCT(large, sizes, p1) {
		t.Error("λ=1: the smaller model's child should win")
	}
	// The value is exactly the formula.
	p := UCTParams{Lambda: 0.5, Exploration: math.Sqrt2}
	want := 0.5*0.4 + 0.5*1 + math.Sqrt2*math.Sqrt(math.Log(10)/5)
	if got := MAUCT(small, sizes, p); math.Abs(got-want) > 1e-12 {
		t.Errorf("MAUCT = %v, want %v", got, want)
	}
	if !math.IsInf(MAUCT(&Node{Parent: small}, sizes, p), 1) {
		t.Error("an unvisited child should be +Inf")
	}
}

func TestSelectLeafExpandsBeforeDescending(t *testing.T) {
	sizes := paperSizes()
	p := UCTParams{Lambda: 0.5, Exploration: math.Sqrt2}
	root, small, _ := twoChildren()
	if got := SelectLeaf(root, 3, sizes, p); got != root {
		t.Error("a node with fewer than B children is expanded first")
	}
	if got := SelectLeaf(root, 2, sizes, p); got != small {
		t.Errorf("with B=2 the search descends by MA-UCT to the small-model child (mean 0.4 + size bonus 0.5)")
	}
	Prune(small)
	if got := SelectLeaf(root, 2, sizes, p); got != root {
		t.Error("a pruned child no longer counts: the root has a free slot again")
	}
}

func TestBackpropagate(t *testing.T) {
	root, small, _ := twoChildren()
	leaf := &Node{Parent: small}
	Backpropagate(leaf, 0.5)
	if leaf.Visits != 1 || small.Visits != 6 || root.Visits != 11 || math.Abs(small.Value-2.5) > 1e-12 {
		t.Errorf("visits %d/%d/%d, value %v", leaf.Visits, small.Visits, root.Visits, small.Value)
	}
}

func TestCourseAlterationFiresOnAPerPathDoubleRegression(t *testing.T) {
	const largest = "gpt-5.2"
	root := &Node{Score: 0.5}
	// Branch A: a small-model regression, then another below it.
	a1 := &Node{Parent: root, ProposedBy: "llama-8b", Score: 0.4}
	a2 := &Node{Parent: a1, ProposedBy: "gpt-5-mini", Score: 0.3}
	// Branch B: a small-model regression on another branch.
	b1 := &Node{Parent: root, ProposedBy: "llama-8b", Score: 0.45}
	// A regression under an improvement, on branch C.
	c1 := &Node{Parent: root, ProposedBy: "llama-8b", Score: 0.7}
	c2 := &Node{Parent: c1, ProposedBy: "llama-8b", Score: 0.6}
	// A large-model regression does not count, and nor does a node made by the largest model.
	d1 := &Node{Parent: root, ProposedBy: largest, Score: 0.3}
	d2 := &Node{Parent: d1, ProposedBy: "llama-8b", Score: 0.2}
	// An improvement never triggers.
	e2 := &Node{Parent: a1, ProposedBy: "llama-8b", Score: 0.9}
	// A step of the largest model between two small-model regressions starts the count again.
	f2 := &Node{Parent: a1, ProposedBy: largest, Score: 0.45}
	f3 := &Node{Parent: f2, ProposedBy: "llama-8b", Score: 0.35}
	f4 := &Node{Parent: f3, ProposedBy: "gpt-5-mini", Score: 0.3}
	tests := []struct {
		name  string
		child *Node
		want  bool
	}{
		{"second small regression on the path", a2, true},
		{"first small regression", a1, false},
		{"regressions on two branches only", b1, false},
		{"one regression under an improvement", c2, false},
		{"the earlier regression was the largest model's", d2, false},
		{"the child improves", e2, false},
		{"a largest-model step between the regressions", f3, false},
		{"two small regressions below the largest model's step", f4, true},
	}
	for _, tt := range tests {
		if got := NeedsCourseAlteration(tt.child, largest); got != tt.want {
			t.Errorf("%s: NeedsCourseAlteration = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A course-altered node is the largest model's continuation: it does not count as a small
	// regression for later tests below it.
	a1.Altered = true
	if NeedsCourseAlteration(a2, largest) {
		t.Error("an altered ancestor counted as a small-model regression")
	}
}

func TestLargestModelFloor(t *testing.T) {
	const largest = "big"
	tests := []struct {
		calls map[string]int
		floor float64
		want  string
	}{
		{map[string]int{}, 0.2, largest},                     // the first call goes to the largest
		{map[string]int{"big": 1, "small": 3}, 0.2, ""},      // 1 of 5 ≥ 20%
		{map[string]int{"big": 1, "small": 4}, 0.2, largest}, // 1 of 6 < 20%
		{map[string]int{"big": 0, "small": 10}, 0, ""},       // no floor
		{map[string]int{"big": 5, "small": 5}, 0.5, largest}, // 5 of the next 11 < 50%
	}
	for i, tt := range tests {
		if got := FloorModel(tt.calls, largest, tt.floor); got != tt.want {
			t.Errorf("case %d %v floor %v: FloorModel = %q, want %q", i, tt.calls, tt.floor, got, tt.want)
		}
	}
	// Enforced over a run: whatever the policy prefers, the largest model's share stays ≥ floor.
	calls := map[string]int{}
	for i := 0; i < 200; i++ {
		m := "small"
		if f := FloorModel(calls, largest, 0.2); f != "" {
			m = f
		}
		calls[m]++
		if share := float64(calls[largest]) / float64(i+1); i >= 4 && share < 0.2 {
			t.Fatalf("after %d calls the largest model has %.2f of them", i+1, share)
		}
	}
}
