package backend

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"colt/schedule"
)

// C operator precedence levels (higher binds tighter), used to print minimal parentheses.
const (
	precCond    = 3
	precOr      = 4
	precAnd     = 5
	precEq      = 9
	precRel     = 10
	precAdd     = 12
	precMul     = 13
	precUnary   = 15
	precPrimary = 16
)

// cExpr is printed C with the precedence of its outermost operator.
type cExpr struct {
	text string
	prec int
}

// at returns the text, parenthesised when it binds looser than need.
func (e cExpr) at(need int) string {
	if e.prec < need {
		return "(" + e.text + ")"
	}
	return e.text
}

func (l *cLowerer) exprText(e schedule.Expr) (string, error) {
	c, err := l.expr(e)
	return c.text, err
}

func (l *cLowerer) expr(e schedule.Expr) (cExpr, error) {
	switch e := e.(type) {
	case *schedule.IntImm:
		if e == nil {
			break
		}
		return intExpr(e.Value), nil
	case *schedule.FloatImm:
		if e == nil {
			break
		}
		ct, _ := cType(e.DType, l.prec)
		if ct != "float" && ct != "double" {
			return cExpr{}, fmt.Errorf("float constant %v has type %q, want float32 or float64", e.Value, e.DType)
		}
		return floatExpr(e.Value, ct == "float"), nil
	case *schedule.Var:
		if e == nil {
			break
		}
		name, ok := l.names.lookup(e)
		if !ok || !l.bound[e] {
			return cExpr{}, fmt.Errorf("variable %s is used outside the loop or block that binds it", e.Name)
		}
		return cExpr{name, precPrimary}, nil
	case *schedule.Binary:
		if e == nil || e.A == nil || e.B == nil {
			break
		}
		return l.binary(e)
	case *schedule.Not:
		if e == nil || e.X == nil {
			break
		}
		x, err := l.expr(e.X)
		if err != nil {
			return cExpr{}, err
		}
		return cExpr{"!" + x.at(precUnary), precUnary}, nil
	case *schedule.Call:
		if e == nil {
			break
		}
		return l.call(e)
	case *schedule.Load:
		if e == nil {
			break
		}
		s, err := l.access(e.Buffer, e.Indices)
		return cExpr{s, precPrimary}, err
	case *schedule.Select:
		if e == nil || e.Cond == nil || e.Then == nil || e.Else == nil {
			break
		}
		c, err := l.expr(e.Cond)
		if err != nil {
			return cExpr{}, err
		}
		a, err := l.expr(e.Then)
		if err != nil {
			return cExpr{}, err
		}
		b, err := l.expr(e.Else)
		if err != nil {
			return cExpr{}, err
		}
		// C's ?: evaluates only the chosen arm, as the IR's Select requires.
		return cExpr{c.at(precOr) + " ? " + a.at(precOr) + " : " + b.at(precCond), precCond}, nil
	case *schedule.Cast:
		if e == nil || e.X == nil {
			break
		}
		return l.cast(e)
	}
	if e == nil {
		return cExpr{}, fmt.Errorf("missing expression")
	}
	return cExpr{}, fmt.Errorf("unsupported or incomplete expression %T", e)
}

// intExpr prints an integer constant; values outside int32 get an LL suffix.
func intExpr(v int64) cExpr {
	s := intLiteral(v)
	if v < 0 {
		return cExpr{s, precUnary}
	}
	return cExpr{s, precPrimary}
}

func intLiteral(v int64) string {
	s := strconv.FormatInt(v, 10)
	if v > math.MaxInt32 || v < math.MinInt32 {
		s += "LL"
	}
	return s
}

// floatExpr prints a float constant that reads back exactly: the shortest decimal that
// round-trips (float: to float32, with an f suffix; double: to float64), INFINITY and NAN for
// the special values.
func floatExpr(v float64, single bool) cExpr {
	switch {
	case math.IsNaN(v):
		return cExpr{"NAN", precPrimary}
	case math.IsInf(v, 1):
		return cExpr{"INFINITY", precPrimary}
	case math.IsInf(v, -1):
		return cExpr{"-INFINITY", precUnary}
	}
	s := floatLiteral(v, single)
	if strings.HasPrefix(s, "-") {
		return cExpr{s, precUnary}
	}
	return cExpr{s, precPrimary}
}

func floatLiteral(v float64, single bool) string {
	bits := 64
	if single {
		bits = 32
		if f := float32(v); math.IsInf(float64(f), 0) {
			if f > 0 {
				return "INFINITY"
			}
			return "-INFINITY"
		}
	}
	s := strconv.FormatFloat(v, 'g', -1, bits)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	if single {
		s += "f"
	}
	return s
}

func (l *cLowerer) binary(e *schedule.Binary) (cExpr, error) {
	a, err := l.expr(e.A)
	if err != nil {
		return cExpr{}, err
	}
	b, err := l.expr(e.B)
	if err != nil {
		return cExpr{}, err
	}
	ta, tb := e.A.Type(), e.B.Type()
	isFloat := ta.IsFloat() || tb.IsFloat()
	infix := func(op string, prec int) (cExpr, error) {
		return cExpr{a.at(prec) + " " + op + " " + b.at(prec+1), prec}, nil
	}
	call := func(fn string) (cExpr, error) {
		l.helpers[fn] = true
		return cExpr{fn + "(" + a.text + ", " + b.text + ")", precPrimary}, nil
	}
	switch e.Op {
	case schedule.Add:
		return infix("+", precAdd)
	case schedule.Sub:
		return infix("-", precAdd)
	case schedule.Mul:
		return infix("*", precMul)
	case schedule.Div:
		if !isFloat {
			return cExpr{}, fmt.Errorf("division / of integers; integer index arithmetic uses floordiv")
		}
		return infix("/", precMul)
	case schedule.FloorDiv, schedule.FloorMod:
		if isFloat {
			return cExpr{}, fmt.Errorf("%s of floats; floordiv and floormod are integer operators", e.Op)
		}
		c, isConst := e.B.(*schedule.IntImm)
		if isConst && c.Value == 0 {
			return cExpr{}, fmt.Errorf("integer division by zero")
		}
		// Plain C / and % agree with floor semantics for a nonnegative dividend and a positive
		// divisor; otherwise call the helper.
		if isConst && c.Value > 0 && l.isNonneg(e.A) {
			if e.Op == schedule.FloorDiv {
				return infix("/", precMul)
			}
			return infix("%", precMul)
		}
		if e.Op == schedule.FloorDiv {
			return call("colt_floordiv")
		}
		return call("colt_floormod")
	case schedule.Min, schedule.Max:
		fn := "colt_min"
		if e.Op == schedule.Max {
			fn = "colt_max"
		}
		switch {
		case !isFloat:
			fn += "i"
		case l.isSingle(ta):
			fn += "f"
		}
		return call(fn)
	case schedule.LT:
		return infix("<", precRel)
	case schedule.LE:
		return infix("<=", precRel)
	case schedule.GT:
		return infix(">", precRel)
	case schedule.GE:
		return infix(">=", precRel)
	case schedule.EQ:
		return infix("==", precEq)
	case schedule.NE:
		return infix("!=", precEq)
	case schedule.And:
		return infix("&&", precAnd)
	case schedule.Or:
		return infix("||", precOr)
	}
	return cExpr{}, fmt.Errorf("unsupported binary operator %d", int(e.Op))
}

// isSingle reports whether values of type t are C floats in this lowering.
func (l *cLowerer) isSingle(t schedule.DType) bool {
	ct, _ := cType(t, l.prec)
	return ct == "float"
}

func (l *cLowerer) call(e *schedule.Call) (cExpr, error) {
	if len(e.Args) != 1 || e.Args[0] == nil {
		return cExpr{}, fmt.Errorf("intrinsic %s takes one argument, found %d", e.Fn, len(e.Args))
	}
	if !e.Args[0].Type().IsFloat() {
		return cExpr{}, fmt.Errorf("intrinsic %s takes a float argument, found %s", e.Fn, e.Args[0].Type())
	}
	x, err := l.expr(e.Args[0])
	if err != nil {
		return cExpr{}, err
	}
	single := l.isSingle(e.Args[0].Type())
	var fn string
	switch e.Fn {
	case schedule.Exp, schedule.Log, schedule.Sqrt, schedule.Tanh, schedule.Erf:
		fn = string(e.Fn)
	case schedule.Abs:
		fn = "fabs"
	case schedule.Rsqrt, schedule.Sigmoid, schedule.Silu, schedule.Gelu, schedule.Relu:
		fn = "colt_" + string(e.Fn)
		if single {
			fn += "f"
		}
		l.helpers[fn] = true
		return cExpr{fn + "(" + x.text + ")", precPrimary}, nil
	default:
		return cExpr{}, fmt.Errorf("unknown intrinsic %q", e.Fn)
	}
	if single {
		fn += "f"
	}
	return cExpr{fn + "(" + x.text + ")", precPrimary}, nil
}

func (l *cLowerer) cast(e *schedule.Cast) (cExpr, error) {
	x, err := l.expr(e.X)
	if err != nil {
		return cExpr{}, err
	}
	from := e.X.Type()
	fromC, _ := cType(from, l.prec)
	switch e.To {
	case schedule.Bool:
		return cExpr{x.at(precEq+1) + " != 0", precEq}, nil
	case schedule.Int32:
		if from == schedule.Int32 {
			return x, nil
		}
		return cExpr{"(" + l.idxType + ")" + x.at(precUnary), precUnary}, nil
	case schedule.Float32, schedule.Float64:
		to, _ := cType(e.To, l.prec)
		if to == fromC {
			return x, nil
		}
		if c, ok := e.X.(*schedule.IntImm); ok {
			return floatExpr(float64(c.Value), to == "float"), nil
		}
		return cExpr{"(" + to + ")" + x.at(precUnary), precUnary}, nil
	}
	return cExpr{}, fmt.Errorf("cast to unsupported type %q", e.To)
}

// access prints buf[linear index] after checking that buf may be accessed here.
func (l *cLowerer) access(buf *schedule.Buffer, idx []schedule.Expr) (string, error) {
	if buf == nil {
		return "", fmt.Errorf("access to a nil buffer")
	}
	if l.visible[buf] <= 0 {
		return "", fmt.Errorf("buffer %s is neither a parameter nor allocated in an enclosing block", buf.Name)
	}
	if len(idx) != len(buf.Shape) {
		return "", fmt.Errorf("buffer %s has %d dimensions but is accessed with %d indices", buf.Name, len(buf.Shape), len(idx))
	}
	name, _ := l.names.lookup(buf)
	shape := buf.Shape
	if fp, ok := l.fps[buf]; ok && len(fp.Shape) == len(idx) {
		// A compacted buffer holds only its footprint: index relative to its offset.
		shape = fp.Shape
		rel := make([]schedule.Expr, len(idx))
		for d, e := range idx {
			rel[d] = schedule.Bin(schedule.Sub, e, fp.Offsets[d])
		}
		idx = rel
	}
	strides := make([]int64, len(idx))
	stride := int64(1)
	for d := len(idx) - 1; d >= 0; d-- {
		strides[d] = stride
		stride *= int64(shape[d])
	}
	// Left-nested sum, so that it prints as i * 64 + j * 8 + k.
	var lin schedule.Expr = schedule.Int(0)
	for d, e := range idx {
		if t := e.Type(); t != schedule.Int32 {
			return "", fmt.Errorf("buffer %s: index %d has type %s, want int32", buf.Name, d, t)
		}
		term := schedule.Bin(schedule.Mul, e, schedule.Int(strides[d]))
		if d == 0 {
			lin = term
		} else {
			lin = schedule.Bin(schedule.Add, lin, term)
		}
	}
	i, err := l.expr(schedule.Simplify(lin))
	if err != nil {
		return "", fmt.Errorf("buffer %s: %w", buf.Name, err)
	}
	return name + "[" + i.text + "]", nil
}

// isNonneg reports whether an integer expression is provably ≥ 0: constants, loop variables,
// block iterators bound to nonnegative values, and sums, products, floordivs, mins and maxes
// of those; floormod by a positive constant always is.
func (l *cLowerer) isNonneg(e schedule.Expr) bool {
	switch e := e.(type) {
	case *schedule.IntImm:
		return e.Value >= 0
	case *schedule.Var:
		return l.nonneg[e]
	case *schedule.Binary:
		switch e.Op {
		case schedule.Add, schedule.Mul, schedule.Min:
			return l.isNonneg(e.A) && l.isNonneg(e.B)
		case schedule.Max:
			return l.isNonneg(e.A) || l.isNonneg(e.B)
		case schedule.FloorDiv:
			c, ok := e.B.(*schedule.IntImm)
			return ok && c.Value > 0 && l.isNonneg(e.A)
		case schedule.FloorMod:
			c, ok := e.B.(*schedule.IntImm)
			return ok && c.Value > 0
		}
	case *schedule.Select:
		return l.isNonneg(e.Then) && l.isNonneg(e.Else)
	}
	return false
}
