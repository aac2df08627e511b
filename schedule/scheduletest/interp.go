// Package scheduletest holds test helpers for programs of package schedule: a float64
// interpreter of the IR, independent of any backend, that runs a program on the harness's
// inputs, a comparison of outputs, and small builders of test programs. Tests of the
// schedule primitives use them to check that a transformation keeps what a program computes.
package scheduletest

import (
	"fmt"
	"math"

	"colt/schedule"
)

// HarnessInputs reproduces the harness's input values: splitmix64 seeded with the seed and
// the parameter index, uniform float32 in [-1, 1).
func HarnessInputs(seed uint64, param int, n int64) []float64 {
	s := seed ^ (0xD1B54A32D192ED03 * uint64(param+1))
	next := func() uint64 {
		s += 0x9E3779B97F4A7C15
		z := s
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		return z ^ (z >> 31)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(float32(int32(next()>>40)-8388608) * float32(1.0/8388608.0))
	}
	return out
}

type interp struct {
	bufs map[*schedule.Buffer][]float64
	env  map[*schedule.Var]float64
}

// Run interprets f in float64 on the harness inputs for seed and returns its outputs in
// OutputParams order. Intermediates start as zeros. It panics on an index out of bounds, an
// unbound variable or an unknown construct: run it on verified programs.
func Run(f *schedule.Func, seed uint64) [][]float64 {
	it := &interp{bufs: map[*schedule.Buffer][]float64{}, env: map[*schedule.Var]float64{}}
	for i, p := range f.Params {
		if pk := f.PackingOf(p); pk != nil {
			it.bufs[p] = pk.PackValues(HarnessInputs(seed, i, pk.Original.Elems()))
			continue
		}
		it.bufs[p] = HarnessInputs(seed, i, p.Elems())
	}
	for _, a := range f.Root.Allocs {
		it.bufs[a] = make([]float64, a.Elems())
	}
	it.stmt(f.Root.Body)
	var out [][]float64
	for _, o := range f.OutputParams() {
		out = append(out, it.bufs[o])
	}
	return out
}

func (it *interp) stmt(s schedule.Stmt) {
	switch s := s.(type) {
	case nil:
	case *schedule.Seq:
		for _, c := range s.Stmts {
			it.stmt(c)
		}
	case *schedule.Loop:
		for i := 0; i < s.Extent; i++ {
			it.env[s.Var] = float64(i)
			it.stmt(s.Body)
		}
		delete(it.env, s.Var)
	case *schedule.Block:
		for _, a := range s.Allocs {
			it.bufs[a] = make([]float64, a.Elems())
		}
		for i, iv := range s.IterVars {
			it.env[iv.Var] = it.expr(s.Bindings[i])
		}
		if s.Predicate == nil || it.expr(s.Predicate) != 0 {
			first := true
			for _, iv := range s.IterVars {
				if iv.Kind == schedule.Reduce && it.env[iv.Var] != 0 {
					first = false
				}
			}
			if s.Init != nil && first {
				it.stmt(s.Init)
			}
			it.stmt(s.Body)
		}
	case *schedule.Store:
		// Every value is kept in float64: the interpreter models the exact program.
		it.bufs[s.Buffer][it.flat(s.Buffer, s.Indices)] = it.expr(s.Value)
	default:
		panic(fmt.Sprintf("interp: statement %T", s))
	}
}

func (it *interp) flat(b *schedule.Buffer, idx []schedule.Expr) int {
	f := 0
	for d, e := range idx {
		v := int(it.expr(e))
		if v < 0 || v >= b.Shape[d] {
			panic(fmt.Sprintf("interp: %s index %d = %d out of [0, %d)", b.Name, d, v, b.Shape[d]))
		}
		f = f*b.Shape[d] + v
	}
	return f
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (it *interp) expr(e schedule.Expr) float64 {
	switch e := e.(type) {
	case *schedule.IntImm:
		return float64(e.Value)
	case *schedule.FloatImm:
		return e.Value
	case *schedule.Var:
		v, ok := it.env[e]
		if !ok {
			panic("interp: unbound " + e.Name)
		}
		return v
	case *schedule.Binary:
		a, b := it.expr(e.A), it.expr(e.B)
		switch e.Op {
		case schedule.Add:
			return a + b
		case schedule.Sub:
			return a - b
		case schedule.Mul:
			return a * b
		case schedule.Div:
			return a / b
		case schedule.FloorDiv:
			return math.Floor(a / b)
		case schedule.FloorMod:
			return a - math.Floor(a/b)*b
		case schedule.Min:
			return math.Min(a, b)
		case schedule.Max:
			return math.Max(a, b)
		case schedule.LT:
			return b2f(a < b)
		case schedule.LE:
			return b2f(a <= b)
		case schedule.GT:
			return b2f(a > b)
		case schedule.GE:
			return b2f(a >= b)
		case schedule.EQ:
			return b2f(a == b)
		case schedule.NE:
			return b2f(a != b)
		case schedule.And:
			return b2f(a != 0 && b != 0)
		case schedule.Or:
			return b2f(a != 0 || b != 0)
		}
	case *schedule.Not:
		return b2f(it.expr(e.X) == 0)
	case *schedule.Call:
		v, ok := schedule.EvalIntrinsic(e.Fn, it.expr(e.Args[0]))
		if !ok {
			panic("interp: intrinsic " + string(e.Fn))
		}
		return v
	case *schedule.Load:
		return it.bufs[e.Buffer][it.flat(e.Buffer, e.Indices)]
	case *schedule.Select:
		if it.expr(e.Cond) != 0 {
			return it.expr(e.Then)
		}
		return it.expr(e.Else)
	case *schedule.Cast:
		v := it.expr(e.X)
		if e.To == schedule.Int32 {
			return math.Trunc(v)
		}
		return v
	}
	panic(fmt.Sprintf("interp: expression %T", e))
}

// Equal compares two programs' outputs (as Run returns them) element by element and
// describes the first mismatch: a value differs when |a - b| > tol·max(1, |b|). NaNs equal
// NaNs and infinities equal infinities of the same sign.
func Equal(a, b [][]float64, tol float64) error {
	if len(a) != len(b) {
		return fmt.Errorf("found %d outputs, want %d", len(a), len(b))
	}
	for o := range a {
		if len(a[o]) != len(b[o]) {
			return fmt.Errorf("output %d has %d elements, want %d", o, len(a[o]), len(b[o]))
		}
		for i, x := range a[o] {
			y := b[o][i]
			switch {
			case x == y, math.IsNaN(x) && math.IsNaN(y):
				continue
			case math.IsInf(x, 0) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsNaN(y):
			case math.Abs(x-y) <= tol*math.Max(1, math.Abs(y)):
				continue
			}
			return fmt.Errorf("output %d element %d: found %g, want %g (difference %g, tolerance %g)", o, i, x, y, math.Abs(x-y), tol)
		}
	}
	return nil
}
