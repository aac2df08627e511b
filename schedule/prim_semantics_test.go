package schedule_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"colt/schedule"
	st "colt/schedule/scheduletest"
)

// These tests check the block primitives against the IR interpreter: after every successful
// primitive the program must verify and compute exactly what the unscheduled program computes.

const seed = 7

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// same fails the test unless the schedule's program verifies and matches want.
func same(t *testing.T, s *schedule.Schedule, want [][]float64, what string) {
	t.Helper()
	f := s.Func()
	if err := schedule.Verify(f); err != nil {
		t.Fatalf("after %s the program does not verify: %v\n%s", what, err, schedule.Print(f))
	}
	var got [][]float64
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("after %s the interpreter failed: %v\n%s", what, r, schedule.Print(f))
			}
		}()
		got = st.Run(f, seed)
	}()
	if err := st.Equal(got, want, 1e-9); err != nil {
		t.Fatalf("after %s the outputs changed: %v\n%s", what, err, schedule.Print(f))
	}
}

type fixture struct {
	name string
	f    func() *schedule.Func
}

func fixtures() []fixture {
	return []fixture{
		{"matmul", func() *schedule.Func { return st.Matmul(16, 16, 8, false) }},
		{"matmul_relu", func() *schedule.Func { return st.Matmul(16, 16, 8, true) }},
		{"pad_conv", st.PadConv1D},
		{"softmax", func() *schedule.Func { return st.Softmax(4, 6) }},
		{"conv2d", func() *schedule.Func { return st.Conv2D(1, 4, 4, 6, 6) }},
		{"matmul_bias_relu", func() *schedule.Func { return st.MatmulBiasRelu(8, 8, 4) }},
	}
}

// allLoops returns a handle to every loop of the program, outermost first within each nest.
func allLoops(t *testing.T, s *schedule.Schedule) []schedule.LoopRV {
	t.Helper()
	var out []schedule.LoopRV
	seen := map[*schedule.Loop]bool{}
	for _, b := range s.Func().Blocks() {
		for _, l := range must(s.GetLoops(must(s.GetBlock(b.Name)))) {
			lp, _ := s.LoopOf(l)
			if !seen[lp] {
				seen[lp] = true
				out = append(out, l)
			}
		}
	}
	return out
}

func blockNames(f *schedule.Func) []string {
	var out []string
	for _, b := range f.Blocks() {
		out = append(out, b.Name)
	}
	return out
}

// tryAll applies every block primitive with every block and loop of s (each on a copy) and
// checks every one that succeeds; it returns how many succeeded.
func tryAll(t *testing.T, s *schedule.Schedule, want [][]float64, prefix string) int {
	t.Helper()
	ok := 0
	names := blockNames(s.Func())
	nLoops := len(allLoops(t, s.Copy()))
	for _, name := range names {
		for li := 0; li < nLoops; li++ {
			for _, prim := range []string{"compute_at", "reverse_compute_at", "decompose_reduction"} {
				c := s.Copy()
				b := must(c.GetBlock(name))
				l := allLoops(t, c)[li]
				lp, _ := c.LoopOf(l)
				var err error
				switch prim {
				case "compute_at":
					err = c.ComputeAt(b, l)
				case "reverse_compute_at":
					err = c.ReverseComputeAt(b, l)
				default:
					_, err = c.DecomposeReduction(b, l)
				}
				if err == nil {
					ok++
					same(t, c, want, fmt.Sprintf("%s%s(%s, %s)", prefix, prim, name, lp.Var.Name))
				}
			}
		}
		for _, prim := range []string{"compute_inline", "reverse_compute_inline"} {
			c := s.Copy()
			b := must(c.GetBlock(name))
			var err error
			if prim == "compute_inline" {
				err = c.ComputeInline(b)
			} else {
				err = c.ReverseComputeInline(b)
			}
			if err == nil {
				ok++
				same(t, c, want, fmt.Sprintf("%s%s(%s)", prefix, prim, name))
			}
		}
		for i := 0; i < 4; i++ {
			for _, scope := range []schedule.Scope{schedule.Global, schedule.Local} {
				c := s.Copy()
				b := must(c.GetBlock(name))
				if _, err := c.CacheRead(b, i, scope); err == nil {
					ok++
					same(t, c, want, fmt.Sprintf("%scache_read(%s, %d, %s)", prefix, name, i, scope))
				}
				c = s.Copy()
				b = must(c.GetBlock(name))
				if _, err := c.CacheWrite(b, i, scope); err == nil {
					ok++
					same(t, c, want, fmt.Sprintf("%scache_write(%s, %d, %s)", prefix, name, i, scope))
				}
			}
		}
	}
	return ok
}

func TestEveryPrimitiveKeepsSemantics(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.f()
			want := st.Run(f, seed)
			s := schedule.New(f, nil)
			if n := tryAll(t, s, want, ""); n == 0 {
				t.Fatal("no primitive applied")
			}
		})
	}
}

// TestComputeLocationsAgreeWithComputeAt checks that the legal locations are exactly the loops
// where ComputeAt succeeds.
func TestComputeLocationsAgreeWithComputeAt(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			s := schedule.New(fx.f(), nil)
			for _, name := range blockNames(s.Func()) {
				b := must(s.GetBlock(name))
				locs := must(s.ComputeLocations(b))
				legal := map[*schedule.Loop]bool{}
				for _, l := range locs {
					legal[l] = true
				}
				for _, l := range allLoops(t, s) {
					lp, _ := s.LoopOf(l)
					c := s.Copy()
					err := c.ComputeAt(b, l)
					if (err == nil) != legal[lp] {
						t.Errorf("block %s loop %s: compute_at error %v, listed as legal: %v", name, lp.Var.Name, err, legal[lp])
					}
				}
			}
		})
	}
}

// randomStep applies one random primitive to s; it reports what it tried and whether it
// succeeded.
func randomStep(t *testing.T, s *schedule.Schedule, rng *rand.Rand) (string, bool) {
	names := blockNames(s.Func())
	name := names[rng.IntN(len(names))]
	b := must(s.GetBlock(name))
	loops := allLoops(t, s)
	var l schedule.LoopRV
	var lname string
	if len(loops) > 0 {
		l = loops[rng.IntN(len(loops))]
		lp, _ := s.LoopOf(l)
		lname = lp.Var.Name
	}
	switch rng.IntN(12) {
	case 10:
		return fmt.Sprintf("parallel(%s)", lname), s.Parallel(l) == nil
	case 11:
		return fmt.Sprintf("vectorize(%s)", lname), s.Vectorize(l) == nil
	case 0:
		lp, _ := s.LoopOf(l)
		var fs []int
		for d := 2; d < lp.Extent; d++ {
			if lp.Extent%d == 0 {
				fs = append(fs, d)
			}
		}
		if len(fs) == 0 {
			return "split (none)", false
		}
		d := fs[rng.IntN(len(fs))]
		_, err := s.Split(l, []schedule.IntRV{schedule.Lit(lp.Extent / d), schedule.Lit(d)})
		return fmt.Sprintf("split(%s, %d)", lname, d), err == nil
	case 1:
		lb := must(s.GetLoops(b))
		if len(lb) < 2 {
			return "reorder (none)", false
		}
		// Reordering a loop fused from spatial and reduction loops can move a reduction's
		// first update away from its init, which the loop primitives do not check.
		if strings.Contains(schedule.Print(s.Func()), "_fused") {
			return "reorder (fused)", false
		}
		i := rng.IntN(len(lb) - 1)
		return fmt.Sprintf("reorder(%s)", name), s.Reorder(lb[i+1], lb[i]) == nil
	case 2:
		return fmt.Sprintf("compute_at(%s, %s)", name, lname), s.ComputeAt(b, l) == nil
	case 3:
		return fmt.Sprintf("reverse_compute_at(%s, %s)", name, lname), s.ReverseComputeAt(b, l) == nil
	case 4:
		return fmt.Sprintf("compute_inline(%s)", name), s.ComputeInline(b) == nil
	case 5:
		return fmt.Sprintf("reverse_compute_inline(%s)", name), s.ReverseComputeInline(b) == nil
	case 6:
		i := rng.IntN(3)
		_, err := s.CacheRead(b, i, schedule.Local)
		return fmt.Sprintf("cache_read(%s, %d)", name, i), err == nil
	case 7:
		_, err := s.CacheWrite(b, 0, schedule.Global)
		return fmt.Sprintf("cache_write(%s)", name), err == nil
	case 8:
		_, err := s.DecomposeReduction(b, l)
		return fmt.Sprintf("decompose_reduction(%s, %s)", name, lname), err == nil
	default:
		lb := must(s.GetLoops(b))
		if len(lb) < 2 {
			return "fuse (none)", false
		}
		i := rng.IntN(len(lb) - 1)
		_, err := s.Fuse(lb[i], lb[i+1])
		return fmt.Sprintf("fuse(%s)", name), err == nil
	}
}

// TestRandomSchedulesKeepSemantics applies random sequences of primitives and checks the
// program after each one that succeeds, and that replaying the trace rebuilds it.
func TestRandomSchedulesKeepSemantics(t *testing.T) {
	rounds := 60
	if testing.Short() {
		rounds = 10
	}
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.f()
			want := st.Run(f, seed)
			rng := rand.New(rand.NewPCG(1, uint64(len(fx.name))))
			applied := 0
			for round := 0; round < rounds; round++ {
				s := schedule.New(f, nil)
				var log []string
				for step := 0; step < 10; step++ {
					what, ok := randomStep(t, s, rng)
					if !ok {
						continue
					}
					applied++
					log = append(log, what)
					same(t, s, want, strings.Join(log, ", "))
					checkLocations(t, s, rng, strings.Join(log, ", "))
				}
				r, _, err := schedule.Replay(f, s.Trace(), nil)
				if err != nil {
					t.Fatalf("replay of %s: %v", strings.Join(log, ", "), err)
				}
				if got, want := schedule.Print(r.Func()), schedule.Print(s.Func()); got != want {
					t.Fatalf("replay of %s prints differently:\n%s\nwant\n%s", strings.Join(log, ", "), got, want)
				}
			}
			if applied < rounds {
				t.Errorf("only %d primitives applied in %d rounds", applied, rounds)
			}
		})
	}
}

// TestEveryPrimitiveOnScheduledPrograms runs every primitive on programs already scheduled
// (tiled, with blocks moved into other nests, with caches).
func TestEveryPrimitiveOnScheduledPrograms(t *testing.T) {
	split := func(s *schedule.Schedule, block string, loop int, factors ...int) []schedule.LoopRV {
		ls := must(s.GetLoops(must(s.GetBlock(block))))
		fs := make([]schedule.IntRV, len(factors))
		for i, f := range factors {
			fs[i] = schedule.Lit(f)
		}
		return must(s.Split(ls[loop], fs))
	}
	cases := []struct {
		name  string
		f     func() *schedule.Func
		setup func(s *schedule.Schedule) error
	}{
		{"tiled matmul_relu", func() *schedule.Func { return st.Matmul(16, 16, 8, true) }, func(s *schedule.Schedule) error {
			is := split(s, "C", 0, 4, 4)
			js := split(s, "C", 2, 2, 8)
			ks := split(s, "C", 4, 2, 4)
			return s.Reorder(is[0], js[0], ks[0], is[1], js[1], ks[1])
		}},
		{"matmul_relu with epilogue at a tile", func() *schedule.Func { return st.Matmul(16, 16, 8, true) }, func(s *schedule.Schedule) error {
			is := split(s, "C", 0, 4, 4)
			js := split(s, "C", 2, 2, 8)
			if err := s.Reorder(is[0], js[0], is[1], js[1]); err != nil {
				return err
			}
			return s.ReverseComputeAt(must(s.GetBlock("D")), js[0])
		}},
		{"matmul with a read cache", func() *schedule.Func { return st.Matmul(16, 16, 8, false) }, func(s *schedule.Schedule) error {
			_, err := s.CacheRead(must(s.GetBlock("C")), 1, schedule.Shared)
			split(s, "C", 2, 2, 4)
			return err
		}},
		{"softmax with S at Y", func() *schedule.Func { return st.Softmax(4, 6) }, func(s *schedule.Schedule) error {
			return s.ComputeAt(must(s.GetBlock("S")), must(s.GetLoops(must(s.GetBlock("Y"))))[0])
		}},
		{"conv2d with split rows", func() *schedule.Func { return st.Conv2D(1, 4, 4, 6, 6) }, func(s *schedule.Schedule) error {
			split(s, "Y", 2, 2, 3)
			return nil
		}},
		{"conv2d with the pad at x", func() *schedule.Func { return st.Conv2D(1, 2, 2, 4, 4) }, func(s *schedule.Schedule) error {
			return s.ComputeAt(must(s.GetBlock("Xp")), must(s.GetLoops(must(s.GetBlock("Y"))))[3])
		}},
		{"pad_conv split", st.PadConv1D, func(s *schedule.Schedule) error {
			split(s, "Y", 1, 1, 3)
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f()
			want := st.Run(f, seed)
			s := schedule.New(f, nil)
			if err := tc.setup(s); err != nil {
				t.Fatal(err)
			}
			same(t, s, want, "setup")
			if n := tryAll(t, s, want, tc.name+": "); n == 0 {
				t.Fatal("no primitive applied")
			}
		})
	}
}

func lits(xs ...int) []schedule.IntRV {
	out := make([]schedule.IntRV, len(xs))
	for i, x := range xs {
		out[i] = schedule.Lit(x)
	}
	return out
}

// TestPrimitiveCombinations checks the combinations the design-space rules use, step by step.
func TestPrimitiveCombinations(t *testing.T) {
	type step struct {
		what string
		do   func(s *schedule.Schedule) error
	}
	loopsOf := func(s *schedule.Schedule, block string) []schedule.LoopRV {
		return must(s.GetLoops(must(s.GetBlock(block))))
	}
	blk := func(s *schedule.Schedule, name string) schedule.BlockRV { return must(s.GetBlock(name)) }
	cases := []struct {
		name  string
		f     func() *schedule.Func
		steps []step
	}{
		{"split + compute_at (matmul_relu)", func() *schedule.Func { return st.Matmul(16, 16, 8, true) }, []step{
			{"split D.i", func(s *schedule.Schedule) error { _, err := s.Split(loopsOf(s, "D")[0], lits(4, 4)); return err }},
			{"split D.j", func(s *schedule.Schedule) error { _, err := s.Split(loopsOf(s, "D")[2], lits(2, 8)); return err }},
			{"compute_at C at D.i_1", func(s *schedule.Schedule) error { return s.ComputeAt(blk(s, "C"), loopsOf(s, "D")[1]) }},
		}},
		{"cache_write + reverse_compute_at at a tile (matmul)", func() *schedule.Func { return st.Matmul(16, 16, 8, false) }, []step{
			{"split i", func(s *schedule.Schedule) error { _, err := s.Split(loopsOf(s, "C")[0], lits(2, 2, 4)); return err }},
			{"split j", func(s *schedule.Schedule) error { _, err := s.Split(loopsOf(s, "C")[3], lits(2, 2, 4)); return err }},
			{"split k", func(s *schedule.Schedule) error { _, err := s.Split(loopsOf(s, "C")[6], lits(2, 4)); return err }},
			{"reorder SSRSRS", func(s *schedule.Schedule) error {
				l := loopsOf(s, "C") // i0 i1 i2 j0 j1 j2 k0 k1
				return s.Reorder(l[0], l[3], l[1], l[4], l[6], l[2], l[5], l[7])
			}},
			{"cache_write C", func(s *schedule.Schedule) error { _, err := s.CacheWrite(blk(s, "C"), 0, schedule.Global); return err }},
			{"reverse_compute_at C_global at j_1", func(s *schedule.Schedule) error {
				return s.ReverseComputeAt(blk(s, "C_global"), loopsOf(s, "C")[3])
			}},
			{"decompose_reduction C at k_0", func(s *schedule.Schedule) error {
				_, err := s.DecomposeReduction(blk(s, "C"), loopsOf(s, "C")[4])
				return err
			}},
		}},
		{"epilogue at a tile (matmul_relu)", func() *schedule.Func { return st.Matmul(16, 16, 8, true) }, []step{
			{"split i", func(s *schedule.Schedule) error { _, err := s.Split(loopsOf(s, "C")[0], lits(4, 4)); return err }},
			{"split j", func(s *schedule.Schedule) error { _, err := s.Split(loopsOf(s, "C")[2], lits(4, 4)); return err }},
			{"reorder", func(s *schedule.Schedule) error {
				l := loopsOf(s, "C")
				return s.Reorder(l[0], l[2], l[1], l[3])
			}},
			{"reverse_compute_at D at j_0", func(s *schedule.Schedule) error { return s.ReverseComputeAt(blk(s, "D"), loopsOf(s, "C")[1]) }},
			{"parallel i_0", func(s *schedule.Schedule) error { return s.Parallel(loopsOf(s, "C")[0]) }},
		}},
		{"cache_read + compute_at (matmul)", func() *schedule.Func { return st.Matmul(16, 16, 8, false) }, []step{
			{"split k", func(s *schedule.Schedule) error { _, err := s.Split(loopsOf(s, "C")[2], lits(2, 4)); return err }},
			{"cache_read A", func(s *schedule.Schedule) error { _, err := s.CacheRead(blk(s, "C"), 0, schedule.Shared); return err }},
			{"cache_read B", func(s *schedule.Schedule) error { _, err := s.CacheRead(blk(s, "C"), 1, schedule.Local); return err }},
			{"compute_at A_shared at k_0", func(s *schedule.Schedule) error { return s.ComputeAt(blk(s, "A_shared"), loopsOf(s, "C")[2]) }},
			{"compute_at B_local at k_1", func(s *schedule.Schedule) error { return s.ComputeAt(blk(s, "B_local"), loopsOf(s, "C")[3]) }},
		}},
		{"compute_inline of the pad stage (conv2d)", func() *schedule.Func { return st.Conv2D(1, 4, 4, 6, 6) }, []step{
			{"compute_inline Xp", func(s *schedule.Schedule) error { return s.ComputeInline(blk(s, "Xp")) }},
			{"cache_read X", func(s *schedule.Schedule) error { _, err := s.CacheRead(blk(s, "Y"), 0, schedule.Local); return err }},
			{"compute_at X_local at x", func(s *schedule.Schedule) error { return s.ComputeAt(blk(s, "X_local"), loopsOf(s, "Y")[3]) }},
		}},
		{"pad stage at a split row (conv2d)", func() *schedule.Func { return st.Conv2D(1, 4, 4, 6, 6) }, []step{
			{"split y", func(s *schedule.Schedule) error { _, err := s.Split(loopsOf(s, "Y")[2], lits(3, 2)); return err }},
			{"compute_at Xp at y_0", func(s *schedule.Schedule) error { return s.ComputeAt(blk(s, "Xp"), loopsOf(s, "Y")[2]) }},
		}},
		{"reverse_compute_inline of the epilogue (matmul_bias_relu)", func() *schedule.Func { return st.MatmulBiasRelu(8, 8, 4) }, []step{
			{"reverse_compute_inline D", func(s *schedule.Schedule) error { return s.ReverseComputeInline(blk(s, "D")) }},
			{"reverse_compute_at U at C.i", func(s *schedule.Schedule) error {
				return s.ReverseComputeAt(blk(s, "U"), loopsOf(s, "C")[0])
			}},
		}},
		{"softmax fused per row", func() *schedule.Func { return st.Softmax(4, 6) }, []step{
			{"compute_inline E", func(s *schedule.Schedule) error { return s.ComputeInline(blk(s, "E")) }},
			{"compute_at S at Y.r", func(s *schedule.Schedule) error { return s.ComputeAt(blk(s, "S"), loopsOf(s, "Y")[0]) }},
			{"compute_at M at Y.r", func(s *schedule.Schedule) error { return s.ComputeAt(blk(s, "M"), loopsOf(s, "Y")[0]) }},
			{"decompose_reduction M", func(s *schedule.Schedule) error {
				_, err := s.DecomposeReduction(blk(s, "M"), loopsOf(s, "M")[1])
				return err
			}},
			{"decompose_reduction S", func(s *schedule.Schedule) error {
				_, err := s.DecomposeReduction(blk(s, "S"), loopsOf(s, "S")[1])
				return err
			}},
		}},
		{"softmax consumers at the producer's row", func() *schedule.Func { return st.Softmax(4, 6) }, []step{
			{"reverse_compute_at E at M.r", func(s *schedule.Schedule) error { return s.ReverseComputeAt(blk(s, "E"), loopsOf(s, "M")[0]) }},
			{"compute_at S at Y.r", func(s *schedule.Schedule) error { return s.ComputeAt(blk(s, "S"), loopsOf(s, "Y")[0]) }},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f()
			want := st.Run(f, seed)
			s := schedule.New(f, nil)
			var done []string
			for _, stp := range tc.steps {
				if err := stp.do(s); err != nil {
					t.Fatalf("%s: %v\n%s", stp.what, err, schedule.Print(s.Func()))
				}
				done = append(done, stp.what)
				same(t, s, want, strings.Join(done, ", "))
			}
			r, _, err := schedule.Replay(f, s.Trace(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if schedule.Print(r.Func()) != schedule.Print(s.Func()) {
				t.Fatal("replaying the trace builds another program")
			}
		})
	}
}

// TestDecomposeReductionAtEachLoop decomposes every reduction block at every loop of its nest
// of a tiled program: it succeeds exactly at the loops outside of which no reduction loop
// lies, and keeps the outputs.
func TestDecomposeReductionAtEachLoop(t *testing.T) {
	f := st.Matmul(16, 16, 8, true)
	want := st.Run(f, seed)
	base := schedule.New(f, nil)
	l := must(base.GetLoops(must(base.GetBlock("C"))))
	is := must(base.Split(l[0], lits(4, 4)))
	ks := must(base.Split(l[2], lits(2, 4)))
	if err := base.Reorder(is[0], l[1], ks[0], is[1], ks[1]); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range 5 {
		s := base.Copy()
		loops := must(s.GetLoops(must(s.GetBlock("C"))))
		lp, _ := s.LoopOf(loops[i])
		if _, err := s.DecomposeReduction(must(s.GetBlock("C")), loops[i]); err != nil {
			if !strings.Contains(err.Error(), "drives reduction iterator v_k") {
				t.Errorf("at %s: %v", lp.Var.Name, err)
			}
			continue
		}
		got = append(got, lp.Var.Name)
		same(t, s, want, "decompose_reduction at "+lp.Var.Name)
	}
	if strings.Join(got, " ") != "i_0 j k_0" {
		t.Errorf("decomposed at %v, want i_0 j k_0", got)
	}
}

// checkLocations checks, for a random block, that ComputeLocations lists exactly the loops
// where ComputeAt succeeds.
func checkLocations(t *testing.T, s *schedule.Schedule, rng *rand.Rand, what string) {
	t.Helper()
	names := blockNames(s.Func())
	name := names[rng.IntN(len(names))]
	locs := must(s.ComputeLocations(must(s.GetBlock(name))))
	legal := map[*schedule.Loop]bool{}
	for _, l := range locs {
		legal[l] = true
	}
	for i, l := range allLoops(t, s) {
		lp, _ := s.LoopOf(l)
		c := s.Copy()
		err := c.ComputeAt(must(c.GetBlock(name)), allLoops(t, c)[i])
		if (err == nil) != legal[lp] {
			t.Fatalf("after %s: block %s loop %s: compute_at error %v, listed as legal: %v", what, name, lp.Var.Name, err, legal[lp])
		}
	}
}
