package schedule

import "fmt"

// DecomposeReduction splits a reduction block's init into a block of its own,
// <block>_init, placed just before the given loop: it runs over copies of the loops at or
// inside that loop which drive the block's spatial iterators (loop variables <name>_init),
// and the block itself keeps only its update. The loop must enclose the block, every loop
// driving a reduction iterator must be at or inside it, and no loop at or inside it may drive
// both a spatial and a reduction iterator, or none (a loop repeating the whole reduction, as
// around a block computed at a consumer's loop: one init would not do). It returns the init
// block.
func (s *Schedule) DecomposeReduction(b BlockRV, l LoopRV) (BlockRV, error) {
	const prim = "decompose_reduction"
	blk, err := s.BlockOf(b)
	if err != nil {
		return BlockRV{-1}, primError(prim, "%v", err)
	}
	loop, err := s.loopOf(l)
	if err != nil {
		return BlockRV{-1}, primError(prim, "%v", err)
	}
	initBlk, nest, err := s.checkDecompose(blk, loop)
	if err != nil {
		return BlockRV{-1}, primError(prim, "%v", err)
	}
	lpath := s.pathTo(loop)
	parent := lpath[len(lpath)-2]
	if seq, ok := parent.(*Seq); ok {
		for i, st := range seq.Stmts {
			if st == loop {
				insertInto(seq, i, nest)
				break
			}
		}
	} else {
		replaceChild(parent, loop, &Seq{Stmts: []Stmt{nest, loop}})
	}
	blk.Init = nil
	s.fn.Root.Body = normalizeSeqs(s.fn.Root.Body)
	out := s.newBlockRV(initBlk)
	s.record(Inst{Kind: KindDecomposeReduction}, s.names(b.id, l.id), []int{out.id})
	return out, nil
}

// checkDecompose checks DecomposeReduction(blk, loop) and builds the init block and its nest
// without changing the program.
func (s *Schedule) checkDecompose(blk *Block, loop *Loop) (*Block, Stmt, error) {
	if blk == s.fn.Root {
		return nil, nil, fmt.Errorf("found the root block, want a reduction block")
	}
	if err := wellFormedBlock(blk); err != nil {
		return nil, nil, err
	}
	if blk.Init == nil {
		return nil, nil, fmt.Errorf("block %q has no init, want a reduction block with an init", blk.Name)
	}
	if loop.Var == nil {
		return nil, nil, fmt.Errorf("loop without a variable, want a loop of the block's nest")
	}
	loops := loopsAbove(s.pathTo(blk))
	for _, lp := range loops {
		if lp.Var == nil {
			return nil, nil, fmt.Errorf("a loop around block %q has no variable, want loop variables", blk.Name)
		}
	}
	at := -1
	for i, lp := range loops {
		if lp == loop {
			at = i
		}
	}
	if at < 0 {
		return nil, nil, fmt.Errorf("loop %s does not enclose block %q, want a loop of its nest", loop.Var.Name, blk.Name)
	}
	bindsKind := func(lp *Loop, kind IterKind) string {
		for i, iv := range blk.IterVars {
			if iv.Kind == kind && usesVar(blk.Bindings[i], lp.Var) {
				return iv.Var.Name
			}
		}
		return ""
	}
	for _, lp := range loops[:at] {
		if r := bindsKind(lp, Reduce); r != "" {
			return nil, nil, fmt.Errorf("loop %s outside loop %s drives reduction iterator %s, want every reduction loop at or inside loop %s (the init would run on every iteration)", lp.Var.Name, loop.Var.Name, r, loop.Var.Name)
		}
	}
	loopMap := map[*Var]Expr{}
	var copies []*Loop
	for _, lp := range loops[at:] {
		sp, rd := bindsKind(lp, Spatial), bindsKind(lp, Reduce)
		if sp != "" && rd != "" {
			return nil, nil, fmt.Errorf("loop %s drives both spatial iterator %s and reduction iterator %s, want loops driving one kind", lp.Var.Name, sp, rd)
		}
		if sp == "" && rd == "" && lp.Extent > 1 {
			return nil, nil, fmt.Errorf("loop %s drives no iterator of block %q, so the whole reduction would run again after one init; want loop %s inside it", lp.Var.Name, blk.Name, loop.Var.Name)
		}
		if sp != "" {
			nl := &Loop{Var: NewVar(lp.Var.Name + "_init"), Extent: lp.Extent}
			loopMap[lp.Var] = nl.Var
			copies = append(copies, nl)
		}
	}
	var pred Expr
	if blk.Predicate != nil {
		for _, lp := range loops[at:] {
			if _, copied := loopMap[lp.Var]; !copied && usesVar(blk.Predicate, lp.Var) {
				return nil, nil, fmt.Errorf("the predicate of block %q depends on reduction loop %s, want one over spatial loops", blk.Name, lp.Var.Name)
			}
		}
		pred = Substitute(blk.Predicate, loopMap)
	}
	init := blk.Init.(*Store)
	iterMap := map[*Var]Expr{}
	initBlk := &Block{Name: s.freshName(blk.Name + "_init"), Predicate: pred}
	for i, iv := range blk.IterVars {
		if iv.Kind != Spatial {
			for _, x := range append(append([]Expr(nil), init.Indices...), init.Value) {
				if usesVar(x, iv.Var) {
					return nil, nil, fmt.Errorf("the init of block %q uses reduction iterator %s, want one over spatial iterators", blk.Name, iv.Var.Name)
				}
			}
			continue
		}
		nv := NewVar(iv.Var.Name)
		iterMap[iv.Var] = nv
		initBlk.IterVars = append(initBlk.IterVars, IterVar{Var: nv, Extent: iv.Extent, Kind: Spatial})
		initBlk.Bindings = append(initBlk.Bindings, Substitute(blk.Bindings[i], loopMap))
	}
	idx := make([]Expr, len(init.Indices))
	for i, x := range init.Indices {
		idx[i] = Substitute(x, iterMap)
	}
	initBlk.Body = &Store{Buffer: init.Buffer, Indices: idx, Value: Substitute(init.Value, iterMap)}
	inferRegions(initBlk)
	var nest Stmt = initBlk
	for i := len(copies) - 1; i >= 0; i-- {
		copies[i].Body = nest
		nest = copies[i]
	}
	return initBlk, nest, nil
}
