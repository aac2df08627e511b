package core

import (
	"context"
	"math/rand/v2"
	"testing"

	"colt/schedule"
)

// trendScorer predicts a score that moves by step with every prediction it makes, so every new
// child of the tree regresses against its parent (step < 0) or improves on it (step > 0).
type trendScorer struct {
	next, step float64
}

func (s *trendScorer) Name() string       { return "trend" }
func (s *trendScorer) Observe([]Measured) {}
func (s *trendScorer) Predict(cands []*Candidate) []float64 {
	out := make([]float64, len(cands))
	for i := range out {
		out[i] = s.next
		s.next += s.step
	}
	return out
}

// coltWithScorer is a colt search over the test workload with the default sim models, ranking
// with scorer and drawing from a source seeded with seed, initialised and ready to propose.
func coltWithScorer(t *testing.T, scorer Scorer, seed uint64) *Colt {
	t.Helper()
	c, err := NewColtStrategy("colt", DefaultConfig(), scorer, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p := ttProblem(t, seed)
	if err := c.Init(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCourseAlterationInTheSearch(t *testing.T) {
	// Every child regresses: each small-model child below another small-model regression must
	// be pruned and replaced by the largest model's re-expansion of its parent, made in the
	// round after the one that pruned it.
	c := coltWithScorer(t, &trendScorer{next: 1, step: -1e-4}, 9)
	for i := 0; i < 6; i++ {
		c.Propose(context.Background(), 5)
	}
	var pruned, altered int
	queued := map[*Node]int{} // parents still waiting for their re-expansion
	for _, p := range c.alterations {
		queued[p]++
	}
	reexpanded := map[*Node]int{} // parent → altered children seen so far, in ID order
	for _, n := range c.nodes {
		if n.Altered {
			reexpanded[n.Parent]++
			if n.ProposedBy != c.largest {
				t.Errorf("altered node %d was made by %s, want the largest model", n.ID, n.ProposedBy)
			}
		}
		if n.Pruned {
			pruned++
			if n.ProposedBy == "" || n.ProposedBy == c.largest || !NeedsCourseAlteration(n, c.largest) {
				t.Errorf("node %d (by %q) was pruned without a small-model regression below another on its path", n.ID, n.ProposedBy)
			}
			if n.Visits != 0 || n.Value != 0 {
				t.Errorf("pruned node %d was back-propagated: %d visits", n.ID, n.Visits)
			}
			if c.byHash[n.Hash] == n {
				t.Errorf("pruned node %d was proposed for measurement", n.ID)
			}
			continue
		}
		if n.Altered {
			altered++
		}
		if n.ProposedBy != "" && !n.Altered && NeedsCourseAlteration(n, c.largest) {
			t.Errorf("node %d (by %s) regressed below another small-model regression and was kept", n.ID, n.ProposedBy)
		}
	}
	if pruned == 0 {
		t.Fatal("no course alteration in a search where every child regresses")
	}
	// Every pruned node's parent was re-expanded by the largest model later on, or waits for it.
	prunedUnder := map[*Node]int{}
	for _, n := range c.nodes {
		if n.Pruned {
			prunedUnder[n.Parent]++
		}
	}
	for parent, k := range prunedUnder {
		if got := reexpanded[parent] + queued[parent]; got != k {
			t.Errorf("node %d lost %d children to course alterations but has %d re-expansions (%d queued)", parent.ID, k, got, queued[parent])
		}
	}
	stats := map[string]ModelStat{}
	for _, s := range c.ModelStats() {
		stats[s.Name] = s
	}
	if got := stats[c.largest].Altered; got != altered || altered+len(c.alterations) != pruned {
		t.Errorf("%d pruned nodes, %d altered nodes, %d queued, %d course alterations counted; want pruned = altered + queued and the count = altered",
			pruned, altered, len(c.alterations), got)
	}
	// Only the altered continuations were back-propagated: a node's visits are its own
	// iteration's (if it was made by one) plus its live children's.
	for _, n := range c.nodes {
		want := 0
		if len(n.Transformations) > 0 { // made by an iteration, not a sketch sample
			want = 1
		}
		for _, ch := range n.LiveChildren() {
			want += ch.Visits
		}
		if !n.Pruned && n.Visits != want {
			t.Errorf("node %d has %d visits, want %d (its own and its live children's)", n.ID, n.Visits, want)
		}
	}
}

func TestNoCourseAlterationWithoutRegressions(t *testing.T) {
	c := coltWithScorer(t, &trendScorer{next: 0, step: 1e-4}, 9)
	for i := 0; i < 4; i++ {
		c.Propose(context.Background(), 5)
	}
	for _, n := range c.nodes {
		if n.Pruned || n.Altered {
			t.Fatalf("node %d was pruned (%v) or altered (%v) in a search where every child improves", n.ID, n.Pruned, n.Altered)
		}
	}
	for _, s := range c.ModelStats() {
		if s.Altered != 0 {
			t.Errorf("%s counts %d course alterations", s.Name, s.Altered)
		}
		if s.Calls > 0 && s.Hits != s.Calls {
			t.Errorf("%s: %d hits of %d calls, want every call a hit when every child improves", s.Name, s.Hits, s.Calls)
		}
	}
}

func TestNoCourseAlterationWhilePinned(t *testing.T) {
	c := coltWithScorer(t, &trendScorer{next: 1, step: -1e-4}, 9)
	if err := c.Pin("sim-llama-3.1-8b"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		c.Propose(context.Background(), 5)
	}
	for _, s := range c.ModelStats() {
		if s.Name != "sim-llama-3.1-8b" && s.Calls != 0 {
			t.Errorf("while sim-llama-3.1-8b was pinned, %s made %d calls (%d course alterations)", s.Name, s.Calls, s.Altered)
		}
	}
}

func TestBatchIsTheBestPredictedOfTheTree(t *testing.T) {
	c := coltWithScorer(t, hashScorer{}, 3)
	c.opt.RandomShare = 0
	score := func(n *Node) float64 { return hashScorer{}.Predict([]*Candidate{{Hash: n.Hash}})[0] }
	for batch := 0; batch < 4; batch++ {
		before := totalCalls(c)
		got, err := c.Propose(context.Background(), 4)
		if err != nil {
			t.Fatal(err)
		}
		if made := totalCalls(c) - before; made < 4*int(c.opt.ExpansionsPerSample) {
			t.Errorf("batch %d: %d model calls for 4 samples, want at least %g per sample", batch, made, c.opt.ExpansionsPerSample)
		}
		if len(got) != 4 {
			t.Fatalf("batch %d: %d candidates, want 4", batch, len(got))
		}
		worst := 1.0
		for _, cand := range got {
			worst = min(worst, score(c.byHash[cand.Hash]))
			if cand.Proposer == "" {
				t.Errorf("candidate %s has no proposer", cand.Hash)
			}
		}
		for _, n := range c.pending {
			if score(n) > worst {
				t.Errorf("batch %d: node %d (score %.3f) left unmeasured while a candidate scored %.3f", batch, n.ID, score(n), worst)
			}
		}
	}
}

// ttProblem is the search problem of the test workload over its built-in design space,
// drawing from a source seeded with seed.
func ttProblem(t *testing.T, seed uint64) *Problem {
	t.Helper()
	w := ttWorkload(t)
	f := w.Tasks[0].Func()
	space := schedule.DefaultSpaceOptions(2)
	sketches, err := schedule.DesignSpace(f, space)
	if err != nil {
		t.Fatal(err)
	}
	return NewProblem(w.Name, f, w.Tasks[0].FLOPs, sketches, space, rand.New(rand.NewPCG(seed, seed)), nil)
}

// totalCalls is the number of model calls the search has made.
func totalCalls(c *Colt) int {
	n := 0
	for _, s := range c.ModelStats() {
		n += s.Calls
	}
	return n
}
