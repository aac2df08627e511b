package backend

import (
	"math"
	"slices"

	"colt/schedule"
)

// This file holds the recognisers of the blocks a vendor library can compute: a (batched)
// matrix product and a 2-D convolution, each found in one block of a possibly multi-block
// function, and the loop nest that runs such a block over its whole domain. They report false
// for anything else and never panic on a malformed function.

// blockMatmul recognizes one block that is a matrix product:
//
//	C[b..., i, j] = 0 (init);  C[b..., i, j] += A[b..., i, k] * B[b..., k, j]
//
// with i, j, k and the batch iterators b... (any number, flattened into Batch) distinct block
// iterators, k the only reduction iterator, A stored as [i, k] or [k, i], B as [k, j] or [j, k],
// each with or without the batch indices, every buffer float32 with exactly the shape its
// indices span, and C neither A nor B. The operands of + and * may come in either order. The
// buffers may be parameters or intermediates: the spec's Params is nil, and whether the
// buffers are the function's parameters is the caller's question. It reports false for
// predicates, block allocations, other init values, indices that are not plain iterators and
// sizes that do not fit int32.
func blockMatmul(blk *schedule.Block) (MatmulSpec, bool) {
	if blk == nil || blk.Predicate != nil || len(blk.Allocs) > 0 || len(blk.Bindings) != len(blk.IterVars) {
		return MatmulSpec{}, false
	}
	body, ok1 := blk.Body.(*schedule.Store)
	init, ok2 := blk.Init.(*schedule.Store)
	if !ok1 || !ok2 || body == nil || init == nil || body.Buffer == nil || init.Buffer != body.Buffer {
		return MatmulSpec{}, false
	}
	C := body.Buffer
	iters, ok := iterDomain(blk)
	if !ok {
		return MatmulSpec{}, false
	}
	cIdx, ok := plainVars(body.Indices)
	if !ok || len(cIdx) < 2 || len(blk.IterVars) != len(cIdx)+1 {
		return MatmulSpec{}, false
	}
	for _, v := range cIdx {
		if iv, ok := iters[v]; !ok || iv.Kind != schedule.Spatial {
			return MatmulSpec{}, false
		}
	}
	var k *schedule.Var
	for _, iv := range blk.IterVars {
		if iv.Kind == schedule.Reduce {
			if k != nil {
				return MatmulSpec{}, false
			}
			k = iv.Var
		}
	}
	if k == nil {
		return MatmulSpec{}, false
	}
	batch, i, j := cIdx[:len(cIdx)-2], cIdx[len(cIdx)-2], cIdx[len(cIdx)-1]
	// init: C[same indices] = 0.
	if iIdx, ok := plainVars(init.Indices); !ok || !slices.Equal(iIdx, cIdx) || !isZero(init.Value) {
		return MatmulSpec{}, false
	}
	l1, l2, ok := accumulatedProduct(body.Value, C, cIdx)
	if !ok {
		return MatmulSpec{}, false
	}
	spec := MatmulSpec{Batch: 1, M: iters[i].Extent, N: iters[j].Extent, K: iters[k].Extent, C: C}
	batchShape := make([]int, len(batch))
	for n, v := range batch {
		batchShape[n] = iters[v].Extent
		spec.Batch *= iters[v].Extent
		if spec.Batch > math.MaxInt32 {
			return MatmulSpec{}, false
		}
	}
	// Each operand: optional batch prefix, then two of i, j, k.
	operand := func(l *schedule.Load) (rest []*schedule.Var, batched bool, ok bool) {
		idx, ok := plainVars(l.Indices)
		switch {
		case !ok:
			return nil, false, false
		case len(batch) > 0 && len(idx) == len(batch)+2 && slices.Equal(idx[:len(batch)], batch):
			return idx[len(batch):], true, true
		case len(idx) == 2:
			return idx, false, true
		}
		return nil, false, false
	}
	r1, b1, ok1 := operand(l1)
	r2, b2, ok2 := operand(l2)
	if !ok1 || !ok2 {
		return MatmulSpec{}, false
	}
	if slices.Contains(r2, i) { // A is the operand that holds i
		l1, l2, r1, r2, b1, b2 = l2, l1, r2, r1, b2, b1
	}
	switch {
	case slices.Equal(r1, []*schedule.Var{i, k}):
	case slices.Equal(r1, []*schedule.Var{k, i}):
		spec.TransA = true
	default:
		return MatmulSpec{}, false
	}
	switch {
	case slices.Equal(r2, []*schedule.Var{k, j}):
	case slices.Equal(r2, []*schedule.Var{j, k}):
		spec.TransB = true
	default:
		return MatmulSpec{}, false
	}
	spec.A, spec.B, spec.BatchedA, spec.BatchedB = l1.Buffer, l2.Buffer, b1, b2
	if spec.A == nil || spec.B == nil || spec.A == C || spec.B == C {
		return MatmulSpec{}, false
	}
	// Every buffer's shape is exactly its indices' extents, so the flattened layout holds.
	want := func(batched bool, rows, cols *schedule.Var) []int {
		out := []int{}
		if batched {
			out = append(out, batchShape...)
		}
		return append(out, iters[rows].Extent, iters[cols].Extent)
	}
	if !slices.Equal(C.Shape, want(true, i, j)) ||
		!slices.Equal(spec.A.Shape, want(spec.BatchedA, r1[0], r1[1])) ||
		!slices.Equal(spec.B.Shape, want(spec.BatchedB, r2[0], r2[1])) {
		return MatmulSpec{}, false
	}
	if spec.validate() != nil {
		return MatmulSpec{}, false
	}
	return spec, true
}

// convSpec is a 2-D convolution found in one block by blockConv:
//
//	Y[n, k, y, x] = Σ_{c, r, q} X[n, c, y·SH + r, x·SW + q] · W[k, c, r, q]
//
// with NCHW input X (N×C×H×W) and output Y (N×K×OH×OW), OIHW weights W (K×C×R×Q), strides SH
// and SW and no padding (a padded convolution reads a padded copy of its input made by an
// earlier block). H is at least the rows the output reads, (OH−1)·SH + R, and at most SH−1
// rows more (rows a stride skips); the same for W.
type convSpec struct {
	N, C, K, H, W, R, Q, OH, OW, SH, SW int
	X, Wt, Y                            *schedule.Buffer
}

// blockConv recognizes one block that is a 2-D convolution (see convSpec):
//
//	Y[n, k, y, x] = 0 (init);  Y[n, k, y, x] += X[n, c, y*SH + r, x*SW + q] * W[k, c, r, q]
//
// with n, k, y, x spatial and c, r, q reduction iterators (seven distinct ones), the strides
// positive constants (y + r is stride 1; the terms of + and * in any order), every buffer
// float32 with the shape the convolution implies, and Y neither X nor W. It reports false for
// anything else: predicates, block allocations, other init values, dilations, offsets,
// other index orders (NHWC, HWIO), shapes that do not match or sizes that do not fit int32.
func blockConv(blk *schedule.Block) (convSpec, bool) {
	if blk == nil || blk.Predicate != nil || len(blk.Allocs) > 0 || len(blk.IterVars) != 7 || len(blk.Bindings) != 7 {
		return convSpec{}, false
	}
	body, ok1 := blk.Body.(*schedule.Store)
	init, ok2 := blk.Init.(*schedule.Store)
	if !ok1 || !ok2 || body == nil || init == nil || body.Buffer == nil || init.Buffer != body.Buffer {
		return convSpec{}, false
	}
	Y := body.Buffer
	iters, ok := iterDomain(blk)
	if !ok {
		return convSpec{}, false
	}
	yIdx, ok := plainVars(body.Indices)
	if !ok || len(yIdx) != 4 {
		return convSpec{}, false
	}
	for _, v := range yIdx {
		if iv, ok := iters[v]; !ok || iv.Kind != schedule.Spatial {
			return convSpec{}, false
		}
	}
	if iIdx, ok := plainVars(init.Indices); !ok || !slices.Equal(iIdx, yIdx) || !isZero(init.Value) {
		return convSpec{}, false
	}
	l1, l2, ok := accumulatedProduct(body.Value, Y, yIdx)
	if !ok {
		return convSpec{}, false
	}
	n, k, y, x := yIdx[0], yIdx[1], yIdx[2], yIdx[3]
	// The weights are the operand indexed by plain variables [k, c, r, q].
	wl, xl := l2, l1
	if wIdx, ok := plainVars(l1.Indices); ok && len(wIdx) == 4 && wIdx[0] == k {
		wl, xl = l1, l2
	}
	wIdx, ok := plainVars(wl.Indices)
	if !ok || len(wIdx) != 4 || wIdx[0] != k || len(xl.Indices) != 4 {
		return convSpec{}, false
	}
	c, r, q := wIdx[1], wIdx[2], wIdx[3]
	for _, v := range []*schedule.Var{c, r, q} {
		if iv, ok := iters[v]; !ok || iv.Kind != schedule.Reduce {
			return convSpec{}, false
		}
	}
	// The input: [n, c, y*SH + r, x*SW + q].
	if v, ok := xl.Indices[0].(*schedule.Var); !ok || v != n {
		return convSpec{}, false
	}
	if v, ok := xl.Indices[1].(*schedule.Var); !ok || v != c {
		return convSpec{}, false
	}
	sh, ok1 := strideOf(xl.Indices[2], y, r)
	sw, ok2 := strideOf(xl.Indices[3], x, q)
	if !ok1 || !ok2 {
		return convSpec{}, false
	}
	s := convSpec{
		N: iters[n].Extent, C: iters[c].Extent, K: iters[k].Extent, R: iters[r].Extent, Q: iters[q].Extent,
		OH: iters[y].Extent, OW: iters[x].Extent, SH: sh, SW: sw, X: xl.Buffer, Wt: wl.Buffer, Y: Y,
	}
	if s.X == nil || s.Wt == nil || s.X == Y || s.Wt == Y || s.X == s.Wt {
		return convSpec{}, false
	}
	if len(s.X.Shape) != 4 {
		return convSpec{}, false
	}
	s.H, s.W = s.X.Shape[2], s.X.Shape[3]
	if !slices.Equal(Y.Shape, []int{s.N, s.K, s.OH, s.OW}) || !slices.Equal(s.Wt.Shape, []int{s.K, s.C, s.R, s.Q}) ||
		!slices.Equal(s.X.Shape[:2], []int{s.N, s.C}) {
		return convSpec{}, false
	}
	// oneDNN's rule with no padding: (H − R) / SH + 1 == OH (integer division), H ≥ R.
	fits := func(in, kernel, stride, out int) bool {
		return in >= kernel && int64(out-1)*int64(stride)+int64(kernel) <= int64(in) && (in-kernel)/stride+1 == out
	}
	if !fits(s.H, s.R, s.SH, s.OH) || !fits(s.W, s.Q, s.SW, s.OW) {
		return convSpec{}, false
	}
	for _, b := range []*schedule.Buffer{s.X, s.Wt, Y} {
		if b.DType != schedule.Float32 || b.Elems() > math.MaxInt32 {
			return convSpec{}, false
		}
	}
	return s, true
}

// iterDomain maps a block's iterators by variable; false when one is nil or repeated or its
// extent is not in 1..MaxInt32.
func iterDomain(blk *schedule.Block) (map[*schedule.Var]schedule.IterVar, bool) {
	iters := map[*schedule.Var]schedule.IterVar{}
	for _, iv := range blk.IterVars {
		if iv.Var == nil {
			return nil, false
		}
		if _, dup := iters[iv.Var]; dup || iv.Extent <= 0 || iv.Extent > math.MaxInt32 {
			return nil, false
		}
		iters[iv.Var] = iv
	}
	return iters, true
}

// accumulatedProduct matches out[idx] + L1 * L2 (either order of + and of *), where out[idx]
// loads exactly the stored element, and returns the two loads.
func accumulatedProduct(value schedule.Expr, out *schedule.Buffer, idx []*schedule.Var) (l1, l2 *schedule.Load, ok bool) {
	sum, ok := value.(*schedule.Binary)
	if !ok || sum == nil || sum.Op != schedule.Add {
		return nil, nil, false
	}
	prod := sum.B
	if !isLoadOf(sum.A, out, idx) {
		if !isLoadOf(sum.B, out, idx) {
			return nil, nil, false
		}
		prod = sum.A
	}
	mul, ok := prod.(*schedule.Binary)
	if !ok || mul == nil || mul.Op != schedule.Mul {
		return nil, nil, false
	}
	l1, ok1 := mul.A.(*schedule.Load)
	l2, ok2 := mul.B.(*schedule.Load)
	if !ok1 || !ok2 || l1 == nil || l2 == nil || l1.Buffer == nil || l2.Buffer == nil {
		return nil, nil, false
	}
	return l1, l2, true
}

// strideOf matches e = outer·S + inner (S ≥ 1 a constant, the terms in any order and form:
// y + r, y*2 + r, 2*y + r, r + y*2) and returns S.
func strideOf(e schedule.Expr, outer, inner *schedule.Var) (int, bool) {
	terms, konst, ok := linearForm(e, 0)
	if !ok || konst != 0 || len(terms) != 2 || terms[inner] != 1 {
		return 0, false
	}
	s, ok := terms[outer]
	if !ok || s < 1 || s > math.MaxInt32 {
		return 0, false
	}
	return int(s), true
}

// linearForm writes an integer expression built from variables, constants, + , − and
// multiplication by constants as Σ coef·var + const (terms with coefficient 0 dropped); false
// for anything else, when it nests too deeply or when a coefficient or the constant grows past
// 2^31 (every intermediate value stays below 2^31, so products never overflow).
func linearForm(e schedule.Expr, depth int) (map[*schedule.Var]int64, int64, bool) {
	const limit = int64(1) << 31
	if depth > 16 {
		return nil, 0, false
	}
	switch e := e.(type) {
	case *schedule.Var:
		if e == nil {
			return nil, 0, false
		}
		return map[*schedule.Var]int64{e: 1}, 0, true
	case *schedule.IntImm:
		if e == nil || e.Value > limit || e.Value < -limit {
			return nil, 0, false
		}
		return map[*schedule.Var]int64{}, e.Value, true
	case *schedule.Binary:
		if e == nil {
			return nil, 0, false
		}
		ta, ca, ok1 := linearForm(e.A, depth+1)
		tb, cb, ok2 := linearForm(e.B, depth+1)
		if !ok1 || !ok2 {
			return nil, 0, false
		}
		combine := func(sign int64) (map[*schedule.Var]int64, int64, bool) {
			out := map[*schedule.Var]int64{}
			for v, c := range ta {
				out[v] += c
			}
			for v, c := range tb {
				out[v] += sign * c
			}
			for v, c := range out {
				if c == 0 {
					delete(out, v)
				} else if c > limit || c < -limit {
					return nil, 0, false
				}
			}
			if k := ca + sign*cb; k <= limit && k >= -limit {
				return out, k, true
			}
			return nil, 0, false
		}
		switch e.Op {
		case schedule.Add:
			return combine(1)
		case schedule.Sub:
			return combine(-1)
		case schedule.Mul:
			if len(ta) > 0 && len(tb) > 0 {
				return nil, 0, false
			}
			if len(ta) > 0 { // var-part · constant
				ta, ca, tb, cb = tb, cb, ta, ca
			}
			// ta is empty: the product is ca · (tb + cb).
			out := map[*schedule.Var]int64{}
			for v, c := range tb {
				if p := ca * c; p != 0 {
					if p > limit || p < -limit {
						return nil, 0, false
					}
					out[v] = p
				}
			}
			if k := ca * cb; k <= limit && k >= -limit {
				return out, k, true
			}
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// nestBlock returns the block a loop nest runs over its whole domain: a chain of loops, each
// the only statement of its parent, around one block whose iterators are bound to the chain's
// loop variables one to one (a plain variable each, the loop's extent equal to the iterator's).
// That is how every block of an unscheduled program sits; replacing such a nest by code that
// computes the block over its whole domain keeps the program's meaning. False otherwise
// (GPU thread loops included).
func nestBlock(s *schedule.Loop) (*schedule.Block, bool) {
	loops := map[*schedule.Var]int{}
	var cur schedule.Stmt = s
	for depth := 0; ; depth++ {
		if depth > 64 {
			return nil, false
		}
		switch c := cur.(type) {
		case *schedule.Seq:
			if c == nil || len(c.Stmts) != 1 {
				return nil, false
			}
			cur = c.Stmts[0]
			continue
		case *schedule.Loop:
			if c == nil || c.Var == nil || c.Kind == schedule.ThreadBound || c.Extent <= 0 {
				return nil, false
			}
			if _, dup := loops[c.Var]; dup {
				return nil, false
			}
			loops[c.Var] = c.Extent
			cur = c.Body
			continue
		case *schedule.Block:
			if c == nil || len(c.IterVars) != len(loops) || len(c.Bindings) != len(c.IterVars) {
				return nil, false
			}
			used := map[*schedule.Var]bool{}
			for i, iv := range c.IterVars {
				v, ok := c.Bindings[i].(*schedule.Var)
				if !ok || v == nil || used[v] {
					return nil, false
				}
				if ext, ok := loops[v]; !ok || ext != iv.Extent {
					return nil, false
				}
				used[v] = true
			}
			return c, true
		}
		return nil, false
	}
}
