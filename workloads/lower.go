package workloads

import (
	"fmt"
	"strings"

	"colt/schedule"
)

// valKind is the type of a lowered expression in the language: an integer (index
// arithmetic, sizes, integer literals), a float, or a condition.
type valKind int

const (
	kInt valKind = iota
	kFloat
	kBool
)

// value is a lowered expression and its kind.
type value struct {
	e schedule.Expr
	k valKind
}

// lowerer turns the right-hand side of one analysed stage into a schedule expression over
// the stage block's iterator variables, collecting the block's read regions on the way.
type lowerer struct {
	c        *compiler
	info     *stageInfo
	vars     map[string]*schedule.Var // index variable name → block iterator variable
	reads    []schedule.Region
	readKeys map[string]bool
	guarded  int // > 0 inside an arm of select, where the user guards out-of-bounds reads
}

// lowerStage builds the loop nest of an analysed stage and returns it with the stage's FLOPs.
func (c *compiler) lowerStage(info *stageInfo) (schedule.Stmt, int64, error) {
	st := info.ast
	n := len(info.iters)
	loopVars := make([]*schedule.Var, n)
	iterVars := make([]schedule.IterVar, n)
	bindings := make([]schedule.Expr, n)
	l := &lowerer{c: c, info: info, vars: map[string]*schedule.Var{}, readKeys: map[string]bool{}}
	for i, name := range info.iters {
		loopVars[i] = schedule.NewVar(name)
		bv := schedule.NewVar("v_" + name)
		kind := schedule.Spatial
		if i >= info.nSpatial {
			kind = schedule.Reduce
		}
		iterVars[i] = schedule.IterVar{Var: bv, Extent: int(info.ext[name]), Kind: kind}
		bindings[i] = loopVars[i]
		l.vars[name] = bv
	}
	rhs, err := l.lower(st.rhs)
	if err != nil {
		return nil, 0, err
	}
	if rhs.k == kBool {
		return nil, 0, fmt.Errorf("the right-hand side is a condition, not a number; use select(cond, 1, 0) to store it")
	}
	val := schedule.Simplify(l.toFloat(rhs).e)

	out := info.out.buf
	lhs := func() []schedule.Expr {
		idx := make([]schedule.Expr, info.nSpatial)
		for i := range idx {
			idx[i] = iterVars[i].Var
		}
		return idx
	}
	ranges := make([]schedule.Range, info.nSpatial)
	for i := range ranges {
		ranges[i] = schedule.Range{Min: iterVars[i].Var, Extent: 1}
	}
	block := &schedule.Block{
		Name:     st.tensor,
		IterVars: iterVars,
		Bindings: bindings,
		Reads:    l.reads,
		Writes:   []schedule.Region{{Buffer: out, Ranges: ranges}},
	}
	dt := c.dt
	ops := exprOps(val)
	switch st.op {
	case "=":
		block.Body = &schedule.Store{Buffer: out, Indices: lhs(), Value: val}
	default:
		var init schedule.Expr
		var upd schedule.Expr
		cur := &schedule.Load{Buffer: out, Indices: lhs()}
		switch st.op {
		case "+=":
			init, upd = schedule.Float(dt, 0), schedule.Bin(schedule.Add, cur, val)
		case "max=":
			init, upd = schedule.Inf(dt, -1), schedule.Bin(schedule.Max, cur, val)
		default: // "min="
			init, upd = schedule.Inf(dt, 1), schedule.Bin(schedule.Min, cur, val)
		}
		block.Init = &schedule.Store{Buffer: out, Indices: lhs(), Value: init}
		block.Body = &schedule.Store{Buffer: out, Indices: lhs(), Value: upd}
		ops++
	}
	var nest schedule.Stmt = block
	domain := int64(1)
	for i := n - 1; i >= 0; i-- {
		nest = &schedule.Loop{Var: loopVars[i], Extent: iterVars[i].Extent, Kind: schedule.Serial, Body: nest}
		domain = satMul(domain, int64(iterVars[i].Extent))
	}
	return nest, satMul(domain, ops), nil
}

// load lowers a tensor access. Indices must be affine; an index that can leave the tensor's
// bounds is an error unless the access is padded (then a guard is built) or sits in an arm of
// a select (the user's condition guards it). One that is always out of bounds is an error.
func (l *lowerer) load(a *access, pad bool, fill schedule.Expr) (value, error) {
	t := l.c.tensors[a.tensor]
	idx := make([]schedule.Expr, len(a.idx))
	var conds []schedule.Expr
	var key strings.Builder
	key.WriteString(a.tensor)
	for d, x := range a.idx {
		af, err := l.affine(x)
		if err != nil {
			return value{}, err
		}
		lo, hi := af.bounds(l.info.ext)
		dim := int64(t.shape[d])
		ie := af.expr(l.vars)
		idx[d] = ie
		key.WriteString("|" + af.key())
		if hi < 0 || lo >= dim {
			return value{}, fmt.Errorf("index %d of %s (%q) is always out of bounds: it ranges over [%d, %d] but %s dim %d has size %d",
				d, a.tensor, l.text(x), lo, hi, a.tensor, d, dim)
		}
		if lo >= 0 && hi < dim {
			continue
		}
		switch {
		case pad:
			if lo < 0 {
				conds = append(conds, schedule.Bin(schedule.LE, schedule.Int(0), ie))
			}
			if hi >= dim {
				conds = append(conds, schedule.Bin(schedule.LT, ie, schedule.Int(dim)))
			}
		case l.guarded == 0:
			return value{}, fmt.Errorf("index %d of %s (%q) ranges over [%d, %d] but %s dim %d has size %d; wrap the access in pad(...) to read out-of-bounds elements as 0",
				d, a.tensor, l.text(x), lo, hi, a.tensor, d, dim)
		}
	}
	load := &schedule.Load{Buffer: t.buf, Indices: idx}
	if k := key.String(); !l.readKeys[k] {
		l.readKeys[k] = true
		ranges := make([]schedule.Range, len(idx))
		for d, ie := range idx {
			ranges[d] = schedule.Range{Min: ie, Extent: 1}
		}
		l.reads = append(l.reads, schedule.Region{Buffer: t.buf, Ranges: ranges})
	}
	if len(conds) == 0 {
		return value{load, kFloat}, nil
	}
	cond := conds[0]
	for _, c := range conds[1:] {
		cond = schedule.Bin(schedule.And, cond, c)
	}
	return value{&schedule.Select{Cond: cond, Then: load, Else: fill}, kFloat}, nil
}
