package schedule

import "math"

// Simplify folds constants and removes identities (x+0, x*1, x*0 for integers, ...), so that
// index expressions built by primitives stay readable when printed. It never changes the value
// of an expression.
func Simplify(e Expr) Expr {
	switch e := e.(type) {
	case *Binary:
		return simplifyBinary(e.Op, Simplify(e.A), Simplify(e.B))
	case *Not:
		x := Simplify(e.X)
		if n, ok := x.(*Not); ok {
			return n.X
		}
		return &Not{X: x}
	case *Call:
		args := make([]Expr, len(e.Args))
		allConst := true
		for i, a := range e.Args {
			args[i] = Simplify(a)
			if _, ok := args[i].(*FloatImm); !ok {
				allConst = false
			}
		}
		if allConst && len(args) == 1 {
			c := args[0].(*FloatImm)
			if v, ok := EvalIntrinsic(e.Fn, c.Value); ok {
				return Float(c.DType, v)
			}
		}
		return &Call{Fn: e.Fn, Args: args}
	case *Load:
		idx := make([]Expr, len(e.Indices))
		for i, x := range e.Indices {
			idx[i] = Simplify(x)
		}
		return &Load{Buffer: e.Buffer, Indices: idx}
	case *Select:
		return &Select{Cond: Simplify(e.Cond), Then: Simplify(e.Then), Else: Simplify(e.Else)}
	case *Cast:
		x := Simplify(e.X)
		if c, ok := x.(*IntImm); ok && e.To.IsFloat() {
			return Float(e.To, float64(c.Value))
		}
		if c, ok := x.(*FloatImm); ok && e.To.IsFloat() {
			return Float(e.To, c.Value)
		}
		return &Cast{To: e.To, X: x}
	}
	return e
}

func simplifyBinary(op BinOp, a, b Expr) Expr {
	ai, aInt := a.(*IntImm)
	bi, bInt := b.(*IntImm)
	if aInt && bInt {
		if v, ok := foldInt(op, ai.Value, bi.Value); ok {
			return Int(v)
		}
	}
	af, aFl := a.(*FloatImm)
	bf, bFl := b.(*FloatImm)
	if aFl && bFl && af.DType == bf.DType {
		if v, ok := foldFloat(op, af.Value, bf.Value); ok {
			return Float(af.DType, v)
		}
	}
	switch op {
	case Add:
		if aInt && ai.Value == 0 {
			return b
		}
		if bInt && bi.Value == 0 {
			return a
		}
		// (x + c1) + c2 → x + (c1+c2)
		if bInt {
			if inner, ok := a.(*Binary); ok && inner.Op == Add {
				if c, ok := inner.B.(*IntImm); ok {
					return simplifyBinary(Add, inner.A, Int(c.Value+bi.Value))
				}
			}
			if bi.Value < 0 {
				return &Binary{Op: Sub, A: a, B: Int(-bi.Value)}
			}
		}
	case Sub:
		if bInt && bi.Value == 0 {
			return a
		}
	case Mul:
		if aInt && ai.Value == 1 {
			return b
		}
		if bInt && bi.Value == 1 {
			return a
		}
		if (aInt && ai.Value == 0) || (bInt && bi.Value == 0) {
			return Int(0)
		}
	case FloorDiv:
		if bInt && bi.Value == 1 {
			return a
		}
	case FloorMod:
		if bInt && bi.Value == 1 {
			return Int(0)
		}
	}
	return &Binary{Op: op, A: a, B: b}
}

func foldInt(op BinOp, a, b int64) (int64, bool) {
	switch op {
	case Add:
		return a + b, true
	case Sub:
		return a - b, true
	case Mul:
		return a * b, true
	case FloorDiv:
		if b == 0 {
			return 0, false
		}
		return floorDiv(a, b), true
	case FloorMod:
		if b == 0 {
			return 0, false
		}
		return a - floorDiv(a, b)*b, true
	case Min:
		return min(a, b), true
	case Max:
		return max(a, b), true
	}
	return 0, false
}

func foldFloat(op BinOp, a, b float64) (float64, bool) {
	switch op {
	case Add:
		return a + b, true
	case Sub:
		return a - b, true
	case Mul:
		return a * b, true
	case Div:
		return a / b, true
	case Min:
		return math.Min(a, b), true
	case Max:
		return math.Max(a, b), true
	}
	return 0, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// EvalIntrinsic computes an intrinsic on one value in float64, with the same definitions the
// backends use (gelu is the exact erf form; silu is x·sigmoid(x)).
func EvalIntrinsic(fn Intrinsic, x float64) (float64, bool) {
	switch fn {
	case Exp:
		return math.Exp(x), true
	case Log:
		return math.Log(x), true
	case Sqrt:
		return math.Sqrt(x), true
	case Rsqrt:
		return 1 / math.Sqrt(x), true
	case Tanh:
		return math.Tanh(x), true
	case Sigmoid:
		return 1 / (1 + math.Exp(-x)), true
	case Silu:
		return x / (1 + math.Exp(-x)), true
	case Gelu:
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)), true
	case Relu:
		return math.Max(x, 0), true
	case Abs:
		return math.Abs(x), true
	case Erf:
		return math.Erf(x), true
	}
	return 0, false
}
