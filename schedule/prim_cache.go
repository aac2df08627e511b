package schedule

// validScope checks a storage scope given to a cache primitive.
func validScope(prim string, scope Scope) error {
	switch scope {
	case Global, Local, Shared:
		return nil
	}
	return primError(prim, "found scope %q, want global, local or shared", scope)
}

// cacheTarget resolves the block and buffer a cache primitive works on.
func (s *Schedule) cacheTarget(prim string, b BlockRV, index int, regions func(*Block) []Region, what string, scope Scope) (*Block, *Buffer, error) {
	blk, err := s.BlockOf(b)
	if err != nil {
		return nil, nil, primError(prim, "%v", err)
	}
	if blk == s.fn.Root {
		return nil, nil, primError(prim, "found the root block, want a block of a stage")
	}
	if err := validScope(prim, scope); err != nil {
		return nil, nil, err
	}
	rs := regions(blk)
	if len(rs) == 0 {
		return nil, nil, primError(prim, "block %q has no %s buffers, want one to cache", blk.Name, what)
	}
	if index < 0 || index >= len(rs) {
		return nil, nil, primError(prim, "found %s index %d, want 0 to %d (block %q %s %d buffers)", what, index, len(rs)-1, blk.Name, what+"s", len(rs))
	}
	buf := rs[index].Buffer
	if buf == nil {
		return nil, nil, primError(prim, "found a region without a buffer in block %q, want a buffer", blk.Name)
	}
	return blk, buf, nil
}

func redirectRegions(rs []Region, from, to *Buffer) {
	for i := range rs {
		if rs[i].Buffer == from {
			rs[i].Buffer = to
		}
	}
}

func redirectLoads(st Stmt, from, to *Buffer) {
	rewriteStores(st, func(s *Store) {
		s.Value = replaceLoads(s.Value, func(l *Load) (Expr, bool) {
			if l.Buffer != from {
				return nil, false
			}
			return &Load{Buffer: to, Indices: l.Indices}, true
		})
	})
}

// CacheRead makes a block read one of its inputs (b.Reads[readIndex]) through a copy in the
// given scope: a new buffer <buf>_<scope> of the same shape, filled by a new block of that name
// in its own loop nest (ax0, ax1, ...) placed just before the loop nest holding the block.
// It returns the copy block. The buffer's producers must all come before that loop nest.
func (s *Schedule) CacheRead(b BlockRV, readIndex int, scope Scope) (BlockRV, error) {
	const prim = "cache_read"
	blk, buf, err := s.cacheTarget(prim, b, readIndex, func(x *Block) []Region { return x.Reads }, "read", scope)
	if err != nil {
		return BlockRV{-1}, err
	}
	if blockWritesBuf(blk, buf) {
		return BlockRV{-1}, primError(prim, "block %q writes buffer %s, want a buffer it only reads", blk.Name, buf.Name)
	}
	top := s.topIndex(blk)
	if top < 0 {
		return BlockRV{-1}, primError(prim, "block %q is not in a loop nest under the root, want a stage block", blk.Name)
	}
	for _, w := range s.writersOf(buf, blk) {
		if s.topIndex(w) >= top {
			return BlockRV{-1}, primError(prim, "buffer %s is written by block %q inside or after the loop nest of block %q, want every producer before that nest", buf.Name, w.Name, blk.Name)
		}
	}
	name := s.freshName(buf.Name + "_" + string(scope))
	cache := &Buffer{Name: name, Shape: append([]int(nil), buf.Shape...), DType: buf.DType, Scope: scope}
	copyBlk, nest := copyBlock(name, buf, cache)

	s.fn.Root.Allocs = append(s.fn.Root.Allocs, cache)
	redirectLoads(blk.Body, buf, cache)
	redirectLoads(blk.Init, buf, cache)
	redirectRegions(blk.Reads, buf, cache)
	s.fn.Root.Body = normalizeSeqs(insertInto(s.fn.Root.Body, top, nest))
	out := s.newBlockRV(copyBlk)
	s.record(Inst{Kind: KindCacheRead, N: readIndex, Name: string(scope)}, s.names(b.id), []int{out.id})
	return out, nil
}

// CacheWrite makes a block write one of its outputs (b.Writes[writeIndex]) into a new buffer
// <buf>_<scope> of the given scope, copied back by a new block of that name in its own loop
// nest placed just after the loop nest holding the block. The block must be the buffer's only
// writer and its consumers must be outside its loop nest. It returns the copy block; a
// function output stays the output (the copy block writes it).
func (s *Schedule) CacheWrite(b BlockRV, writeIndex int, scope Scope) (BlockRV, error) {
	const prim = "cache_write"
	blk, buf, err := s.cacheTarget(prim, b, writeIndex, func(x *Block) []Region { return x.Writes }, "write", scope)
	if err != nil {
		return BlockRV{-1}, err
	}
	if !blockWritesBuf(blk, buf) {
		return BlockRV{-1}, primError(prim, "block %q lists %s in T.writes but stores nothing to it, want a buffer it stores to", blk.Name, buf.Name)
	}
	if ws := s.writersOf(buf, blk); len(ws) > 0 {
		return BlockRV{-1}, primError(prim, "buffer %s is also written by block %q, want block %q its only writer", buf.Name, ws[0].Name, blk.Name)
	}
	if blockReadsBuf(blk, buf) && blk.Init == nil {
		return BlockRV{-1}, primError(prim, "block %q reads buffer %s without initialising it, want a reduction with an init", blk.Name, buf.Name)
	}
	top := s.topIndex(blk)
	if top < 0 {
		return BlockRV{-1}, primError(prim, "block %q is not in a loop nest under the root, want a stage block", blk.Name)
	}
	for _, r := range s.blocksInTop(top, top) {
		if r != blk && blockReadsBuf(r, buf) {
			return BlockRV{-1}, primError(prim, "block %q reads %s inside the loop nest of block %q, want its consumers after that nest", r.Name, buf.Name, blk.Name)
		}
	}
	name := s.freshName(buf.Name + "_" + string(scope))
	cache := &Buffer{Name: name, Shape: append([]int(nil), buf.Shape...), DType: buf.DType, Scope: scope}
	copyBlk, nest := copyBlock(name, cache, buf)

	s.fn.Root.Allocs = append(s.fn.Root.Allocs, cache)
	for _, st := range []Stmt{blk.Init, blk.Body} {
		redirectLoads(st, buf, cache)
		rewriteStores(st, func(x *Store) {
			if x.Buffer == buf {
				x.Buffer = cache
			}
		})
	}
	redirectRegions(blk.Reads, buf, cache)
	redirectRegions(blk.Writes, buf, cache)
	s.fn.Root.Body = normalizeSeqs(insertInto(s.fn.Root.Body, top+1, nest))
	out := s.newBlockRV(copyBlk)
	s.record(Inst{Kind: KindCacheWrite, N: writeIndex, Name: string(scope)}, s.names(b.id), []int{out.id})
	return out, nil
}
