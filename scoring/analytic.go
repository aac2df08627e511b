package scoring

import (
	"fmt"
	"math"

	"colt/schedule"
)

// Hardware is what the analytic estimate knows about the machine.
type Hardware struct {
	Cores         int
	VectorBytes   int     // SIMD register width in bytes (e.g. 64 for AVX-512)
	L1, L2, L3    int64   // cache sizes in bytes (per core for L1/L2)
	GFLOPSPerCore float64 // peak scalar+vector FMA throughput guess; 0: from VectorBytes
	MemGBps       float64 // DRAM bandwidth of the whole machine; 0: 10 GB/s per core
	// GPU, when set, makes the target an NVIDIA GPU: programs with GPU thread bindings are
	// estimated by the GPU roofline (analytic_gpu.go).
	GPU *GPUHardware
}

// clockHz is the clock the model assumes; cycles are converted to seconds with it.
const clockHz = 3e9

// modelParams are the analytic model's micro-architectural constants: a 3 GHz core with FMA
// pipes (from Hardware.GFLOPSPerCore), two load ports and one store port; bandwidths in bytes
// per cycle per core.
type modelParams struct {
	loadPorts, storePorts float64
	l2BytesPerCyc         float64 // L2 → L1
	l3BytesPerCyc         float64 // L3 → L2
	fpLatency             float64 // cycles of a dependent floating-point add / FMA
	memChainCycles        float64 // a link of an accumulation kept in memory (store forwarding)
	loopCycles            float64 // increment, compare and branch of a rolled loop iteration
	mathCycles            float64 // one scalar exp, tanh, ... (libm; not vectorized)
	divCycles             float64 // one division, amortised
	ompEntryCycles        float64 // starting one parallel region (fork and join)
	cacheFill             float64 // fraction of a cache a working set may fill and stay resident
	l1Ways                float64 // associativity of the L1 data cache
	robInstrs             float64 // instructions the out-of-order window overlaps
	guardNoVec            bool    // a load guarded by a select prevents vectorization
	aluPorts              float64 // integer / logic instructions per cycle
	compilerUnroll        float64 // the compiler unrolls loops of at most this many stores itself
}

var params = modelParams{
	loadPorts: 2, storePorts: 1, l2BytesPerCyc: 64, l3BytesPerCyc: 32,
	fpLatency: 4, memChainCycles: 6, loopCycles: 1, mathCycles: 20, divCycles: 4,
	ompEntryCycles: 6000, cacheFill: 0.5, l1Ways: 8, robInstrs: 200,
	guardNoVec: true, aluPorts: 4, compilerUnroll: 32,
}

// DefaultHardware is a generic machine: 1 core with AVX2, 32 KiB L1, 1 MiB L2, 8 MiB L3.
func DefaultHardware() Hardware { return Hardware{}.withDefaults() }

func (hw Hardware) withDefaults() Hardware {
	if hw.Cores <= 0 {
		hw.Cores = 1
	}
	if hw.VectorBytes <= 0 {
		hw.VectorBytes = 32
	}
	if hw.L1 <= 0 {
		hw.L1 = 32 << 10
	}
	if hw.L2 <= 0 {
		hw.L2 = 1 << 20
	}
	if hw.L3 <= 0 {
		hw.L3 = 8 << 20
	}
	if hw.L2 < hw.L1 {
		hw.L2 = hw.L1
	}
	if hw.L3 < hw.L2 {
		hw.L3 = hw.L2
	}
	if hw.GFLOPSPerCore <= 0 {
		hw.GFLOPSPerCore = clockHz * 2 * 2 * float64(max(hw.VectorBytes/4, 1)) / 1e9 // two FMA pipes
	}
	if hw.MemGBps <= 0 {
		hw.MemGBps = 10 * float64(hw.Cores)
	}
	return hw
}

// Estimate predicts a scheduled program's latency in seconds from its loop structure: work,
// bytes moved per cache level (from loop extents and tiling), parallel and vector utilisation.
// It is a ranking device (used before the learned model has data), not a simulator.
//
// It is a roofline per store, summed over the program's stores (recomputation from compute-at
// placements counts, since executions are products of loop extents):
//
//   - Vectorization: the compiler vectorizes along the innermost loop (with or without the
//     annotation; GCC -O3 does) when the written element moves with it contiguously (a
//     reduction along it would need reassociation), every access is contiguous or invariant in
//     it, no math call is made and no load is guarded by a select; failing that, along the loop
//     around it when the two form a perfect nest (loop interchange). An instruction handles
//     extent/⌈extent/lanes⌉ elements.
//   - Compute: per vector iteration, the largest of the arithmetic instructions on the FMA pipes
//     (a multiply-add is one), the moving loads and stores on the load and store ports, and the
//     compares and selects on the integer ports; math calls are scalar libm calls. An
//     accumulation is a chain of dependent adds, one link per iteration of the innermost loop
//     its element does not move with, overlapped across independent chains as far as an
//     out-of-order window reaches. Every iteration of a loop that stays rolled in the C code (not
//     unrolled by the schedule's auto-unroll step, nor small enough for the compiler) costs a
//     cycle. All of it is divided by the parallel speedup: the outermost parallel loop the
//     backend honours, extent/⌈extent/cores⌉ (load imbalance included), plus the start of each
//     parallel region.
//   - Memory: for the L1, L2 and L3 in turn, the footprint (in whole cache lines) of the
//     outermost loop whose working set fits half the cache (and, for the L1, whose lines do not
//     pile more than 8 deep into one set, as the rows of a tile with power-of-two strides do),
//     times the iterations of the loops around it, is the traffic from the level below, at
//     64 B/cycle from the L2, 32 B/cycle from the L3 (per core used) and hw.MemGBps from DRAM.
//
// A store takes the larger of its compute and memory times. A program bound to GPU threads is
// estimated by the GPU roofline instead (estimateGPU).
func Estimate(f *schedule.Func, hw Hardware) (sec float64, err error) {
	pn, err := analyze(f)
	if err != nil {
		return 0, err
	}
	hw = hw.withDefaults()
	if pn.gpu {
		gpu := GPUHardware{}
		if hw.GPU != nil {
			gpu = *hw.GPU
		}
		return estimateGPU(pn, gpu), nil
	}
	total := 0.0
	for _, sn := range pn.stores {
		total += storeCost(pn, sn, hw).total()
	}
	sec = total / clockHz
	if math.IsNaN(sec) || math.IsInf(sec, 0) || sec < 0 {
		return 0, fmt.Errorf("estimate %s: no finite estimate", f.Name)
	}
	return sec, nil
}

// parallelism returns the speedup of a store's nest from its parallel loop (the outermost one,
// as the backend runs it) and how many times the parallel region starts.
func parallelism(pn *programNests, sn *storeNest, cores int) (speedup, used, entries float64) {
	for i, l := range sn.loops {
		if l.kind == schedule.Vectorized {
			break
		}
		if l.kind != schedule.Parallel || pn.reducing[l.loop] {
			continue
		}
		ext := float64(l.extent)
		c := float64(cores)
		waves := math.Ceil(ext / c)
		return ext / waves, min(ext, c), prodOf(sn.loops[:i])
	}
	return 1, 1, 0
}

func prodOf(ls []nestLoop) float64 {
	p := 1.0
	for _, l := range ls {
		p *= float64(l.extent)
	}
	return p
}

// cost is the estimate of one store's nest, in cycles, by component.
type cost struct {
	throughput, latency, overhead float64 // single-core cycles
	speedup                       float64 // from the parallel loop
	mem                           [3]float64
	entries                       float64 // parallel-region starts
	perInstr                      float64 // elements per instruction in the innermost loop
}

func (c cost) total() float64 {
	cycles := (max(c.throughput, c.latency) + c.overhead) / c.speedup
	return max(cycles, c.mem[0], c.mem[1], c.mem[2]) + c.entries*params.ompEntryCycles
}

// vectorizable reports whether the compiler can vectorize a store along the loop at position
// j: the written element moves with it contiguously (no reduction, which would need
// reassociation), every other access is contiguous or invariant in it, and no math call.
func vectorizable(sn *storeNest, r nestRegions, j int) bool {
	if sn.ops.floatMath > 0 || (sn.guarded && params.guardNoVec) {
		return false
	}
	for i := range sn.accs {
		a := &sn.accs[i]
		s := r.strides[i][j]
		if s > 1 || (a.write && s != 1) {
			return false
		}
	}
	return true
}

// directlyEncloses reports whether inner (a loop or a block) is the only statement in outer's
// body, possibly through loops of extent 1: a perfect nest the compiler may interchange.
func directlyEncloses(outer *schedule.Loop, inner schedule.Stmt) bool {
	s := outer.Body
	for depth := 0; depth < maxStmtDepth; depth++ {
		if s == inner {
			return true
		}
		switch x := s.(type) {
		case *schedule.Loop:
			if x == nil || x.Extent != 1 {
				return false
			}
			s = x.Body
		case *schedule.Seq:
			if x == nil || len(x.Stmts) != 1 {
				return false
			}
			s = x.Stmts[0]
		default:
			return false
		}
	}
	return false
}

// storeCost estimates the run time of one store's nest.
func storeCost(pn *programNests, sn *storeNest, hw Hardware) cost {
	n := len(sn.loops)
	prod := sn.prod()
	r := computeRegions(sn, true)
	speedup, used, entries := parallelism(pn, sn, hw.Cores)
	lanes := float64(max(hw.VectorBytes/4, 1))
	fmaPipes := hw.GFLOPSPerCore * 1e9 / (2 * lanes * clockHz)

	// The vector loop: the innermost loop when the store vectorizes along it, or else the one
	// around it when the two form a perfect nest (the compiler interchanges them; -O3 does).
	perInstr := 1.0 // elements one instruction handles
	vl := -1
	switch {
	case n == 0:
	case vectorizable(sn, r, n-1):
		vl = n - 1
	case n >= 2 && vectorizable(sn, r, n-2) && directlyEncloses(sn.loops[n-2].loop, sn.loops[n-1].loop) &&
		sn.block.Init == nil && directlyEncloses(sn.loops[n-1].loop, sn.block):
		vl = n - 2
	}
	if vl >= 0 {
		e := float64(sn.loops[vl].extent)
		perInstr = e / math.Ceil(e/lanes)
	}
	inner := n - 1 // the loop the instructions run along
	if vl >= 0 {
		inner = vl
	}

	// Instructions per execution: arithmetic, and the loads and stores that move with the
	// inner loop (invariant ones are kept in registers).
	o := sn.ops
	arith := o.floatMAD + o.floatAddSub + o.floatMul + o.floatCmp + o.floatOther + o.selectOp +
		params.divCycles*o.floatDivMod
	loads, stores := 0.0, 0.0
	for i := range sn.accs {
		a := &sn.accs[i]
		if n > 0 && r.strides[i][inner] == 0 {
			continue
		}
		loads += float64(len(a.readTuples))
		if a.write {
			stores++
		}
	}
	vecIters := prod / perInstr
	alu := o.intCmp + o.boolOp + o.selectOp
	throughput := vecIters * max(arith/fmaPipes, loads/params.loadPorts, stores/params.storePorts, alu/params.aluPorts)
	throughput += prod * o.floatMath * params.mathCycles
	instrs := max(arith+loads+stores, 1)

	// Latency of an accumulation: each element the store accumulates into is updated by a
	// chain of dependent adds, one link per iteration of the innermost loop the element does
	// not move with (r1); the iterations inside r1 update other elements in between. A link
	// costs params.fpLatency through a register (r1 innermost, or everything inside it unrolled) and
	// params.memChainCycles through memory. Out-of-order execution overlaps successive instances of
	// the r1 loop that update other elements when an instance fits its window.
	latency := 0.0
	for i := range sn.accs {
		a := &sn.accs[i]
		if !a.write || !a.read || vl == n-2 {
			continue
		}
		r1 := -1
		for j := n - 1; j >= 0; j-- {
			if a.mask&(1<<uint(j)) == 0 {
				r1 = j
				break
			}
		}
		if r1 < 0 {
			continue
		}
		chain := params.fpLatency
		for j := r1 + 1; j < n; j++ {
			if !unrolledInC(sn.loops[j], pn) && j != vl {
				chain = params.memChainCycles
			}
		}
		overlap := 1.0
		if r1 > 0 && a.mask&(1<<uint(r1-1)) != 0 {
			instance := sn.innerProd(r1) / perInstr * instrs
			overlap = max(1, params.robInstrs/instance)
		}
		latency = max(latency, prodOf(sn.loops[:r1+1])*chain/overlap)
	}

	// Loop overhead: every iteration of a rolled loop (the vectorized one per vector).
	overhead := 0.0
	iters := 1.0
	for i, l := range sn.loops {
		iters *= float64(l.extent)
		if unrolledInC(l, pn) {
			continue
		}
		it := iters
		if i == n-1 {
			it /= perInstr
		}
		overhead += it * params.loopCycles
	}
	c := cost{throughput: throughput, latency: latency, overhead: overhead, speedup: speedup, entries: entries, perInstr: perInstr}

	// Memory traffic per cache level.
	levels := []struct {
		size   float64
		bw     float64 // bytes per cycle for the whole nest
		shared bool
	}{
		{float64(hw.L1), params.l2BytesPerCyc * used, false},
		{float64(hw.L2), params.l3BytesPerCyc * used, false},
		{float64(hw.L3), hw.MemGBps * 1e9 / clockHz * min(1, 2*used/float64(hw.Cores)), true},
	}
	for k, lv := range levels {
		size := lv.size * params.cacheFill
		// The bytes that come from below: the footprint of the outermost loop whose working set
		// fits, times the iterations around it. In the L1, a tile whose rows collide in a few
		// sets does not stay however small it is.
		// The innermost loop (both, when interchanged) uses each line it brings in whole.
		fitLevel := max(n-1, 0)
		if vl >= 0 {
			fitLevel = min(fitLevel, vl)
		}
		for level := 0; level < fitLevel; level++ {
			ws := lineBytes(sn, r, level)
			if lv.shared {
				ws *= used
			}
			if ws <= size && (k > 0 || r.pressure[level] <= params.l1Ways) {
				fitLevel = level
				break
			}
		}
		c.mem[k] = lineBytes(sn, r, fitLevel) * prodOf(sn.loops[:fitLevel]) / lv.bw
	}
	return c
}

// lineBytes is the memory the loops at positions ≥ level touch, counted in whole cache lines.
func lineBytes(sn *storeNest, r nestRegions, level int) float64 {
	total := 0.0
	for i := range sn.accs {
		el := dtypeBytes(sn.accs[i].buf)
		run := max(r.contig[level][i]*el, el)
		b := r.fp[level][i] * el
		if run < cacheLineBytes {
			b *= cacheLineBytes / run
		}
		total += b
	}
	return total
}

// unrolledInC reports whether a loop ends up unrolled in the compiled code: unrolled by the
// schedule (see isUnrolled), or small enough for the C compiler to unroll completely itself
// (GCC at -O3 does so for short constant trip counts with small bodies).
func unrolledInC(l nestLoop, pn *programNests) bool {
	if isUnrolled(l, pn) {
		return true
	}
	return l.kind == schedule.Serial && l.extent <= 16 && float64(pn.steps[l.loop]) <= params.compilerUnroll
}
