package tui

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"colt/core"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test ./tui -update rewrites it):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// plainStyles draw no colour, so rendered panes compare as text.
func plainStyles() Styles { return NewStyles(PlainRenderer()) }

// fixtureProgram is a small matmul's unscheduled program as the engine renders it (the text
// in testdata/mm8.tir and mm8.c).
func fixtureProgram(t testing.TB) *core.Program {
	t.Helper()
	tir, err := os.ReadFile(filepath.Join("testdata", "mm8.tir"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile(filepath.Join("testdata", "mm8.c"))
	if err != nil {
		t.Fatal(err)
	}
	return &core.Program{Hash: "5d0c9a7e21f04b3c", TIR: string(tir), C: string(c)}
}

// treeBuilder makes search-tree fixtures: add(parent, transformations, proposer, score,
// latency) appends a node and returns its ID.
type treeBuilder struct{ nodes []core.TreeNode }

func newTree() *treeBuilder {
	return &treeBuilder{nodes: []core.TreeNode{{ID: 0, Parent: -1, Model: "sim-gpt-5.2", Visits: 9}}}
}

func (b *treeBuilder) add(parent int, transforms, proposer string, score, latencyS float64) int {
	id := len(b.nodes)
	b.nodes = append(b.nodes, core.TreeNode{ID: id, Parent: parent, Depth: b.nodes[parent].Depth + 1,
		Transformations: transforms, ProposedBy: proposer, Model: "sim-llama-3.1-8b", Score: score,
		LatencyS: latencyS, Measured: latencyS > 0, Visits: 1})
	return id
}

// best marks the path from the root to id.
func (b *treeBuilder) best(id int) *treeBuilder {
	for n := id; n >= 0; n = b.nodes[n].Parent {
		b.nodes[n].OnBestPath = true
	}
	return b
}

// fixtureTree is a colt tree with sketch samples, model expansions, a pruned child and its
// course alteration.
func fixtureTree() []core.TreeNode {
	b := newTree()
	s1 := b.add(0, "", "", 0.41, 0.0350)
	s2 := b.add(0, "", "", 0.38, 0.0402)
	a := b.add(s1, "TileSize+Unroll", "sim-gpt-5.2", 0.52, 0.0198)
	b.add(s2, "Parallel", "sim-llama-3.1-8b", 0.33, 0.0455)
	c := b.add(a, "TileSize", "sim-llama-3.1-8b", 0.49, 0)
	b.nodes[c].Pruned = true
	d := b.add(a, "ComputeLocation", "sim-gpt-5.2", 0.58, 0.0141)
	b.nodes[d].Altered = true
	b.add(d, "TileSize+TileSize", "sim-gpt-5-mini", 0.61, 0.0152)
	return b.best(d).nodes
}

func fixtureModels() []core.ModelStat {
	return []core.ModelStat{
		{Name: "sim-gpt-5.2", Kind: "sim", Simulated: true, ParamsB: 300, Calls: 12, Share: 0.375, HitRate: 0.5, Errors: 1, Altered: 2, Tokens: 31200},
		{Name: "sim-gpt-5-mini", Kind: "sim", Simulated: true, ParamsB: 20, Calls: 6, Share: 0.1875, HitRate: 0.333, Tokens: 15100},
		{Name: "sim-r1-distill-qwen-32b", Kind: "sim", Simulated: true, ParamsB: 32, Calls: 4, Share: 0.125, HitRate: 0.25, Tokens: 9800},
		{Name: "sim-llama-3.1-8b", Kind: "sim", Simulated: true, ParamsB: 8, Calls: 10, Share: 0.3125, HitRate: 0.4, Errors: 2, Tokens: 24020, InFlight: 2, OldestS: 3.4},
	}
}

// fixtureHistory is 24 samples whose latencies fall from 40 ms with a failure at sample 5.
func fixtureHistory() []core.HistoryEntry {
	var out []core.HistoryEntry
	best := 0.0
	for i := 1; i <= 24; i++ {
		lat := 0.040 * (1 - 0.6*float64(i)/24) * (1 + 0.3*float64((i*7)%5)/5)
		status := core.StatusOK
		if i == 5 {
			lat, status = 0, core.StatusCrash
		}
		if lat > 0 && (best == 0 || lat < best) {
			best = lat
		}
		out = append(out, core.HistoryEntry{Sample: i, Status: status, LatencyS: lat, BestSoFarS: best})
	}
	return out
}

// fixtureData is a complete snapshot of a colt run with its last event.
func fixtureData(t testing.TB) dataMsg {
	prog := fixtureProgram(t)
	tree := fixtureTree()
	tree[0].Hash = prog.Hash
	snap := &core.Snapshot{Tree: tree, Models: fixtureModels(), Best: prog, Current: prog, Selected: prog, SelectedNode: 0,
		Largest: "sim-gpt-5.2"}
	history := fixtureHistory()
	ev := core.Event{Kind: core.EventSample, Workload: "mm8", Strategy: "colt", Target: "cpu: Test CPU, 2 cores, avx2",
		Stats: core.Stats{Samples: 24, Budget: 64, FLOPs: 1_025_000, BestS: 0.0141, BaselineS: 0.120, History: history,
			Vendors: []core.VendorLatency{{Library: "oneDNN", LatencyS: 0.0098}, {Library: "OpenBLAS", LatencyS: 0.0187}}},
		Elapsed: 75 * time.Second, ETA: 125 * time.Second, State: "running", Sample: history[23], Snapshot: snap}
	return dataMsg{event: ev, snapshot: snap}
}

// fakeEngine is an engine whose channels the test holds: nothing runs behind it.
type fakeEngine struct {
	events   chan core.Event
	commands chan core.Command
	done     chan struct{}
}

func newFakeEngine() (*Engine, *fakeEngine) {
	f := &fakeEngine{events: make(chan core.Event, 64), commands: make(chan core.Command, 8), done: make(chan struct{})}
	return &Engine{Events: f.events, Commands: f.commands, Done: f.done, cancel: func() {}}, f
}

// stripTrailing removes the spaces at the ends of lines, for readable golden files.
func stripTrailing(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}
