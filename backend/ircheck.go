package backend

import (
	"fmt"

	"colt/schedule"
)

// checkIR rejects programs holding nil pieces (a nil *Loop inside a Seq, a Binary without an
// operand, a Load of a nil buffer, ...) before anything walks them, so that malformed or
// untrusted programs produce an error instead of a nil-pointer panic. nil Stmt interfaces in
// a Seq, and nil Init/Body/Predicate, are allowed: they mean "nothing".
func checkIR(f *schedule.Func) error {
	if f == nil || f.Root == nil {
		return fmt.Errorf("the function has no root block")
	}
	for i, p := range f.Params {
		if p == nil {
			return fmt.Errorf("parameter %d is nil", i)
		}
	}
	return checkStmt(f.Root)
}

func checkStmt(s schedule.Stmt) error {
	switch s := s.(type) {
	case nil:
		return nil
	case *schedule.Seq:
		if s == nil {
			return fmt.Errorf("nil sequence")
		}
		for _, c := range s.Stmts {
			if err := checkStmt(c); err != nil {
				return err
			}
		}
		return nil
	case *schedule.Loop:
		if s == nil || s.Var == nil {
			return fmt.Errorf("nil loop or loop without a variable")
		}
		return checkStmt(s.Body)
	case *schedule.Block:
		if s == nil {
			return fmt.Errorf("nil block")
		}
		for _, iv := range s.IterVars {
			if iv.Var == nil {
				return fmt.Errorf("block %s: iterator without a variable", s.Name)
			}
		}
		for _, b := range s.Allocs {
			if b == nil {
				return fmt.Errorf("block %s allocates a nil buffer", s.Name)
			}
		}
		for _, e := range s.Bindings {
			if err := checkExpr(e, false); err != nil {
				return fmt.Errorf("block %s: binding: %w", s.Name, err)
			}
		}
		if err := checkExpr(s.Predicate, true); err != nil {
			return fmt.Errorf("block %s: predicate: %w", s.Name, err)
		}
		for _, r := range append(append([]schedule.Region(nil), s.Reads...), s.Writes...) {
			for _, rg := range r.Ranges {
				if err := checkExpr(rg.Min, true); err != nil {
					return fmt.Errorf("block %s: region: %w", s.Name, err)
				}
			}
		}
		if err := checkStmt(s.Init); err != nil {
			return err
		}
		return checkStmt(s.Body)
	case *schedule.Store:
		if s == nil || s.Buffer == nil {
			return fmt.Errorf("nil store or store to a nil buffer")
		}
		for _, i := range s.Indices {
			if err := checkExpr(i, false); err != nil {
				return fmt.Errorf("store to %s: %w", s.Buffer.Name, err)
			}
		}
		if err := checkExpr(s.Value, false); err != nil {
			return fmt.Errorf("store to %s: %w", s.Buffer.Name, err)
		}
		return nil
	}
	return fmt.Errorf("unsupported statement %T", s)
}

// checkExpr reports a nil anywhere in e; a nil e itself is allowed only when optional.
func checkExpr(e schedule.Expr, optional bool) error {
	bad := fmt.Errorf("missing or incomplete expression")
	switch e := e.(type) {
	case nil:
		if optional {
			return nil
		}
		return bad
	case *schedule.IntImm:
		if e == nil {
			return bad
		}
	case *schedule.FloatImm:
		if e == nil {
			return bad
		}
	case *schedule.Var:
		if e == nil {
			return bad
		}
	case *schedule.Binary:
		if e == nil {
			return bad
		}
		if err := checkExpr(e.A, false); err != nil {
			return err
		}
		return checkExpr(e.B, false)
	case *schedule.Not:
		if e == nil {
			return bad
		}
		return checkExpr(e.X, false)
	case *schedule.Call:
		if e == nil {
			return bad
		}
		for _, a := range e.Args {
			if err := checkExpr(a, false); err != nil {
				return err
			}
		}
	case *schedule.Load:
		if e == nil || e.Buffer == nil {
			return fmt.Errorf("load from a nil buffer")
		}
		for _, i := range e.Indices {
			if err := checkExpr(i, false); err != nil {
				return err
			}
		}
	case *schedule.Select:
		if e == nil {
			return bad
		}
		for _, x := range []schedule.Expr{e.Cond, e.Then, e.Else} {
			if err := checkExpr(x, false); err != nil {
				return err
			}
		}
	case *schedule.Cast:
		if e == nil {
			return bad
		}
		return checkExpr(e.X, false)
	default:
		return fmt.Errorf("unsupported expression %T", e)
	}
	return nil
}
