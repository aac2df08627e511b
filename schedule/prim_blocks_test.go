package schedule

import (
	"encoding/json"
	"strings"
	"testing"
)

// goldenReplay finishes a script: the transcript goes to the golden file, and replaying the
// recorded trace (through JSON) on the unscheduled program must print the same program.
func (sc *script) goldenReplay(name string, orig *Func) {
	sc.t.Helper()
	data, err := json.Marshal(sc.s.Trace())
	if err != nil {
		sc.t.Fatal(err)
	}
	tr, err := ParseTrace(data)
	if err != nil {
		sc.t.Fatal(err)
	}
	r, _, err := Replay(orig, tr, nil)
	if err != nil {
		sc.t.Fatalf("replay: %v", err)
	}
	if got, want := Print(r.Func()), Print(sc.s.Func()); got != want {
		sc.t.Errorf("the replayed trace prints\n%s\nwant\n%s", got, want)
	}
	if got, want := r.Trace().String(), sc.s.Trace().String(); got != want {
		sc.t.Errorf("the replayed trace records\n%s\nwant\n%s", got, want)
	}
	sc.golden(name)
}

func TestCacheReadGolden(t *testing.T) {
	orig := matmulFunc(16, 16, 8, false)
	sc := newScript(t, orig)
	s := sc.s
	c := must(s.GetBlock("C"))
	loops := must(s.GetLoops(c))
	ks, err := s.Split(loops[2], []IntRV{Lit(2), Lit(4)})
	sc.step("split k by [2, 4]", err)
	as, err := s.CacheRead(c, 1, Shared)
	sc.step("cache_read C's input 1 (A) into shared", err)
	sc.step("compute_at A_shared k_0", s.ComputeAt(as, ks[0]))
	bl, err := s.CacheRead(c, 2, Local)
	sc.step("cache_read C's input 2 (B) into local", err)
	sc.step("compute_at B_local j", s.ComputeAt(bl, loops[1]))
	sc.goldenReplay("prim_cache_read.txt", orig)
}

func TestCacheWriteGolden(t *testing.T) {
	orig := matmulFunc(16, 16, 8, false)
	sc := newScript(t, orig)
	s := sc.s
	c := must(s.GetBlock("C"))
	loops := must(s.GetLoops(c))
	is, err := s.Split(loops[0], []IntRV{Lit(4), Lit(4)})
	sc.step("split i by [4, 4]", err)
	js, err := s.Split(loops[1], []IntRV{Lit(2), Lit(8)})
	sc.step("split j by [2, 8]", err)
	sc.step("reorder i_0, j_0, i_1, j_1", s.Reorder(is[0], js[0], is[1], js[1]))
	cw, err := s.CacheWrite(c, 0, Global)
	sc.step("cache_write C's output 0 into global", err)
	sc.step("reverse_compute_at C_global j_0", s.ReverseComputeAt(cw, js[0]))
	sc.goldenReplay("prim_cache_write.txt", orig)
}

func TestComputeAtGolden(t *testing.T) {
	orig := conv2dFunc(1, 2, 2, 4, 4)
	sc := newScript(t, orig)
	s := sc.s
	pad := must(s.GetBlock("Xp"))
	y := must(s.GetBlock("Y"))
	if ps := must(s.GetProducers(y)); len(ps) != 1 {
		t.Fatalf("Y has %d producers, want 1 (Xp)", len(ps))
	}
	if cs := must(s.GetConsumers(pad)); len(cs) != 1 {
		t.Fatalf("Xp has %d consumers, want 1 (Y)", len(cs))
	}
	loops := must(s.GetLoops(y))
	ys, err := s.Split(loops[2], []IntRV{Lit(2), Lit(2)})
	sc.step("split y by [2, 2]", err)
	sc.step("compute_at Xp y_0", s.ComputeAt(pad, ys[0]))
	sc.goldenReplay("prim_compute_at.txt", orig)
}

func TestComputeAtSoftmaxGolden(t *testing.T) {
	orig := softmaxFunc(4, 6)
	sc := newScript(t, orig)
	s := sc.s
	sc.step("compute_inline E", s.ComputeInline(must(s.GetBlock("E"))))
	r := must(s.GetLoops(must(s.GetBlock("Y"))))[0]
	sc.step("compute_at S r (of Y)", s.ComputeAt(must(s.GetBlock("S")), r))
	sc.step("compute_at M r (of Y)", s.ComputeAt(must(s.GetBlock("M")), r))
	sc.goldenReplay("prim_compute_at_softmax.txt", orig)
}

func TestReverseComputeAtGolden(t *testing.T) {
	orig := matmulFunc(16, 16, 8, true)
	sc := newScript(t, orig)
	s := sc.s
	c := must(s.GetBlock("C"))
	loops := must(s.GetLoops(c))
	is, err := s.Split(loops[0], []IntRV{Lit(4), Lit(4)})
	sc.step("split i by [4, 4]", err)
	js, err := s.Split(loops[1], []IntRV{Lit(2), Lit(8)})
	sc.step("split j by [2, 8]", err)
	sc.step("reorder i_0, j_0, i_1, j_1", s.Reorder(is[0], js[0], is[1], js[1]))
	sc.step("reverse_compute_at D j_0", s.ReverseComputeAt(must(s.GetBlock("D")), js[0]))
	sc.goldenReplay("prim_reverse_compute_at.txt", orig)
}

func TestComputeInlineGolden(t *testing.T) {
	orig := conv2dFunc(1, 2, 2, 4, 4)
	sc := newScript(t, orig)
	sc.step("compute_inline Xp", sc.s.ComputeInline(must(sc.s.GetBlock("Xp"))))
	sc.goldenReplay("prim_compute_inline.txt", orig)
}

func TestReverseComputeInlineGolden(t *testing.T) {
	orig := matmulBiasReluFunc(8, 8, 4)
	sc := newScript(t, orig)
	sc.step("reverse_compute_inline D", sc.s.ReverseComputeInline(must(sc.s.GetBlock("D"))))
	sc.goldenReplay("prim_reverse_compute_inline.txt", orig)
}

func TestDecomposeReductionGolden(t *testing.T) {
	orig := matmulFunc(16, 16, 8, false)
	sc := newScript(t, orig)
	s := sc.s
	c := must(s.GetBlock("C"))
	loops := must(s.GetLoops(c))
	is, err := s.Split(loops[0], []IntRV{Lit(4), Lit(4)})
	sc.step("split i by [4, 4]", err)
	ks, err := s.Split(loops[2], []IntRV{Lit(2), Lit(4)})
	sc.step("split k by [2, 4]", err)
	sc.step("reorder i_0, j, k_0, i_1, k_1", s.Reorder(is[0], loops[1], ks[0], is[1], ks[1]))
	_, err = s.DecomposeReduction(c, ks[0])
	sc.step("decompose_reduction C k_0", err)
	sc.goldenReplay("prim_decompose_reduction.txt", orig)
}

// TestComputeAtRootIsANoOp replays a sampled root location: compute_at there changes nothing
// and is recorded.
func TestComputeAtRootIsANoOp(t *testing.T) {
	f := conv2dFunc(1, 2, 2, 4, 4)
	tr := &Trace{Insts: []Inst{
		{Kind: KindGetBlock, Name: "Xp", Outputs: []string{"b0"}},
		{Kind: KindSampleComputeLocation, Inputs: []string{"b0"}, Outputs: []string{"r1"}, Decision: []int{-1}},
		{Kind: KindComputeAt, Inputs: []string{"b0", "r1"}},
		{Kind: KindReverseComputeAt, Inputs: []string{"b0", "r1"}},
	}}
	s, _, err := Replay(f, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Print(s.Func()), Print(f); got != want {
		t.Errorf("compute_at at the root changed the program:\n%s", got)
	}
	if got := s.Trace().String(); got != tr.String() {
		t.Errorf("trace\n%s\nwant\n%s", got, tr.String())
	}
}

func TestComputeLocations(t *testing.T) {
	names := func(ls []*Loop) string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Var.Name)
		}
		return strings.Join(out, " ")
	}
	s := New(conv2dFunc(1, 2, 2, 4, 4), nil)
	if got := names(must(s.ComputeLocations(must(s.GetBlock("Xp"))))); got != "n k y x c r s" {
		t.Errorf("locations of Xp: %s", got)
	}
	if got := names(must(s.ComputeLocations(must(s.GetBlock("Y"))))); got != "" {
		t.Errorf("locations of Y (an output): %s", got)
	}
	// A read cache of a tiled matmul may go under any loop of the matmul's nest.
	s = New(matmulFunc(16, 16, 8, false), nil)
	c := must(s.GetBlock("C"))
	loops := must(s.GetLoops(c))
	is := must(s.Split(loops[0], []IntRV{Lit(2), Lit(2), Lit(4)}))
	ks := must(s.Split(loops[2], []IntRV{Lit(2), Lit(4)}))
	if err := s.Reorder(is[0], loops[1], ks[0], is[1], ks[1], is[2]); err != nil {
		t.Fatal(err)
	}
	as := must(s.CacheRead(c, 1, Shared))
	if got := names(must(s.ComputeLocations(as))); got != "i_0 j k_0 i_1 k_1 i_2" {
		t.Errorf("locations of A_shared: %s", got)
	}
	// Softmax: E feeds S and Y, which are in different nests, until S joins Y's nest.
	s = New(softmaxFunc(4, 6), nil)
	e := must(s.GetBlock("E"))
	if got := names(must(s.ComputeLocations(e))); got != "" {
		t.Errorf("locations of E: %s", got)
	}
	if err := s.ComputeAt(must(s.GetBlock("S")), must(s.GetLoops(must(s.GetBlock("Y"))))[0]); err != nil {
		t.Fatal(err)
	}
	if got := names(must(s.ComputeLocations(e))); got != "r" {
		t.Errorf("locations of E after S joined Y: %s", got)
	}
}

func TestProducersAndConsumers(t *testing.T) {
	s := New(softmaxFunc(4, 6), nil)
	names := func(bs []BlockRV) string {
		var out []string
		for _, b := range bs {
			out = append(out, must(s.BlockOf(b)).Name)
		}
		return strings.Join(out, " ")
	}
	cases := []struct {
		block     string
		producers string
		consumers string
	}{
		{"M", "", "E"},
		{"E", "M", "S Y"},
		{"S", "E", "Y"},
		{"Y", "E S", ""},
	}
	for _, c := range cases {
		b := must(s.GetBlock(c.block))
		if got := names(must(s.GetProducers(b))); got != c.producers {
			t.Errorf("producers of %s: %q, want %q", c.block, got, c.producers)
		}
		if got := names(must(s.GetConsumers(b))); got != c.consumers {
			t.Errorf("consumers of %s: %q, want %q", c.block, got, c.consumers)
		}
	}
	// A separate init block produces what the update reads.
	if _, err := s.DecomposeReduction(must(s.GetBlock("S")), must(s.GetLoops(must(s.GetBlock("S"))))[0]); err != nil {
		t.Fatal(err)
	}
	if got := names(must(s.GetProducers(must(s.GetBlock("S"))))); got != "E S_init" {
		t.Errorf("producers of S after decompose_reduction: %q", got)
	}
	if got := names(must(s.GetConsumers(must(s.GetBlock("S_init"))))); got != "S Y" {
		t.Errorf("consumers of S_init: %q", got)
	}
	want := "b0 = sch.get_block(\"M\")\nsch.get_producers(b0)\nb1 = sch.get_consumers(b0)\n"
	if got := s.Trace().String(); !strings.HasPrefix(got, want) {
		t.Errorf("trace starts\n%s\nwant\n%s", got, want)
	}
}

// TestComputeAtClampedGolden computes a read cache of a padded input at the output loop: the
// region an iteration reads may cross the buffer's ends, so its window is clamped inside.
func TestComputeAtClampedGolden(t *testing.T) {
	orig := padConvFunc()
	sc := newScript(t, orig)
	s := sc.s
	y := must(s.GetBlock("Y"))
	xl, err := s.CacheRead(y, 1, Local)
	sc.step("cache_read Y's input 1 (X) into local", err)
	sc.step("compute_at X_local x", s.ComputeAt(xl, must(s.GetLoops(y))[0]))
	sc.goldenReplay("prim_compute_at_clamped.txt", orig)
}
