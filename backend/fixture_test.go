package backend

import (
	"math"

	"colt/schedule"
)

// A tiny IR construction kit for the tests (backend must not import workloads).

const f32 = schedule.Float32

func ld(b *schedule.Buffer, idx ...schedule.Expr) *schedule.Load {
	return &schedule.Load{Buffer: b, Indices: idx}
}

func st(b *schedule.Buffer, val schedule.Expr, idx ...schedule.Expr) *schedule.Store {
	return &schedule.Store{Buffer: b, Indices: idx, Value: val}
}

func fc(v float64) *schedule.FloatImm { return schedule.Float(f32, v) }
func ic(v int64) *schedule.IntImm     { return schedule.Int(v) }

func add(a, b schedule.Expr) schedule.Expr { return schedule.Bin(schedule.Add, a, b) }
func sub(a, b schedule.Expr) schedule.Expr { return schedule.Bin(schedule.Sub, a, b) }
func mul(a, b schedule.Expr) schedule.Expr { return schedule.Bin(schedule.Mul, a, b) }
func call(fn schedule.Intrinsic, x schedule.Expr) schedule.Expr {
	return &schedule.Call{Fn: fn, Args: []schedule.Expr{x}}
}

func loop(v *schedule.Var, extent int, body schedule.Stmt) *schedule.Loop {
	return &schedule.Loop{Var: v, Extent: extent, Body: body}
}

func kindLoop(v *schedule.Var, extent int, kind schedule.LoopKind, body schedule.Stmt) *schedule.Loop {
	return &schedule.Loop{Var: v, Extent: extent, Kind: kind, Body: body}
}

func seq(s ...schedule.Stmt) *schedule.Seq { return &schedule.Seq{Stmts: s} }

// spatial builds a block whose iterators are all spatial and bound to the given expressions.
func spatial(name string, vars []*schedule.Var, extents []int, binds []schedule.Expr, body schedule.Stmt) *schedule.Block {
	b := &schedule.Block{Name: name, Bindings: binds, Body: body}
	for i, v := range vars {
		b.IterVars = append(b.IterVars, schedule.IterVar{Var: v, Extent: extents[i], Kind: schedule.Spatial})
	}
	return b
}

func vars(names ...string) []*schedule.Var {
	out := make([]*schedule.Var, len(names))
	for i, n := range names {
		out[i] = schedule.NewVar(n)
	}
	return out
}

func exprs(vs []*schedule.Var) []schedule.Expr {
	out := make([]schedule.Expr, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// matmulParts returns the buffers of C[m,n] = A[m,k] · B[k,n] and its block for given bindings.
func matmulBlock(A, B, C *schedule.Buffer, bi, bj, bk schedule.Expr, pred schedule.Expr) *schedule.Block {
	v := vars("vi", "vj", "vk")
	m, k, n := A.Shape[0], A.Shape[1], B.Shape[1]
	return &schedule.Block{
		Name: "C",
		IterVars: []schedule.IterVar{
			{Var: v[0], Extent: m, Kind: schedule.Spatial},
			{Var: v[1], Extent: n, Kind: schedule.Spatial},
			{Var: v[2], Extent: k, Kind: schedule.Reduce},
		},
		Bindings:  []schedule.Expr{bi, bj, bk},
		Predicate: pred,
		Init:      st(C, fc(0), v[0], v[1]),
		Body:      st(C, add(ld(C, v[0], v[1]), mul(ld(A, v[0], v[2]), ld(B, v[2], v[1]))), v[0], v[1]),
	}
}

// matmulFunc is the unscheduled C = A·B.
func matmulFunc(m, n, k int) *schedule.Func {
	A := schedule.NewBuffer("A", f32, m, k)
	B := schedule.NewBuffer("B", f32, k, n)
	C := schedule.NewBuffer("C", f32, m, n)
	l := vars("i", "j", "k")
	blk := matmulBlock(A, B, C, l[0], l[1], l[2], nil)
	root := &schedule.Block{Name: "root", Body: loop(l[0], m, loop(l[1], n, loop(l[2], k, blk)))}
	return &schedule.Func{Name: "matmul", Params: []*schedule.Buffer{A, B, C}, Root: root}
}

// scheduledMatmul is matmulFunc(m, n, k) after hand-applied scheduling: i split by 4 (with a
// predicate when 4 does not divide m) and parallel outside, j split by 8 with the inner part
// vectorized, the inner i unrolled, and auto-unroll 64 on the root.
func scheduledMatmul(base *schedule.Func) *schedule.Func {
	A, B, C := base.Params[0], base.Params[1], base.Params[2]
	m, k, n := A.Shape[0], A.Shape[1], B.Shape[1]
	l := vars("i_0", "j_0", "k", "i_1", "j_1")
	io, jo, kk, ii, ji := l[0], l[1], l[2], l[3], l[4]
	bi := add(mul(io, ic(4)), ii)
	bj := add(mul(jo, ic(8)), ji)
	var pred schedule.Expr
	if m%4 != 0 {
		pred = schedule.Bin(schedule.LT, bi, ic(int64(m)))
	}
	blk := matmulBlock(A, B, C, bi, bj, kk, pred)
	nest := kindLoop(io, (m+3)/4, schedule.Parallel,
		loop(jo, n/8,
			loop(kk, k,
				kindLoop(ii, 4, schedule.Unrolled,
					kindLoop(ji, 8, schedule.Vectorized, blk)))))
	root := &schedule.Block{Name: "root", Body: nest, Annotations: schedule.Annotations{AutoUnrollKey: "64"}}
	return &schedule.Func{Name: "matmul", Params: base.Params, Root: root}
}

// elementwiseFunc uses every intrinsic, a root intermediate, a block-local buffer, casts and
// floordiv/floormod of possibly negative values.
func elementwiseFunc(n int) *schedule.Func {
	X := schedule.NewBuffer("X", f32, n)
	Y := schedule.NewBuffer("Y", f32, n)
	T := schedule.NewBuffer("T", f32, n)
	L := &schedule.Buffer{Name: "L", Shape: []int{2}, DType: f32, Scope: schedule.Local}
	i1, i2 := schedule.NewVar("i"), schedule.NewVar("i")
	v1, v2 := schedule.NewVar("vi"), schedule.NewVar("vi")
	x := ld(X, v1)
	var sum schedule.Expr = mul(call(schedule.Exp, x), fc(0.25))
	for _, fn := range []schedule.Intrinsic{schedule.Tanh, schedule.Sigmoid, schedule.Silu, schedule.Gelu, schedule.Relu, schedule.Abs, schedule.Erf} {
		sum = add(sum, call(fn, x))
	}
	b1 := spatial("T", []*schedule.Var{v1}, []int{n}, []schedule.Expr{i1}, st(T, sum, v1))
	t := ld(T, v2)
	pos := add(call(schedule.Abs, t), fc(0.5))
	var y schedule.Expr = add(call(schedule.Log, pos), call(schedule.Sqrt, pos))
	y = add(y, call(schedule.Rsqrt, pos))
	y = add(y, schedule.Bin(schedule.Min, t, fc(0.3)))
	y = add(y, schedule.Bin(schedule.Max, t, fc(-0.2)))
	y = sub(y, schedule.Bin(schedule.Div, t, fc(1.5)))
	fdiv := &schedule.Cast{To: f32, X: schedule.Bin(schedule.FloorDiv, sub(v2, ic(3)), ic(2))}
	fmod := &schedule.Cast{To: f32, X: schedule.Bin(schedule.FloorMod, sub(v2, ic(5)), ic(3))}
	fdivPos := &schedule.Cast{To: f32, X: schedule.Bin(schedule.FloorDiv, v2, ic(2))}
	y = add(y, mul(add(add(fdiv, fmod), fdivPos), fc(0.01)))
	y = add(y, mul(ld(L, ic(1)), fc(1e-3)))
	b2 := spatial("Y", []*schedule.Var{v2}, []int{n}, []schedule.Expr{i2}, seq(
		st(L, mul(t, fc(2)), ic(0)),
		st(L, add(ld(L, ic(0)), fc(math.Pi)), ic(1)),
		st(Y, y, v2),
	))
	b2.Allocs = []*schedule.Buffer{L}
	root := &schedule.Block{Name: "root", Allocs: []*schedule.Buffer{T}, Body: seq(loop(i1, n, b1), loop(i2, n, b2))}
	return &schedule.Func{Name: "elementwise chain", Params: []*schedule.Buffer{X, Y}, Root: root}
}

// padFunc zero-pads A[h,w] by one on each side into P with a guarded Select, then sums a
// diagonal three-point stencil of P into O.
func padFunc(h, w int) *schedule.Func {
	A := schedule.NewBuffer("A", f32, h, w)
	P := schedule.NewBuffer("P", f32, h+2, w+2)
	O := schedule.NewBuffer("O", f32, h, w)
	l1, l2 := vars("i", "j"), vars("i", "j")
	v1, v2 := vars("vi", "vj"), vars("vi", "vj")
	r, c := v1[0], v1[1]
	lt := func(a, b schedule.Expr) schedule.Expr { return schedule.Bin(schedule.LT, a, b) }
	ge := func(a, b schedule.Expr) schedule.Expr { return schedule.Bin(schedule.GE, a, b) }
	or := func(a, b schedule.Expr) schedule.Expr { return schedule.Bin(schedule.Or, a, b) }
	outside := or(or(lt(r, ic(1)), ge(r, ic(int64(h+1)))), or(lt(c, ic(1)), ge(c, ic(int64(w+1)))))
	pad := &schedule.Select{Cond: &schedule.Not{X: outside}, Then: ld(A, sub(r, ic(1)), sub(c, ic(1))), Else: fc(0)}
	b1 := spatial("P", v1, []int{h + 2, w + 2}, exprs(l1), st(P, pad, r, c))
	y, x := v2[0], v2[1]
	sten := add(add(ld(P, y, x), mul(ld(P, add(y, ic(1)), add(x, ic(1))), fc(2))), ld(P, add(y, ic(2)), add(x, ic(2))))
	b2 := spatial("O", v2, []int{h, w}, exprs(l2), st(O, sten, y, x))
	root := &schedule.Block{Name: "root", Allocs: []*schedule.Buffer{P}, Body: seq(
		loop(l1[0], h+2, loop(l1[1], w+2, b1)),
		loop(l2[0], h, loop(l2[1], w, b2)),
	)}
	return &schedule.Func{Name: "pad_stencil", Params: []*schedule.Buffer{A, O}, Root: root}
}

// maxFunc is M[i] = max over k of A[i, k], initialised to -inf.
func maxFunc(m, k int) *schedule.Func {
	A := schedule.NewBuffer("A", f32, m, k)
	M := schedule.NewBuffer("M", f32, m)
	l := vars("i", "k")
	v := vars("vi", "vk")
	blk := &schedule.Block{
		Name: "M",
		IterVars: []schedule.IterVar{
			{Var: v[0], Extent: m, Kind: schedule.Spatial},
			{Var: v[1], Extent: k, Kind: schedule.Reduce},
		},
		Bindings: exprs(l),
		Init:     st(M, schedule.Inf(f32, -1), v[0]),
		Body:     st(M, schedule.Bin(schedule.Max, ld(M, v[0]), ld(A, v[0], v[1])), v[0]),
	}
	root := &schedule.Block{Name: "root", Body: loop(l[0], m, loop(l[1], k, blk))}
	return &schedule.Func{Name: "row_max", Params: []*schedule.Buffer{A, M}, Root: root}
}
