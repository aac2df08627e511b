package tui

import (
	"testing"

	"colt/core"
)

// bigTree is a binary tree of n nodes with the best path to the last one.
func bigTree(n int) []core.TreeNode {
	b := newTree()
	for i := 1; i < n; i++ {
		b.add((i-1)/2, "TileSize+Unroll", "sim-llama-3.1-8b", float64(i%97)/97, float64(i%13+1)/1000)
	}
	return b.best(n - 1).nodes
}

// BenchmarkTreePane10k measures what the console does per snapshot of a 10,000-node tree:
// take the new tree (children, visible rows, follow-best) and draw the pane.
func BenchmarkTreePane10k(b *testing.B) {
	nodes := bigTree(10000)
	p := NewTreePane(plainStyles(), DefaultKeyMap())
	p.SetSize(120, 40)
	msg := dataMsg{snapshot: &core.Snapshot{Tree: nodes}}
	b.ReportAllocs()
	for b.Loop() {
		p.Update(msg)
		_ = p.View(true)
	}
}

// BenchmarkScreen200x50 draws the whole console at 200×50 with the fixture run.
func BenchmarkScreen200x50(b *testing.B) {
	e, _ := newFakeEngine()
	m := NewModel(e, plainStyles(), DefaultKeyMap())
	m.width, m.height = 200, 50
	m.layout()
	d := fixtureData(b)
	d.snapshot.Tree = bigTree(10000)
	m.Update(eventMsg(d.event))
	for b.Loop() {
		_ = m.View()
	}
}
