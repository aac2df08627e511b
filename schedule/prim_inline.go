package schedule

import "fmt"

// ComputeInline removes an element-wise block and substitutes its value wherever its output
// is read: a load of the buffer becomes the block's value with the block's iterators replaced
// by the load's indices. The block must have spatial iterators only and no init, store once at
// its plain iterators into an intermediate buffer it does not read, and be that buffer's only
// writer. Its loop nest (the loops left empty) and the buffer's allocation are removed; the
// consumers' regions are recomputed.
func (s *Schedule) ComputeInline(b BlockRV) error {
	blk, err := s.BlockOf(b)
	if err != nil {
		return primError("compute_inline", "%v", err)
	}
	if err := s.checkComputeInline(blk); err != nil {
		return primError("compute_inline", "%v", err)
	}
	st := blk.Body.(*Store)
	buf := st.Buffer
	pos, _ := plainIterIndices(st.Indices, blk)
	for _, c := range s.fn.Blocks() {
		if c == blk || !blockReadsBuf(c, buf) {
			continue
		}
		for _, body := range []Stmt{c.Init, c.Body} {
			rewriteStores(body, func(x *Store) {
				x.Value = replaceLoads(x.Value, func(l *Load) (Expr, bool) {
					if l.Buffer != buf {
						return nil, false
					}
					m := map[*Var]Expr{}
					for d, i := range pos {
						m[blk.IterVars[i].Var] = l.Indices[d]
					}
					return Substitute(st.Value, m), true
				})
			})
		}
		inferRegions(c)
	}
	s.removeStmt(blk)
	s.removeAlloc(buf)
	s.record(Inst{Kind: KindComputeInline}, s.names(b.id), nil)
	return nil
}

// elementwise checks that a block has spatial iterators only, no init and no predicate, and
// stores once at its plain iterators, covering them all.
func elementwise(blk *Block, role string) error {
	if err := wellFormedBlock(blk); err != nil {
		return err
	}
	if blk.Init != nil || hasReduceIter(blk) {
		return fmt.Errorf("%s %q is a reduction, want an element-wise block (spatial iterators only, no init)", role, blk.Name)
	}
	if blk.Predicate != nil {
		return fmt.Errorf("%s %q has a predicate, want a block without one", role, blk.Name)
	}
	st := blk.Body.(*Store)
	if pos, ok := plainIterIndices(st.Indices, blk); !ok || len(pos) != len(blk.IterVars) {
		return fmt.Errorf("%s %q stores to %s at [%s], want distinct plain iterators covering all %d of its iterators", role, blk.Name, st.Buffer.Name, exprList(st.Indices), len(blk.IterVars))
	}
	return nil
}

func (s *Schedule) checkComputeInline(blk *Block) error {
	if blk == s.fn.Root {
		return fmt.Errorf("found the root block, want a block of a stage")
	}
	if err := elementwise(blk, "block"); err != nil {
		return err
	}
	buf := blk.Body.(*Store).Buffer
	if s.isParam(buf) {
		return fmt.Errorf("block %q writes the function output %s, want a block writing an intermediate", blk.Name, buf.Name)
	}
	if blockReadsBuf(blk, buf) {
		return fmt.Errorf("block %q reads the buffer %s it writes, want a block reading other buffers", blk.Name, buf.Name)
	}
	if ws := s.writersOf(buf, blk); len(ws) > 0 {
		return fmt.Errorf("buffer %s is also written by block %q, want block %q its only writer", buf.Name, ws[0].Name, blk.Name)
	}
	for _, c := range s.readersOf(buf, blk) {
		bad := false
		blockLoads(c, func(l *Load) { bad = bad || (l.Buffer == buf && len(l.Indices) != len(buf.Shape)) })
		if bad {
			return fmt.Errorf("block %q loads %s with the wrong number of indices, want %d", c.Name, buf.Name, len(buf.Shape))
		}
	}
	// The value is now computed where it is read: nothing in between may change its inputs.
	bTop := s.topIndex(blk)
	last := bTop
	for _, c := range s.readersOf(buf, blk) {
		last = max(last, s.topIndex(c))
	}
	for _, in := range loadedBuffers(blk) {
		for _, x := range s.blocksInTop(bTop, last) {
			if x != blk && blockWritesBuf(x, in) {
				return fmt.Errorf("block %q writes %s, which block %q reads, between the block and its consumers; want its inputs unchanged until they are read", x.Name, in.Name, blk.Name)
			}
		}
	}
	return nil
}

// ReverseComputeInline removes an element-wise consumer block by computing its value in its
// producer: the producer stores the consumer's value (with the load of the intermediate
// replaced by the producer's value) into the consumer's output. The consumer must read exactly
// one intermediate buffer, at its plain iterators, written by exactly one element-wise producer
// and read by no other block. The consumer's loop nest and the intermediate's allocation are
// removed; the producer's regions are recomputed.
func (s *Schedule) ReverseComputeInline(b BlockRV) error {
	blk, err := s.BlockOf(b)
	if err != nil {
		return primError("reverse_compute_inline", "%v", err)
	}
	p, buf, err := s.checkReverseComputeInline(blk)
	if err != nil {
		return primError("reverse_compute_inline", "%v", err)
	}
	bst, pst := blk.Body.(*Store), p.Body.(*Store)
	var bpos []int
	blockLoads(blk, func(l *Load) {
		if l.Buffer == buf && bpos == nil {
			bpos, _ = plainIterIndices(l.Indices, blk)
		}
	})
	ppos, _ := plainIterIndices(pst.Indices, p)
	m := map[*Var]Expr{}
	for d := range bpos {
		m[blk.IterVars[bpos[d]].Var] = p.IterVars[ppos[d]].Var
	}
	idx := make([]Expr, len(bst.Indices))
	for i, x := range bst.Indices {
		idx[i] = Substitute(x, m)
	}
	val := replaceLoads(Substitute(bst.Value, m), func(l *Load) (Expr, bool) {
		return pst.Value, l.Buffer == buf
	})
	p.Body = &Store{Buffer: bst.Buffer, Indices: idx, Value: Simplify(val)}
	inferRegions(p)
	s.removeStmt(blk)
	s.removeAlloc(buf)
	s.record(Inst{Kind: KindReverseComputeInline}, s.names(b.id), nil)
	return nil
}

func (s *Schedule) checkReverseComputeInline(blk *Block) (*Block, *Buffer, error) {
	if blk == s.fn.Root {
		return nil, nil, fmt.Errorf("found the root block, want a block of a stage")
	}
	if err := elementwise(blk, "block"); err != nil {
		return nil, nil, err
	}
	out := blk.Body.(*Store).Buffer
	if blockReadsBuf(blk, out) {
		return nil, nil, fmt.Errorf("block %q reads the buffer %s it writes, want a block reading other buffers", blk.Name, out.Name)
	}
	var interm []*Buffer
	for _, in := range loadedBuffers(blk) {
		if !s.isParam(in) {
			interm = append(interm, in)
		}
	}
	if len(interm) != 1 {
		return nil, nil, fmt.Errorf("block %q reads %d intermediate buffers, want exactly one", blk.Name, len(interm))
	}
	buf := interm[0]
	ws := s.writersOf(buf, blk)
	if len(ws) != 1 {
		return nil, nil, fmt.Errorf("buffer %s is written by %d blocks, want exactly one producer", buf.Name, len(ws))
	}
	p := ws[0]
	if err := elementwise(p, "producer"); err != nil {
		return nil, nil, err
	}
	for _, r := range s.readersOf(buf, blk) {
		if r != p {
			return nil, nil, fmt.Errorf("buffer %s is also read by block %q, want block %q its only consumer", buf.Name, r.Name, blk.Name)
		}
	}
	pst := p.Body.(*Store)
	if pst.Buffer != buf {
		return nil, nil, fmt.Errorf("producer %q stores to %s, want %s", p.Name, pst.Buffer.Name, buf.Name)
	}
	if blockReadsBuf(p, out) || blockReadsBuf(p, buf) {
		return nil, nil, fmt.Errorf("producer %q reads %s or %s, want a producer reading neither", p.Name, out.Name, buf.Name)
	}
	ppos, _ := plainIterIndices(pst.Indices, p)
	var first []Expr
	var loadErr error
	blockLoads(blk, func(l *Load) {
		if loadErr != nil || l.Buffer != buf {
			return
		}
		if first != nil && !exprsEqual(first, l.Indices) {
			loadErr = fmt.Errorf("block %q reads %s at two different indices, want one", blk.Name, buf.Name)
			return
		}
		first = l.Indices
		pos, ok := plainIterIndices(l.Indices, blk)
		if !ok || len(pos) != len(blk.IterVars) {
			loadErr = fmt.Errorf("block %q reads %s at [%s], want distinct plain iterators covering all %d of its iterators", blk.Name, buf.Name, exprList(l.Indices), len(blk.IterVars))
			return
		}
		for d := range pos {
			if be, pe := blk.IterVars[pos[d]].Extent, p.IterVars[ppos[d]].Extent; be != pe {
				loadErr = fmt.Errorf("dimension %d of %s is iterated over %d by block %q and over %d by producer %q, want equal extents", d, buf.Name, be, blk.Name, pe, p.Name)
				return
			}
		}
	})
	if loadErr != nil {
		return nil, nil, loadErr
	}
	// The value is now computed where the producer runs: nothing in between may change the
	// consumer's other inputs or touch its output.
	order := map[*Block]int{}
	for i, x := range s.fn.Blocks() {
		order[x] = i
	}
	if order[p] > order[blk] {
		return nil, nil, fmt.Errorf("producer %q comes after block %q, want it before", p.Name, blk.Name)
	}
	pTop, bTop := s.topIndex(p), s.topIndex(blk)
	for _, x := range s.blocksInTop(pTop, bTop) {
		if x == p || x == blk {
			continue
		}
		if blockReadsBuf(x, out) || blockWritesBuf(x, out) {
			return nil, nil, fmt.Errorf("block %q accesses %s, which block %q writes, between producer %q and the block; want no access in between", x.Name, out.Name, blk.Name, p.Name)
		}
		for _, in := range loadedBuffers(blk) {
			if in != buf && blockWritesBuf(x, in) {
				return nil, nil, fmt.Errorf("block %q writes %s, which block %q reads, between producer %q and the block; want no writer of its inputs in between", x.Name, in.Name, blk.Name, p.Name)
			}
		}
	}
	return p, buf, nil
}
