package schedule

import (
	"fmt"
	"strings"
)

// movePlan is a checked compute-at or reverse-compute-at: the block's new loop nest, where it
// goes, and its new bindings. Applying it cannot fail.
type movePlan struct {
	blk    *Block
	oldTop Stmt  // the root statement holding the block's old nest
	target *Loop // the loop whose body receives the new nest
	index  int   // position among the target body's statements
	nest   Stmt
	binds  []Expr
}

func (s *Schedule) applyMove(p *movePlan) {
	p.target.Body = insertInto(p.target.Body, p.index, p.nest)
	if seq, ok := s.fn.Root.Body.(*Seq); ok {
		replaceChild(seq, p.oldTop, nil)
	} else if s.fn.Root.Body == p.oldTop {
		s.fn.Root.Body = &Seq{}
	}
	p.blk.Bindings = p.binds
	s.fn.Root.Body = normalizeSeqs(s.fn.Root.Body)
}

// isUnder reports whether st is nested in loop.
func (s *Schedule) isUnder(st Stmt, loop *Loop) bool {
	for _, x := range s.pathTo(st) {
		if x == loop {
			return x != st
		}
	}
	return false
}

// moveCommon checks what compute-at and reverse-compute-at share: a well-formed block alone in
// its own loop nest under the root, not under the target loop, which is in the program.
func (s *Schedule) moveCommon(blk *Block, loop *Loop) (loopPath []Stmt, err error) {
	if blk == s.fn.Root {
		return nil, fmt.Errorf("found the root block, want a block of a stage")
	}
	if err := wellFormedBlock(blk); err != nil {
		return nil, err
	}
	if blk.Predicate != nil {
		return nil, fmt.Errorf("block %q has a predicate, want a block without one", blk.Name)
	}
	loopPath = s.pathTo(loop)
	if loopPath == nil || loop.Var == nil {
		return nil, fmt.Errorf("loop is not part of the program")
	}
	if s.isUnder(blk, loop) {
		return nil, fmt.Errorf("block %q is already under loop %s, want a loop of another nest", blk.Name, loop.Var.Name)
	}
	if !s.soleChain(blk) {
		return nil, fmt.Errorf("the loop nest of block %q holds other statements, want a nest holding block %q alone", blk.Name, blk.Name)
	}
	return loopPath, nil
}

// freeLoopsUnder adds to free the loops enclosing st that are nested inside loop.
func (s *Schedule) freeLoopsUnder(st Stmt, loop *Loop, free map[*Var]int) {
	inside := false
	for _, lp := range loopsAbove(s.pathTo(st)) {
		if inside && lp.Var != nil {
			free[lp.Var] = lp.Extent
		}
		inside = inside || lp == loop
	}
}

// ComputeAt moves a producer block under a loop of its consumers' nest, so that at each
// iteration of the loop it computes only the region of its output the consumers under the
// loop read in that iteration. The block must write one intermediate buffer, be its only
// writer, sit alone in its own loop nest, and index the buffer by its plain spatial
// iterators; every consumer must be under the loop. The root position leaves the program as
// it is.
func (s *Schedule) ComputeAt(b BlockRV, l LoopRV) error {
	blk, err := s.BlockOf(b)
	if err != nil {
		return primError("compute_at", "%v", err)
	}
	loop, err := s.LoopOf(l)
	if err != nil {
		return primError("compute_at", "%v", err)
	}
	if loop != nil {
		plan, err := s.checkComputeAt(blk, loop)
		if err != nil {
			return primError("compute_at", "%v", err)
		}
		s.applyMove(plan)
	}
	s.record(Inst{Kind: KindComputeAt}, s.names(b.id, l.id), nil)
	return nil
}

// checkComputeAt checks ComputeAt(blk, loop) and plans it without changing anything.
func (s *Schedule) checkComputeAt(blk *Block, loop *Loop) (*movePlan, error) {
	loopPath, err := s.moveCommon(blk, loop)
	if err != nil {
		return nil, err
	}
	outs := storedBuffers(blk)
	if len(outs) != 1 {
		return nil, fmt.Errorf("block %q writes %d buffers, want exactly one", blk.Name, len(outs))
	}
	buf := outs[0]
	if s.isParam(buf) {
		return nil, fmt.Errorf("block %q writes the function output %s, want a block writing an intermediate", blk.Name, buf.Name)
	}
	if ws := s.writersOf(buf, blk); len(ws) > 0 {
		return nil, fmt.Errorf("buffer %s is also written by block %q, want block %q its only writer", buf.Name, ws[0].Name, blk.Name)
	}
	readers := s.readersOf(buf, blk)
	if len(readers) == 0 {
		return nil, fmt.Errorf("no block reads %s, want a consumer under loop %s", buf.Name, loop.Var.Name)
	}
	for _, r := range readers {
		if !s.isUnder(r, loop) {
			return nil, fmt.Errorf("block %q reads %s outside loop %s, want every consumer of %s under the loop", r.Name, buf.Name, loop.Var.Name, buf.Name)
		}
	}
	bTop, lTop := s.topIndex(blk), s.topIndex(loop)
	if bTop < 0 || lTop < 0 || bTop >= lTop {
		return nil, fmt.Errorf("block %q comes after loop %s, want the producer before its consumers", blk.Name, loop.Var.Name)
	}
	for _, in := range loadedBuffers(blk) {
		if in == buf {
			continue
		}
		for _, x := range s.blocksInTop(bTop+1, lTop) {
			if blockWritesBuf(x, in) {
				return nil, fmt.Errorf("block %q writes %s, which block %q reads, between the block and loop %s; want no writer of its inputs in between", x.Name, in.Name, blk.Name, loop.Var.Name)
			}
		}
	}
	// Each spatial iterator indexes one dimension of the output, plainly.
	dimOf := map[int]int{}
	var first []Expr
	var storeErr error
	blockStores(blk, func(st *Store) {
		if storeErr != nil {
			return
		}
		pos, ok := plainIterIndices(st.Indices, blk)
		if !ok {
			storeErr = fmt.Errorf("block %q stores to %s at [%s], want distinct plain iterators", blk.Name, buf.Name, exprList(st.Indices))
			return
		}
		if first != nil && !exprsEqual(first, st.Indices) {
			storeErr = fmt.Errorf("block %q stores to %s at two different indices, want one", blk.Name, buf.Name)
			return
		}
		first = st.Indices
		for d, i := range pos {
			if blk.IterVars[i].Kind != Spatial {
				storeErr = fmt.Errorf("block %q stores at its reduction iterator %s, want spatial iterators", blk.Name, blk.IterVars[i].Var.Name)
				return
			}
			dimOf[i] = d
		}
	})
	if storeErr != nil {
		return nil, storeErr
	}
	for i, iv := range blk.IterVars {
		if _, ok := dimOf[i]; iv.Kind == Spatial && !ok {
			return nil, fmt.Errorf("spatial iterator %s of block %q indexes no dimension of %s, want each spatial iterator to index one", iv.Var.Name, blk.Name, buf.Name)
		}
	}

	// The region the consumers under the loop read per iteration. A shared-memory buffer is
	// filled for every thread of a GPU block at once, so the threads' indices range freely.
	fixed := loopRanges(append(loopsAbove(loopPath), loop))
	free := map[*Var]int{}
	if buf.Scope == Shared {
		for _, lp := range append(loopsAbove(loopPath), loop) {
			if lp.Kind == ThreadBound && strings.HasPrefix(lp.Thread, "threadIdx") {
				free[lp.Var] = lp.Extent
				delete(fixed, lp.Var)
			}
		}
	}
	perDim := make([][]Expr, len(buf.Shape))
	for _, c := range readers {
		s.freeLoopsUnder(c, loop, free)
		m := bindingMap(c)
		bad := false
		blockLoads(c, func(ld *Load) {
			if ld.Buffer != buf {
				return
			}
			if len(ld.Indices) != len(perDim) {
				bad = true
				return
			}
			for d := range perDim {
				perDim[d] = append(perDim[d], Substitute(ld.Indices[d], m))
			}
		})
		if bad {
			return nil, fmt.Errorf("block %q loads %s with the wrong number of indices, want %d", c.Name, buf.Name, len(perDim))
		}
	}
	ranges := make([]Range, len(blk.IterVars))
	for i, iv := range blk.IterVars {
		if iv.Kind != Spatial {
			ranges[i] = Range{Min: Int(0), Extent: iv.Extent}
			continue
		}
		r, ok := coverRange(perDim[dimOf[i]], free)
		ranges[i] = clipRange(r, ok, iv.Extent, fixed)
	}
	nest, binds := nestFor(blk, ranges)
	if err := concurrentUse(blk, binds, append(loopsAbove(loopPath), loop)); err != nil {
		return nil, err
	}
	index := 0
	for i, st := range bodyStmts(loop.Body) {
		if containsAny(st, readers) {
			index = i
			break
		}
	}
	return &movePlan{blk: blk, oldTop: s.topStmts()[bTop], target: loop, index: index, nest: nest, binds: binds}, nil
}

// containsAny reports whether one of the blocks is nested in st.
func containsAny(st Stmt, blocks []*Block) bool {
	set := map[*Block]bool{}
	for _, b := range blocks {
		set[b] = true
	}
	found := false
	WalkStmt(st, func(x Stmt) bool {
		if b, ok := x.(*Block); ok && set[b] {
			found = true
		}
		return !found
	})
	return found
}

func exprList(es []Expr) string {
	out := ""
	for i, e := range es {
		if i > 0 {
			out += ", "
		}
		out += PrintExpr(e)
	}
	return out
}

// computeLocations lists, outermost first, every loop ComputeAt accepts for the block.
// Only the loops around one consumer can hold them all, so only those are checked.
func (s *Schedule) computeLocations(b *Block) []*Loop {
	outs := storedBuffers(b)
	if len(outs) != 1 {
		return nil
	}
	readers := s.readersOf(outs[0], b)
	if len(readers) == 0 {
		return nil
	}
	var out []*Loop
	for _, lp := range loopsAbove(s.pathTo(readers[0])) {
		if _, micro := lp.Annotations[AnnMicroKernel]; micro {
			break // a micro-kernel's nest holds its one block and nothing else
		}
		if _, err := s.checkComputeAt(b, lp); err == nil {
			out = append(out, lp)
		}
	}
	return out
}

// ReverseComputeAt moves a consumer block under a loop of its producers' nest, so that at each
// iteration of the loop it consumes just the region the producers under the loop wrote in
// that iteration, right after them (an iterator that reads no such buffer runs over its whole
// extent). The block must have spatial iterators only, sit alone in its own loop nest, and read
// each buffer produced under the loop at distinct plain iterators; those buffers must have no
// producer outside the loop. The loop may be inside a producer's reduction loop: the block
// then recomputes its region from partial results, and its last computation, after the last
// update, leaves the final values (as in TVM). The root position leaves the program as it is.
func (s *Schedule) ReverseComputeAt(b BlockRV, l LoopRV) error {
	blk, err := s.BlockOf(b)
	if err != nil {
		return primError("reverse_compute_at", "%v", err)
	}
	loop, err := s.LoopOf(l)
	if err != nil {
		return primError("reverse_compute_at", "%v", err)
	}
	if loop != nil {
		plan, err := s.checkReverseComputeAt(blk, loop)
		if err != nil {
			return primError("reverse_compute_at", "%v", err)
		}
		s.applyMove(plan)
	}
	s.record(Inst{Kind: KindReverseComputeAt}, s.names(b.id, l.id), nil)
	return nil
}

func (s *Schedule) checkReverseComputeAt(blk *Block, loop *Loop) (*movePlan, error) {
	loopPath, err := s.moveCommon(blk, loop)
	if err != nil {
		return nil, err
	}
	// A reduction may move too (the GPU's cross-thread reduction combines its partials under
	// the loop that computes them), as long as each iteration runs its whole reduction.
	reduction := blk.Init != nil || hasReduceIter(blk)
	if reduction && (blk.Init == nil || !hasReduceIter(blk)) {
		return nil, fmt.Errorf("block %q has an init without a reduction iterator or the reverse, want both or neither", blk.Name)
	}
	out := blk.Body.(*Store).Buffer
	if blockReadsBuf(blk, out) && !reduction {
		return nil, fmt.Errorf("block %q reads the buffer %s it writes, want a consumer of other buffers", blk.Name, out.Name)
	}
	var produced []*Buffer
	var others []*Buffer
	isProduced := map[*Buffer]bool{}
	var producers []*Block
	for _, in := range loadedBuffers(blk) {
		ws := s.writersOf(in, blk)
		var under []*Block
		for _, w := range ws {
			if s.isUnder(w, loop) {
				under = append(under, w)
			}
		}
		if len(under) == 0 {
			others = append(others, in)
			continue
		}
		if len(under) != len(ws) {
			for _, w := range ws {
				if !s.isUnder(w, loop) {
					return nil, fmt.Errorf("buffer %s is also written by block %q outside loop %s, want all its producers under the loop", in.Name, w.Name, loop.Var.Name)
				}
			}
		}
		produced = append(produced, in)
		isProduced[in] = true
		for _, w := range under {
			if !containsBlock(producers, w) {
				producers = append(producers, w)
			}
		}
	}
	if len(produced) == 0 {
		return nil, fmt.Errorf("block %q reads nothing written under loop %s, want a consumer of a block under the loop", blk.Name, loop.Var.Name)
	}
	bTop, lTop := s.topIndex(blk), s.topIndex(loop)
	if bTop < 0 || lTop < 0 || lTop >= bTop {
		return nil, fmt.Errorf("block %q comes before loop %s, want the consumer after its producers", blk.Name, loop.Var.Name)
	}
	for _, x := range s.blocksInTop(lTop, bTop-1) {
		if blockReadsBuf(x, out) || blockWritesBuf(x, out) {
			return nil, fmt.Errorf("block %q accesses %s, which block %q writes, between loop %s and the block; want no access in between", x.Name, out.Name, blk.Name, loop.Var.Name)
		}
		for _, in := range others {
			if blockWritesBuf(x, in) {
				return nil, fmt.Errorf("block %q writes %s, which block %q reads, between loop %s and the block; want no writer of its inputs in between", x.Name, in.Name, blk.Name, loop.Var.Name)
			}
		}
	}
	// Which dimension of which produced buffer each iterator reads.
	type use struct {
		buf *Buffer
		dim int
	}
	uses := make([][]use, len(blk.IterVars))
	var loadErr error
	blockLoads(blk, func(ld *Load) {
		if loadErr != nil || !isProduced[ld.Buffer] {
			return
		}
		pos, ok := plainIterIndices(ld.Indices, blk)
		if !ok {
			loadErr = fmt.Errorf("block %q reads %s at [%s], want distinct plain iterators", blk.Name, ld.Buffer.Name, exprList(ld.Indices))
			return
		}
		for d, i := range pos {
			u := use{ld.Buffer, d}
			dup := false
			for _, x := range uses[i] {
				dup = dup || x == u
			}
			if !dup {
				uses[i] = append(uses[i], u)
			}
		}
	})
	if loadErr != nil {
		return nil, loadErr
	}
	// The region the producers under the loop write per iteration.
	fixed := loopRanges(append(loopsAbove(loopPath), loop))
	free := map[*Var]int{}
	written := map[use][]Expr{}
	for _, p := range producers {
		s.freeLoopsUnder(p, loop, free)
		m := bindingMap(p)
		blockStores(p, func(st *Store) {
			if !isProduced[st.Buffer] {
				return
			}
			for d, x := range st.Indices {
				u := use{st.Buffer, d}
				written[u] = append(written[u], Substitute(x, m))
			}
		})
	}
	ranges := make([]Range, len(blk.IterVars))
	for i, iv := range blk.IterVars {
		// An iterator no produced buffer is read at runs over its whole extent.
		var idx []Expr
		known := true
		for _, u := range uses[i] {
			idx = append(idx, written[u]...)
			known = known && len(written[u]) > 0
		}
		r, ok := coverRange(idx, free)
		ranges[i] = clipRange(r, ok && known, iv.Extent, fixed)
		if iv.Kind == Reduce && ranges[i].Extent != iv.Extent {
			return nil, fmt.Errorf("reduction iterator %s of block %q would cover %d of its %d values per iteration of loop %s, want the whole reduction in each iteration", iv.Var.Name, blk.Name, ranges[i].Extent, iv.Extent, loop.Var.Name)
		}
	}
	nest, binds := nestFor(blk, ranges)
	if err := concurrentUse(blk, binds, append(loopsAbove(loopPath), loop)); err != nil {
		return nil, err
	}
	index := 0
	for i, st := range bodyStmts(loop.Body) {
		if containsAny(st, producers) {
			index = i + 1
		}
	}
	return &movePlan{blk: blk, oldTop: s.topStmts()[bTop], target: loop, index: index, nest: nest, binds: binds}, nil
}

// concurrentUse checks that a block placed under the given loops with the given bindings
// depends, through a spatial iterator, on each parallel or vectorized one: otherwise its
// iterations would compute the same elements at once.
func concurrentUse(blk *Block, binds []Expr, loops []*Loop) error {
	for _, lp := range loops {
		if lp.Kind != Parallel && lp.Kind != Vectorized {
			continue
		}
		used := false
		for i, iv := range blk.IterVars {
			used = used || (iv.Kind == Spatial && i < len(binds) && usesVar(binds[i], lp.Var))
		}
		if !used {
			return fmt.Errorf("block %q would compute the same region in every iteration of the %s loop %s, want a region that depends on it", blk.Name, lp.Kind, lp.Var.Name)
		}
	}
	return nil
}

func containsBlock(bs []*Block, b *Block) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}
