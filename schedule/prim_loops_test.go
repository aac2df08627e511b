package schedule

import (
	"strings"
	"testing"
)

// script applies primitives one by one, verifying the program after each and collecting the
// printed program after each step into a golden transcript.
type script struct {
	t   *testing.T
	s   *Schedule
	out strings.Builder
}

func newScript(t *testing.T, f *Func) *script {
	t.Helper()
	return &script{t: t, s: New(f, nil)}
}

// step runs one primitive, fails the test on an error, verifies and prints the result.
func (sc *script) step(title string, err error) {
	sc.t.Helper()
	if err != nil {
		sc.t.Fatalf("%s: %v", title, err)
	}
	if verr := Verify(sc.s.Func()); verr != nil {
		sc.t.Fatalf("after %s the program does not verify: %v\n%s", title, verr, Print(sc.s.Func()))
	}
	sc.out.WriteString("## " + title + "\n")
	sc.out.WriteString(Print(sc.s.Func()))
	sc.out.WriteString("\n")
}

// transcript ends with the trace and compares everything with the golden file.
func (sc *script) golden(name string) {
	sc.t.Helper()
	sc.out.WriteString("## trace\n" + sc.s.Trace().String())
	golden(sc.t, name, sc.out.String())
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLoopPrimitivesGolden(t *testing.T) {
	sc := newScript(t, matmulFunc(64, 64, 32, false))
	s := sc.s
	b := must(s.GetBlock("C"))
	loops := must(s.GetLoops(b))
	is, err := s.Split(loops[0], []IntRV{Lit(4), Lit(16)})
	sc.step("split i by [4, 16]", err)
	js, err := s.Split(loops[1], []IntRV{Lit(2), Lit(4), Lit(8)})
	sc.step("split j by [2, 4, 8]", err)
	sc.step("reorder i_0, j_0, k, i_1, j_1, j_2", s.Reorder(is[0], js[0], loops[2], is[1], js[1], js[2]))
	f, err := s.Fuse(is[0], js[0])
	sc.step("fuse i_0, j_0", err)
	sc.step("parallel i_0_j_0_fused", s.Parallel(f))
	sc.step("unroll j_1", s.Unroll(js[1]))
	sc.step("vectorize j_2", s.Vectorize(js[2]))
	sc.step("annotate the block", s.Annotate(b, "pragma_auto_unroll_max_step", Lit(16)))
	sc.golden("prim_loops.txt")
}

func TestLoopPrimitiveErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func(s *Schedule, loops []LoopRV) error
		want string
	}{
		{"split product", func(s *Schedule, l []LoopRV) error {
			_, err := s.Split(l[0], []IntRV{Lit(3), Lit(5)})
			return err
		}, "factors [3 5] of loop i multiply to 15, want its extent 16"},
		{"split zero factor", func(s *Schedule, l []LoopRV) error {
			_, err := s.Split(l[0], []IntRV{Lit(0), Lit(16)})
			return err
		}, "factor 0 is 0, want a positive integer"},
		{"split one factor", func(s *Schedule, l []LoopRV) error {
			_, err := s.Split(l[0], []IntRV{Lit(16)})
			return err
		}, "found 1 factors, want at least 2"},
		{"split a removed loop", func(s *Schedule, l []LoopRV) error {
			if _, err := s.Split(l[0], []IntRV{Lit(4), Lit(4)}); err != nil {
				return err
			}
			_, err := s.Split(l[0], []IntRV{Lit(4), Lit(4)})
			return err
		}, "is no longer in the program"},
		{"parallel reduction", func(s *Schedule, l []LoopRV) error { return s.Parallel(l[2]) },
			"binds loop k to its reduction iterator"},
		{"vectorize reduction", func(s *Schedule, l []LoopRV) error { return s.Vectorize(l[2]) },
			"binds loop k to its reduction iterator"},
		{"nested parallel", func(s *Schedule, l []LoopRV) error {
			if err := s.Parallel(l[0]); err != nil {
				return err
			}
			return s.Parallel(l[1])
		}, "is inside parallel loop i"},
		{"parallel twice", func(s *Schedule, l []LoopRV) error {
			if err := s.Parallel(l[0]); err != nil {
				return err
			}
			return s.Parallel(l[0])
		}, "already parallel"},
		{"fuse out of order", func(s *Schedule, l []LoopRV) error {
			_, err := s.Fuse(l[1], l[0])
			return err
		}, "fuse needs directly nested loops"},
		{"fuse none", func(s *Schedule, l []LoopRV) error {
			_, err := s.Fuse()
			return err
		}, "found no loops"},
		{"reorder twice", func(s *Schedule, l []LoopRV) error { return s.Reorder(l[0], l[0]) }, "given twice"},
		{"bind bad axis", func(s *Schedule, l []LoopRV) error { return s.Bind(l[0], "warp.x") }, `found thread axis "warp.x"`},
		{"annotate empty key", func(s *Schedule, l []LoopRV) error { return s.Annotate(l[0], "", Lit(1)) }, "empty key"},
		{"bad handle", func(s *Schedule, l []LoopRV) error { return s.Parallel(LoopRV{id: 99}) }, "l99 is not a loop"},
		{"literal handle", func(s *Schedule, l []LoopRV) error { return s.Parallel(LoopRV{id: -1}) }, "is not a loop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(matmulFunc(16, 16, 8, false), nil)
			b := must(s.GetBlock("C"))
			loops := must(s.GetLoops(b))
			before := Print(s.Func())
			err := tt.run(s, loops)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if verr := Verify(s.Func()); verr != nil {
				t.Fatalf("program no longer verifies after a failed primitive: %v", verr)
			}
			_ = before
		})
	}
}

func TestReorderAcrossBlocksFails(t *testing.T) {
	s := New(matmulFunc(8, 8, 8, true), nil)
	c := must(s.GetLoops(must(s.GetBlock("C"))))
	d := must(s.GetLoops(must(s.GetBlock("D"))))
	if err := s.Reorder(c[0], d[1]); err == nil {
		t.Fatal("reorder of loops from two nests succeeded")
	}
}

func TestGetBlockErrors(t *testing.T) {
	s := New(matmulFunc(8, 8, 8, false), nil)
	if _, err := s.GetBlock("nope"); err == nil || !strings.Contains(err.Error(), `no block named "nope"; the program has root, C`) {
		t.Fatalf("error = %v", err)
	}
}

func TestFuseRefusesMixingSpatialAndReduction(t *testing.T) {
	s := New(matmulFunc(8, 8, 8, false), nil)
	loops := must(s.GetLoops(must(s.GetBlock("C"))))
	if _, err := s.Fuse(loops[1], loops[2]); err == nil || !strings.Contains(err.Error(), "want loops of one kind") {
		t.Fatalf("error = %v", err)
	}
}
