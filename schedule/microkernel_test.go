package schedule

import (
	"strings"
	"testing"
)

// microNest schedules matmulFunc(m, n, k) with j split into jo · ji (ji wide), its loops in
// the given order (names among i, jo, ji, k), C's init moved out of the reduction, and asks
// for a micro-kernel at loop at with the given lanes; it returns that loop.
func microNest(t *testing.T, m, n, k, ji int, order, at string, lanes int) *Loop {
	t.Helper()
	s := New(matmulFunc(m, n, k, false), nil)
	b, err := s.GetBlock("C")
	if err != nil {
		t.Fatal(err)
	}
	loops, _ := s.GetLoops(b)
	js, err := s.Split(loops[1], []IntRV{Lit(n / ji), Lit(ji)})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]LoopRV{"i": loops[0], "jo": js[0], "ji": js[1], "k": loops[2]}
	var rvs []LoopRV
	for _, name := range strings.Fields(order) {
		rvs = append(rvs, byName[name])
	}
	if err := s.Reorder(rvs...); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DecomposeReduction(b, rvs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.MicroKernel(byName[at], lanes); err != nil {
		t.Fatal(err)
	}
	lp, err := s.LoopOf(byName[at])
	if err != nil {
		t.Fatal(err)
	}
	return lp
}

func TestPlanMicroKernel(t *testing.T) {
	for _, tc := range []struct {
		name        string
		m, n, k, ji int
		order, at   string
		lanes       int
		want        string // a plan's description, or the error's words
	}{
		{"k then a 32-wide tile: 2 vectors of 16", 4, 64, 8, 32, "i jo k ji", "k", 16, "32 tile (2 accumulators of 16 lanes) over k (8)"},
		{"lanes narrowed to what divides the tile", 4, 24, 8, 24, "i jo k ji", "k", 16, "24 tile (3 accumulators of 8 lanes)"},
		{"rows and vectors", 4, 64, 8, 16, "jo k i ji", "k", 16, "4×16 tile (4 accumulators of 16 lanes)"},
		{"a tile loop outside the reduction", 4, 64, 8, 16, "i jo ji k", "ji", 16, "the reduction loops must come first"},
		{"nothing but the reduction", 4, 64, 8, 16, "i jo ji k", "k", 16, "no loop indexes C"},
		{"rows innermost: not contiguous", 4, 64, 8, 16, "jo ji k i", "k", 16, "the innermost loop i steps C by 64 elements, want 1"},
		{"too many accumulators", 64, 64, 8, 64, "jo k i ji", "k", 16, "needs 256 vector accumulators"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lp := microNest(t, tc.m, tc.n, tc.k, tc.ji, tc.order, tc.at, tc.lanes)
			m, err := PlanMicroKernel(lp)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = m.String()
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q in it", got, tc.want)
			}
		})
	}
}

func TestMicroKernelOperands(t *testing.T) {
	lp := microNest(t, 4, 64, 8, 32, "i jo k ji", "k", 16)
	m, err := PlanMicroKernel(lp)
	if err != nil {
		t.Fatal(err)
	}
	contiguous := map[string]bool{}
	WalkExpr(m.Update, func(e Expr) bool {
		if ld, ok := e.(*Load); ok {
			contiguous[ld.Buffer.Name] = m.Contiguous[ld]
		}
		return true
	})
	if !contiguous["B"] || contiguous["A"] {
		t.Fatalf("contiguous operands %v, want B (read as vectors) and not A (broadcast)", contiguous)
	}
}

// expMatmulFunc is P = exp(A) (a producer the design space does not inline), then C = P·B.
func expMatmulFunc(m, n, k int) *Func {
	a := NewBuffer("A", Float32, m, k)
	b := NewBuffer("B", Float32, k, n)
	p := NewBuffer("P", Float32, m, k)
	c := NewBuffer("C", Float32, m, n)
	exp := stage(stageSpec{
		name: "P", out: p, names: []string{"i", "k"}, extents: []int{m, k}, kinds: "SS",
		value: func(v []*Var) ([]Expr, Expr) {
			return vs(v[0], v[1]), &Call{Fn: Exp, Args: []Expr{load(a, v[0], v[1])}}
		},
	})
	mm := stage(stageSpec{
		name: "C", out: c, names: []string{"i", "j", "k"}, extents: []int{m, n, k}, kinds: "SSR",
		init: Float(Float32, 0),
		value: func(v []*Var) ([]Expr, Expr) {
			idx := vs(v[0], v[1])
			return idx, Bin(Add, load(c, idx...), Bin(Mul, load(p, v[0], v[2]), load(b, v[2], v[1])))
		},
	})
	return &Func{Name: "expmm", Params: []*Buffer{a, b, c}, Root: &Block{Name: "root", Allocs: []*Buffer{p}, Body: &Seq{Stmts: []Stmt{exp, mm}}}}
}

// TestProducersAreNeverComputedInsideAMicroKernel: a producer's compute locations stop at a
// micro-kernel's loop, whose nest must hold its one block.
func TestProducersAreNeverComputedInsideAMicroKernel(t *testing.T) {
	f := expMatmulFunc(8, 32, 8)
	opt := DefaultSpaceOptions(2)
	opt.SIMDLanes = 16
	sketches, err := DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sk := range sketches {
		if !strings.Contains(sk.Name, "micro-kernel") {
			continue
		}
		found = true
		s, _, err := Replay(f, sk.Trace, nil)
		if err != nil {
			t.Fatal(err)
		}
		inside := map[*Loop]bool{}
		WalkStmt(s.Func().Root.Body, func(st Stmt) bool {
			if l, ok := st.(*Loop); ok {
				if _, micro := l.Annotations[AnnMicroKernel]; micro {
					WalkStmt(l, func(x Stmt) bool {
						if il, ok := x.(*Loop); ok {
							inside[il] = true
						}
						return true
					})
				}
			}
			return true
		})
		if len(inside) == 0 {
			t.Fatalf("%s: no micro-kernel loop", sk.Name)
		}
		locs := s.computeLocations(findBlock(s.Func(), "P"))
		if len(locs) == 0 {
			t.Fatalf("%s: P has no compute location at all", sk.Name)
		}
		for _, loc := range locs {
			if inside[loc] {
				t.Errorf("%s: P may be computed at loop %s, inside the micro-kernel", sk.Name, loc.Var.Name)
			}
		}
	}
	if !found {
		t.Fatal("no micro-kernel sketch for a matmul")
	}
}
