package workloads

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"colt/schedule"
)

func (l *lowerer) src() string { return l.info.ast.text }

func (l *lowerer) text(e expr) string { return textOf(l.src(), e) }

// toFloat converts an integer value to the workload's float type; floats pass unchanged.
func (l *lowerer) toFloat(v value) value {
	if v.k == kInt {
		return value{&schedule.Cast{To: l.c.dt, X: v.e}, kFloat}
	}
	return v
}

// number lowers an operand that must be a number (not a condition).
func (l *lowerer) number(e expr, what string) (value, error) {
	v, err := l.lower(e)
	if err != nil {
		return v, err
	}
	if v.k == kBool {
		return v, fmt.Errorf("%s needs a number, found the condition %q", what, l.text(e))
	}
	return v, nil
}

// cond lowers an operand that must be a condition.
func (l *lowerer) cond(e expr, what string) (value, error) {
	v, err := l.lower(e)
	if err != nil {
		return v, err
	}
	if v.k != kBool {
		return v, fmt.Errorf("%s needs a condition (a comparison), found %q", what, l.text(e))
	}
	return v, nil
}

// unify brings two numbers to a common kind: integer if both are, else float.
func (l *lowerer) unify(a, b value) (value, value) {
	if a.k == kInt && b.k == kInt {
		return a, b
	}
	return l.toFloat(a), l.toFloat(b)
}

// binOp is the IR operator of a binary operator token.
func binOp(k tokKind) schedule.BinOp {
	switch k {
	case tPlus:
		return schedule.Add
	case tMinus:
		return schedule.Sub
	case tStar:
		return schedule.Mul
	case tSlash:
		return schedule.Div
	case tPercent:
		return schedule.FloorMod
	case tLT:
		return schedule.LT
	case tLE:
		return schedule.LE
	case tGT:
		return schedule.GT
	case tGE:
		return schedule.GE
	case tEQ:
		return schedule.EQ
	case tNE:
		return schedule.NE
	case tAnd:
		return schedule.And
	}
	return schedule.Or
}

// lower converts a right-hand-side expression.
func (l *lowerer) lower(e expr) (value, error) {
	dt := l.c.dt
	switch n := e.(type) {
	case *numLit:
		if n.isInt {
			return value{schedule.Int(n.i), kInt}, nil
		}
		return value{schedule.Float(dt, n.f), kFloat}, nil
	case *nameRef:
		switch {
		case n.name == "inf":
			return value{schedule.Inf(dt, 1), kFloat}, nil
		case n.name == "pi":
			return value{schedule.Float(dt, math.Pi), kFloat}, nil
		case l.c.hasSize(n.name):
			return value{schedule.Int(l.c.sizes[n.name]), kInt}, nil
		case l.vars[n.name] != nil:
			return value{l.vars[n.name], kInt}, nil
		}
		return value{}, fmt.Errorf("undefined name %s", n.name)
	case *access:
		return l.load(n, false, nil)
	case *unary:
		if n.op == tNot {
			x, err := l.cond(n.x, "!")
			if err != nil {
				return x, err
			}
			return value{&schedule.Not{X: x.e}, kBool}, nil
		}
		x, err := l.number(n.x, "unary -")
		if err != nil {
			return x, err
		}
		if x.k == kInt {
			return value{schedule.Bin(schedule.Sub, schedule.Int(0), x.e), kInt}, nil
		}
		return value{schedule.Bin(schedule.Sub, schedule.Float(dt, 0), x.e), kFloat}, nil
	case *binary:
		return l.binary(n)
	case *call:
		return l.call(n)
	}
	return value{}, fmt.Errorf("unexpected %q", l.text(e))
}

func (l *lowerer) binary(n *binary) (value, error) {
	sym := symbol(n.op)
	if n.op == tAnd || n.op == tOr {
		a, err := l.cond(n.a, sym)
		if err != nil {
			return a, err
		}
		b, err := l.cond(n.b, sym)
		if err != nil {
			return b, err
		}
		return value{schedule.Bin(binOp(n.op), a.e, b.e), kBool}, nil
	}
	a, err := l.number(n.a, sym)
	if err != nil {
		return a, err
	}
	b, err := l.number(n.b, sym)
	if err != nil {
		return b, err
	}
	op := binOp(n.op)
	switch {
	case isCompare(n.op):
		a, b = l.unify(a, b)
		return value{schedule.Bin(op, a.e, b.e), kBool}, nil
	case n.op == tSlash:
		a, b = l.toFloat(a), l.toFloat(b)
		return value{schedule.Bin(op, a.e, b.e), kFloat}, nil
	case n.op == tPercent:
		c, isConst := schedule.Simplify(b.e).(*schedule.IntImm)
		if a.k != kInt || !isConst || c.Value <= 0 {
			return value{}, fmt.Errorf("%% needs an integer on the left and a positive integer constant on the right, found %q", l.text(n))
		}
		return value{schedule.Bin(op, a.e, c), kInt}, nil
	}
	a, b = l.unify(a, b)
	return value{schedule.Bin(op, a.e, b.e), a.k}, nil
}

// checkCall checks that a call names a known function with a valid number of arguments.
func (c *compiler) checkCall(src string, n *call) error {
	want := []int{1}
	switch n.fn {
	case "pad":
		want = []int{1, 2}
	case "select":
		want = []int{3}
	case "max", "min":
		want = []int{2}
	default:
		known := functionNames()
		if !slices.Contains(known, n.fn) {
			if c.tensors[n.fn] != nil {
				return fmt.Errorf("%s is a tensor; read it with %s[...], not %s(...)", n.fn, n.fn, n.fn)
			}
			return fmt.Errorf("unknown function %s%s (known: %s)", n.fn, suggest(n.fn, known), strings.Join(known, ", "))
		}
	}
	if slices.Contains(want, len(n.args)) {
		if _, isAccess := n.args[0].(*access); n.fn == "pad" && !isAccess {
			return fmt.Errorf("pad's first argument must be a tensor access such as X[n, h - 1], found %q", textOf(src, n.args[0]))
		}
		return nil
	}
	s := "s"
	if want[len(want)-1] == 1 {
		s = ""
	}
	ws := fmt.Sprint(want[0])
	if len(want) > 1 {
		ws = fmt.Sprintf("%d or %d", want[0], want[1])
	}
	return fmt.Errorf("%s takes %s argument%s, found %d in %q", n.fn, ws, s, len(n.args), textOf(src, n))
}

func (l *lowerer) call(n *call) (value, error) {
	if err := l.c.checkCall(l.src(), n); err != nil {
		return value{}, err
	}
	switch n.fn {
	case "pad":
		a, ok := n.args[0].(*access)
		if !ok {
			return value{}, fmt.Errorf("pad's first argument must be a tensor access such as X[n, h - 1], found %q", l.text(n.args[0]))
		}
		var fill schedule.Expr = schedule.Float(l.c.dt, 0)
		if len(n.args) == 2 {
			v, err := l.number(n.args[1], "pad's fill value")
			if err != nil {
				return v, err
			}
			fill = l.toFloat(v).e
		}
		return l.load(a, true, fill)
	case "select":
		c, err := l.cond(n.args[0], "select's first argument")
		if err != nil {
			return c, err
		}
		l.guarded++
		defer func() { l.guarded-- }()
		a, err := l.number(n.args[1], "select")
		if err != nil {
			return a, err
		}
		b, err := l.number(n.args[2], "select")
		if err != nil {
			return b, err
		}
		a, b = l.unify(a, b)
		return value{&schedule.Select{Cond: c.e, Then: a.e, Else: b.e}, a.k}, nil
	case "max", "min":
		a, err := l.number(n.args[0], n.fn)
		if err != nil {
			return a, err
		}
		b, err := l.number(n.args[1], n.fn)
		if err != nil {
			return b, err
		}
		a, b = l.unify(a, b)
		op := schedule.Max
		if n.fn == "min" {
			op = schedule.Min
		}
		return value{schedule.Bin(op, a.e, b.e), a.k}, nil
	}
	for _, fn := range schedule.Intrinsics() {
		if string(fn) == n.fn {
			x, err := l.number(n.args[0], n.fn)
			if err != nil {
				return x, err
			}
			return value{&schedule.Call{Fn: fn, Args: []schedule.Expr{l.toFloat(x).e}}, kFloat}, nil
		}
	}
	return value{}, fmt.Errorf("unknown function %s", n.fn)
}

// functionNames lists every function a stage may call: the intrinsics, then max, min,
// select and pad.
func functionNames() []string {
	var names []string
	for _, fn := range schedule.Intrinsics() {
		names = append(names, string(fn))
	}
	return append(names, "max", "min", "select", "pad")
}
