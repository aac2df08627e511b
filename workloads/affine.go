package workloads

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"colt/schedule"
)

// affine is an index expression Σ c·var + k, terms in order of first appearance.
type affine struct {
	terms []affTerm
	k     int64
}

type affTerm struct {
	v string
	c int64
}

// maxIndexConst bounds index coefficients and constants (indices are int32 in the IR).
const maxIndexConst = int64(math.MaxInt32)

// affine reads an index expression as an affine function of the stage's index variables.
func (l *lowerer) affine(e expr) (affine, error) {
	bad := func(why string) (affine, error) {
		return affine{}, fmt.Errorf("index %q %s; indices are affine: index variables and sizes combined with +, - and * by a constant", l.text(e), why)
	}
	var r affine
	switch n := e.(type) {
	case *numLit:
		if !n.isInt {
			return bad("is not an integer")
		}
		r.k = n.i
	case *nameRef:
		switch {
		case l.c.hasSize(n.name):
			r.k = l.c.sizes[n.name]
		case l.vars[n.name] != nil:
			r.terms = []affTerm{{n.name, 1}}
		default:
			return bad("uses " + n.name + ", which is not an integer")
		}
	case *unary:
		if n.op != tMinus {
			return bad("is a condition")
		}
		x, err := l.affine(n.x)
		if err != nil {
			return x, err
		}
		r = x.scale(-1)
	case *binary:
		a, err := l.affine(n.a)
		if err != nil {
			return a, err
		}
		b, err := l.affine(n.b)
		if err != nil {
			return b, err
		}
		switch n.op {
		case tPlus:
			r = a.add(b)
		case tMinus:
			r = a.add(b.scale(-1))
		case tStar:
			switch {
			case len(a.terms) == 0:
				if abs64(a.k) > maxIndexConst {
					return bad("has a constant that is too large")
				}
				r = b.scale(a.k)
			case len(b.terms) == 0:
				if abs64(b.k) > maxIndexConst {
					return bad("has a constant that is too large")
				}
				r = a.scale(b.k)
			default:
				return bad("multiplies two index variables")
			}
		default:
			return bad("uses " + symbol(n.op))
		}
	case *access:
		return bad("reads a tensor")
	case *call:
		return bad("calls a function")
	}
	if abs64(r.k) > maxIndexConst {
		return bad("has a constant that is too large")
	}
	for _, t := range r.terms {
		if abs64(t.c) > maxIndexConst {
			return bad("has a coefficient that is too large")
		}
	}
	return r, nil
}

func (a affine) scale(s int64) affine {
	r := affine{k: a.k * s}
	for _, t := range a.terms {
		if t.c*s != 0 {
			r.terms = append(r.terms, affTerm{t.v, t.c * s})
		}
	}
	return r
}

func (a affine) add(b affine) affine {
	r := affine{k: a.k + b.k, terms: append([]affTerm(nil), a.terms...)}
	for _, t := range b.terms {
		merged := false
		for i := range r.terms {
			if r.terms[i].v == t.v {
				r.terms[i].c += t.c
				merged = true
			}
		}
		if !merged {
			r.terms = append(r.terms, t)
		}
	}
	out := r.terms[:0]
	for _, t := range r.terms {
		if t.c != 0 {
			out = append(out, t)
		}
	}
	r.terms = out
	return r
}

// bounds is the inclusive range of the index over the variables' domains.
func (a affine) bounds(ext map[string]int64) (lo, hi int64) {
	lo, hi = a.k, a.k
	for _, t := range a.terms {
		span := t.c * (ext[t.v] - 1)
		if span < 0 {
			lo = satAddSigned(lo, span)
		} else {
			hi = satAddSigned(hi, span)
		}
	}
	return lo, hi
}

// key identifies the affine function independent of term order.
func (a affine) key() string {
	ts := append([]affTerm(nil), a.terms...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].v < ts[j].v })
	var sb strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&sb, "%d*%s+", t.c, t.v)
	}
	fmt.Fprint(&sb, a.k)
	return sb.String()
}

// expr builds the index as a schedule expression: positive terms in order, then negative
// terms subtracted, then the constant, e.g. v_y * 2 + v_r - 1 or 15 - v_h.
func (a affine) expr(vars map[string]*schedule.Var) schedule.Expr {
	term := func(t affTerm, c int64) schedule.Expr {
		if c == 1 {
			return vars[t.v]
		}
		return schedule.Bin(schedule.Mul, vars[t.v], schedule.Int(c))
	}
	var acc schedule.Expr
	for _, t := range a.terms {
		if t.c > 0 {
			if acc == nil {
				acc = term(t, t.c)
			} else {
				acc = schedule.Bin(schedule.Add, acc, term(t, t.c))
			}
		}
	}
	constDone := false
	for _, t := range a.terms {
		if t.c < 0 {
			if acc == nil {
				acc, constDone = schedule.Int(a.k), true
			}
			acc = schedule.Bin(schedule.Sub, acc, term(t, -t.c))
		}
	}
	switch {
	case acc == nil:
		acc = schedule.Int(a.k)
	case constDone || a.k == 0:
	case a.k > 0:
		acc = schedule.Bin(schedule.Add, acc, schedule.Int(a.k))
	default:
		acc = schedule.Bin(schedule.Sub, acc, schedule.Int(-a.k))
	}
	return schedule.Simplify(acc)
}

func satAddSigned(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}
