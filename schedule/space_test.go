package schedule

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// spaceFixtures are the programs the design-space tests run on.
func spaceFixtures() map[string]func() *Func {
	return map[string]func() *Func{
		"matmul":      func() *Func { return matmulFunc(64, 64, 32, false) },
		"matmul_relu": func() *Func { return matmulFunc(32, 48, 16, true) },
		"pad_conv":    padConvFunc,
	}
}

func testRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func TestDesignSpaceGolden(t *testing.T) {
	for _, name := range []string{"matmul", "matmul_relu", "pad_conv"} {
		t.Run(name, func(t *testing.T) {
			f := spaceFixtures()[name]()
			sketches, err := DesignSpace(f, DefaultSpaceOptions(2))
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			for i, sk := range sketches {
				fmt.Fprintf(&sb, "## sketch %d: %s\n%s\n", i, sk.Name, sk.Trace)
			}
			golden(t, "space_"+name+".txt", sb.String())
		})
	}
}

func TestMatmulHasFourSketches(t *testing.T) {
	for _, relu := range []bool{false, true} {
		sketches, err := DesignSpace(matmulFunc(32, 32, 32, relu), DefaultSpaceOptions(2))
		if err != nil {
			t.Fatal(err)
		}
		if len(sketches) != 4 || sketches[3].Name != PlainSketch {
			var names []string
			for _, s := range sketches {
				names = append(names, s.Name)
			}
			t.Errorf("relu=%v: %d sketches (%s), want 4: no cache, cache at level 1, at level 2, then the plain sketch", relu, len(sketches), strings.Join(names, " | "))
		}
	}
}

// sampleBuild draws candidates from every sketch of f and builds them; it returns the decided
// traces of the candidates that built.
func sampleBuild(t *testing.T, f *Func, n int, seed uint64) []*Trace {
	t.Helper()
	sketches, err := DesignSpace(f, DefaultSpaceOptions(2))
	if err != nil {
		t.Fatal(err)
	}
	rng := testRand(seed)
	var out []*Trace
	for i := 0; i < n; i++ {
		sk := sketches[i%len(sketches)]
		tr, err := SampleCandidate(f, sk.Trace, rng)
		if err != nil {
			t.Fatalf("sample from %q: %v", sk.Name, err)
		}
		if _, err := Build(f, tr, DefaultSpaceOptions(2)); err != nil {
			t.Fatalf("build a sample of %q: %v\n%s", sk.Name, err, tr)
		}
		out = append(out, tr)
	}
	return out
}

func TestSampledCandidatesBuild(t *testing.T) {
	for name, mk := range spaceFixtures() {
		t.Run(name, func(t *testing.T) { sampleBuild(t, mk(), 24, 1) })
	}
}

func TestTraceJSONRoundTrip(t *testing.T) {
	f := matmulFunc(32, 48, 16, true)
	for _, tr := range sampleBuild(t, f, 6, 2) {
		data, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseTrace(data)
		if err != nil {
			t.Fatalf("parse %s: %v", data, err)
		}
		again, _ := json.Marshal(back)
		if string(again) != string(data) {
			t.Fatalf("round trip changed the trace:\n%s\n%s", data, again)
		}
		a, err := Build(f, tr, DefaultSpaceOptions(2))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Build(f, back, DefaultSpaceOptions(2))
		if err != nil {
			t.Fatal(err)
		}
		if Print(a) != Print(b) {
			t.Fatal("the parsed trace builds another program")
		}
	}
}

func TestReplayIsDeterministic(t *testing.T) {
	f := matmulFunc(32, 48, 16, true)
	for _, tr := range sampleBuild(t, f, 6, 3) {
		a, _ := Build(f, tr, DefaultSpaceOptions(2))
		b, _ := Build(f, tr, DefaultSpaceOptions(2))
		if Print(a) != Print(b) || StructuralHash(a) != StructuralHash(b) {
			t.Fatal("replaying the same trace twice gave two programs")
		}
		s, res, err := Replay(f, tr, nil)
		if err != nil || res.Repaired != 0 || res.Sampled != 0 {
			t.Fatalf("replay of a decided trace: err %v, %+v", err, res)
		}
		if s.Trace().String() != tr.String() {
			t.Fatalf("the replayed trace differs:\n%s\nwant\n%s", s.Trace(), tr)
		}
	}
}

func TestParseTraceRejectsBadInput(t *testing.T) {
	tests := map[string]string{
		"not json":       `{"insts": [`,
		"unknown field":  `{"insts": [], "extra": 1}`,
		"unknown kind":   `{"insts": [{"kind": "Teleport"}]}`,
		"bad handle":     `{"insts": [{"kind": "GetLoops", "inputs": ["x1"]}]}`,
		"literal output": `{"insts": [{"kind": "GetBlock", "name": "C", "outputs": ["3"]}]}`,
	}
	for name, data := range tests {
		if _, err := ParseTrace([]byte(data)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestReplayReportsInvalidTraces(t *testing.T) {
	f := matmulFunc(16, 16, 8, false)
	tests := map[string]string{
		"undefined input": `{"insts": [{"kind": "GetLoops", "inputs": ["b9"], "outputs": ["l1"]}]}`,
		"missing block":   `{"insts": [{"kind": "GetBlock", "name": "Z", "outputs": ["b0"]}]}`,
		"wrong arity":     `{"insts": [{"kind": "GetBlock", "name": "C", "outputs": ["b0"]}, {"kind": "Split", "inputs": ["b0"], "outputs": ["l1"]}]}`,
		"block as loop": `{"insts": [{"kind": "GetBlock", "name": "C", "outputs": ["b0"]},
			{"kind": "Parallel", "inputs": ["b0"]}]}`,
		"no decision": `{"insts": [{"kind": "GetBlock", "name": "C", "outputs": ["b0"]},
			{"kind": "GetLoops", "inputs": ["b0"], "outputs": ["l1", "l2", "l3"]},
			{"kind": "SamplePerfectTile", "inputs": ["l1"], "n": 2, "max": 64, "outputs": ["v4", "v5"]}]}`,
	}
	for name, data := range tests {
		tr, err := ParseTrace([]byte(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, _, err := Replay(f, tr, nil); err == nil {
			t.Errorf("%s: replayed without error", name)
		}
	}
}

func TestReplayRepairsStaleTiles(t *testing.T) {
	f := matmulFunc(16, 16, 8, false)
	data := `{"insts": [{"kind": "GetBlock", "name": "C", "outputs": ["b0"]},
		{"kind": "GetLoops", "inputs": ["b0"], "outputs": ["l1", "l2", "l3"]},
		{"kind": "SamplePerfectTile", "inputs": ["l1"], "n": 2, "max": 64, "outputs": ["v4", "v5"], "decision": [3, 5]},
		{"kind": "Split", "inputs": ["l1", "v4", "v5"], "outputs": ["l6", "l7"]}]}`
	tr, err := ParseTrace([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	s, res, err := Replay(f, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Repaired != 1 {
		t.Fatalf("repaired %d decisions, want 1", res.Repaired)
	}
	if got := s.Trace().Insts[2].Decision; fmt.Sprint(got) != "[16 1]" {
		t.Fatalf("repaired decision %v, want [16 1]", got)
	}
}

func TestTileSizeKeepsProductAndInnermostLimit(t *testing.T) {
	f := matmulFunc(64, 64, 32, false)
	m, _ := MutatorByName(MutTileSize)
	rng := testRand(4)
	for _, tr := range sampleBuild(t, f, 6, 5) {
		if !slices.ContainsFunc(tr.Insts, func(in Inst) bool { return in.Kind == KindSamplePerfectTile }) {
			continue // the plain sketch has no tiles to change
		}
		cur := tr
		for step := 0; step < 20; step++ {
			next, err := m.Apply(f, cur, DefaultSpaceOptions(2), rng)
			if err != nil {
				t.Fatal(err)
			}
			changed := 0
			for i, in := range next.Insts {
				if in.Kind != KindSamplePerfectTile {
					continue
				}
				prod := 1
				for _, d := range in.Decision {
					prod *= d
				}
				old := cur.Insts[i]
				oldProd := 1
				for _, d := range old.Decision {
					oldProd *= d
				}
				if prod != oldProd {
					t.Fatalf("tile product changed from %d to %d: %v → %v", oldProd, prod, old.Decision, in.Decision)
				}
				if in.Decision[len(in.Decision)-1] > in.Max {
					t.Fatalf("innermost tile %d exceeds %d", in.Decision[len(in.Decision)-1], in.Max)
				}
				if fmt.Sprint(in.Decision) != fmt.Sprint(old.Decision) {
					changed++
				}
			}
			if changed != 1 {
				t.Fatalf("TileSize changed %d tilings, want exactly 1", changed)
			}
			if _, err := Build(f, next, DefaultSpaceOptions(2)); err != nil {
				t.Fatal(err)
			}
			cur = next
		}
	}
}

func TestMutatorsChangeOneDecision(t *testing.T) {
	f := matmulFunc(32, 48, 16, true)
	rng := testRand(6)
	tr := sampleBuild(t, f, 1, 7)[0]
	for _, name := range []string{MutTileSize, MutParallel, MutUnroll} {
		m, _ := MutatorByName(name)
		next, err := m.Apply(f, tr, DefaultSpaceOptions(2), rng)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if next.String() == tr.String() {
			t.Fatalf("%s left the trace unchanged", name)
		}
		if _, err := Build(f, next, DefaultSpaceOptions(2)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestMutatorWeights(t *testing.T) {
	want := map[string]float64{MutTileSize: 0.90, MutParallel: 0.02, MutUnroll: 0.03, MutComputeLocation: 0.05}
	for _, m := range Mutators() {
		if want[m.Name] != m.Weight {
			t.Errorf("%s weight %v, want %v", m.Name, m.Weight, want[m.Name])
		}
		delete(want, m.Name)
	}
	if len(want) != 0 {
		t.Errorf("missing mutators: %v", want)
	}
}
