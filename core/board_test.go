package core

import (
	"fmt"
	"testing"
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
