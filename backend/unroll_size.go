package backend

import (
	"fmt"

	"colt/schedule"
)

// DefaultMaxUnrolledStatements is the largest kernel, in statements after unrolling, the C
// backend builds (Config.MaxUnrolledStatements): deeper auto-unrolling gives gcc seconds of
// work for code no faster than a loop.
const DefaultMaxUnrolledStatements = 16384

// UnrolledStatements estimates the size of f's C kernel once the compiler has unrolled what
// the lowering asks it to (LowerC's rules): each store counts once per copy — a loop emitted
// with a full-unroll pragma multiplies its body by its extent, a vector micro-kernel emits one
// statement per accumulator and reduction step it unrolls, any other loop keeps one copy of
// its body. It saturates at 2^40.
func UnrolledStatements(f *schedule.Func) int64 {
	if f == nil || f.Root == nil {
		return 0
	}
	return unrolledSize(f.Root, 0)
}

// unrolledSize is UnrolledStatements of one statement under an auto-unroll step.
func unrolledSize(s schedule.Stmt, unroll int64) int64 {
	const limit = int64(1) << 40
	switch s := s.(type) {
	case *schedule.Seq:
		if s == nil {
			return 0
		}
		var n int64
		for _, c := range s.Stmts {
			n = min(n+unrolledSize(c, unroll), limit)
		}
		return n
	case *schedule.Loop:
		if s == nil {
			return 0
		}
		if v, ok := s.Annotations.Int(AutoUnrollKey); ok {
			unroll = max(v, 0)
		}
		if _, ok := s.Annotations[schedule.AnnMicroKernel]; ok {
			if m, err := schedule.PlanMicroKernel(s); err == nil {
				acc := int64(m.Accumulators())
				steps := int64(1)
				if r := m.Reduce; len(r) > 0 {
					last := r[len(r)-1]
					if last.Kind == schedule.Unrolled || (unroll > 0 && int64(last.Extent)*acc <= unroll) {
						steps = int64(last.Extent)
					}
				}
				return min(acc*(steps+2), limit)
			}
		}
		body := unrolledSize(s.Body, unroll)
		copies := int64(1)
		switch {
		case s.Kind == schedule.Unrolled && s.Extent > 1:
			copies = int64(s.Extent)
		case s.Kind == schedule.Serial && unroll > 0 && s.Extent > 1 && loopSteps(s) <= unroll:
			copies = int64(s.Extent)
		}
		if body > 0 && copies > limit/body {
			return limit
		}
		return copies * body
	case *schedule.Block:
		if s == nil {
			return 0
		}
		if v, ok := s.Annotations.Int(AutoUnrollKey); ok {
			unroll = max(v, 0)
		}
		return min(unrolledSize(s.Init, unroll)+unrolledSize(s.Body, unroll), limit)
	case *schedule.Store:
		return 1
	}
	return 0
}

// checkUnrolledSize is the build's guard against kernels that would take the compiler long.
func checkUnrolledSize(f *schedule.Func, maxStatements int64) error {
	if maxStatements <= 0 {
		return nil
	}
	if n := UnrolledStatements(f); n > maxStatements {
		return fmt.Errorf("the kernel would hold about %d statements once unrolled, more than backend.max_unrolled_statements (%d): it would take long to compile for no speed a loop lacks", n, maxStatements)
	}
	return nil
}
