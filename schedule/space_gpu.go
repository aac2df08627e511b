package schedule

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// GPUSpace describes an NVIDIA GPU to the design-space rules, the postprocessors and the
// verifier. A SpaceOptions with GPU set describes a CUDA target.
type GPUSpace struct {
	MaxThreadsPerBlock    int   // threads per block (1024)
	MaxSharedBytes        int64 // shared memory a kernel may use per block (the default 48 KiB)
	MaxVThreads           int   // virtual threads per block (TVM's 8)
	MaxVectorBytes        int   // widest vector access (16 bytes: float4)
	MaxRegistersPerThread int   // registers one thread may hold (255)
}

// DefaultGPUSpace is a GPU with the limits common to every NVIDIA GPU since sm_50.
func DefaultGPUSpace() GPUSpace {
	return GPUSpace{MaxThreadsPerBlock: 1024, MaxSharedBytes: 48 << 10, MaxVThreads: 8, MaxVectorBytes: 16, MaxRegistersPerThread: 255}
}

// GPUUnrollSteps are the auto-unroll steps sampled on the GPU (TVM's CUDA range, up to 1024).
func GPUUnrollSteps() []int { return []int{0, 16, 64, 512, 1024} }

// AnnCooperativeFetch marks a shared-memory copy block whose loops the postprocessor spreads
// over the block's threads; its value is the vector length of each thread's loads.
const AnnCooperativeFetch = "meta_schedule.cooperative_fetch"

// cooperativeFetchLengths are the sampled vector lengths of cooperative fetches (TVM's 1–4).
var cooperativeFetchLengths = [...]int{1, 2, 3, 4}

func (g GPUSpace) withDefaults() GPUSpace {
	d := DefaultGPUSpace()
	if g.MaxThreadsPerBlock <= 0 {
		g.MaxThreadsPerBlock = d.MaxThreadsPerBlock
	}
	if g.MaxSharedBytes <= 0 {
		g.MaxSharedBytes = d.MaxSharedBytes
	}
	if g.MaxVThreads <= 0 {
		g.MaxVThreads = d.MaxVThreads
	}
	if g.MaxVectorBytes <= 0 {
		g.MaxVectorBytes = d.MaxVectorBytes
	}
	if g.MaxRegistersPerThread <= 0 {
		g.MaxRegistersPerThread = d.MaxRegistersPerThread
	}
	return g
}

// gpuDesignSpace applies the CUDA design-space rules, in TVM's order per block (outputs
// first): multi-level tiling "SSSRRSRS" with shared-memory read caches and a local write
// cache, cross-thread reduction for long reductions without data reuse, then aggressive
// auto-inline; afterwards every nest left without GPU threads is auto-bound, and the root gets
// a sampled auto-unroll step.
func gpuDesignSpace(f *Func, opt SpaceOptions) ([]Sketch, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	st := sketchState{s: New(f, rng)}
	for _, name := range blockNamesOutputsFirst(f) {
		next, err := applyGPUBlockRules(st, name, opt)
		if err != nil {
			return nil, fmt.Errorf("design space of %s (cuda): block %q: %w", f.Name, name, err)
		}
		st = next
	}
	if err := autoBind(&st, opt); err != nil {
		return nil, fmt.Errorf("design space of %s (cuda): %w", f.Name, err)
	}
	if err := annotateUnroll(st.s, GPUUnrollSteps()); err != nil {
		return nil, fmt.Errorf("design space of %s (cuda): %w", f.Name, err)
	}
	name := strings.Join(st.notes, "; ")
	if name == "" {
		name = "auto-bound"
	}
	return []Sketch{{Name: name, Trace: st.s.Trace()}}, nil
}

func applyGPUBlockRules(st sketchState, name string, opt SpaceOptions) (sketchState, error) {
	blk := findBlock(st.s.fn, name)
	if blk == nil {
		return st, nil // inlined by an earlier rule
	}
	if needsMultiLevelTiling(st.s.fn, blk) {
		return gpuMultiLevelTiling(st, name, opt)
	}
	if needsCrossThreadReduction(st.s, blk) {
		return crossThreadReduction(st, name, opt)
	}
	if canInlineOnGPU(st.s.fn, blk) {
		trial := st.fork()
		b, err := trial.s.GetBlock(name)
		if err == nil && trial.s.ComputeInline(b) == nil {
			trial.notes = append(trial.notes, name+" inlined")
			return trial, nil
		}
	}
	return st, nil
}

// canInlineOnGPU is TVM's aggressive CUDA auto-inline: any element-wise block writing an
// intermediate, transcendental functions included (recomputing is cheaper than a round trip
// through global memory).
func canInlineOnGPU(f *Func, b *Block) bool {
	if b.Init != nil || isOutput(f, b) {
		return false
	}
	for _, iv := range b.IterVars {
		if iv.Kind != Spatial {
			return false
		}
	}
	st, ok := b.Body.(*Store)
	return ok && plainDistinctIndices(st.Indices, b)
}

// rootLimit is the largest integer whose n-th power stays within limit (at least 1).
func rootLimit(limit, n int) int {
	if n <= 1 {
		return max(limit, 1)
	}
	r := int(math.Floor(math.Pow(float64(limit), 1/float64(n)) + 1e-9))
	return max(r, 1)
}

// gpuMultiLevelTiling tiles a block "SSSRRSRS": spatial loops in 5 (block, virtual thread,
// thread, and two register tiles), reduction loops in 3. The first three spatial levels are
// fused and bound to blockIdx.x, vthread.x and threadIdx.x; the inputs are read through
// shared-memory caches computed at the outer reduction tile and fetched cooperatively; the
// output is accumulated in a local (register) cache written back under the thread loop, with
// an element-wise epilogue fused into that write-back.
func gpuMultiLevelTiling(st sketchState, name string, opt SpaceOptions) (sketchState, error) {
	gpu := opt.GPU.withDefaults()
	s := st.s
	b, blk, loops, err := tilingTarget(s, name)
	if err != nil || loops == nil {
		return st, err
	}
	epilogue := fusableEpilogue(s.fn, blk)
	var inputs []int
	for i, r := range blk.Reads {
		if r.Buffer != nil && !blockWritesBuf(blk, r.Buffer) {
			inputs = append(inputs, i)
		}
	}
	spatial := 0 // spatial iterators that can be split: those longer than 1
	for _, iv := range blk.IterVars {
		if iv.Kind == Spatial && iv.Extent > 1 {
			spatial++
		}
	}
	// Register tiles: about 64 accumulators per thread in all.
	regs := rootLimit(64, spatial)
	inner := min(4, regs)
	spatialLimits := []int{0, rootLimit(gpu.MaxVThreads, spatial), rootLimit(gpu.MaxThreadsPerBlock, spatial), max(1, regs/inner), inner}
	reduceLimits := []int{0, 16, 4}
	levels, err := tileByKind(s, blk, loops, opt.MaxInnermostFactor, 8, []int{0, 1, 2, 5, 7}, []int{3, 4, 6}, tileLimits{spatial: spatialLimits, reduce: reduceLimits}) // S0 S1 S2 R0 R1 S3 R2 S4
	if err != nil {
		return st, err
	}
	var bound [3]LoopRV
	for i, axis := range []string{"blockIdx.x", "vthread.x", "threadIdx.x"} {
		l := levels[i][0]
		if len(levels[i]) > 1 {
			if l, err = s.Fuse(levels[i]...); err != nil {
				return st, err
			}
		}
		if err := s.Bind(l, axis); err != nil {
			return st, err
		}
		bound[i] = l
	}
	st.notes = append(st.notes, name+" tiled SSSRRSRS")

	wb, err := s.CacheWrite(b, 0, Local)
	if err != nil {
		return st, err
	}
	if epilogue != nil {
		eb, err := s.GetBlock(epilogue.Name)
		if err != nil {
			return st, err
		}
		if err := s.ReverseComputeInline(eb); err != nil {
			return st, err
		}
		st.notes = append(st.notes, "epilogue "+epilogue.Name+" fused")
	}
	if err := s.ReverseComputeAt(wb, bound[2]); err != nil {
		return st, err
	}
	st.notes = append(st.notes, "local write cache")

	if len(levels[3]) == 0 {
		return st, nil
	}
	r0 := levels[3][len(levels[3])-1]
	probs := make([]float64, len(cooperativeFetchLengths))
	for i := range probs {
		probs[i] = 1 / float64(len(probs))
	}
	for _, i := range inputs {
		cb, err := s.CacheRead(b, i, Shared)
		if err != nil {
			return st, err
		}
		if err := s.ComputeAt(cb, r0); err != nil {
			return st, err
		}
		v, err := s.SampleCategorical(cooperativeFetchLengths[:], probs)
		if err != nil {
			return st, err
		}
		if err := s.Annotate(cb, AnnCooperativeFetch, v); err != nil {
			return st, err
		}
	}
	if len(inputs) > 0 {
		st.notes = append(st.notes, "shared read caches")
	}
	return st, nil
}

// autoBind gives every nest without GPU threads a grid: its outer loops that carry no
// reduction are fused and split into blocks × threads (a sampled thread count), bound to
// blockIdx.x and threadIdx.x.
func autoBind(st *sketchState, opt SpaceOptions) error {
	gpu := opt.GPU.withDefaults()
	s := st.s
	for _, nest := range s.topStmts() {
		if hasThreadLoop(nest) {
			continue
		}
		blocks := blocksIn(nest)
		if len(blocks) == 0 {
			continue
		}
		var outer []*Loop
		for lp, ok := nest.(*Loop); ok; lp, ok = lp.Body.(*Loop) {
			if lp.Kind != Serial || checkSpatialLoop(lp) != nil {
				break
			}
			outer = append(outer, lp)
		}
		name := blocks[0].Name
		if len(outer) == 0 {
			return fmt.Errorf("block %q has no loop without a reduction to bind to GPU threads", name)
		}
		b, err := s.GetBlock(name)
		if err != nil {
			return err
		}
		loops, err := s.GetLoops(b)
		if err != nil {
			return err
		}
		if len(loops) < len(outer) {
			return fmt.Errorf("block %q: found %d loops, want at least %d", name, len(loops), len(outer))
		}
		l := loops[0]
		if len(outer) > 1 {
			if l, err = s.Fuse(loops[:len(outer)]...); err != nil {
				return err
			}
		}
		tiles, err := s.SampleThreadTile(l, gpu.MaxThreadsPerBlock)
		if err != nil {
			return err
		}
		split, err := s.Split(l, tiles)
		if err != nil {
			return err
		}
		if err := s.Bind(split[0], "blockIdx.x"); err != nil {
			return err
		}
		if err := s.Bind(split[1], "threadIdx.x"); err != nil {
			return err
		}
		st.notes = append(st.notes, name+" auto-bound")
	}
	return nil
}

// hasThreadLoop reports whether a statement holds a loop bound to a GPU axis.
func hasThreadLoop(st Stmt) bool {
	found := false
	WalkStmt(st, func(x Stmt) bool {
		if lp, ok := x.(*Loop); ok && lp.Kind == ThreadBound {
			found = true
		}
		return !found
	})
	return found
}

// annotateUnroll samples the root's auto-unroll step.
func annotateUnroll(s *Schedule, steps []int) error {
	root, err := s.GetBlock(s.fn.Root.Name)
	if err != nil {
		return err
	}
	probs := make([]float64, len(steps))
	for i := range probs {
		probs[i] = 1 / float64(len(probs))
	}
	v, err := s.SampleCategorical(steps, probs)
	if err != nil {
		return err
	}
	return s.Annotate(root, AnnUnroll, v)
}

// errNotGPU marks a program the GPU verifier rejects.
var errNotGPU = errors.New("not a valid GPU program")

// minCrossThreadReduction is the shortest reduction the cross-thread rule spreads over threads.
const minCrossThreadReduction = 32

// needsCrossThreadReduction reports whether a block is a reduction without data reuse (not
// tiled) alone in its nest, whose loops are its spatial loops then its reduction loops, and
// whose reduction is long enough to share among threads: softmax rows, norms, row sums.
func needsCrossThreadReduction(s *Schedule, blk *Block) bool {
	if blk.Init == nil || !s.soleChain(blk) || s.topIndex(blk) < 0 {
		return false
	}
	loops := loopsAbove(s.pathTo(blk))
	if len(loops) != len(blk.IterVars) {
		return false
	}
	spatial, reduce := 0, 1
	for i, lp := range loops {
		if lp.Kind != Serial {
			return false
		}
		v, ok := blk.Bindings[i].(*Var)
		if !ok || v != lp.Var {
			return false
		}
		if blk.IterVars[i].Kind == Spatial {
			if reduce > 1 {
				return false // a spatial loop inside a reduction loop
			}
			spatial++
		} else {
			reduce *= lp.Extent
		}
	}
	return spatial > 0 && reduce >= minCrossThreadReduction
}

// crossThreadReduction spreads a reduction over the threads of a GPU block, as TVM's
// CrossThreadReduction rule does: the reduction loops are fused and split into rounds ×
// threads (a sampled thread count), each thread accumulates a partial in shared memory
// (rfactor), the spatial loops are fused and bound to blockIdx.x, and the partials are
// combined under the block's loop once the threads are done.
func crossThreadReduction(st sketchState, name string, opt SpaceOptions) (sketchState, error) {
	gpu := opt.GPU.withDefaults()
	s := st.s
	b, blk, loops, err := tilingTarget(s, name)
	if err != nil || loops == nil {
		return st, err
	}
	spatial := 0
	for spatial < len(blk.IterVars) && blk.IterVars[spatial].Kind == Spatial {
		spatial++
	}
	r := loops[spatial]
	if len(loops)-spatial > 1 {
		if r, err = s.Fuse(loops[spatial:]...); err != nil {
			return st, err
		}
	}
	tiles, err := s.SampleThreadTile(r, gpu.MaxThreadsPerBlock)
	if err != nil {
		return st, err
	}
	split, err := s.Split(r, tiles)
	if err != nil {
		return st, err
	}
	if err := s.Reorder(split[1], split[0]); err != nil {
		return st, err
	}
	rf, err := s.RFactor(b, split[1], Shared)
	if err != nil {
		return st, err
	}
	rfLoops, err := s.GetLoops(rf)
	if err != nil {
		return st, err
	}
	bx := rfLoops[0]
	if spatial > 1 {
		if bx, err = s.Fuse(rfLoops[:spatial]...); err != nil {
			return st, err
		}
	}
	if err := s.Bind(bx, "blockIdx.x"); err != nil {
		return st, err
	}
	if err := s.Bind(rfLoops[spatial], "threadIdx.x"); err != nil {
		return st, err
	}
	if err := s.ReverseComputeAt(b, bx); err != nil {
		return st, err
	}
	st.notes = append(st.notes, name+" cross-thread reduction")
	return st, nil
}
