package scoring

import (
	"fmt"
	"math"
	"sort"

	"colt/schedule"
)

// Per-store features in the spirit of TVM MetaSchedule's PerStoreFeature: one row per buffer
// store of a scheduled program, in program order. Every store counts, the stores of a
// reduction's init included (after postprocessing an init is a block of its own; in an
// unscheduled program the T.init() store is a row of its own, run once per point of the
// block's spatial iterators). Loops of extent 1 are left out of every nest: they execute once
// and move no index.
//
// The 174 columns, all encoded slog(x) = sign(x)·log2(1+|x|) except the one-hot flags:
//
//   - 16 arithmetic counts, each the operations of one execution times the number of
//     executions (the product of the enclosing loop extents): float_mad (a+b·c), float_addsub,
//     float_mul, float_divmod, float_cmp (comparisons, min, max), float_math_func (exp, log,
//     sqrt, rsqrt, tanh, sigmoid, silu, gelu, erf), float_other_func (relu, abs), int_mad,
//     int_addsub, int_mul, int_divmod, int_cmp, int_math_func, int_other_func (index
//     arithmetic after block bindings are substituted, each distinct subexpression once),
//     bool_op, select_op;
//   - 33 loop-annotation features, 11 for each of vectorized (vec_), unrolled (unroll_: T.unroll
//     loops and serial loops the auto-unroll step fully unrolls) and parallel (parallel_)
//     loops around the store: their number, the product of their extents, the innermost one's
//     extent, and that loop's position as a one-hot (none; inner, middle or outer among the
//     loops feeding only spatial iterators; the same among those feeding only reduction
//     iterators; mixed);
//   - 8 GPU features: is_gpu and the extents of the loops bound to blockIdx.x/y/z,
//     threadIdx.x/y/z and vthread (1 when absent);
//   - 5 × 20 buffer-access features (b0_ … b4_), for the buffers the store touches sorted by
//     bytes touched, then cache lines, descending, zero-padded: access type (read, write,
//     read-write one-hot), bytes and unique bytes touched, cache lines (64 B) and unique lines
//     touched, reuse type (loop-multiple-read, serial-multiple-read-write, no reuse one-hot),
//     reuse distance in iterations and in bytes, reuse count, bytes, unique bytes, lines and
//     unique lines each divided by the reuse count, the stride (elements) of the innermost loop
//     that moves the index, bytes ÷ unique bytes and lines ÷ unique lines;
//   - 10 points of the arithmetic-intensity curve: FLOPs ÷ bytes touched of the loop nest
//     from the innermost loop outwards, sampled at 10 evenly spaced fractions of the FLOPs;
//   - 4 allocation features of the written buffer when it is an intermediate (zero for
//     parameters): alloc_size (bytes), alloc_prod (elements × alloc_outer_prod),
//     alloc_outer_prod (product of the loop extents around the allocating block) and
//     alloc_inner_prod (outer_prod ÷ alloc_outer_prod);
//   - 3 outer-scope features: outer_prod (executions), num_loops and auto_unroll_max_step.
//
// Regions are computed from the affine structure of the indices: the part of a buffer the
// loops inside a given loop touch is the bounding box, per dimension, of the index ranges
// interval arithmetic gives for those loops running over their extents (block bindings
// substituted, so floordiv/floormod from fused loops are handled). Nothing depends on the
// names of variables, buffers or blocks.

const (
	buffersPerStore = 5
	curveSamples    = 10
	cacheLineBytes  = 64
	perBuffer       = 20
)

var featureNames = makeFeatureNames()

// FeatureNames names the columns of a feature row, in order.
func FeatureNames() []string { return append([]string(nil), featureNames...) }

// NumFeatures is the number of columns of a feature row.
func NumFeatures() int { return len(featureNames) }

func makeFeatureNames() []string {
	names := []string{
		"float_mad", "float_addsub", "float_mul", "float_divmod", "float_cmp", "float_math_func", "float_other_func",
		"int_mad", "int_addsub", "int_mul", "int_divmod", "int_cmp", "int_math_func", "int_other_func",
		"bool_op", "select_op",
	}
	for _, k := range []string{"vec", "unroll", "parallel"} {
		names = append(names, k+"_num", k+"_prod", k+"_len")
		for _, p := range positionNames {
			names = append(names, k+"_pos_"+p)
		}
	}
	names = append(names, "is_gpu", "blockIdx_x_len", "blockIdx_y_len", "blockIdx_z_len",
		"threadIdx_x_len", "threadIdx_y_len", "threadIdx_z_len", "vthread_len")
	for i := 0; i < buffersPerStore; i++ {
		p := fmt.Sprintf("b%d_", i)
		for _, n := range []string{"acc_read", "acc_write", "acc_readwrite", "bytes", "unique_bytes", "lines", "unique_lines",
			"reuse_loop_read", "reuse_serial_rw", "reuse_none", "reuse_dis_iter", "reuse_dis_bytes", "reuse_ct",
			"bytes_d_reuse_ct", "unique_bytes_d_reuse_ct", "lines_d_reuse_ct", "unique_lines_d_reuse_ct", "stride",
			"bytes_d_unique_bytes", "lines_d_unique_lines"} {
			names = append(names, p+n)
		}
	}
	for i := 0; i < curveSamples; i++ {
		names = append(names, fmt.Sprintf("arith_intensity_%d", i))
	}
	return append(names, "alloc_size", "alloc_prod", "alloc_outer_prod", "alloc_inner_prod",
		"outer_prod", "num_loops", "auto_unroll_max_step")
}

// The positions of an annotated loop, TVM's order.
var positionNames = []string{"none", "inner_spatial", "middle_spatial", "outer_spatial",
	"inner_reduce", "middle_reduce", "outer_reduce", "mixed"}

// slog is sign(x)·log2(1+|x|), and 0 for NaN.
func slog(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 0):
		return 0
	case x < 0:
		return -math.Log2(1 - x)
	}
	return math.Log2(1 + x)
}

// Extract returns one feature row per buffer store of a scheduled program (TVM's per-store
// features), all values encoded log2(1+x) (sign-preserving for negatives if any). See the
// top of this file for the columns; FeatureNames names them. A malformed program is an error,
// never a panic.
func Extract(f *schedule.Func) (rows [][]float64, err error) {
	pn, err := analyze(f)
	if err != nil {
		return nil, err
	}
	x := newExtractor(pn)
	rows = make([][]float64, 0, len(pn.stores))
	for _, sn := range pn.stores {
		rows = append(rows, x.row(sn))
	}
	return rows, nil
}

type touchKey struct {
	loop *schedule.Loop
	buf  *schedule.Buffer
}

// extractor holds what the rows of one program share: the footprints earlier stores left under
// each loop, for serial reuse.
type extractor struct {
	pn        *programNests
	touched   map[touchKey][]float64     // elements each store touched under a loop, per buffer
	loopBytes map[*schedule.Loop]float64 // bytes all stores touched under a loop
}

func newExtractor(pn *programNests) *extractor {
	return &extractor{pn: pn, touched: map[touchKey][]float64{}, loopBytes: map[*schedule.Loop]float64{}}
}

// bufferFeatures are the 20 access features of one buffer before encoding.
type bufferFeatures struct {
	order                       int
	read, write                 bool
	bytes, uniqueBytes          float64
	lines, uniqueLines          float64
	reuseType                   int // 0 loop-multiple-read, 1 serial-multiple-read-write, 2 none
	reuseDisIter, reuseDisBytes float64
	reuseCt                     float64
	stride                      float64
}

func (x *extractor) row(sn *storeNest) []float64 {
	row := make([]float64, 0, len(featureNames))
	n := len(sn.loops)
	prod := sn.prod()
	r := regions(sn)

	// Group 1: arithmetic, loop annotations, GPU.
	o := sn.ops
	for _, v := range []float64{o.floatMAD, o.floatAddSub, o.floatMul, o.floatDivMod, o.floatCmp, o.floatMath, o.floatOther,
		o.intMAD, o.intAddSub, o.intMul, o.intDivMod, o.intCmp, o.intMath, o.intOther, o.boolOp, o.selectOp} {
		row = append(row, slog(v*prod))
	}
	row = x.kindFeatures(row, sn, func(l nestLoop) bool { return l.kind == schedule.Vectorized })
	row = x.kindFeatures(row, sn, func(l nestLoop) bool { return x.unrolled(l) })
	row = x.kindFeatures(row, sn, func(l nestLoop) bool { return l.kind == schedule.Parallel })
	row = append(row, b2f(x.pn.gpu))
	for _, tag := range []string{"blockIdx.x", "blockIdx.y", "blockIdx.z", "threadIdx.x", "threadIdx.y", "threadIdx.z", "vthread"} {
		ext := 1.0
		for _, l := range sn.loops {
			if l.kind == schedule.ThreadBound && (l.thread == tag || (tag == "vthread" && len(l.thread) >= 7 && l.thread[:7] == "vthread")) {
				ext = float64(l.extent)
				break
			}
		}
		row = append(row, slog(ext))
	}

	// Group 2: buffer accesses.
	bfs := make([]bufferFeatures, len(sn.accs))
	for i := range sn.accs {
		bfs[i] = x.bufferFeatures(sn, r, i, prod)
	}
	for i := 0; i < n; i++ {
		for j := range sn.accs {
			k := touchKey{sn.loops[i].loop, sn.accs[j].buf}
			x.touched[k] = append(x.touched[k], r.fp[i][j])
			x.loopBytes[sn.loops[i].loop] += r.fp[i][j] * dtypeBytes(sn.accs[j].buf)
		}
	}
	for i := range sn.accs {
		x.setReuse(sn, r, i, &bfs[i])
	}
	sort.SliceStable(bfs, func(i, j int) bool {
		a, b := bfs[i], bfs[j]
		if a.bytes != b.bytes {
			return a.bytes > b.bytes
		}
		if a.lines != b.lines {
			return a.lines > b.lines
		}
		if a.uniqueBytes != b.uniqueBytes {
			return a.uniqueBytes > b.uniqueBytes
		}
		return a.order < b.order
	})
	for i := 0; i < buffersPerStore; i++ {
		if i >= len(bfs) {
			row = append(row, make([]float64, perBuffer)...)
			continue
		}
		b := bfs[i]
		proxy := b.reuseCt
		if proxy <= 0 {
			proxy = 0.5
		}
		row = append(row,
			b2f(b.read && !b.write), b2f(b.write && !b.read), b2f(b.read && b.write),
			slog(b.bytes), slog(b.uniqueBytes), slog(b.lines), slog(b.uniqueLines),
			b2f(b.reuseType == 0), b2f(b.reuseType == 1), b2f(b.reuseType == 2),
			slog(b.reuseDisIter), slog(b.reuseDisBytes), slog(b.reuseCt),
			slog(b.bytes/proxy), slog(b.uniqueBytes/proxy), slog(b.lines/proxy), slog(b.uniqueLines/proxy),
			slog(b.stride), slog(ratio(b.bytes, b.uniqueBytes)), slog(ratio(b.lines, b.uniqueLines)))
	}

	// Group 3: arithmetic-intensity curve.
	row = append(row, intensityCurve(sn, r)...)

	// Group 4: allocation.
	if sn.alloc {
		elems := float64(sn.store.Buffer.Elems())
		row = append(row, slog(elems*dtypeBytes(sn.store.Buffer)), slog(elems*sn.allocOuter), slog(sn.allocOuter), slog(ratio(prod, sn.allocOuter)))
	} else {
		row = append(row, 0, 0, 0, 0)
	}

	// Group 5: outer scope.
	row = append(row, slog(prod), slog(float64(n)), slog(float64(sn.unroll)))
	for i, v := range row {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			row[i] = 0
		}
	}
	return row
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// unrolled reports whether a loop is unrolled: a T.unroll loop, or a serial loop the auto-unroll
// step in effect unrolls completely (the backend's rule: extent × stores per iteration ≤ step).
func (x *extractor) unrolled(l nestLoop) bool { return isUnrolled(l, x.pn) }

func isUnrolled(l nestLoop, pn *programNests) bool {
	if l.kind == schedule.Unrolled {
		return true
	}
	return l.kind == schedule.Serial && l.step > 0 && pn.steps[l.loop] <= l.step
}

// kindFeatures appends the 11 features of the loops around sn that match.
func (x *extractor) kindFeatures(row []float64, sn *storeNest, match func(nestLoop) bool) []float64 {
	num, prod, inner := 0, 1.0, -1
	for i, l := range sn.loops {
		if match(l) {
			num++
			prod *= float64(l.extent)
			inner = i
		}
	}
	var pos [8]float64
	if num == 0 {
		pos[0] = 1
		return append(append(row, 0, 0, 0), pos[:]...)
	}
	pos[loopPosition(sn, inner)] = 1
	return append(append(row, slog(float64(num)), slog(prod), slog(float64(sn.loops[inner].extent))), pos[:]...)
}

// loopPosition classifies loop i of a store's nest in TVM's order: 1–3 inner/middle/outer among
// the loops feeding only spatial iterators, 4–6 the same among those feeding only reduction
// iterators, 7 mixed (both or neither).
func loopPosition(sn *storeNest, i int) int {
	class := func(j int) int {
		bit := uint64(1) << uint(j)
		s, r := sn.spatial&bit != 0, sn.reduce&bit != 0
		switch {
		case s && !r:
			return 1
		case r && !s:
			return 4
		}
		return 7
	}
	c := class(i)
	if c == 7 {
		return 7
	}
	innermost, outermost := true, true
	for j := range sn.loops {
		if j != i && class(j) == c {
			if j > i {
				innermost = false
			} else {
				outermost = false
			}
		}
	}
	switch {
	case innermost:
		return c
	case outermost:
		return c + 2
	}
	return c + 1
}

// bufferFeatures computes the reuse-independent access features of access i.
func (x *extractor) bufferFeatures(sn *storeNest, r nestRegions, i int, prod float64) bufferFeatures {
	a := &sn.accs[i]
	el := dtypeBytes(a.buf)
	n := len(sn.loops)
	b := bufferFeatures{order: a.order, read: a.read, write: a.write, reuseType: 2}
	b.bytes = el * prod * a.perExec()
	if n == 0 {
		b.uniqueBytes, b.lines, b.uniqueLines = el*r.fp[0][i], 1, 1
		return b
	}
	b.uniqueBytes = r.fp[0][i] * el
	// The innermost loop that moves the index, its stride, and the loops inside it.
	inner := -1
	for j := n - 1; j >= 0; j-- {
		if r.strides[i][j] > 0 {
			inner = j
			break
		}
	}
	nonStrided := sn.innerProd(inner + 1)
	if inner >= 0 {
		b.stride = r.strides[i][inner]
	}
	b.lines = max(1, prod/nonStrided*min(1, b.stride*el/cacheLineBytes))
	b.uniqueLines = max(1, b.uniqueBytes/min(cacheLineBytes, max(r.contig[0][i]*el, el)))
	return b
}

// setReuse finds the innermost loop around the store that reuses access i's data: one whose
// variable the indices do not use (every iteration reads the same data again), or one under
// which earlier stores of the program touched the same buffer (serial reuse).
func (x *extractor) setReuse(sn *storeNest, r nestRegions, i int, b *bufferFeatures) {
	a := &sn.accs[i]
	n := len(sn.loops)
	for j := n - 1; j >= 0; j-- {
		l := sn.loops[j]
		if a.mask&(1<<uint(j)) == 0 {
			b.reuseType = 0
			b.reuseCt = float64(l.extent)
			b.reuseDisIter = sn.innerProd(j + 1)
			b.reuseDisBytes = r.bytes[j+1]
			return
		}
		if t := x.touched[touchKey{l.loop, a.buf}]; len(t) >= 2 {
			b.reuseType = 1
			b.reuseCt = float64(len(t) - 1)
			m := t[0]
			for _, v := range t[1:] {
				m = min(m, v)
			}
			b.reuseDisIter = m / float64(l.extent)
			b.reuseDisBytes = x.loopBytes[l.loop] / float64(l.extent)
			return
		}
	}
}

// intensityCurve samples FLOPs ÷ bytes touched over the loop nest from the innermost loop
// outwards at 10 evenly spaced fractions of the total FLOPs, interpolating linearly.
func intensityCurve(sn *storeNest, r nestRegions) []float64 {
	out := make([]float64, curveSamples)
	n := len(sn.loops)
	f := sn.ops.flops()
	if n == 0 || f <= 0 {
		return out
	}
	comp := make([]float64, n)
	mem := make([]float64, n)
	for p := 0; p < n; p++ {
		level := n - 1 - p
		comp[p] = f * sn.innerProd(level)
		mem[p] = r.bytes[level]
	}
	total := comp[n-1]
	p := 0
	for i := range out {
		target := float64(i+1) / curveSamples * total
		for p < n-1 && comp[p] < target*(1-1e-9) {
			p++
		}
		var v float64
		if p == 0 {
			v = ratio(comp[0], mem[0])
		} else {
			a0, a1 := ratio(comp[p-1], mem[p-1]), ratio(comp[p], mem[p])
			v = a0 + (a1-a0)*(target-comp[p-1])/(comp[p]-comp[p-1])
		}
		out[i] = slog(v)
	}
	return out
}
