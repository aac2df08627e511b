package schedule

import (
	"fmt"
	"strings"
)

// RFactor splits a reduction at one of its loops, as TVM's rfactor does: a new block
// <block>_rf computes a partial result for every iteration of the loop into a new buffer
// <buffer>_rf (the reduced buffer's shape plus the loop's extent as a last dimension, in the
// given scope), and the block then combines the partials over a loop of its own, in a nest of
// its own just after. The block must be alone in its nest under the root, store
// R[spatial iterators] = R[...] op value with op one of +, *, max, min and an init; the loop
// must drive exactly one reduction iterator, whose binding is a sum of loop variables each
// driving nothing else. It returns the rf block.
func (s *Schedule) RFactor(b BlockRV, l LoopRV, scope Scope) (BlockRV, error) {
	const prim = "rfactor"
	blk, err := s.BlockOf(b)
	if err != nil {
		return BlockRV{-1}, primError(prim, "%v", err)
	}
	loop, err := s.loopOf(l)
	if err != nil {
		return BlockRV{-1}, primError(prim, "%v", err)
	}
	if err := validScope(prim, scope); err != nil {
		return BlockRV{-1}, err
	}
	plan, err := s.checkRFactor(blk, loop, scope)
	if err != nil {
		return BlockRV{-1}, primError(prim, "%v", err)
	}
	path := s.pathTo(blk)
	replaceChild(path[len(path)-2], blk, plan.rf)
	s.fn.Root.Allocs = append(s.fn.Root.Allocs, plan.buf)
	top := s.topIndex(plan.rf)
	s.fn.Root.Body = normalizeSeqs(insertInto(s.fn.Root.Body, top+1, plan.nest))
	out := s.newBlockRV(plan.rf)
	s.record(Inst{Kind: KindRFactor, Name: string(scope)}, s.names(b.id, l.id), []int{out.id})
	return out, nil
}

// rfactorPlan is a checked RFactor: the partials' buffer and block, and the block's new nest
// (the block itself rewritten in place).
type rfactorPlan struct {
	buf  *Buffer
	rf   *Block
	nest Stmt
}

func (s *Schedule) checkRFactor(blk *Block, loop *Loop, scope Scope) (*rfactorPlan, error) {
	if blk == s.fn.Root {
		return nil, fmt.Errorf("found the root block, want a reduction block")
	}
	if err := wellFormedBlock(blk); err != nil {
		return nil, err
	}
	if blk.Predicate != nil {
		return nil, fmt.Errorf("block %q has a predicate, want a block without one", blk.Name)
	}
	if !s.soleChain(blk) || s.topIndex(blk) < 0 {
		return nil, fmt.Errorf("the loop nest of block %q holds other statements, want block %q alone in a nest under the root", blk.Name, blk.Name)
	}
	init, okInit := blk.Init.(*Store)
	body, okBody := blk.Body.(*Store)
	if !okInit || !okBody || init.Buffer != body.Buffer || !exprsEqual(init.Indices, body.Indices) {
		return nil, fmt.Errorf("block %q is not a reduction with an init storing to the same element, want R[i] = init; R[i] = R[i] op x", blk.Name)
	}
	pos, ok := plainIterIndices(body.Indices, blk)
	if !ok {
		return nil, fmt.Errorf("block %q stores at [%s], want distinct plain iterators", blk.Name, exprList(body.Indices))
	}
	for _, i := range pos {
		if blk.IterVars[i].Kind != Spatial {
			return nil, fmt.Errorf("block %q stores at its reduction iterator %s, want spatial iterators", blk.Name, blk.IterVars[i].Var.Name)
		}
	}
	upd, ok := body.Value.(*Binary)
	if !ok || (upd.Op != Add && upd.Op != Mul && upd.Op != Max && upd.Op != Min) {
		return nil, fmt.Errorf("block %q does not combine with +, *, max or min, want R[i] = R[i] op x", blk.Name)
	}
	if cur, ok := upd.A.(*Load); !ok || cur.Buffer != body.Buffer || !exprsEqual(cur.Indices, body.Indices) {
		return nil, fmt.Errorf("block %q does not update its own element first, want R[i] = R[i] op x", blk.Name)
	}
	loops := loopsAbove(s.pathTo(blk))
	inNest := false
	for _, lp := range loops {
		inNest = inNest || lp == loop
	}
	if !inNest {
		return nil, fmt.Errorf("loop %s does not enclose block %q, want a loop of its nest", loop.Var.Name, blk.Name)
	}
	// The reduction iterator the loop drives, and the loops of its binding.
	red := -1
	for i, iv := range blk.IterVars {
		if usesVar(blk.Bindings[i], loop.Var) {
			if iv.Kind != Reduce || red >= 0 {
				return nil, fmt.Errorf("loop %s drives spatial iterators or several iterators of block %q, want exactly one reduction iterator", loop.Var.Name, blk.Name)
			}
			red = i
		}
	}
	if red < 0 {
		return nil, fmt.Errorf("loop %s drives no iterator of block %q, want one of its reduction loops", loop.Var.Name, blk.Name)
	}
	lin, ok := linearize(blk.Bindings[red])
	if !ok {
		return nil, fmt.Errorf("the binding of %s is not a sum of loop variables", blk.IterVars[red].Var.Name)
	}
	loopOfVar := map[*Var]*Loop{}
	for _, lp := range loops {
		loopOfVar[lp.Var] = lp
	}
	var driving []*Loop
	for _, t := range lin.terms {
		v, isVar := t.atom.(*Var)
		lp := loopOfVar[v]
		if !isVar || lp == nil {
			return nil, fmt.Errorf("the binding of %s is not a sum of loop variables", blk.IterVars[red].Var.Name)
		}
		for i := range blk.IterVars {
			if i != red && usesVar(blk.Bindings[i], v) {
				return nil, fmt.Errorf("loop %s drives iterator %s besides %s, want loops driving only the factored iterator", v.Name, blk.IterVars[i].Var.Name, blk.IterVars[red].Var.Name)
			}
		}
		driving = append(driving, lp)
	}

	buf := &Buffer{Name: s.freshName(body.Buffer.Name + "_rf"), Shape: append(append([]int(nil), body.Buffer.Shape...), loop.Extent),
		DType: body.Buffer.DType, Scope: scope}

	// The rf block: the spatial iterators, the factored loop as a spatial iterator, and a
	// reduction iterator for each other loop of the factored binding.
	rf := &Block{Name: s.freshName(blk.Name + "_rf"), Annotations: nil}
	iterMap := map[*Var]Expr{}
	for i, iv := range blk.IterVars {
		if i == red {
			continue
		}
		nv := NewVar(iv.Var.Name)
		iterMap[iv.Var] = nv
		rf.IterVars = append(rf.IterVars, IterVar{Var: nv, Extent: iv.Extent, Kind: iv.Kind})
		rf.Bindings = append(rf.Bindings, blk.Bindings[i])
	}
	loopIter := map[*Var]Expr{}
	var factored *Var
	for _, lp := range driving {
		nv := NewVar("v_" + lp.Var.Name)
		kind := Reduce
		if lp == loop {
			kind, factored = Spatial, nv
		}
		loopIter[lp.Var] = nv
		rf.IterVars = append(rf.IterVars, IterVar{Var: nv, Extent: lp.Extent, Kind: kind})
		rf.Bindings = append(rf.Bindings, lp.Var)
	}
	iterMap[blk.IterVars[red].Var] = Substitute(blk.Bindings[red], loopIter)
	idx := make([]Expr, 0, len(body.Indices)+1)
	for _, x := range body.Indices {
		idx = append(idx, Substitute(x, iterMap))
	}
	idx = append(idx, factored)
	rf.Init = &Store{Buffer: buf, Indices: idx, Value: Substitute(init.Value, iterMap)}
	rf.Body = &Store{Buffer: buf, Indices: idx, Value: Bin(upd.Op, &Load{Buffer: buf, Indices: idx}, Substitute(upd.B, iterMap))}
	inferRegions(rf)

	// The block now combines the partials, in a nest of fresh loops over its spatial
	// iterators and the partials.
	var nestLoops []*Loop
	var spatialIVs []IterVar
	var spatialBinds []Expr
	for _, iv := range blk.IterVars {
		if iv.Kind != Spatial {
			continue
		}
		lp := &Loop{Var: NewVar(strings.TrimPrefix(iv.Var.Name, "v_") + "_c"), Extent: iv.Extent}
		nestLoops = append(nestLoops, lp)
		spatialIVs = append(spatialIVs, iv)
		spatialBinds = append(spatialBinds, lp.Var)
	}
	part := &Loop{Var: NewVar(loop.Var.Name + "_c"), Extent: loop.Extent}
	nestLoops = append(nestLoops, part)
	pv := NewVar("v_" + loop.Var.Name)
	blk.IterVars = append(spatialIVs, IterVar{Var: pv, Extent: loop.Extent, Kind: Reduce})
	blk.Bindings = append(spatialBinds, part.Var)
	pidx := append(append([]Expr(nil), body.Indices...), pv)
	blk.Body = &Store{Buffer: body.Buffer, Indices: body.Indices, Value: Bin(upd.Op, upd.A, &Load{Buffer: buf, Indices: pidx})}
	inferRegions(blk)
	var nest Stmt = blk
	for i := len(nestLoops) - 1; i >= 0; i-- {
		nestLoops[i].Body = nest
		nest = nestLoops[i]
	}
	return &rfactorPlan{buf: buf, rf: rf, nest: nest}, nil
}
