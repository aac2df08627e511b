package backend

import (
	"fmt"
	"strings"

	"colt/schedule"
)

// line writes one indented line of the kernel body.
func (l *cLowerer) line(format string, args ...any) {
	l.body.WriteString(strings.Repeat("  ", l.depth))
	fmt.Fprintf(&l.body, format, args...)
	l.body.WriteByte('\n')
}

// stmt lowers one statement (nil: nothing).
func (l *cLowerer) stmt(s schedule.Stmt) error {
	switch s := s.(type) {
	case nil:
		return nil
	case *schedule.Seq:
		if s == nil {
			return nil
		}
		for _, c := range s.Stmts {
			l.barrierBefore(c)
			if err := l.stmt(c); err != nil {
				return err
			}
		}
		return nil
	case *schedule.Loop:
		if s == nil {
			return nil
		}
		return l.loop(s)
	case *schedule.Block:
		if s == nil {
			return nil
		}
		return l.block(s)
	case *schedule.Store:
		if s == nil {
			return nil
		}
		return l.store(s)
	}
	return fmt.Errorf("unsupported statement %T", s)
}

func (l *cLowerer) loop(s *schedule.Loop) error {
	if s.Var == nil {
		return fmt.Errorf("a loop has no variable")
	}
	if s.Kind == schedule.ThreadBound && l.mode == modeC {
		return fmt.Errorf("loop %s is bound to %s: GPU thread binding (thread_binding loops) needs the CUDA backend, not the C backend", s.Var.Name, s.Thread)
	}
	if s.Extent < 0 {
		return fmt.Errorf("loop %s has negative extent %d", s.Var.Name, s.Extent)
	}
	if l.bound[s.Var] {
		return fmt.Errorf("loop variable %s is already bound by an enclosing loop or block", s.Var.Name)
	}
	if l.hook != nil && l.mode == modeC {
		lines, ok, err := l.hook.nest(s, func(b *schedule.Buffer) (string, bool) { return l.names.lookup(b) })
		if err != nil {
			return fmt.Errorf("loop %s: %w", s.Var.Name, err)
		}
		if ok {
			for _, line := range lines {
				l.line("%s", line)
			}
			return nil
		}
	}
	savedPar, savedSimd, savedUnroll := l.inPar, l.inSimd, l.unroll
	defer func() { l.inPar, l.inSimd, l.unroll = savedPar, savedSimd, savedUnroll }()
	if n, ok := s.Annotations.Int(AutoUnrollKey); ok {
		l.unroll = max(n, 0)
	}
	if _, ok := s.Annotations[schedule.AnnMicroKernel]; ok {
		return l.microKernel(s)
	}
	name := l.names.name(s.Var, s.Var.Name)
	if l.mode != modeC {
		return l.gpuLoop(s, name)
	}
	switch s.Kind {
	case schedule.Serial:
		if l.unroll > 0 && s.Extent > 1 && loopSteps(s) <= l.unroll {
			l.line("#pragma GCC unroll %d", min(s.Extent, maxGCCUnroll))
		}
	case schedule.Parallel:
		switch {
		case l.inSimd:
			l.line("/* parallel loop inside a vectorized loop: runs serially */")
		case l.inPar:
			l.line("/* nested parallel loop: runs serially inside the enclosing parallel loop */")
		case l.reduced[s.Var]:
			l.line("/* parallel hint dropped: this loop carries a reduction */")
		default:
			l.line("#pragma omp parallel for")
			l.inPar = true
		}
	case schedule.Vectorized:
		switch {
		case l.inSimd:
			// The enclosing simd loop already vectorizes; nested simd is not allowed.
		case l.reduced[s.Var]:
			l.line("/* vectorize hint dropped: this loop carries a reduction */")
		default:
			l.line("#pragma omp simd")
			l.inSimd = true
		}
	case schedule.Unrolled:
		if s.Extent > 1 {
			l.line("#pragma GCC unroll %d", min(s.Extent, maxGCCUnroll))
		}
	default:
		return fmt.Errorf("loop %s has unknown kind %d", s.Var.Name, int(s.Kind))
	}
	l.line("for (%s %s = 0; %s < %s; ++%s) {", l.idxType, name, name, intLiteral(int64(s.Extent)), name)
	l.bound[s.Var], l.nonneg[s.Var] = true, true
	l.depth++
	err := l.stmt(s.Body)
	l.depth--
	l.unbind(s.Var)
	l.line("}")
	return err
}

// unbind ends the scope of variables a loop or block bound: they are no longer in scope and
// their C names may be used again.
func (l *cLowerer) unbind(vars ...*schedule.Var) {
	for _, v := range vars {
		delete(l.bound, v)
		delete(l.nonneg, v)
		l.names.release(v)
	}
}

// loopSteps is the number of stores a loop executes (TVM's auto-unroll step count), saturating.
func loopSteps(s schedule.Stmt) int64 {
	const limit = int64(1) << 40
	switch s := s.(type) {
	case *schedule.Seq:
		if s == nil {
			return 0
		}
		var n int64
		for _, c := range s.Stmts {
			n = min(n+loopSteps(c), limit)
		}
		return n
	case *schedule.Loop:
		if s == nil {
			return 0
		}
		inner := loopSteps(s.Body)
		if s.Extent > 0 && inner > limit/int64(s.Extent) {
			return limit
		}
		return int64(s.Extent) * inner
	case *schedule.Block:
		if s == nil {
			return 0
		}
		return min(loopSteps(s.Init)+loopSteps(s.Body), limit)
	case *schedule.Store:
		return 1
	}
	return 0
}

func (l *cLowerer) block(s *schedule.Block) error {
	if len(s.Bindings) != len(s.IterVars) {
		return fmt.Errorf("block %s has %d iterators but %d bindings", s.Name, len(s.IterVars), len(s.Bindings))
	}
	savedUnroll := l.unroll
	defer func() { l.unroll = savedUnroll }()
	if n, ok := s.Annotations.Int(AutoUnrollKey); ok {
		l.unroll = max(n, 0)
	}
	if guard := l.onceGuard(); guard != "" {
		l.line("if (%s) { /* block %s: outside the thread loops, once per GPU block */", guard, commentSafe(s.Name))
	} else {
		l.line("{ /* block %s */", commentSafe(s.Name))
	}
	l.depth++
	for _, b := range s.Allocs {
		if err := l.checkAlloc(b); err != nil {
			return fmt.Errorf("block %s: %w", s.Name, err)
		}
		if l.visible[b] > 0 {
			return fmt.Errorf("block %s allocates buffer %s, which is already allocated or a parameter", s.Name, b.Name)
		}
		ct, _ := cType(b.DType, l.prec)
		name := l.names.name(b, b.Name)
		l.line("%s %s[%d] __attribute__((aligned(64))); /* %s%s, %s */", ct, name, max(b.Elems(), 1), b.DType, shapeText(b.Shape), b.Scope)
		l.visible[b]++
	}
	var reduce []string
	var newVars []*schedule.Var
	for i, iv := range s.IterVars {
		if iv.Var == nil {
			return fmt.Errorf("block %s: iterator %d has no variable", s.Name, i)
		}
		if l.bound[iv.Var] {
			return fmt.Errorf("block %s: iterator %s is already bound", s.Name, iv.Var.Name)
		}
		val, err := l.exprText(s.Bindings[i])
		if err != nil {
			return fmt.Errorf("block %s: binding of %s: %w", s.Name, iv.Var.Name, err)
		}
		if s.Bindings[i].Type() != schedule.Int32 {
			return fmt.Errorf("block %s: binding of %s has type %s, want int32", s.Name, iv.Var.Name, s.Bindings[i].Type())
		}
		base := iv.Var.Name
		if !strings.HasPrefix(base, "v") || len(base) < 2 {
			base = "v_" + base
		}
		name := l.names.name(iv.Var, base)
		l.line("const %s %s = %s;", l.idxType, name, val)
		l.nonneg[iv.Var] = l.isNonneg(s.Bindings[i])
		l.bound[iv.Var] = true
		newVars = append(newVars, iv.Var)
		if iv.Kind == schedule.Reduce {
			reduce = append(reduce, name+" == 0")
		}
	}
	defer func() {
		l.unbind(newVars...)
		for _, b := range s.Allocs {
			l.visible[b]--
			l.names.release(b)
		}
	}()
	closePred := false
	if s.Predicate != nil {
		p, err := l.exprText(s.Predicate)
		if err != nil {
			return fmt.Errorf("block %s: predicate: %w", s.Name, err)
		}
		if s.Predicate.Type() != schedule.Bool {
			return fmt.Errorf("block %s: predicate has type %s, want bool", s.Name, s.Predicate.Type())
		}
		l.line("if (%s) {", p)
		l.depth++
		closePred = true
	}
	if s.Init != nil {
		if len(reduce) > 0 {
			l.line("if (%s) {", strings.Join(reduce, " && "))
			l.depth++
		}
		if err := l.stmt(s.Init); err != nil {
			return fmt.Errorf("block %s: init: %w", s.Name, err)
		}
		if len(reduce) > 0 {
			l.depth--
			l.line("}")
		}
	}
	if err := l.stmt(s.Body); err != nil {
		return fmt.Errorf("block %s: %w", s.Name, err)
	}
	if closePred {
		l.depth--
		l.line("}")
	}
	l.depth--
	l.line("}")
	return nil
}

func (l *cLowerer) store(s *schedule.Store) error {
	if s.Value == nil {
		return fmt.Errorf("store to %s has no value", bufName(s.Buffer))
	}
	lhs, err := l.access(s.Buffer, s.Indices)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if l.inputs[s.Buffer] {
		return fmt.Errorf("store to input %s", s.Buffer.Name)
	}
	if l.vectorCopy > 0 {
		ld, ok := s.Value.(*schedule.Load)
		if !ok {
			return fmt.Errorf("vector copy to %s: the value is not a load", s.Buffer.Name)
		}
		rhs, err := l.access(ld.Buffer, ld.Indices)
		if err != nil {
			return fmt.Errorf("store to %s: %w", s.Buffer.Name, err)
		}
		l.line("*(float%d*)&%s = *(const float%d*)&%s;", l.vectorCopy, lhs, l.vectorCopy, rhs)
		return nil
	}
	// Write "C[i] += x" for the update C[i] = C[i] + x (same for -, *).
	if bin, ok := s.Value.(*schedule.Binary); ok {
		if ld, ok := bin.A.(*schedule.Load); ok && ld != nil && ld.Buffer == s.Buffer {
			if op := map[schedule.BinOp]string{schedule.Add: "+=", schedule.Sub: "-=", schedule.Mul: "*="}[bin.Op]; op != "" {
				cur, err := l.access(ld.Buffer, ld.Indices)
				if err == nil && cur == lhs {
					rhs, err := l.exprText(bin.B)
					if err != nil {
						return fmt.Errorf("store to %s: %w", s.Buffer.Name, err)
					}
					l.line("%s %s %s;", lhs, op, rhs)
					return nil
				}
			}
		}
	}
	rhs, err := l.exprText(s.Value)
	if err != nil {
		return fmt.Errorf("store to %s: %w", s.Buffer.Name, err)
	}
	l.line("%s = %s;", lhs, rhs)
	return nil
}
