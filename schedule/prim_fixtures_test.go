package schedule

// More unscheduled programs for the block primitives' tests, built like fixture_test.go's.

// conv2dFunc is a 3×3, stride-1, padding-1 NCHW convolution with the padding as its own stage
// (block "Xp"), as the flux-conv workload writes it, followed by the convolution (block "Y").
func conv2dFunc(n, c, k, h, w int) *Func {
	x := NewBuffer("X", Float32, n, c, h, w)
	wt := NewBuffer("Wt", Float32, k, c, 3, 3)
	xp := NewBuffer("Xp", Float32, n, c, h+2, w+2)
	y := NewBuffer("Y", Float32, n, k, h, w)
	pad := stage(stageSpec{name: "Xp", out: xp, names: []string{"n", "c", "h", "w"}, extents: []int{n, c, h + 2, w + 2}, kinds: "SSSS",
		value: func(v []*Var) ([]Expr, Expr) {
			hi := Simplify(Bin(Add, v[2], Int(-1)))
			wi := Simplify(Bin(Add, v[3], Int(-1)))
			cond := Bin(And, Bin(And, Bin(And, Bin(LE, Int(0), hi), Bin(LT, hi, Int(int64(h)))),
				Bin(LE, Int(0), wi)), Bin(LT, wi, Int(int64(w))))
			return vs(v...), &Select{Cond: cond, Then: load(x, v[0], v[1], hi, wi), Else: Float(Float32, 0)}
		}})
	conv := stage(stageSpec{name: "Y", out: y, names: []string{"n", "k", "y", "x", "c", "r", "s"},
		extents: []int{n, k, h, w, c, 3, 3}, kinds: "SSSSRRR", init: Float(Float32, 0),
		value: func(v []*Var) ([]Expr, Expr) {
			idx := vs(v[0], v[1], v[2], v[3])
			in := load(xp, v[0], v[4], Bin(Add, v[2], v[5]), Bin(Add, v[3], v[6]))
			return idx, Bin(Add, load(y, idx...), Bin(Mul, in, load(wt, v[1], v[4], v[5], v[6])))
		}})
	return &Func{Name: "conv2d", Params: []*Buffer{x, wt, y},
		Root: &Block{Name: "root", Allocs: []*Buffer{xp}, Body: &Seq{Stmts: []Stmt{pad, conv}}}}
}

// softmaxFunc is a row softmax in four stages: M (row max), E = exp(X - M), S (row sum of E),
// Y = E / S.
func softmaxFunc(rows, cols int) *Func {
	x := NewBuffer("X", Float32, rows, cols)
	m := NewBuffer("M", Float32, rows)
	e := NewBuffer("E", Float32, rows, cols)
	sum := NewBuffer("S", Float32, rows)
	y := NewBuffer("Y", Float32, rows, cols)
	rc, ext := []string{"r", "c"}, []int{rows, cols}
	stages := []Stmt{
		stage(stageSpec{name: "M", out: m, names: rc, extents: ext, kinds: "SR", init: Inf(Float32, -1),
			value: func(v []*Var) ([]Expr, Expr) { return vs(v[0]), Bin(Max, load(m, v[0]), load(x, v[0], v[1])) }}),
		stage(stageSpec{name: "E", out: e, names: rc, extents: ext, kinds: "SS",
			value: func(v []*Var) ([]Expr, Expr) {
				return vs(v[0], v[1]), &Call{Fn: Exp, Args: []Expr{Bin(Sub, load(x, v[0], v[1]), load(m, v[0]))}}
			}}),
		stage(stageSpec{name: "S", out: sum, names: rc, extents: ext, kinds: "SR", init: Float(Float32, 0),
			value: func(v []*Var) ([]Expr, Expr) { return vs(v[0]), Bin(Add, load(sum, v[0]), load(e, v[0], v[1])) }}),
		stage(stageSpec{name: "Y", out: y, names: rc, extents: ext, kinds: "SS",
			value: func(v []*Var) ([]Expr, Expr) {
				return vs(v[0], v[1]), Bin(Div, load(e, v[0], v[1]), load(sum, v[0]))
			}}),
	}
	return &Func{Name: "softmax", Params: []*Buffer{x, y},
		Root: &Block{Name: "root", Allocs: []*Buffer{m, e, sum}, Body: &Seq{Stmts: stages}}}
}

// matmulBiasReluFunc is T = A·B (block "C"), U[i, j] = T[i, j] + bias[j] (block "U"),
// D[j, i] = relu(U[i, j]) (block "D", which transposes).
func matmulBiasReluFunc(m, n, k int) *Func {
	f := matmulFunc(m, n, k, false)
	t := f.Params[2]
	t.Name = "T"
	bias := NewBuffer("bias", Float32, n)
	u := NewBuffer("U", Float32, m, n)
	d := NewBuffer("D", Float32, n, m)
	f.Name = "matmul_bias_relu"
	f.Params = []*Buffer{f.Params[0], f.Params[1], bias, d}
	f.Root.Allocs = []*Buffer{t, u}
	seq := f.Root.Body.(*Seq)
	seq.Stmts = append(seq.Stmts,
		stage(stageSpec{name: "U", out: u, names: []string{"i", "j"}, extents: []int{m, n}, kinds: "SS",
			value: func(v []*Var) ([]Expr, Expr) {
				return vs(v[0], v[1]), Bin(Add, load(t, v[0], v[1]), load(bias, v[1]))
			}}),
		stage(stageSpec{name: "D", out: d, names: []string{"i", "j"}, extents: []int{m, n}, kinds: "SS",
			value: func(v []*Var) ([]Expr, Expr) {
				return vs(v[1], v[0]), &Call{Fn: Relu, Args: []Expr{load(u, v[0], v[1])}}
			}}))
	return f
}

// chainFunc is a chain of element-wise stages over 8 elements for the legality tests:
// P: T[i] = A[i] + 1; Q: A2[i] = T[i] * 2 (overwrites nothing P reads); R: Out[i] = T[i] + A2[i].
// With rewriteInput, Q instead writes U, which P reads, after P: U is first written by a stage
// U0 before P.
func chainFunc(rewriteInput bool) *Func {
	a := NewBuffer("A", Float32, 8)
	out := NewBuffer("Out", Float32, 8)
	t := NewBuffer("T", Float32, 8)
	u := NewBuffer("U", Float32, 8)
	q := NewBuffer("Q", Float32, 8)
	one := []string{"i"}
	ext := []int{8}
	var stages []Stmt
	src := a
	if rewriteInput {
		src = u
		stages = append(stages, stage(stageSpec{name: "U0", out: u, names: one, extents: ext, kinds: "S",
			value: func(v []*Var) ([]Expr, Expr) { return vs(v[0]), Bin(Mul, load(a, v[0]), Float(Float32, 3)) }}))
	}
	stages = append(stages,
		stage(stageSpec{name: "P", out: t, names: one, extents: ext, kinds: "S",
			value: func(v []*Var) ([]Expr, Expr) { return vs(v[0]), Bin(Add, load(src, v[0]), Float(Float32, 1)) }}),
	)
	qOut := q
	if rewriteInput {
		qOut = u
	}
	stages = append(stages,
		stage(stageSpec{name: "Q", out: qOut, names: one, extents: ext, kinds: "S",
			value: func(v []*Var) ([]Expr, Expr) { return vs(v[0]), Bin(Mul, load(a, v[0]), Float(Float32, 2)) }}),
		stage(stageSpec{name: "R", out: out, names: one, extents: ext, kinds: "S",
			value: func(v []*Var) ([]Expr, Expr) { return vs(v[0]), Bin(Add, load(t, v[0]), load(qOut, v[0])) }}),
	)
	allocs := []*Buffer{t, q}
	if rewriteInput {
		allocs = []*Buffer{u, t}
	}
	return &Func{Name: "chain", Params: []*Buffer{a, out}, Root: &Block{Name: "root", Allocs: allocs, Body: &Seq{Stmts: stages}}}
}

// fanoutFunc is P: T[i] = A[i] + 1 read by two element-wise stages, R1: O1[i] = T[i]·2 and
// R2: O2[i] = T[i]·3.
func fanoutFunc() *Func {
	a := NewBuffer("A", Float32, 8)
	t := NewBuffer("T", Float32, 8)
	o1 := NewBuffer("O1", Float32, 8)
	o2 := NewBuffer("O2", Float32, 8)
	one, ext := []string{"i"}, []int{8}
	mk := func(name string, out, in *Buffer, k float64) Stmt {
		return stage(stageSpec{name: name, out: out, names: one, extents: ext, kinds: "S",
			value: func(v []*Var) ([]Expr, Expr) { return vs(v[0]), Bin(Mul, load(in, v[0]), Float(Float32, k)) }})
	}
	return &Func{Name: "fanout", Params: []*Buffer{a, o1, o2}, Root: &Block{Name: "root", Allocs: []*Buffer{t},
		Body: &Seq{Stmts: []Stmt{mk("P", t, a, 1), mk("R1", o1, t, 2), mk("R2", o2, t, 3)}}}}
}
