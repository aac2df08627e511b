package workloads

import "colt/schedule"

// cloner deep-copies a program, giving every variable and buffer a fresh identity, so each
// Task.Func call returns a program independent of every other.
type cloner struct {
	vars map[*schedule.Var]*schedule.Var
	bufs map[*schedule.Buffer]*schedule.Buffer
}

func cloneFunc(f *schedule.Func, name string) *schedule.Func {
	c := &cloner{vars: map[*schedule.Var]*schedule.Var{}, bufs: map[*schedule.Buffer]*schedule.Buffer{}}
	out := &schedule.Func{Name: name, Params: make([]*schedule.Buffer, len(f.Params))}
	for i, p := range f.Params {
		out.Params[i] = c.buf(p)
	}
	out.Root = c.stmt(f.Root).(*schedule.Block)
	return out
}

func (c *cloner) buf(b *schedule.Buffer) *schedule.Buffer {
	if b == nil {
		return nil
	}
	if nb, ok := c.bufs[b]; ok {
		return nb
	}
	nb := &schedule.Buffer{Name: b.Name, Shape: append([]int(nil), b.Shape...), DType: b.DType, Scope: b.Scope}
	c.bufs[b] = nb
	return nb
}

func (c *cloner) v(v *schedule.Var) *schedule.Var {
	if v == nil {
		return nil
	}
	if nv, ok := c.vars[v]; ok {
		return nv
	}
	nv := schedule.NewVar(v.Name)
	c.vars[v] = nv
	return nv
}

func (c *cloner) exprs(es []schedule.Expr) []schedule.Expr {
	if es == nil {
		return nil
	}
	out := make([]schedule.Expr, len(es))
	for i, e := range es {
		out[i] = c.expr(e)
	}
	return out
}

func (c *cloner) expr(e schedule.Expr) schedule.Expr {
	switch e := e.(type) {
	case *schedule.IntImm:
		return schedule.Int(e.Value)
	case *schedule.FloatImm:
		return schedule.Float(e.DType, e.Value)
	case *schedule.Var:
		return c.v(e)
	case *schedule.Binary:
		return schedule.Bin(e.Op, c.expr(e.A), c.expr(e.B))
	case *schedule.Not:
		return &schedule.Not{X: c.expr(e.X)}
	case *schedule.Call:
		return &schedule.Call{Fn: e.Fn, Args: c.exprs(e.Args)}
	case *schedule.Load:
		return &schedule.Load{Buffer: c.buf(e.Buffer), Indices: c.exprs(e.Indices)}
	case *schedule.Select:
		return &schedule.Select{Cond: c.expr(e.Cond), Then: c.expr(e.Then), Else: c.expr(e.Else)}
	case *schedule.Cast:
		return &schedule.Cast{To: e.To, X: c.expr(e.X)}
	}
	return e
}

func (c *cloner) regions(rs []schedule.Region) []schedule.Region {
	if rs == nil {
		return nil
	}
	out := make([]schedule.Region, len(rs))
	for i, r := range rs {
		ranges := make([]schedule.Range, len(r.Ranges))
		for j, rg := range r.Ranges {
			ranges[j] = schedule.Range{Min: c.expr(rg.Min), Extent: rg.Extent}
		}
		out[i] = schedule.Region{Buffer: c.buf(r.Buffer), Ranges: ranges}
	}
	return out
}

func (c *cloner) annotations(a schedule.Annotations) schedule.Annotations {
	if a == nil {
		return nil
	}
	out := schedule.Annotations{}
	for k, v := range a {
		out[k] = v
	}
	return out
}

func (c *cloner) stmt(s schedule.Stmt) schedule.Stmt {
	switch s := s.(type) {
	case *schedule.Seq:
		out := &schedule.Seq{Stmts: make([]schedule.Stmt, len(s.Stmts))}
		for i, x := range s.Stmts {
			out.Stmts[i] = c.stmt(x)
		}
		return out
	case *schedule.Loop:
		// The loop variable is defined here, before the body uses it.
		return &schedule.Loop{Var: c.v(s.Var), Extent: s.Extent, Kind: s.Kind, Thread: s.Thread,
			Annotations: c.annotations(s.Annotations), Body: c.stmt(s.Body)}
	case *schedule.Block:
		out := &schedule.Block{Name: s.Name, Annotations: c.annotations(s.Annotations)}
		for _, b := range s.Allocs {
			out.Allocs = append(out.Allocs, c.buf(b))
		}
		for _, iv := range s.IterVars {
			out.IterVars = append(out.IterVars, schedule.IterVar{Var: c.v(iv.Var), Extent: iv.Extent, Kind: iv.Kind})
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
	case *schedule.Store:
		return &schedule.Store{Buffer: c.buf(s.Buffer), Indices: c.exprs(s.Indices), Value: c.expr(s.Value)}
	}
	return s
}
