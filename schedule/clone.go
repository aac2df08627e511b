package schedule

// cloner deep-copies a program, giving every variable and buffer a fresh identity.
type cloner struct {
	vars map[*Var]*Var
	bufs map[*Buffer]*Buffer
	// stmts, when non-nil, collects the copy of every loop and block, for callers that hold
	// handles into the original.
	stmts map[Stmt]Stmt
}

// CloneFunc returns a deep copy of f that shares no variable, buffer or statement with it, so
// the copy can be scheduled while the original stays as it was.
func CloneFunc(f *Func) *Func {
	c := &cloner{vars: map[*Var]*Var{}, bufs: map[*Buffer]*Buffer{}}
	return c.function(f)
}

// function copies f with the cloner's maps.
func (c *cloner) function(f *Func) *Func {
	out := &Func{Name: f.Name, Params: make([]*Buffer, len(f.Params))}
	for i, p := range f.Params {
		out.Params[i] = c.buf(p)
	}
	out.Root = c.stmt(f.Root).(*Block)
	for _, p := range f.Packings {
		if p != nil {
			out.Packings = append(out.Packings, &Packing{Original: c.buf(p.Original), Packed: c.buf(p.Packed), Factor: p.Factor})
		}
	}
	return out
}

func (c *cloner) buf(b *Buffer) *Buffer {
	if b == nil {
		return nil
	}
	if nb, ok := c.bufs[b]; ok {
		return nb
	}
	nb := &Buffer{Name: b.Name, Shape: append([]int(nil), b.Shape...), DType: b.DType, Scope: b.Scope, Constant: b.Constant}
	c.bufs[b] = nb
	return nb
}

func (c *cloner) v(v *Var) *Var {
	if v == nil {
		return nil
	}
	if nv, ok := c.vars[v]; ok {
		return nv
	}
	nv := NewVar(v.Name)
	c.vars[v] = nv
	return nv
}

func (c *cloner) exprs(es []Expr) []Expr {
	if es == nil {
		return nil
	}
	out := make([]Expr, len(es))
	for i, e := range es {
		out[i] = c.expr(e)
	}
	return out
}

func (c *cloner) expr(e Expr) Expr {
	switch e := e.(type) {
	case *IntImm:
		return Int(e.Value)
	case *FloatImm:
		return Float(e.DType, e.Value)
	case *Var:
		return c.v(e)
	case *Binary:
		return Bin(e.Op, c.expr(e.A), c.expr(e.B))
	case *Not:
		return &Not{X: c.expr(e.X)}
	case *Call:
		return &Call{Fn: e.Fn, Args: c.exprs(e.Args)}
	case *Load:
		return &Load{Buffer: c.buf(e.Buffer), Indices: c.exprs(e.Indices)}
	case *Select:
		return &Select{Cond: c.expr(e.Cond), Then: c.expr(e.Then), Else: c.expr(e.Else)}
	case *Cast:
		return &Cast{To: e.To, X: c.expr(e.X)}
	}
	return e
}

func (c *cloner) regions(rs []Region) []Region {
	if rs == nil {
		return nil
	}
	out := make([]Region, len(rs))
	for i, r := range rs {
		ranges := make([]Range, len(r.Ranges))
		for j, rg := range r.Ranges {
			ranges[j] = Range{Min: c.expr(rg.Min), Extent: rg.Extent}
		}
		out[i] = Region{Buffer: c.buf(r.Buffer), Ranges: ranges}
	}
	return out
}

func (c *cloner) annotations(a Annotations) Annotations {
	if a == nil {
		return nil
	}
	out := Annotations{}
	for k, v := range a {
		out[k] = v
	}
	return out
}

func (c *cloner) stmt(s Stmt) Stmt {
	out := c.copyStmt(s)
	if c.stmts != nil && s != nil {
		c.stmts[s] = out
	}
	return out
}

func (c *cloner) copyStmt(s Stmt) Stmt {
	switch s := s.(type) {
	case *Seq:
		out := &Seq{Stmts: make([]Stmt, len(s.Stmts))}
		for i, x := range s.Stmts {
			out.Stmts[i] = c.stmt(x)
		}
		return out
	case *Loop:
		// The loop variable is defined here, before the body uses it.
		return &Loop{Var: c.v(s.Var), Extent: s.Extent, Kind: s.Kind, Thread: s.Thread,
			Annotations: c.annotations(s.Annotations), Body: c.stmt(s.Body)}
	case *Block:
		out := &Block{Name: s.Name, Annotations: c.annotations(s.Annotations)}
		for _, b := range s.Allocs {
			out.Allocs = append(out.Allocs, c.buf(b))
		}
		for _, iv := range s.IterVars {
			out.IterVars = append(out.IterVars, IterVar{Var: c.v(iv.Var), Extent: iv.Extent, Kind: iv.Kind})
		}
		out.Bindings = c.exprs(s.Bindings)
		if s.Predicate != nil {
			out.Predicate = c.expr(s.Predicate)
		}
		out.Reads = c.regions(s.Reads)
		out.Writes = c.regions(s.Writes)
		if s.Init != nil {
			out.Init = c.stmt(s.Init)
		}
		out.Body = c.stmt(s.Body)
		return out
	case *Store:
		return &Store{Buffer: c.buf(s.Buffer), Indices: c.exprs(s.Indices), Value: c.expr(s.Value)}
	}
	return s
}
