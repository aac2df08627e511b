package core

import (
	"fmt"
	"testing"
	"time"
)

// TestTreeSnapshotsShowMeasurementsAtOnce: the tree the search published is shown with every
// measurement made since (the search observes them later), and the best path leads to the
// fastest measured program.
func TestTreeSnapshotsShowMeasurementsAtOnce(t *testing.T) {
	b := &board{tree: []TreeNode{
		{ID: 0, Parent: -1},
		{ID: 1, Parent: 0, Hash: "a", Measured: true, LatencyS: 3e-3},
		{ID: 2, Parent: 0, Hash: "b"},
		{ID: 3, Parent: 2, Hash: "c"},
		{ID: 4, Parent: 1, Hash: "d"},
	}, measured: map[string]float64{"c": 1e-3, "d": 0}}
	got := b.treeWithMeasurements()
	want := []string{"0 false 0 true", "1 true 0.003 false", "2 false 0 true", "3 true 0.001 true", "4 true 0 false"}
	for i, n := range got {
		if s := fmt.Sprintf("%d %v %g %v", n.ID, n.Measured, n.LatencyS, n.OnBestPath); s != want[i] {
			t.Errorf("node %d: %s, want %s (id measured latency on-best-path)", i, s, want[i])
		}
	}
	if b.tree[3].Measured || b.tree[0].OnBestPath {
		t.Error("the published tree was changed; snapshots must copy it")
	}
}

// growingTree is a strategy stand-in whose tree gains a node at every snapshot.
type growingTree struct {
	Strategy
	nodes int
}

func (g *growingTree) TreeSnapshot() []TreeNode {
	g.nodes++
	return make([]TreeNode, g.nodes)
}

// TestTreeRepublishedWhileSnapshotsAreRecent: samples and ticks carry snapshots often enough
// that a snapshot is seldom due when the search grows; the tree is republished all the same,
// so a console never shows a stale tree.
func TestTreeRepublishedWhileSnapshotsAreRecent(t *testing.T) {
	g := &growingTree{}
	r := &run{Tuner: &Tuner{opt: TuneOptions{SnapshotEvery: time.Nanosecond}}}
	r.board = &board{strategy: g, snapshotEvery: time.Nanosecond, lastSnapshot: time.Now().Add(time.Hour), selected: -1}
	for range 3 {
		time.Sleep(time.Millisecond)
		r.expanded()
	}
	if len(r.board.tree) != 3 {
		t.Fatalf("after three expansions with a snapshot never due, the board shows %d nodes, want 3", len(r.board.tree))
	}
}
