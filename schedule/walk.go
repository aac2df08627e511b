package schedule

// WalkStmt calls visit for s and, while visit returns true, for every statement nested in it
// (a block's init before its body), in program order.
func WalkStmt(s Stmt, visit func(Stmt) bool) {
	if s == nil || !visit(s) {
		return
	}
	switch s := s.(type) {
	case *Seq:
		for _, c := range s.Stmts {
			WalkStmt(c, visit)
		}
	case *Loop:
		WalkStmt(s.Body, visit)
	case *Block:
		WalkStmt(s.Init, visit)
		WalkStmt(s.Body, visit)
	}
}

// WalkExpr calls visit for e and, while visit returns true, for its operands.
func WalkExpr(e Expr, visit func(Expr) bool) {
	if e == nil || !visit(e) {
		return
	}
	switch e := e.(type) {
	case *Binary:
		WalkExpr(e.A, visit)
		WalkExpr(e.B, visit)
	case *Not:
		WalkExpr(e.X, visit)
	case *Call:
		for _, a := range e.Args {
			WalkExpr(a, visit)
		}
	case *Load:
		for _, i := range e.Indices {
			WalkExpr(i, visit)
		}
	case *Select:
		WalkExpr(e.Cond, visit)
		WalkExpr(e.Then, visit)
		WalkExpr(e.Else, visit)
	case *Cast:
		WalkExpr(e.X, visit)
	}
}

// StmtExprs calls visit for every expression held directly by s (not by nested statements):
// a store's indices and value; a block's bindings and predicate; nothing for loops and sequences.
func StmtExprs(s Stmt, visit func(Expr)) {
	switch s := s.(type) {
	case *Store:
		for _, i := range s.Indices {
			visit(i)
		}
		visit(s.Value)
	case *Block:
		for _, b := range s.Bindings {
			visit(b)
		}
		if s.Predicate != nil {
			visit(s.Predicate)
		}
	}
}
