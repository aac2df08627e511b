package scheduletest

import "colt/schedule"

// Stage describes one stage of a test program as the workloads lowering builds it: a loop nest
// with one loop per iterator (named as given; the iterators are v_<name>) around a block that
// stores Value's result into Out at Value's indices. Kinds has one letter per iterator, S or
// R; a stage with an Init is a reduction, whose Value loads its own output.
type Stage struct {
	Name    string
	Out     *schedule.Buffer
	Iters   []string
	Extents []int
	Kinds   string
	Init    schedule.Expr
	Value   func(v []*schedule.Var) (idx []schedule.Expr, value schedule.Expr)
}

// Program builds a function of the given parameters whose root block allocates allocs and runs
// the stages in order. Regions are those of the workloads lowering: a point region per
// distinct load, the reduction's own output left out of T.reads.
func Program(name string, params, allocs []*schedule.Buffer, stages ...Stage) *schedule.Func {
	var nests []schedule.Stmt
	for _, st := range stages {
		nests = append(nests, stage(st))
	}
	return &schedule.Func{Name: name, Params: params,
		Root: &schedule.Block{Name: "root", Allocs: allocs, Body: &schedule.Seq{Stmts: nests}}}
}

func stage(s Stage) schedule.Stmt {
	n := len(s.Iters)
	loops := make([]*schedule.Var, n)
	iters := make([]schedule.IterVar, n)
	vars := make([]*schedule.Var, n)
	binds := make([]schedule.Expr, n)
	for i, name := range s.Iters {
		loops[i] = schedule.NewVar(name)
		vars[i] = schedule.NewVar("v_" + name)
		kind := schedule.Spatial
		if i < len(s.Kinds) && s.Kinds[i] == 'R' {
			kind = schedule.Reduce
		}
		iters[i] = schedule.IterVar{Var: vars[i], Extent: s.Extents[i], Kind: kind}
		binds[i] = loops[i]
	}
	idx, value := s.Value(vars)
	var reads []schedule.Region
	var seen []*schedule.Load
	schedule.WalkExpr(value, func(e schedule.Expr) bool {
		l, ok := e.(*schedule.Load)
		if !ok || (s.Init != nil && l.Buffer == s.Out) {
			return true
		}
		for _, x := range seen {
			if schedule.ExprEqual(x, l) {
				return true
			}
		}
		seen = append(seen, l)
		reads = append(reads, pointRegion(l.Buffer, l.Indices))
		return true
	})
	b := &schedule.Block{
		Name: s.Name, IterVars: iters, Bindings: binds,
		Reads: reads, Writes: []schedule.Region{pointRegion(s.Out, idx)},
		Body: &schedule.Store{Buffer: s.Out, Indices: idx, Value: value},
	}
	if s.Init != nil {
		b.Init = &schedule.Store{Buffer: s.Out, Indices: idx, Value: s.Init}
	}
	var body schedule.Stmt = b
	for i := n - 1; i >= 0; i-- {
		body = &schedule.Loop{Var: loops[i], Extent: s.Extents[i], Body: body}
	}
	return body
}

func pointRegion(b *schedule.Buffer, idx []schedule.Expr) schedule.Region {
	r := schedule.Region{Buffer: b}
	for _, x := range idx {
		r.Ranges = append(r.Ranges, schedule.Range{Min: x, Extent: 1})
	}
	return r
}

// Load builds a load.
func Load(b *schedule.Buffer, idx ...schedule.Expr) *schedule.Load {
	return &schedule.Load{Buffer: b, Indices: idx}
}

// Vars converts variables to expressions.
func Vars(v ...*schedule.Var) []schedule.Expr {
	out := make([]schedule.Expr, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

var f32 = schedule.Float32

func bin(op schedule.BinOp, a, b schedule.Expr) schedule.Expr { return schedule.Bin(op, a, b) }

// Matmul is C[i, j] = Σk A[i, k]·B[k, j] (block "C"); with relu, C is the intermediate T and a
// block "D" computes D[i, j] = relu(T[i, j]) into the output D.
func Matmul(m, n, k int, relu bool) *schedule.Func {
	a := schedule.NewBuffer("A", f32, m, k)
	b := schedule.NewBuffer("B", f32, k, n)
	c := schedule.NewBuffer("C", f32, m, n)
	mm := Stage{Name: "C", Out: c, Iters: []string{"i", "j", "k"}, Extents: []int{m, n, k}, Kinds: "SSR",
		Init: schedule.Float(f32, 0),
		Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
			idx := Vars(v[0], v[1])
			return idx, bin(schedule.Add, Load(c, idx...), bin(schedule.Mul, Load(a, v[0], v[2]), Load(b, v[2], v[1])))
		}}
	if !relu {
		return Program("matmul", []*schedule.Buffer{a, b, c}, nil, mm)
	}
	c.Name = "T"
	d := schedule.NewBuffer("D", f32, m, n)
	ep := Stage{Name: "D", Out: d, Iters: []string{"i", "j"}, Extents: []int{m, n}, Kinds: "SS",
		Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
			return Vars(v[0], v[1]), &schedule.Call{Fn: schedule.Relu, Args: []schedule.Expr{Load(c, v[0], v[1])}}
		}}
	return Program("matmul_relu", []*schedule.Buffer{a, b, d}, []*schedule.Buffer{c}, mm, ep)
}

// PadConv1D is a stride-2 1-D convolution over a zero-padded input with the padding as a
// guarded select in the convolution itself: Y[x] = Σr pad(X)[2x + r - 1]·W[r] (block "Y").
func PadConv1D() *schedule.Func {
	x := schedule.NewBuffer("X", f32, 13)
	w := schedule.NewBuffer("W", f32, 3)
	y := schedule.NewBuffer("Y", f32, 7)
	conv := Stage{Name: "Y", Out: y, Iters: []string{"x", "r"}, Extents: []int{7, 3}, Kinds: "SR",
		Init: schedule.Float(f32, 0),
		Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
			in := schedule.Simplify(bin(schedule.Add, bin(schedule.Add, bin(schedule.Mul, v[0], schedule.Int(2)), v[1]), schedule.Int(-1)))
			guarded := &schedule.Select{
				Cond: bin(schedule.And, bin(schedule.LE, schedule.Int(0), in), bin(schedule.LT, in, schedule.Int(13))),
				Then: Load(x, in), Else: schedule.Float(f32, 0),
			}
			return Vars(v[0]), bin(schedule.Add, Load(y, v[0]), bin(schedule.Mul, guarded, Load(w, v[1])))
		}}
	return Program("pad_conv", []*schedule.Buffer{x, w, y}, nil, conv)
}

// Softmax is a row softmax as four stages: M[r] = max_c X[r, c] (block "M"),
// E[r, c] = exp(X[r, c] - M[r]) ("E"), S[r] = Σc E[r, c] ("S"), Y[r, c] = E[r, c] / S[r] ("Y").
func Softmax(rows, cols int) *schedule.Func {
	x := schedule.NewBuffer("X", f32, rows, cols)
	m := schedule.NewBuffer("M", f32, rows)
	e := schedule.NewBuffer("E", f32, rows, cols)
	s := schedule.NewBuffer("S", f32, rows)
	y := schedule.NewBuffer("Y", f32, rows, cols)
	rc := []string{"r", "c"}
	ext := []int{rows, cols}
	return Program("softmax", []*schedule.Buffer{x, y}, []*schedule.Buffer{m, e, s},
		Stage{Name: "M", Out: m, Iters: rc, Extents: ext, Kinds: "SR", Init: schedule.Inf(f32, -1),
			Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
				return Vars(v[0]), bin(schedule.Max, Load(m, v[0]), Load(x, v[0], v[1]))
			}},
		Stage{Name: "E", Out: e, Iters: rc, Extents: ext, Kinds: "SS",
			Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
				return Vars(v[0], v[1]), &schedule.Call{Fn: schedule.Exp, Args: []schedule.Expr{
					bin(schedule.Sub, Load(x, v[0], v[1]), Load(m, v[0]))}}
			}},
		Stage{Name: "S", Out: s, Iters: rc, Extents: ext, Kinds: "SR", Init: schedule.Float(f32, 0),
			Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
				return Vars(v[0]), bin(schedule.Add, Load(s, v[0]), Load(e, v[0], v[1]))
			}},
		Stage{Name: "Y", Out: y, Iters: rc, Extents: ext, Kinds: "SS",
			Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
				return Vars(v[0], v[1]), bin(schedule.Div, Load(e, v[0], v[1]), Load(s, v[0]))
			}},
	)
}

// Conv2D is a 3×3, stride-1, padding-1 NCHW convolution with the padding as a stage of its own,
// as the flux-conv workload writes it: Xp[n, c, h, w] = pad(X[n, c, h - 1, w - 1]) (block "Xp")
// and Y[n, k, y, x] = Σ(c, r, s) Xp[n, c, y + r, x + s]·Wt[k, c, r, s] (block "Y").
func Conv2D(n, c, k, h, w int) *schedule.Func {
	x := schedule.NewBuffer("X", f32, n, c, h, w)
	wt := schedule.NewBuffer("Wt", f32, k, c, 3, 3)
	xp := schedule.NewBuffer("Xp", f32, n, c, h+2, w+2)
	y := schedule.NewBuffer("Y", f32, n, k, h, w)
	pad := Stage{Name: "Xp", Out: xp, Iters: []string{"n", "c", "h", "w"}, Extents: []int{n, c, h + 2, w + 2}, Kinds: "SSSS",
		Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
			hi := schedule.Simplify(bin(schedule.Add, v[2], schedule.Int(-1)))
			wi := schedule.Simplify(bin(schedule.Add, v[3], schedule.Int(-1)))
			cond := bin(schedule.And, bin(schedule.And, bin(schedule.And,
				bin(schedule.LE, schedule.Int(0), hi), bin(schedule.LT, hi, schedule.Int(int64(h)))),
				bin(schedule.LE, schedule.Int(0), wi)), bin(schedule.LT, wi, schedule.Int(int64(w))))
			return Vars(v...), &schedule.Select{Cond: cond, Then: Load(x, v[0], v[1], hi, wi), Else: schedule.Float(f32, 0)}
		}}
	conv := Stage{Name: "Y", Out: y, Iters: []string{"n", "k", "y", "x", "c", "r", "s"},
		Extents: []int{n, k, h, w, c, 3, 3}, Kinds: "SSSSRRR", Init: schedule.Float(f32, 0),
		Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
			idx := Vars(v[0], v[1], v[2], v[3])
			in := Load(xp, v[0], v[4], bin(schedule.Add, v[2], v[5]), bin(schedule.Add, v[3], v[6]))
			return idx, bin(schedule.Add, Load(y, idx...), bin(schedule.Mul, in, Load(wt, v[1], v[4], v[5], v[6])))
		}}
	return Program("conv2d", []*schedule.Buffer{x, wt, y}, []*schedule.Buffer{xp}, pad, conv)
}

// MatmulBiasRelu is T = A·B (block "C"), U[i, j] = T[i, j] + bias[j] (block "U") and
// D[j, i] = relu(U[i, j]) (block "D", an element-wise epilogue that transposes).
func MatmulBiasRelu(m, n, k int) *schedule.Func {
	f := Matmul(m, n, k, true)
	t := f.Root.Allocs[0]
	bias := schedule.NewBuffer("bias", f32, n)
	u := schedule.NewBuffer("U", f32, m, n)
	d := schedule.NewBuffer("D", f32, n, m)
	mm := f.Root.Body.(*schedule.Seq).Stmts[0]
	ij := []string{"i", "j"}
	out := Program("matmul_bias_relu", []*schedule.Buffer{f.Params[0], f.Params[1], bias, d}, []*schedule.Buffer{t, u},
		Stage{Name: "U", Out: u, Iters: ij, Extents: []int{m, n}, Kinds: "SS",
			Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
				return Vars(v[0], v[1]), bin(schedule.Add, Load(t, v[0], v[1]), Load(bias, v[1]))
			}},
		Stage{Name: "D", Out: d, Iters: ij, Extents: []int{m, n}, Kinds: "SS",
			Value: func(v []*schedule.Var) ([]schedule.Expr, schedule.Expr) {
				return Vars(v[1], v[0]), &schedule.Call{Fn: schedule.Relu, Args: []schedule.Expr{Load(u, v[0], v[1])}}
			}},
	)
	seq := out.Root.Body.(*schedule.Seq)
	seq.Stmts = append([]schedule.Stmt{mm}, seq.Stmts...)
	return out
}
