package schedule

// interval is an inclusive integer range [lo, hi].
type interval struct{ lo, hi int64 }

// bounds computes the range of an integer expression given the ranges of its variables, and
// whether it could; the verifier uses it to prove indices and bindings stay in bounds.
func bounds(e Expr, vars map[*Var]interval) (interval, bool) {
	switch e := e.(type) {
	case *IntImm:
		return interval{e.Value, e.Value}, true
	case *Var:
		r, ok := vars[e]
		return r, ok
	case *Binary:
		a, okA := bounds(e.A, vars)
		b, okB := bounds(e.B, vars)
		if !okA || !okB {
			return interval{}, false
		}
		switch e.Op {
		case Add:
			return interval{a.lo + b.lo, a.hi + b.hi}, true
		case Sub:
			return interval{a.lo - b.hi, a.hi - b.lo}, true
		case Mul:
			c := []int64{a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi}
			r := interval{c[0], c[0]}
			for _, x := range c[1:] {
				r.lo, r.hi = min(r.lo, x), max(r.hi, x)
			}
			return r, true
		case FloorDiv:
			if b.lo != b.hi || b.lo <= 0 {
				return interval{}, false
			}
			return interval{floorDiv(a.lo, b.lo), floorDiv(a.hi, b.lo)}, true
		case FloorMod:
			if b.lo != b.hi || b.lo <= 0 {
				return interval{}, false
			}
			if a.lo >= 0 && a.hi < b.lo {
				return a, true
			}
			return interval{0, b.lo - 1}, true
		case Min:
			return interval{min(a.lo, b.lo), min(a.hi, b.hi)}, true
		case Max:
			return interval{max(a.lo, b.lo), max(a.hi, b.hi)}, true
		}
	}
	return interval{}, false
}

// conjuncts splits a condition on its top-level ands.
func conjuncts(cond Expr) []Expr {
	if b, ok := cond.(*Binary); ok && b.Op == And {
		return append(conjuncts(b.A), conjuncts(b.B)...)
	}
	return []Expr{cond}
}

// guardBound reads a conjunct of the form `x OP c` or `c OP x` (c a constant) as a bound on x.
func guardBound(c Expr) (x Expr, r interval, ok bool) {
	b, isBin := c.(*Binary)
	if !isBin || !b.Op.IsCompare() {
		return nil, interval{}, false
	}
	const big = int64(1) << 62
	op, lhs, rhs := b.Op, b.A, b.B
	k, constRight := rhs.(*IntImm)
	if !constRight {
		kl, constLeft := lhs.(*IntImm)
		if !constLeft {
			return nil, interval{}, false
		}
		// c OP x  ≡  x OP' c
		k, lhs = kl, rhs
		switch op {
		case LT:
			op = GT
		case LE:
			op = GE
		case GT:
			op = LT
		case GE:
			op = LE
		}
	}
	switch op {
	case LT:
		return lhs, interval{-big, k.Value - 1}, true
	case LE:
		return lhs, interval{-big, k.Value}, true
	case GT:
		return lhs, interval{k.Value + 1, big}, true
	case GE:
		return lhs, interval{k.Value, big}, true
	case EQ:
		return lhs, interval{k.Value, k.Value}, true
	}
	return nil, interval{}, false
}

// ExprEqual reports whether two expressions are the same tree over the same variables and buffers.
func ExprEqual(a, b Expr) bool {
	switch a := a.(type) {
	case *IntImm:
		b, ok := b.(*IntImm)
		return ok && a.Value == b.Value
	case *FloatImm:
		b, ok := b.(*FloatImm)
		return ok && a.DType == b.DType && (a.Value == b.Value || (a.Value != a.Value && b.Value != b.Value))
	case *Var:
		b, ok := b.(*Var)
		return ok && a == b
	case *Binary:
		b, ok := b.(*Binary)
		return ok && a.Op == b.Op && ExprEqual(a.A, b.A) && ExprEqual(a.B, b.B)
	case *Not:
		b, ok := b.(*Not)
		return ok && ExprEqual(a.X, b.X)
	case *Call:
		b, ok := b.(*Call)
		return ok && a.Fn == b.Fn && exprsEqual(a.Args, b.Args)
	case *Load:
		b, ok := b.(*Load)
		return ok && a.Buffer == b.Buffer && exprsEqual(a.Indices, b.Indices)
	case *Select:
		b, ok := b.(*Select)
		return ok && ExprEqual(a.Cond, b.Cond) && ExprEqual(a.Then, b.Then) && ExprEqual(a.Else, b.Else)
	case *Cast:
		b, ok := b.(*Cast)
		return ok && a.To == b.To && ExprEqual(a.X, b.X)
	}
	return false
}

func exprsEqual(a, b []Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !ExprEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}
