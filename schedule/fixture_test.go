package schedule

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files with the current output")

// golden compares got with testdata/NAME, or rewrites the file under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./schedule -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// stageSpec describes one unscheduled stage for the fixture builder: out[spatial...] is computed
// over the iterators (kinds "S"/"R", spatial first) by value; init marks a reduction.
type stageSpec struct {
	name    string
	out     *Buffer
	names   []string
	extents []int
	kinds   string
	init    Expr
	value   func(v []*Var) (idx []Expr, value Expr)
}

// stage builds the loop nest and block of one stage, as the workloads package does.
func stage(s stageSpec) Stmt {
	loops := make([]*Var, len(s.names))
	iters := make([]IterVar, len(s.names))
	vars := make([]*Var, len(s.names))
	binds := make([]Expr, len(s.names))
	for i, n := range s.names {
		loops[i] = NewVar(n)
		vars[i] = NewVar("v_" + n)
		kind := Spatial
		if s.kinds[i] == 'R' {
			kind = Reduce
		}
		iters[i] = IterVar{Var: vars[i], Extent: s.extents[i], Kind: kind}
		binds[i] = loops[i]
	}
	idx, value := s.value(vars)
	var reads []Region
	seen := map[*Buffer]bool{}
	WalkExpr(value, func(e Expr) bool {
		if l, ok := e.(*Load); ok && !seen[l.Buffer] {
			seen[l.Buffer] = true
			reads = append(reads, pointRegion(l.Buffer, l.Indices))
		}
		return true
	})
	b := &Block{
		Name: s.name, IterVars: iters, Bindings: binds,
		Reads: reads, Writes: []Region{pointRegion(s.out, idx)},
		Body: &Store{Buffer: s.out, Indices: idx, Value: value},
	}
	if s.init != nil {
		b.Init = &Store{Buffer: s.out, Indices: idx, Value: s.init}
	}
	var body Stmt = b
	for i := len(loops) - 1; i >= 0; i-- {
		body = &Loop{Var: loops[i], Extent: s.extents[i], Body: body}
	}
	return body
}

func pointRegion(b *Buffer, idx []Expr) Region {
	r := Region{Buffer: b}
	for _, x := range idx {
		r.Ranges = append(r.Ranges, Range{Min: x, Extent: 1})
	}
	return r
}

func load(b *Buffer, idx ...Expr) *Load { return &Load{Buffer: b, Indices: idx} }

func vs(v ...*Var) []Expr {
	out := make([]Expr, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// matmulFunc is C[i, j] = sum_k A[i, k] * B[k, j], optionally followed by relu into D.
func matmulFunc(m, n, k int, relu bool) *Func {
	a := NewBuffer("A", Float32, m, k)
	b := NewBuffer("B", Float32, k, n)
	c := NewBuffer("C", Float32, m, n)
	mm := stage(stageSpec{
		name: "C", out: c, names: []string{"i", "j", "k"}, extents: []int{m, n, k}, kinds: "SSR",
		init: Float(Float32, 0),
		value: func(v []*Var) ([]Expr, Expr) {
			idx := vs(v[0], v[1])
			return idx, Bin(Add, load(c, idx...), Bin(Mul, load(a, v[0], v[2]), load(b, v[2], v[1])))
		},
	})
	f := &Func{Name: "matmul", Params: []*Buffer{a, b, c}, Root: &Block{Name: "root", Body: &Seq{Stmts: []Stmt{mm}}}}
	if relu {
		c.Name = "T"
		d := NewBuffer("D", Float32, m, n)
		f.Params = []*Buffer{a, b, d}
		f.Root.Allocs = []*Buffer{c}
		f.Root.Body.(*Seq).Stmts = append(f.Root.Body.(*Seq).Stmts, stage(stageSpec{
			name: "D", out: d, names: []string{"i", "j"}, extents: []int{m, n}, kinds: "SS",
			value: func(v []*Var) ([]Expr, Expr) {
				return vs(v[0], v[1]), &Call{Fn: Relu, Args: []Expr{load(c, v[0], v[1])}}
			},
		}))
	}
	return f
}

// padConvFunc is a stride-2 1-D convolution over a zero-padded input, with the padding as a
// guarded select: Y[x] = sum_r pad(X)[2x + r - 1] * W[r].
func padConvFunc() *Func {
	x := NewBuffer("X", Float32, 13)
	w := NewBuffer("W", Float32, 3)
	y := NewBuffer("Y", Float32, 7)
	conv := stage(stageSpec{
		name: "Y", out: y, names: []string{"x", "r"}, extents: []int{7, 3}, kinds: "SR",
		init: Float(Float32, 0),
		value: func(v []*Var) ([]Expr, Expr) {
			in := Simplify(Bin(Add, Bin(Add, Bin(Mul, v[0], Int(2)), v[1]), Int(-1)))
			guarded := &Select{
				Cond: Bin(And, Bin(LE, Int(0), in), Bin(LT, in, Int(13))),
				Then: load(x, in), Else: Float(Float32, 0),
			}
			return vs(v[0]), Bin(Add, load(y, v[0]), Bin(Mul, guarded, load(w, v[1])))
		},
	})
	return &Func{Name: "pad_conv", Params: []*Buffer{x, w, y}, Root: &Block{Name: "root", Body: &Seq{Stmts: []Stmt{conv}}}}
}

// scheduledFunc is a hand-scheduled 64x64 element-wise program that exercises every loop kind,
// split bindings, a predicate, a local allocation and annotations.
func scheduledFunc() *Func {
	a := NewBuffer("A", Float32, 64, 60)
	b := NewBuffer("B", Float32, 64, 60)
	i0, i1, j0, j1 := NewVar("i_0"), NewVar("i_1"), NewVar("j_0"), NewVar("j_1")
	vi, vj := NewVar("v_i"), NewVar("v_j")
	tmp := &Buffer{Name: "acc", Shape: []int{1}, DType: Float32, Scope: Local}
	jExpr := Bin(Add, Bin(Mul, j0, Int(16)), j1)
	blk := &Block{
		Name:      "B",
		IterVars:  []IterVar{{Var: vi, Extent: 64}, {Var: vj, Extent: 60}},
		Bindings:  []Expr{Bin(Add, Bin(Mul, i0, Int(8)), i1), jExpr},
		Predicate: Bin(LT, jExpr, Int(60)),
		Reads:     []Region{{Buffer: a, Ranges: []Range{{Min: vi, Extent: 1}, {Min: vj, Extent: 1}}}},
		Writes:    []Region{{Buffer: b, Ranges: []Range{{Min: vi, Extent: 1}, {Min: vj, Extent: 1}}}},
		Allocs:    []*Buffer{tmp},
		Body: &Store{Buffer: b, Indices: vs(vi, vj), Value: Bin(Mul,
			&Call{Fn: Exp, Args: []Expr{Bin(Sub, load(a, vi, vj), Float(Float32, 0.5))}},
			&Cast{To: Float32, X: Bin(FloorMod, vj, Int(3))})},
		Annotations: Annotations{"meta_schedule.tiling_structure": "SSRSRS"},
	}
	inner := &Loop{Var: j1, Extent: 16, Kind: Vectorized, Body: blk}
	mid := &Loop{Var: j0, Extent: 4, Kind: Unrolled, Body: inner}
	loops := &Loop{Var: i0, Extent: 8, Kind: Parallel, Body: &Loop{Var: i1, Extent: 8, Body: mid,
		Annotations: Annotations{"pragma_auto_unroll_max_step": "64"}}}
	return &Func{Name: "scheduled", Params: []*Buffer{a, b}, Root: &Block{Name: "root", Body: loops,
		Annotations: Annotations{"meta_schedule.parallel": "32"}}}
}
