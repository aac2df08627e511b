package schedule

import (
	"fmt"
	"strings"
)

// postprocessGPU is the CUDA postprocessor chain: reduction inits split out, cooperative
// fetches spread over the block's threads, nests left without GPU threads bound, the
// auto-unroll step put on each kernel, then the GPU verifier.
func postprocessGPU(s *Schedule, opt SpaceOptions) error {
	if err := rewriteReductionBlocks(s); err != nil {
		return err
	}
	if err := rewriteCooperativeFetch(s, *opt.GPU); err != nil {
		return err
	}
	if err := bindUnbound(s, *opt.GPU); err != nil {
		return err
	}
	if err := rewriteParallelVectorizeUnroll(s, opt); err != nil {
		return err
	}
	s.fn.Root.Body = normalizeSeqs(s.fn.Root.Body)
	return VerifyGPU(s.fn, *opt.GPU)
}

// rewriteCooperativeFetch turns every block annotated AnnCooperativeFetch into a fetch shared
// by the threads of its GPU block: its own loops are fused and split into
// [rounds, threads, vector], the middle bound to threadIdx.x with the extent of the enclosing
// thread loop and the inner vectorized (a vector length that does not divide the copy, or is
// wider than the GPU's vector accesses, is shortened). A copy that does not divide evenly
// among the threads gets a guard.
func rewriteCooperativeFetch(s *Schedule, gpu GPUSpace) error {
	for _, blk := range s.fn.Blocks() {
		vec64, ok := blk.Annotations.Int(AnnCooperativeFetch)
		if !ok {
			continue
		}
		delete(blk.Annotations, AnnCooperativeFetch)
		if len(blk.Annotations) == 0 {
			blk.Annotations = nil
		}
		loops := loopsAbove(s.pathTo(blk))
		var own []*Loop
		var child Stmt = blk
		for i := len(loops) - 1; i >= 0 && loops[i].Body == child; i-- {
			own = append([]*Loop{loops[i]}, own...)
			child = loops[i]
		}
		var thread *Loop
		for _, lp := range loops[:len(loops)-len(own)] {
			if lp.Kind == ThreadBound && lp.Thread == "threadIdx.x" {
				thread = lp
			}
		}
		if thread == nil {
			return fmt.Errorf("cooperative fetch %q is not under a threadIdx.x loop, want it computed inside the block's thread loop", blk.Name)
		}
		if len(own) == 0 {
			continue
		}
		for _, lp := range own {
			if lp.Kind != Serial {
				return fmt.Errorf("cooperative fetch %q: loop %s is %s, want serial loops", blk.Name, lp.Var.Name, lp.Kind)
			}
		}
		aligned := alignedCopy(blk, own)
		rvs := make([]LoopRV, len(own))
		for i, lp := range own {
			rvs[i] = s.newLoopRV(lp)
		}
		fused := rvs[0]
		if len(rvs) > 1 {
			var err error
			if fused, err = s.Fuse(rvs...); err != nil {
				return fmt.Errorf("cooperative fetch %q: %w", blk.Name, err)
			}
		}
		lp, _ := s.loopOf(fused)
		extent, threads := lp.Extent, thread.Extent
		elemBytes := 4
		if len(blk.Writes) > 0 && blk.Writes[0].Buffer != nil {
			elemBytes = max(blk.Writes[0].Buffer.DType.Bytes(), 1)
		}
		vec := int(max(vec64, 1))
		for vec > 1 && (extent%vec != 0 || vec*elemBytes > gpu.MaxVectorBytes) {
			vec--
		}
		rounds := (extent + threads*vec - 1) / (threads * vec)
		factors := []int{rounds, threads, vec}
		var split []LoopRV
		var err error
		if rounds*threads*vec == extent {
			split, err = s.Split(fused, []IntRV{Lit(rounds), Lit(threads), Lit(vec)})
		} else {
			split, err = s.splitGuarded(fused, factors)
		}
		if err != nil {
			return fmt.Errorf("cooperative fetch %q: %w", blk.Name, err)
		}
		if err := s.Bind(split[1], "threadIdx.x"); err != nil {
			return fmt.Errorf("cooperative fetch %q: %w", blk.Name, err)
		}
		if vec > 1 {
			if err := s.Vectorize(split[2]); err != nil {
				return fmt.Errorf("cooperative fetch %q: %w", blk.Name, err)
			}
			if (vec == 2 || vec == 4) && aligned%vec == 0 {
				lp, _ := s.loopOf(split[2])
				lp.Annotations = Annotations{AnnVectorCopy: fmt.Sprint(vec)}
			}
		}
	}
	return nil
}

// splitGuarded splits a serial loop into nested loops whose extents multiply to at least its
// own; every block below is guarded to run only for the original iterations.
func (s *Schedule) splitGuarded(l LoopRV, factors []int) ([]LoopRV, error) {
	loop, err := s.loopOf(l)
	if err != nil {
		return nil, err
	}
	path := s.pathTo(loop)
	if len(path) < 2 {
		return nil, fmt.Errorf("loop %s is not in the program", loop.Var.Name)
	}
	loops := make([]*Loop, len(factors))
	var fused Expr
	for i, f := range factors {
		if f < 1 {
			return nil, fmt.Errorf("split of loop %s: factor %d, want ≥ 1", loop.Var.Name, f)
		}
		loops[i] = &Loop{Var: NewVar(fmt.Sprintf("%s_%d", loop.Var.Name, i)), Extent: f}
		if fused == nil {
			fused = loops[i].Var
		} else {
			fused = Bin(Add, Bin(Mul, fused, Int(int64(f))), loops[i].Var)
		}
	}
	fused = Simplify(fused)
	// The bindings stay within the old extent for the verifier; the guard skips the padding.
	m := map[*Var]Expr{loop.Var: Bin(Min, fused, Int(int64(loop.Extent-1)))}
	guard := Bin(LT, fused, Int(int64(loop.Extent)))
	WalkStmt(loop.Body, func(st Stmt) bool {
		b, ok := st.(*Block)
		if !ok {
			return true
		}
		for i, x := range b.Bindings {
			b.Bindings[i] = Substitute(x, m)
		}
		if b.Predicate != nil {
			b.Predicate = Bin(And, Substitute(b.Predicate, m), guard)
		} else {
			b.Predicate = guard
		}
		return true
	})
	for i := len(loops) - 1; i >= 0; i-- {
		if i == len(loops)-1 {
			loops[i].Body = loop.Body
		} else {
			loops[i].Body = loops[i+1]
		}
	}
	if !replaceChild(path[len(path)-2], loop, loops[0]) {
		return nil, fmt.Errorf("split of loop %s: cannot replace it", loop.Var.Name)
	}
	out := make([]LoopRV, len(loops))
	for i, lp := range loops {
		out[i] = s.newLoopRV(lp)
	}
	return out, nil
}

// VerifyGPU checks a postprocessed program against a GPU's limits and the rules of the CUDA
// backend: every nest of the root is a kernel whose outer loop is bound to blockIdx; threads
// per block, virtual threads, shared memory per block (from the footprints), vector width and
// a register estimate within the limits; no parallel loop; shared and local buffers used by
// one kernel only; a threadIdx loop nested in another of the same axis has its extent and does
// not depend on it. All problems are reported, each naming the limit.
func VerifyGPU(f *Func, gpu GPUSpace) (err error) {
	defer guardInput("VerifyGPU", &err)
	gpu = gpu.withDefaults()
	if f == nil || f.Root == nil {
		return fmt.Errorf("verify GPU program: no program")
	}
	fps, err := Footprints(f)
	if err != nil {
		return fmt.Errorf("verify GPU program: %w", err)
	}
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	kernelOf := map[*Buffer]int{}
	for ki, nest := range bodyStmts(f.Root.Body) {
		name := "kernel " + fmt.Sprint(ki)
		if bs := blocksIn(nest); len(bs) > 0 {
			name = fmt.Sprintf("kernel %d (block %s)", ki, bs[0].Name)
		}
		top, ok := nest.(*Loop)
		if !ok || top.Kind != ThreadBound || !strings.HasPrefix(top.Thread, "blockIdx") {
			report("%s is not bound to GPU blocks: want its outer loop bound to blockIdx.x", name)
			continue
		}
		k := kernelCheck{gpu: gpu, axes: map[string]int{}, report: func(format string, args ...any) {
			report(name+": "+format, args...)
		}}
		k.walk(nest, nil, 1, true)
		threads := 1
		for _, a := range []string{"threadIdx.x", "threadIdx.y", "threadIdx.z"} {
			threads *= max(k.axes[a], 1)
		}
		if threads > gpu.MaxThreadsPerBlock {
			report("%s: threads per block: found %d, the GPU allows %d", name, threads, gpu.MaxThreadsPerBlock)
		}
		var shared, local int64
		for _, buf := range buffersIn(nest) {
			fp, ok := fps[buf]
			if !ok {
				continue
			}
			if other, seen := kernelOf[buf]; seen && other != ki {
				report("%s: %s buffer %s is also used by kernel %d, want each shared or local buffer in one kernel", name, buf.Scope, buf.Name, other)
			}
			kernelOf[buf] = ki
			bytes := fp.Elems() * int64(max(buf.DType.Bytes(), 1))
			if buf.Scope == Shared {
				shared += bytes
			} else {
				local += fp.Elems()
			}
		}
		if shared > gpu.MaxSharedBytes {
			report("%s: shared memory per block: found %d bytes, the GPU allows %d", name, shared, gpu.MaxSharedBytes)
		}
		// Registers: the local buffers plus a handful for indices and addresses.
		const overhead = 24
		if regs := local + overhead; regs > int64(gpu.MaxRegistersPerThread) {
			report("%s: register estimate: found %d values per thread, the GPU allows %d registers", name, regs, gpu.MaxRegistersPerThread)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", errNotGPU, strings.Join(problems, "; "))
	}
	return nil
}

// kernelCheck walks one kernel for VerifyGPU.
type kernelCheck struct {
	gpu    GPUSpace
	axes   map[string]int // the largest extent bound to each threadIdx axis
	report func(format string, args ...any)
}

// walk visits a statement with the thread loops around it (by axis) and the product of the
// virtual-thread extents; blockOK says whether a blockIdx loop may still appear (only in the
// kernel's outer chain).
func (k *kernelCheck) walk(st Stmt, threads map[string]*Loop, vthreads int, blockOK bool) {
	switch st := st.(type) {
	case *Seq:
		for _, c := range st.Stmts {
			k.walk(c, threads, vthreads, false)
		}
	case *Block:
		k.walk(st.Body, threads, vthreads, false)
	case *Loop:
		switch st.Kind {
		case Parallel:
			k.report("loop %s is parallel, want GPU thread bindings instead of CPU parallel loops", st.Var.Name)
		case Vectorized:
			bytes := st.Extent * 4
			if st.Extent*4 > k.gpu.MaxVectorBytes {
				k.report("vector width: loop %s moves %d bytes per access, the GPU allows %d", st.Var.Name, bytes, k.gpu.MaxVectorBytes)
			}
		case ThreadBound:
			switch {
			case strings.HasPrefix(st.Thread, "blockIdx"):
				if !blockOK {
					k.report("loop %s is bound to %s inside the kernel, want blockIdx loops outermost", st.Var.Name, st.Thread)
				}
				k.walk(st.Body, threads, vthreads, true)
				return
			case strings.HasPrefix(st.Thread, "vthread"):
				vthreads *= st.Extent
				if vthreads > k.gpu.MaxVThreads {
					k.report("virtual threads: found %d, the GPU design space allows %d", vthreads, k.gpu.MaxVThreads)
				}
			case isThreadIdx(st.Thread):
				if outer := threads[st.Thread]; outer != nil {
					if outer.Extent != st.Extent {
						k.report("loop %s is bound to %s with extent %d inside loop %s bound to it with extent %d, want equal extents", st.Var.Name, st.Thread, st.Extent, outer.Var.Name, outer.Extent)
					}
					if stmtUsesVar(st.Body, outer.Var) {
						k.report("loop %s is bound to %s inside loop %s bound to the same axis and uses its variable, want an independent nest", st.Var.Name, st.Thread, outer.Var.Name)
					}
				}
				k.axes[st.Thread] = max(k.axes[st.Thread], st.Extent)
				inner := make(map[string]*Loop, len(threads)+1)
				for a, l := range threads {
					inner[a] = l
				}
				inner[st.Thread] = st
				k.walk(st.Body, inner, vthreads, false)
				return
			}
		}
		k.walk(st.Body, threads, vthreads, false)
	}
}

// stmtUsesVar reports whether a statement's blocks bind or index with v.
func stmtUsesVar(st Stmt, v *Var) bool {
	used := false
	WalkStmt(st, func(x Stmt) bool {
		if b, ok := x.(*Block); ok {
			for _, e := range b.Bindings {
				used = used || usesVar(e, v)
			}
			if b.Predicate != nil {
				used = used || usesVar(b.Predicate, v)
			}
		}
		return !used
	})
	return used
}

// buffersIn lists the buffers a statement's blocks load or store, in first-use order.
func buffersIn(st Stmt) []*Buffer {
	seen := map[*Buffer]bool{}
	var out []*Buffer
	for _, b := range blocksIn(st) {
		for _, buf := range append(loadedBuffers(b), storedBuffers(b)...) {
			if !seen[buf] {
				seen[buf] = true
				out = append(out, buf)
			}
		}
	}
	return out
}

// defaultThreads is the block size bindUnbound gives a nest (TVM's RewriteUnboundBlock uses the
// same 256).
const defaultThreads = 256

// bindUnbound gives every nest of the root without GPU threads a grid, as TVM's
// RewriteUnboundBlock does: its outer loops that carry no reduction are fused and split into
// blocks × min(256, extent) threads (the last block guarded when the threads do not divide the
// extent), bound to blockIdx.x and threadIdx.x. A nest with no such loop is an error.
func bindUnbound(s *Schedule, gpu GPUSpace) error {
	for _, nest := range s.topStmts() {
		if hasThreadLoop(nest) {
			continue
		}
		var outer []*Loop
		for lp, ok := nest.(*Loop); ok; lp, ok = lp.Body.(*Loop) {
			if lp.Kind != Serial || checkSpatialLoop(lp) != nil {
				break
			}
			outer = append(outer, lp)
		}
		name := "?"
		if bs := blocksIn(nest); len(bs) > 0 {
			name = bs[0].Name
		}
		if len(outer) == 0 {
			return fmt.Errorf("block %q has no loop without a reduction to bind to GPU threads", name)
		}
		rvs := make([]LoopRV, len(outer))
		for i, lp := range outer {
			rvs[i] = s.newLoopRV(lp)
		}
		fused := rvs[0]
		if len(rvs) > 1 {
			var err error
			if fused, err = s.Fuse(rvs...); err != nil {
				return fmt.Errorf("bind block %q: %w", name, err)
			}
		}
		lp, _ := s.loopOf(fused)
		threads := min(lp.Extent, defaultThreads, gpu.MaxThreadsPerBlock)
		blocks := (lp.Extent + threads - 1) / threads
		var split []LoopRV
		var err error
		if blocks*threads == lp.Extent {
			split, err = s.Split(fused, []IntRV{Lit(blocks), Lit(threads)})
		} else {
			split, err = s.splitGuarded(fused, []int{blocks, threads})
		}
		if err != nil {
			return fmt.Errorf("bind block %q: %w", name, err)
		}
		if err := s.Bind(split[0], "blockIdx.x"); err != nil {
			return fmt.Errorf("bind block %q: %w", name, err)
		}
		if err := s.Bind(split[1], "threadIdx.x"); err != nil {
			return fmt.Errorf("bind block %q: %w", name, err)
		}
	}
	return nil
}

// GPUProgram is an unscheduled program made runnable on a GPU: its nests bound to blocks and
// threads by the postprocessors and nothing else changed. It is what a GPU target measures as
// the unscheduled baseline.
func GPUProgram(f *Func, gpu GPUSpace) (_ *Func, err error) {
	defer guardInput("GPUProgram", &err)
	if f == nil {
		return nil, fmt.Errorf("GPU program: no program")
	}
	opt := DefaultSpaceOptions(1)
	opt.GPU = &gpu
	s := New(f, nil)
	if err := Postprocess(s, opt); err != nil {
		return nil, fmt.Errorf("GPU program of %s: %w", f.Name, err)
	}
	return s.Func(), nil
}

// AnnVectorCopy marks a vectorized loop whose copy moves one aligned vector per execution: its
// value (2 or 4) elements are consecutive in both buffers and start at a multiple of it, so
// the CUDA lowering may copy them as one float2 or float4.
const AnnVectorCopy = "colt.vector_copy"

// alignedCopy is the largest power of two (at most 4) that divides the start of every row a
// copy block reads and writes: the block copies a buffer element to its cache at the same
// indices, its own loops end with the row's innermost dimension, and the row's extent, its
// offset (every term of the binding outside the own loops) and the source's row length are
// multiples of it. 1 when nothing is proven.
func alignedCopy(blk *Block, own []*Loop) int {
	st, ok := blk.Body.(*Store)
	if !ok || len(own) == 0 || len(blk.IterVars) == 0 {
		return 1
	}
	ld, ok := st.Value.(*Load)
	if !ok || ld.Buffer == nil || len(ld.Buffer.Shape) == 0 || !exprsEqual(ld.Indices, st.Indices) {
		return 1
	}
	last := len(blk.IterVars) - 1
	if v, ok := st.Indices[len(st.Indices)-1].(*Var); !ok || v != blk.IterVars[last].Var {
		return 1
	}
	inner := own[len(own)-1]
	zero := map[*Var]Expr{}
	for _, lp := range own {
		zero[lp.Var] = Int(0)
	}
	// The row's binding must be an offset over outer loops plus the innermost own loop.
	bind := blk.Bindings[last]
	lin, ok := linearize(bind)
	if !ok {
		return 1
	}
	found := false
	for _, t := range lin.terms {
		if v, isVar := t.atom.(*Var); isVar && v == inner.Var && t.coef == 1 {
			found = true
		} else if anyOwn(t.atom, own) {
			return 1
		}
	}
	if !found {
		return 1
	}
	offset, ok := linearize(Substitute(bind, zero))
	if !ok {
		return 1
	}
	for a := 4; a > 1; a /= 2 {
		good := inner.Extent%a == 0 && ld.Buffer.Shape[len(ld.Buffer.Shape)-1]%a == 0 && offset.c%int64(a) == 0
		for _, t := range offset.terms {
			good = good && t.coef%int64(a) == 0
		}
		if good {
			return a
		}
	}
	return 1
}

// anyOwn reports whether an expression uses one of the loops' variables.
func anyOwn(e Expr, loops []*Loop) bool {
	for _, lp := range loops {
		if usesVar(e, lp.Var) {
			return true
		}
	}
	return false
}
