package schedule

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Annotation keys the design-space rules put on the root block for the postprocessors, as
// in TVM MetaSchedule.
const (
	AnnParallel       = "meta_schedule.parallel"
	AnnVectorize      = "meta_schedule.vectorize"
	AnnUnroll         = "meta_schedule.unroll_explicit"
	AnnAutoUnrollStep = "pragma_auto_unroll_max_step"
)

// DesignSpace applies the CPU design-space rules to f and returns its sketches: TVM's
// auto-inline, multi-level tiling "SSRSRS" with an optional write cache (an element-wise
// consumer, when there is one, serves as that cache and is fused) at tile level 1 or 2, random
// compute locations, and parallel-vectorize-unroll annotations on the root. Blocks are visited
// from the outputs toward the inputs; a rule with alternatives multiplies the sketches.
// Sampling instructions in the sketches carry the decisions drawn while building them; the
// search re-samples them (SampleCandidate). On an error there are no sketches.
func DesignSpace(f *Func, opt SpaceOptions) (_ []Sketch, err error) {
	defer guardInput("DesignSpace", &err)
	if f == nil {
		return nil, errors.New("design space: no program (nil *Func)")
	}
	if err := Verify(f); err != nil {
		return nil, fmt.Errorf("design space of %s: the program is not valid: %w", f.Name, err)
	}
	opt = opt.withDefaults()
	if opt.GPU != nil {
		return gpuDesignSpace(f, opt)
	}
	// The decisions drawn while building sketches are placeholders, so a fixed seed keeps the
	// sketches themselves deterministic.
	rng := rand.New(rand.NewPCG(1, 2))
	states := []sketchState{{s: New(f, rng)}}
	names := blockNamesOutputsFirst(f)
	for _, name := range names {
		var next []sketchState
		for _, st := range states {
			out, err := applyBlockRules(st, name, opt)
			if err != nil {
				return nil, fmt.Errorf("design space of %s: block %q: %w", f.Name, name, err)
			}
			next = append(next, out...)
		}
		states = next
	}
	// The plain sketch keeps the program's loops and only parallelizes, vectorizes and
	// unrolls them: for blocks with little data reuse, tiling can only lose, and this sketch
	// keeps every search able to reach at least the unscheduled program's speed on the
	// target's cores.
	if len(states) != 1 || len(states[0].notes) > 0 {
		states = append(states, sketchState{s: New(f, rng), notes: []string{PlainSketch}})
	}
	sketches := make([]Sketch, 0, len(states))
	for _, st := range states {
		if err := parallelizeVectorizeUnroll(st.s, opt); err != nil {
			return nil, fmt.Errorf("design space of %s: %w", f.Name, err)
		}
		name := strings.Join(st.notes, "; ")
		if name == "" {
			name = PlainSketch
		}
		sketches = append(sketches, Sketch{Name: name, Trace: st.s.Trace()})
	}
	return sketches, nil
}

// PlainSketch names the CPU sketch that keeps the program's loops as they are and only
// parallelizes, vectorizes and unrolls them.
const PlainSketch = "parallelize, vectorize, unroll only"

func (o SpaceOptions) withDefaults() SpaceOptions {
	d := DefaultSpaceOptions(o.Cores)
	if o.VectorLanes > 0 {
		d.VectorLanes = o.VectorLanes
	}
	if o.MaxInnermostFactor > 0 {
		d.MaxInnermostFactor = o.MaxInnermostFactor
	}
	if len(o.UnrollSteps) > 0 {
		d.UnrollSteps = o.UnrollSteps
	}
	d.SIMDLanes = max(o.SIMDLanes, 0)
	if o.GPU != nil {
		g := o.GPU.withDefaults()
		d.GPU = &g
	}
	return d
}

// sketchState is a sketch under construction with a note per design choice.
type sketchState struct {
	s     *Schedule
	notes []string
}

func (st sketchState) fork() sketchState {
	return sketchState{s: st.s.Copy(), notes: append([]string(nil), st.notes...)}
}

// blockNamesOutputsFirst lists the blocks in reverse program order.
func blockNamesOutputsFirst(f *Func) []string {
	blocks := f.Blocks()
	names := make([]string, len(blocks))
	for i, b := range blocks {
		names[len(blocks)-1-i] = b.Name
	}
	return names
}

// applyBlockRules applies the rules to one block of one sketch, in TVM's order: auto-inline,
// multi-level tiling, random compute location.
func applyBlockRules(st sketchState, name string, opt SpaceOptions) ([]sketchState, error) {
	s := st.s
	blk := findBlock(s.fn, name)
	if blk == nil {
		return []sketchState{st}, nil // inlined by an earlier rule
	}
	if canAutoInline(s.fn, blk) {
		trial := st.fork()
		b, err := trial.s.GetBlock(name)
		if err == nil && trial.s.ComputeInline(b) == nil {
			trial.notes = append(trial.notes, name+" inlined")
			return []sketchState{trial}, nil
		}
	}
	if needsMultiLevelTiling(s.fn, blk) {
		return multiLevelTiling(st, name, opt)
	}
	if isOutput(s.fn, blk) || isEpilogueOfTiledBlock(s.fn, blk) {
		return []sketchState{st}, nil
	}
	b, err := s.GetBlock(name)
	if err != nil {
		return nil, err
	}
	if locs, _ := s.ComputeLocations(b); len(locs) == 0 {
		return []sketchState{st}, nil
	}
	l, err := s.SampleComputeLocation(b)
	if err != nil {
		return nil, err
	}
	if err := s.ComputeAt(b, l); err != nil {
		return nil, err
	}
	st.notes = append(st.notes, name+" at a sampled location")
	return []sketchState{st}, nil
}

// isEpilogueOfTiledBlock reports whether b is the element-wise consumer a tiled producer will
// take as its write cache; its place is left to the tiling rule.
func isEpilogueOfTiledBlock(f *Func, b *Block) bool {
	for _, p := range f.Blocks() {
		if p != b && needsMultiLevelTiling(f, p) && fusableEpilogue(f, p) == b {
			return true
		}
	}
	return false
}

func findBlock(f *Func, name string) *Block {
	for _, b := range f.Blocks() {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// isOutput reports whether the block writes a function parameter.
func isOutput(f *Func, b *Block) bool {
	for _, w := range b.Writes {
		for _, p := range f.Params {
			if w.Buffer == p {
				return true
			}
		}
	}
	return false
}

// canAutoInline follows TVM's CPU AutoInline: an element-wise block (spatial iterators only,
// one store at its plain iterators) writing an intermediate is inlined into its consumers,
// unless it computes a transcendental function or a select, which would be recomputed by
// every consumer iteration.
func canAutoInline(f *Func, b *Block) bool {
	if b.Init != nil || isOutput(f, b) {
		return false
	}
	for _, iv := range b.IterVars {
		if iv.Kind != Spatial {
			return false
		}
	}
	st, ok := b.Body.(*Store)
	if !ok || !plainDistinctIndices(st.Indices, b) {
		return false
	}
	costly := false
	WalkExpr(st.Value, func(e Expr) bool {
		switch e := e.(type) {
		case *Select:
			costly = true
		case *Call:
			costly = costly || e.Fn != Relu && e.Fn != Abs
		}
		return !costly
	})
	return !costly
}

// plainDistinctIndices reports whether indices are distinct iterator variables of b covering
// all of them.
func plainDistinctIndices(idx []Expr, b *Block) bool {
	if len(idx) != len(b.IterVars) {
		return false
	}
	seen := map[*Var]bool{}
	for _, x := range idx {
		v, ok := x.(*Var)
		if !ok || seen[v] {
			return false
		}
		seen[v] = true
	}
	for _, iv := range b.IterVars {
		if !seen[iv.Var] {
			return false
		}
	}
	return true
}

// needsMultiLevelTiling follows TVM: a block with spatial and reduction iterators, each bound
// to its own loop, where some input is not indexed by every spatial iterator (so tiles reuse
// data).
func needsMultiLevelTiling(f *Func, b *Block) bool {
	var spatial, reduce int
	for _, iv := range b.IterVars {
		if iv.Kind == Spatial {
			spatial++
		} else {
			reduce++
		}
	}
	if spatial == 0 || reduce == 0 {
		return false
	}
	for _, bind := range b.Bindings {
		if _, ok := bind.(*Var); !ok {
			return false
		}
	}
	reuse := false
	WalkStmt(b.Body, func(s Stmt) bool {
		StmtExprs(s, func(e Expr) {
			WalkExpr(e, func(x Expr) bool {
				ld, ok := x.(*Load)
				if !ok || (len(b.Writes) > 0 && ld.Buffer == b.Writes[0].Buffer) {
					return true
				}
				for _, iv := range b.IterVars {
					if iv.Kind != Spatial {
						continue
					}
					used := false
					for _, i := range ld.Indices {
						used = used || usesVar(i, iv.Var)
					}
					reuse = reuse || !used
				}
				return true
			})
		})
		return true
	})
	return reuse
}

// multiLevelTiling tiles a block "SSRSRS" and returns one sketch per write-cache choice: none,
// under the last loop of the first spatial tile group (level 1), or of the second (level 2). When the block has
// a single element-wise consumer reading its output at the same indices, that consumer is the
// write cache (the epilogue is fused); otherwise a global write cache is added.
func multiLevelTiling(st sketchState, name string, opt SpaceOptions) ([]sketchState, error) {
	s := st.s
	_, blk, loops, err := tilingTarget(s, name)
	if err != nil {
		return nil, err
	}
	if loops == nil {
		return []sketchState{st}, nil
	}
	var micro []sketchState
	if opt.SIMDLanes > 0 {
		if mk, err := microKernelTiling(st.fork(), name, opt); err == nil {
			micro = append(micro, mk)
		}
	}
	levels, err := tileByKind(s, blk, loops, opt.MaxInnermostFactor, 6, []int{0, 1, 3, 5}, []int{2, 4}, tileLimits{}) // S0 S1 R0 S2 R1 S3
	if err != nil {
		return nil, err
	}
	st.notes = append(st.notes, name+" tiled SSRSRS")

	out := []sketchState{st}
	epilogue := fusableEpilogue(s.fn, blk)
	for _, level := range []int{1, 2} {
		// As in TVM, level L places the cache under the last loop of the L-th tile group of
		// "SSRSRS": S0 or S1, both outside every reduction loop.
		anchorLevel := level - 1
		if len(levels[anchorLevel]) == 0 {
			continue
		}
		trial := st.fork()
		ts := trial.s
		// Handles are per schedule; Copy keeps their numbers, so the same ids are valid.
		anchor := levels[anchorLevel][len(levels[anchorLevel])-1]
		if epilogue != nil {
			cb, err := ts.GetBlock(epilogue.Name)
			if err != nil {
				continue
			}
			if err := ts.ReverseComputeAt(cb, anchor); err != nil {
				continue
			}
			trial.notes = append(trial.notes, fmt.Sprintf("epilogue %s fused at tile level %d", epilogue.Name, level))
		} else {
			tb, err := ts.GetBlock(name)
			if err != nil {
				continue
			}
			cb, err := ts.CacheWrite(tb, 0, Global)
			if err != nil {
				continue
			}
			if err := ts.ReverseComputeAt(cb, anchor); err != nil {
				continue
			}
			trial.notes = append(trial.notes, fmt.Sprintf("write cache at tile level %d", level))
		}
		out = append(out, trial)
	}
	return append(out, micro...), nil
}

// microKernelTiling tiles a block "SSRSRS" with a small innermost spatial tile S3 (at most 4
// per iterator, 4 vectors along the last one) and asks for a vector micro-kernel at R1, so the
// S3 tile's accumulators stay in registers across the R1 reduction; an element-wise epilogue
// is fused at tile level 1.
func microKernelTiling(st sketchState, name string, opt SpaceOptions) (sketchState, error) {
	s := st.s
	_, blk, loops, err := tilingTarget(s, name)
	if err != nil || loops == nil {
		return st, fmt.Errorf("micro-kernel tiling of %s: no loops to tile", name)
	}
	limits := tileLimits{spatial: []int{0, 0, 0, 4}, lastSpatial: []int{0, 0, 0, 4 * opt.SIMDLanes}}
	levels, lastTiles, err := tileByKindWithTiles(s, blk, loops, max(opt.MaxInnermostFactor, 4*opt.SIMDLanes), 6, []int{0, 1, 3, 5}, []int{2, 4}, limits)
	if err != nil {
		return st, err
	}
	if len(levels[4]) == 0 {
		return st, fmt.Errorf("micro-kernel tiling of %s: no reduction loop", name)
	}
	if err := s.MicroKernel(levels[4][0], opt.SIMDLanes); err != nil {
		return st, err
	}
	// The nest's shape does not depend on the sampled tile sizes: a block whose accesses do
	// not suit a micro-kernel (say, the last loop strides through an operand) gets no sketch.
	if lp, err := s.loopOf(levels[4][0]); err != nil {
		return st, err
	} else if _, err := planMicroKernelShape(lp, true); err != nil {
		return st, err
	}
	st.notes = append(st.notes, name+" tiled SSRSRS with a vector micro-kernel")
	// Constant operands the micro-kernel reads as vectors are packed in panels of the vector
	// tile, so each reduction step reads the next few cache lines in order instead of a row
	// of a large matrix (TVM's layout rewrite).
	if len(lastTiles) == 4 {
		for _, p := range contiguousConstants(s.fn, blk) {
			if err := s.PackPanels(p.Name, lastTiles[3]); err == nil {
				st.notes = append(st.notes, p.Name+" packed in panels")
			}
		}
	}
	if epilogue := fusableEpilogue(s.fn, blk); epilogue != nil && len(levels[0]) > 0 {
		if cb, err := s.GetBlock(epilogue.Name); err == nil && s.ReverseComputeAt(cb, levels[0][len(levels[0])-1]) == nil {
			st.notes = append(st.notes, fmt.Sprintf("epilogue %s fused at tile level 1", epilogue.Name))
		}
	}
	return st, nil
}

// iterIndexOfLoop finds which iterator the i-th loop of a trivially bound block drives.
func iterIndexOfLoop(b *Block, loops []LoopRV, s *Schedule, i int) int {
	lp, _ := s.loopOf(loops[i])
	for j, bind := range b.Bindings {
		if v, ok := bind.(*Var); ok && lp != nil && v == lp.Var {
			return j
		}
	}
	return i
}

// fusableEpilogue returns the single consumer of b's output when it is element-wise and reads
// that output at its own plain iterators, so it can serve as b's write cache.
func fusableEpilogue(f *Func, b *Block) *Block {
	if len(b.Writes) != 1 || isOutput(f, b) {
		return nil
	}
	out := b.Writes[0].Buffer
	var consumers []*Block
	for _, c := range f.Blocks() {
		if c == b {
			continue
		}
		reads := false
		WalkStmt(c.Body, func(s Stmt) bool {
			StmtExprs(s, func(e Expr) {
				WalkExpr(e, func(x Expr) bool {
					if ld, ok := x.(*Load); ok && ld.Buffer == out {
						reads = true
					}
					return true
				})
			})
			return true
		})
		if reads {
			consumers = append(consumers, c)
		}
	}
	if len(consumers) != 1 {
		return nil
	}
	c := consumers[0]
	if c.Init != nil {
		return nil
	}
	for _, iv := range c.IterVars {
		if iv.Kind != Spatial {
			return nil
		}
	}
	st, ok := c.Body.(*Store)
	if !ok || !plainDistinctIndices(st.Indices, c) {
		return nil
	}
	params := map[*Buffer]bool{}
	for _, p := range f.Params {
		params[p] = true
	}
	matched := true
	WalkExpr(st.Value, func(x Expr) bool {
		if ld, ok := x.(*Load); ok {
			switch {
			case ld.Buffer == out:
				matched = matched && exprsEqual(ld.Indices, st.Indices)
			case !params[ld.Buffer]:
				matched = false // another intermediate might be produced after b
			}
		}
		return true
	})
	if !matched {
		return nil
	}
	return c
}

// parallelizeVectorizeUnroll annotates the root block for the postprocessor: the largest
// parallel extent, the longest vector loop and a sampled auto-unroll step.
func parallelizeVectorizeUnroll(s *Schedule, opt SpaceOptions) error {
	root, err := s.GetBlock(s.fn.Root.Name)
	if err != nil {
		return err
	}
	if err := s.Annotate(root, AnnParallel, Lit(opt.Cores*16)); err != nil {
		return err
	}
	if err := s.Annotate(root, AnnVectorize, Lit(opt.VectorLanes)); err != nil {
		return err
	}
	probs := make([]float64, len(opt.UnrollSteps))
	for i := range probs {
		probs[i] = 1 / float64(len(probs))
	}
	v, err := s.SampleCategorical(opt.UnrollSteps, probs)
	if err != nil {
		return err
	}
	return s.Annotate(root, AnnUnroll, v)
}

// tileLimits are the preferred upper bounds of the tiles tileByKind samples (see
// SampleLimitedTile), per iterator kind; lastSpatial, when not nil, replaces spatial for the
// block's last spatial iterator (the one a vector micro-kernel walks).
type tileLimits struct {
	spatial, reduce, lastSpatial []int
}

// tileByKind splits every loop of a trivially bound block into sampled tiles, spatial loops
// into len(spatialAt) tiles placed at those levels and reduction loops into len(reduceAt) at
// theirs, each within its limits, and reorders the tiles level by level. It returns the loops
// of each level.
func tileByKind(s *Schedule, blk *Block, loops []LoopRV, maxInnermost, nLevels int, spatialAt, reduceAt []int, limits tileLimits) ([][]LoopRV, error) {
	levels, _, err := tileByKindWithTiles(s, blk, loops, maxInnermost, nLevels, spatialAt, reduceAt, limits)
	return levels, err
}

// tileByKindWithTiles is tileByKind that also returns the sampled tile sizes of the block's
// last spatial loop, outermost first.
func tileByKindWithTiles(s *Schedule, blk *Block, loops []LoopRV, maxInnermost, nLevels int, spatialAt, reduceAt []int, limits tileLimits) ([][]LoopRV, []IntRV, error) {
	var lastTiles []IntRV
	levels := make([][]LoopRV, nLevels)
	lastSpatial := -1
	for i := range loops {
		if blk.IterVars[iterIndexOfLoop(blk, loops, s, i)].Kind == Spatial {
			lastSpatial = i
		}
	}
	for i, l := range loops {
		at, lim := spatialAt, limits.spatial
		switch {
		case blk.IterVars[iterIndexOfLoop(blk, loops, s, i)].Kind == Reduce:
			at, lim = reduceAt, limits.reduce
		case i == lastSpatial && limits.lastSpatial != nil:
			lim = limits.lastSpatial
		}
		tiles, err := s.SampleLimitedTile(l, len(at), maxInnermost, lim)
		if err != nil {
			return nil, nil, err
		}
		if i == lastSpatial {
			lastTiles = tiles
		}
		split, err := s.Split(l, tiles)
		if err != nil {
			return nil, nil, err
		}
		for k, level := range at {
			levels[level] = append(levels[level], split[k])
		}
	}
	var order []LoopRV
	for _, lv := range levels {
		order = append(order, lv...)
	}
	if err := s.Reorder(order...); err != nil {
		return nil, nil, err
	}
	return levels, lastTiles, nil
}

// tilingTarget finds a block for multi-level tiling and its loops; loops is nil when they are
// not one per iterator (the block was already transformed), and the block is left as it is.
func tilingTarget(s *Schedule, name string) (BlockRV, *Block, []LoopRV, error) {
	b, err := s.GetBlock(name)
	if err != nil {
		return b, nil, nil, err
	}
	blk, err := s.BlockOf(b)
	if err != nil {
		return b, nil, nil, err
	}
	loops, err := s.GetLoops(b)
	if err != nil || len(loops) != len(blk.IterVars) {
		return b, blk, nil, err
	}
	return b, blk, loops, nil
}
