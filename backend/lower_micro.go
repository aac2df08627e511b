package backend

import (
	"fmt"
	"strings"

	"colt/schedule"
)

// microKernel lowers a loop annotated schedule.AnnMicroKernel to explicit vector code with GCC's
// vector extensions: one named vector accumulator per tile vector, loaded from the accumulated
// buffer before the reduction loops, updated in every reduction step and stored after them.
// Named accumulators (rather than an array) are what keeps gcc from spilling them to memory.
// Vector loads and stores are unaligned (the type's alignment is lowered to an element's).
func (l *cLowerer) microKernel(s *schedule.Loop) error {
	if l.mode != modeC {
		return fmt.Errorf("loop %s asks for a vector micro-kernel, a CPU construct the CUDA backend does not lower", s.Var.Name)
	}
	m, err := schedule.PlanMicroKernel(s)
	if err != nil {
		return err
	}
	elem, _ := cType(schedule.Float32, l.prec)
	vec := fmt.Sprintf("colt_v%d", m.Lanes)
	vecType := elem
	if m.Lanes > 1 {
		vecType = vec
	}
	l.line("{ /* vector micro-kernel of block %s: %s */", commentSafe(m.Block.Name), commentSafe(m.String()))
	l.depth++
	if m.Lanes > 1 {
		size := elemBytes(schedule.Float32, l.prec)
		l.line("typedef %s %s __attribute__((vector_size(%d), aligned(%d)));", elem, vec, m.Lanes*size, size)
	}
	points := tilePoints(m)
	accs := make([]string, len(points))
	for i := range points {
		accs[i] = fmt.Sprintf("colt_acc%d", i)
	}
	l.line("%s %s;", vecType, strings.Join(accs, ", "))

	// ref prints buf[idx] at a tile point: the block's iterators replaced by their bindings,
	// the tile loops by the point's values.
	ref := func(p map[*schedule.Var]schedule.Expr, buf *schedule.Buffer, idx []schedule.Expr) (string, error) {
		binds := map[*schedule.Var]schedule.Expr{}
		for i, iv := range m.Block.IterVars {
			binds[iv.Var] = schedule.Substitute(m.Block.Bindings[i], p)
		}
		sub := make([]schedule.Expr, len(idx))
		for d, e := range idx {
			sub[d] = schedule.Substitute(e, binds)
		}
		return l.access(buf, sub)
	}
	asVector := func(access string) string {
		if m.Lanes == 1 {
			return access
		}
		return fmt.Sprintf("*(%s*)&%s", vec, access)
	}
	for i, p := range points {
		c, err := ref(p, m.Store.Buffer, m.Store.Indices)
		if err != nil {
			return fmt.Errorf("micro-kernel of block %s: %w", m.Block.Name, err)
		}
		l.line("%s = %s;", accs[i], asVector(c))
	}

	var bound []*schedule.Var
	defer func() { l.unbind(bound...) }()
	for i, r := range m.Reduce {
		if l.bound[r.Var] {
			return fmt.Errorf("loop variable %s is already bound by an enclosing loop or block", r.Var.Name)
		}
		if r.Kind == schedule.Unrolled || (i == len(m.Reduce)-1 && l.unroll > 0 && int64(r.Extent)*int64(len(points)) <= l.unroll) {
			l.line("#pragma GCC unroll %d", min(r.Extent, maxGCCUnroll))
		}
		name := l.names.name(r.Var, r.Var.Name)
		l.line("for (%s %s = 0; %s < %s; ++%s) {", l.idxType, name, name, intLiteral(int64(r.Extent)), name)
		l.depth++
		l.bound[r.Var], l.nonneg[r.Var] = true, true
		bound = append(bound, r.Var)
	}
	for i, p := range points {
		update, err := l.microUpdate(m, m.Update, func(buf *schedule.Buffer, idx []schedule.Expr) (string, error) {
			return ref(p, buf, idx)
		}, asVector)
		if err != nil {
			return fmt.Errorf("micro-kernel of block %s: %w", m.Block.Name, err)
		}
		l.line("%s += %s;", accs[i], update)
	}
	for range m.Reduce {
		l.depth--
		l.line("}")
	}
	for i, p := range points {
		c, err := ref(p, m.Store.Buffer, m.Store.Indices)
		if err != nil {
			return fmt.Errorf("micro-kernel of block %s: %w", m.Block.Name, err)
		}
		l.line("%s = %s;", asVector(c), accs[i])
	}
	l.depth--
	l.line("}")
	return nil
}

// microUpdate prints the update of a micro-kernel at one tile point: contiguous loads as
// vectors, the others as scalars (which C's vector extension broadcasts).
func (l *cLowerer) microUpdate(m *schedule.MicroKernel, e schedule.Expr, ref func(*schedule.Buffer, []schedule.Expr) (string, error), asVector func(string) string) (string, error) {
	switch e := e.(type) {
	case *schedule.Load:
		a, err := ref(e.Buffer, e.Indices)
		if err != nil || !m.Contiguous[e] {
			return a, err
		}
		return "(" + asVector(a) + ")", nil
	case *schedule.Binary:
		a, err := l.microUpdate(m, e.A, ref, asVector)
		if err != nil {
			return "", err
		}
		b, err := l.microUpdate(m, e.B, ref, asVector)
		if err != nil {
			return "", err
		}
		op := map[schedule.BinOp]string{schedule.Add: "+", schedule.Sub: "-", schedule.Mul: "*", schedule.Div: "/"}[e.Op]
		if op == "" {
			return "", fmt.Errorf("operator %s in a micro-kernel", e.Op)
		}
		return "(" + a + " " + op + " " + b + ")", nil
	}
	return l.exprText(e)
}

// tilePoints lists a micro-kernel's accumulators as the values of its tile loops, the vector
// loop stepping by the lanes, in loop order.
func tilePoints(m *schedule.MicroKernel) []map[*schedule.Var]schedule.Expr {
	points := []map[*schedule.Var]schedule.Expr{{}}
	for i, t := range m.Tile {
		step := 1
		if i == len(m.Tile)-1 {
			step = m.Lanes
		}
		var next []map[*schedule.Var]schedule.Expr
		for _, p := range points {
			for v := 0; v < t.Extent; v += step {
				q := make(map[*schedule.Var]schedule.Expr, len(p)+1)
				for k, x := range p {
					q[k] = x
				}
				q[t.Var] = schedule.Int(int64(v))
				next = append(next, q)
			}
		}
		points = next
	}
	return points
}
