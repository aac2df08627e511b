package schedule

import (
	"fmt"
	"strconv"
	"strings"
)

// GetBlock returns the block with the given name.
func (s *Schedule) GetBlock(name string) (BlockRV, error) {
	var found []*Block
	for _, b := range append([]*Block{s.fn.Root}, s.fn.Blocks()...) {
		if b.Name == name {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 0:
		names := []string{s.fn.Root.Name}
		for _, b := range s.fn.Blocks() {
			names = append(names, b.Name)
		}
		return BlockRV{-1}, primError("get_block", "no block named %q; the program has %s", name, strings.Join(names, ", "))
	case 1:
	default:
		return BlockRV{-1}, primError("get_block", "found %d blocks named %q, want exactly one", len(found), name)
	}
	rv := s.newBlockRV(found[0])
	s.record(Inst{Kind: KindGetBlock, Name: name}, nil, []int{rv.id})
	return rv, nil
}

// GetLoops returns the loops enclosing a block, outermost first.
func (s *Schedule) GetLoops(b BlockRV) ([]LoopRV, error) {
	blk, err := s.BlockOf(b)
	if err != nil {
		return nil, primError("get_loops", "%v", err)
	}
	loops := loopsAbove(s.pathTo(blk))
	out := make([]LoopRV, len(loops))
	for i, l := range loops {
		out[i] = s.newLoopRV(l)
	}
	s.record(Inst{Kind: KindGetLoops}, s.names(b.id), loopIDs(out))
	return out, nil
}

// Split divides a serial loop into len(factors) nested loops, outermost first, whose extents
// are the factors; the factors must multiply to the loop's extent.
func (s *Schedule) Split(l LoopRV, factors []IntRV) ([]LoopRV, error) {
	loop, err := s.loopOf(l)
	if err != nil {
		return nil, primError("split", "%v", err)
	}
	if len(factors) < 2 {
		return nil, primError("split", "found %d factors, want at least 2", len(factors))
	}
	if loop.Kind != Serial {
		return nil, primError("split", "loop %s is %s, want a serial loop", loop.Var.Name, loop.Kind)
	}
	vals := make([]int, len(factors))
	prod := 1
	for i, f := range factors {
		v, err := s.IntValue(f)
		if err != nil {
			return nil, primError("split", "factor %d: %v", i, err)
		}
		if v < 1 {
			return nil, primError("split", "factor %d is %d, want a positive integer", i, v)
		}
		vals[i] = v
		if v > loop.Extent || prod > loop.Extent/v {
			// Checked before multiplying: a huge factor from a corrupt trace must not wrap
			// the product around to the extent.
			return nil, primError("split", "factor %d of loop %s is %d, which makes the product exceed its extent %d", i, loop.Var.Name, v, loop.Extent)
		}
		prod *= v
	}
	if prod != loop.Extent {
		return nil, primError("split", "factors %v of loop %s multiply to %d, want its extent %d", vals, loop.Var.Name, prod, loop.Extent)
	}
	path := s.pathTo(loop)
	loops := make([]*Loop, len(vals))
	var index Expr
	stride := int64(loop.Extent)
	for i, v := range vals {
		loops[i] = &Loop{Var: NewVar(loop.Var.Name + "_" + strconv.Itoa(i)), Extent: v}
		stride /= int64(v)
		var term Expr = loops[i].Var
		if stride != 1 {
			term = Bin(Mul, term, Int(stride))
		}
		if index == nil {
			index = term
		} else {
			index = Bin(Add, index, term)
		}
	}
	for i := 0; i+1 < len(loops); i++ {
		loops[i].Body = loops[i+1]
	}
	loops[len(loops)-1].Body = loop.Body
	loops[0].Annotations = loop.Annotations
	substituteBindings(loop.Body, map[*Var]Expr{loop.Var: index})
	replaceChild(path[len(path)-2], loop, loops[0])
	out := make([]LoopRV, len(loops))
	for i, nl := range loops {
		out[i] = s.newLoopRV(nl)
	}
	inputs := []string{s.rvName(l.id)}
	for _, f := range factors {
		inputs = append(inputs, s.intName(f))
	}
	s.record(Inst{Kind: KindSplit}, inputs, loopIDs(out))
	return out, nil
}

// Fuse merges directly nested serial loops, outermost first, into one loop whose extent is
// the product of theirs.
func (s *Schedule) Fuse(ls ...LoopRV) (LoopRV, error) {
	loops, err := s.chain("fuse", ls)
	if err != nil {
		return LoopRV{-1}, err
	}
	for i := 0; i+1 < len(loops); i++ {
		if loops[i].Body != loops[i+1] {
			return LoopRV{-1}, primError("fuse", "loop %s is not the only statement in loop %s; fuse needs directly nested loops", loops[i+1].Var.Name, loops[i].Var.Name)
		}
	}
	var names []string
	extent := int64(1)
	for _, lp := range loops {
		if lp.Kind != Serial {
			return LoopRV{-1}, primError("fuse", "loop %s is %s, want serial loops", lp.Var.Name, lp.Kind)
		}
		names = append(names, lp.Var.Name)
		extent *= int64(lp.Extent)
	}
	if extent > 1<<31-1 {
		return LoopRV{-1}, primError("fuse", "the fused extent %d does not fit in int32", extent)
	}
	var spatial, reduce *Loop
	for _, lp := range loops {
		if checkSpatialLoop(lp) != nil {
			reduce = lp
		} else if bindsSpatial(lp) {
			spatial = lp
		}
	}
	if spatial != nil && reduce != nil {
		// A reduction's init runs at its first reduction iteration, which a fused loop split
		// and reordered could visit late.
		return LoopRV{-1}, primError("fuse", "loop %s drives spatial iterators and loop %s a reduction; want loops of one kind", spatial.Var.Name, reduce.Var.Name)
	}
	fused := &Loop{Var: NewVar(strings.Join(names, "_") + "_fused"), Extent: int(extent), Body: loops[len(loops)-1].Body,
		Annotations: loops[0].Annotations}
	m := map[*Var]Expr{}
	inner := int64(1)
	for i := len(loops) - 1; i >= 0; i-- {
		var e Expr = fused.Var
		if inner > 1 {
			e = Bin(FloorDiv, e, Int(inner))
		}
		if i > 0 {
			e = Bin(FloorMod, e, Int(int64(loops[i].Extent)))
		}
		m[loops[i].Var] = e
		inner *= int64(loops[i].Extent)
	}
	path := s.pathTo(loops[0])
	substituteBindings(fused.Body, m)
	replaceChild(path[len(path)-2], loops[0], fused)
	out := s.newLoopRV(fused)
	s.record(Inst{Kind: KindFuse}, s.names(loopIDs(ls)...), []int{out.id})
	return out, nil
}

// Reorder permutes loops of one nest: the loops take the positions the same loops held, in the
// order given. The loops from the outermost to the innermost given must be directly nested.
func (s *Schedule) Reorder(ls ...LoopRV) error {
	loops, err := s.chain("reorder", ls)
	if err != nil {
		return err
	}
	seen := map[*Loop]bool{}
	for _, lp := range loops {
		if seen[lp] {
			return primError("reorder", "loop %s is given twice", lp.Var.Name)
		}
		seen[lp] = true
	}
	// The nest from the outermost to the innermost given loop, each the body of the previous.
	var outer, inner *Loop
	depth := map[*Loop]int{}
	for _, lp := range loops {
		depth[lp] = len(s.pathTo(lp))
		if outer == nil || depth[lp] < depth[outer] {
			outer = lp
		}
		if inner == nil || depth[lp] > depth[inner] {
			inner = lp
		}
	}
	var nest []*Loop
	for cur := Stmt(outer); ; {
		lp, ok := cur.(*Loop)
		if !ok {
			return primError("reorder", "the loops are not one directly nested chain: %s is not a loop inside %s", stmtDesc(cur), outer.Var.Name)
		}
		nest = append(nest, lp)
		if lp == inner {
			break
		}
		cur = lp.Body
	}
	for _, lp := range loops {
		if !containsLoop(nest, lp) {
			return primError("reorder", "loop %s is not in the nest from %s to %s", lp.Var.Name, outer.Var.Name, inner.Var.Name)
		}
	}
	innermostBody := inner.Body
	path := s.pathTo(outer)
	order := append([]*Loop(nil), nest...)
	k := 0
	for i, lp := range order {
		if seen[lp] {
			order[i] = loops[k]
			k++
		}
	}
	for i := 0; i+1 < len(order); i++ {
		order[i].Body = order[i+1]
	}
	order[len(order)-1].Body = innermostBody
	replaceChild(path[len(path)-2], outer, order[0])
	s.record(Inst{Kind: KindReorder}, s.names(loopIDs(ls)...), nil)
	return nil
}

// chain resolves loop handles for fuse and reorder.
func (s *Schedule) chain(prim string, ls []LoopRV) ([]*Loop, error) {
	if len(ls) == 0 {
		return nil, primError(prim, "found no loops, want at least one")
	}
	loops := make([]*Loop, len(ls))
	for i, l := range ls {
		lp, err := s.loopOf(l)
		if err != nil {
			return nil, primError(prim, "%v", err)
		}
		loops[i] = lp
	}
	return loops, nil
}

func containsLoop(ls []*Loop, x *Loop) bool {
	for _, l := range ls {
		if l == x {
			return true
		}
	}
	return false
}

func stmtDesc(s Stmt) string {
	switch s := s.(type) {
	case *Block:
		return "block " + strconv.Quote(s.Name)
	case *Loop:
		return "loop " + s.Var.Name
	case *Seq:
		return "a sequence of statements"
	}
	return "a statement"
}

// Parallel makes a loop run its iterations on parallel threads. Every block under it must bind
// the loop only to spatial iterators, and no enclosing or enclosed loop may be parallel.
func (s *Schedule) Parallel(l LoopRV) error { return s.setKind("parallel", KindParallel, l, Parallel) }

// Vectorize makes a loop run as SIMD lanes. Every block under it must bind the loop only to
// spatial iterators.
func (s *Schedule) Vectorize(l LoopRV) error {
	return s.setKind("vectorize", KindVectorize, l, Vectorized)
}

// Unroll asks for a loop to be fully unrolled.
func (s *Schedule) Unroll(l LoopRV) error { return s.setKind("unroll", KindUnroll, l, Unrolled) }

func (s *Schedule) setKind(prim, kind string, l LoopRV, k LoopKind) error {
	loop, err := s.loopOf(l)
	if err != nil {
		return primError(prim, "%v", err)
	}
	if loop.Kind != Serial {
		return primError(prim, "loop %s is already %s, want a serial loop", loop.Var.Name, loop.Kind)
	}
	if k == Parallel || k == Vectorized {
		if err := checkConcurrentLoop(loop); err != nil {
			return primError(prim, "%v", err)
		}
	}
	if k == Parallel {
		if err := s.checkNoParallelAround(loop); err != nil {
			return primError(prim, "%v", err)
		}
	}
	loop.Kind = k
	s.record(Inst{Kind: kind}, s.names(l.id), nil)
	return nil
}

// loopUse is how the blocks under a loop use its variable.
type loopUse struct {
	spatial bool // some block binds it to a spatial iterator
	// reduceBlock and reduceIter are the first block binding it to a reduction iterator.
	reduceBlock *Block
	reduceIter  *Var
	// unusedBlock is the first block that does not bind it to any spatial iterator.
	unusedBlock *Block
}

func usesOfLoop(loop *Loop) loopUse {
	var u loopUse
	WalkStmt(loop.Body, func(st Stmt) bool {
		b, ok := st.(*Block)
		if !ok {
			return true
		}
		spatial := false
		for i, iv := range b.IterVars {
			if i >= len(b.Bindings) || !usesVar(b.Bindings[i], loop.Var) { // a missing binding is the verifier's to report
				continue
			}
			if iv.Kind == Spatial {
				spatial = true
			} else if u.reduceBlock == nil {
				u.reduceBlock, u.reduceIter = b, iv.Var
			}
		}
		u.spatial = u.spatial || spatial
		if !spatial && u.unusedBlock == nil {
			u.unusedBlock = b
		}
		return true
	})
	return u
}

// checkSpatialLoop fails when some block under the loop binds its variable to a reduction
// iterator, since running such iterations at once would race on the reduction.
func checkSpatialLoop(loop *Loop) error {
	if u := usesOfLoop(loop); u.reduceBlock != nil {
		return fmt.Errorf("block %q binds loop %s to its reduction iterator %s; want only spatial iterators", u.reduceBlock.Name, loop.Var.Name, u.reduceIter.Name)
	}
	return nil
}

// bindsSpatial reports whether some block under the loop binds its variable to a spatial
// iterator.
func bindsSpatial(loop *Loop) bool { return usesOfLoop(loop).spatial }

// checkConcurrentLoop fails unless the loop's iterations may run at once: every block under it
// binds the loop variable to spatial iterators only, and to at least one, so iterations write
// different elements.
func checkConcurrentLoop(loop *Loop) error {
	if err := checkSpatialLoop(loop); err != nil {
		return err
	}
	if u := usesOfLoop(loop); u.unusedBlock != nil {
		return fmt.Errorf("block %q does not depend on loop %s, so its iterations would write the same elements; want every block under the loop bound to it", u.unusedBlock.Name, loop.Var.Name)
	}
	return nil
}

func (s *Schedule) checkNoParallelAround(loop *Loop) error {
	for _, st := range s.pathTo(loop) {
		if lp, ok := st.(*Loop); ok && lp != loop && lp.Kind == Parallel {
			return fmt.Errorf("loop %s is inside parallel loop %s; want one parallel loop per nest", loop.Var.Name, lp.Var.Name)
		}
	}
	var inner *Loop
	WalkStmt(loop.Body, func(st Stmt) bool {
		if lp, ok := st.(*Loop); ok && lp.Kind == Parallel && inner == nil {
			inner = lp
		}
		return inner == nil
	})
	if inner != nil {
		return fmt.Errorf("loop %s contains parallel loop %s; want one parallel loop per nest", loop.Var.Name, inner.Var.Name)
	}
	return nil
}

// ThreadAxes lists the GPU axes Bind accepts.
func ThreadAxes() []string {
	return []string{"blockIdx.x", "blockIdx.y", "blockIdx.z", "vthread.x", "vthread.y", "vthread.z",
		"threadIdx.x", "threadIdx.y", "threadIdx.z"}
}

// Bind maps a loop to a GPU thread axis (see ThreadAxes). Every block under it must bind the
// loop only to spatial iterators.
func (s *Schedule) Bind(l LoopRV, axis string) error {
	loop, err := s.loopOf(l)
	if err != nil {
		return primError("bind", "%v", err)
	}
	valid := false
	for _, a := range ThreadAxes() {
		valid = valid || a == axis
	}
	if !valid {
		return primError("bind", "found thread axis %q, want one of %s", axis, strings.Join(ThreadAxes(), ", "))
	}
	if loop.Kind != Serial {
		return primError("bind", "loop %s is already %s, want a serial loop", loop.Var.Name, loop.Kind)
	}
	if err := checkSpatialLoop(loop); err != nil {
		return primError("bind", "%v", err)
	}
	loop.Kind, loop.Thread = ThreadBound, axis
	s.record(Inst{Kind: KindBind, Name: axis}, s.names(l.id), nil)
	return nil
}

// Annotate attaches an integer hint to a block or loop (for example the auto-unroll step);
// postprocessors and the backend read them.
func (s *Schedule) Annotate(target RV, key string, value IntRV) error {
	if key == "" {
		return primError("annotate", "found an empty key, want a name")
	}
	v, err := s.IntValue(value)
	if err != nil {
		return primError("annotate", "value: %v", err)
	}
	id := target.rvID()
	if id < 0 || id >= len(s.rvs) {
		return primError("annotate", "found no block or loop handle, want one")
	}
	var ann *Annotations
	switch s.rvs[id].kind {
	case rvBlock:
		b, err := s.BlockOf(BlockRV{id})
		if err != nil {
			return primError("annotate", "%v", err)
		}
		ann = &b.Annotations
	case rvLoop:
		lp, err := s.loopOf(LoopRV{id})
		if err != nil {
			return primError("annotate", "%v", err)
		}
		ann = &lp.Annotations
	default:
		return primError("annotate", "%s is not a block or a loop", s.rvName(id))
	}
	if *ann == nil {
		*ann = Annotations{}
	}
	(*ann)[key] = strconv.Itoa(v)
	s.record(Inst{Kind: KindAnnotate, Name: key}, []string{s.rvName(id), s.intName(value)}, nil)
	return nil
}
