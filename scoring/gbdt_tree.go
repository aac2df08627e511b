package scoring

import (
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
)

// binned holds the training rows quantised per feature. A value x of feature f falls in bin
// b = the first index with x <= edges[f][b] (len(edges[f]) when there is none), so x <= edges[f][b]
// exactly when its bin is <= b: a split "bin <= b" written as LightGBM's "x <= threshold" with
// threshold edges[f][b] sends every value, seen in training or not, the same way.
type binned struct {
	n, nFeat int
	bins     []uint8     // row-major n × nFeat
	edges    [][]float64 // per feature, strictly increasing upper bin edges
	stride   int         // histogram slots per feature: the most bins of any feature
}

// binEdges returns at most maxBins-1 split points for the sorted values: the midpoints between
// neighbouring distinct values, all of them when there are few, else chosen so that the bins hold
// about equal numbers of rows.
func binEdges(sorted []float64, maxBins int) []float64 {
	var distinct []float64
	var count []int
	for i, x := range sorted {
		if i > 0 && x == sorted[i-1] {
			count[len(count)-1]++
			continue
		}
		distinct = append(distinct, x)
		count = append(count, 1)
	}
	if len(distinct) < 2 {
		return nil
	}
	mid := func(i int) float64 {
		a, b := distinct[i], distinct[i+1]
		m := a + (b-a)/2
		if math.IsInf(b-a, 0) {
			m = a/2 + b/2
		}
		if !(m >= a && m < b) {
			m = a
		}
		return m
	}
	var edges []float64
	if len(distinct) <= maxBins {
		for i := 0; i+1 < len(distinct); i++ {
			edges = append(edges, mid(i))
		}
		return edges
	}
	remaining, binsLeft, acc := len(sorted), maxBins, 0
	for i := 0; i+1 < len(distinct) && binsLeft > 1; i++ {
		acc += count[i]
		if acc*binsLeft >= remaining {
			edges = append(edges, mid(i))
			remaining -= acc
			acc = 0
			binsLeft--
		}
	}
	return edges
}

func binRows(rows [][]float64, nFeat, maxBins int) *binned {
	bd := &binned{n: len(rows), nFeat: nFeat, bins: make([]uint8, len(rows)*nFeat), edges: make([][]float64, nFeat), stride: 1}
	col := make([]float64, len(rows))
	for f := 0; f < nFeat; f++ {
		for i, row := range rows {
			col[i] = row[f]
		}
		slices.Sort(col)
		e := binEdges(col, maxBins)
		bd.edges[f] = e
		bd.stride = max(bd.stride, len(e)+1)
		for i, row := range rows {
			bd.bins[i*nFeat+f] = uint8(sort.SearchFloat64s(e, row[f]))
		}
	}
	return bd
}

// featureInfos returns LightGBM's per-feature "[min:max]" ("none" for a constant feature).
func featureInfos(rows [][]float64, nFeat int) []string {
	out := make([]string, nFeat)
	for f := range out {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, row := range rows {
			lo, hi = min(lo, row[f]), max(hi, row[f])
		}
		if lo == hi {
			out[f] = "none"
			continue
		}
		out[f] = "[" + strconv.FormatFloat(lo, 'g', -1, 64) + ":" + strconv.FormatFloat(hi, 'g', -1, 64) + "]"
	}
	return out
}

// tree is one regression tree in LightGBM's own array layout: internal node i splits on
// splitFeature[i] and sends x to leftChild[i] when x <= threshold[i]; a child c >= 0 is an internal
// node, c < 0 is leaf ^c. leafValue already includes the learning rate.
type tree struct {
	splitFeature   []int
	splitGain      []float64
	threshold      []float64
	leftChild      []int
	rightChild     []int
	internalValue  []float64
	internalWeight []float64
	internalCount  []int
	leafValue      []float64
	leafWeight     []float64
	leafCount      []int
	leafParent     []int
}

func newTree(value, weight float64, count int) *tree {
	return &tree{leafValue: []float64{value}, leafWeight: []float64{weight}, leafCount: []int{count}, leafParent: []int{-1}}
}

func (t *tree) numLeaves() int { return len(t.leafValue) }

// split turns leaf into an internal node whose left child keeps the leaf's index and whose right
// child is a new leaf, as LightGBM's Tree::Split numbers them; it returns the new leaf's index.
func (t *tree) split(leaf, feature int, threshold, gain float64, lv, lw float64, lc int, rv, rw float64, rc int) int {
	node := len(t.splitFeature)
	newLeaf := len(t.leafValue)
	if p := t.leafParent[leaf]; p >= 0 {
		if t.leftChild[p] == ^leaf {
			t.leftChild[p] = node
		} else {
			t.rightChild[p] = node
		}
	}
	t.splitFeature = append(t.splitFeature, feature)
	t.splitGain = append(t.splitGain, gain)
	t.threshold = append(t.threshold, threshold)
	t.leftChild = append(t.leftChild, ^leaf)
	t.rightChild = append(t.rightChild, ^newLeaf)
	t.internalValue = append(t.internalValue, t.leafValue[leaf])
	t.internalWeight = append(t.internalWeight, t.leafWeight[leaf])
	t.internalCount = append(t.internalCount, t.leafCount[leaf])
	t.leafParent[leaf] = node
	t.leafValue[leaf], t.leafWeight[leaf], t.leafCount[leaf] = lv, lw, lc
	t.leafValue = append(t.leafValue, rv)
	t.leafWeight = append(t.leafWeight, rw)
	t.leafCount = append(t.leafCount, rc)
	t.leafParent = append(t.leafParent, node)
	return newLeaf
}

// predict walks the tree exactly as leaves does for a numerical split with missing type None:
// NaN counts as 0, and x goes left when x <= threshold.
func (t *tree) predict(row []float64) float64 {
	if len(t.splitFeature) == 0 {
		return t.leafValue[0]
	}
	node := 0
	for {
		x := row[t.splitFeature[node]]
		if math.IsNaN(x) {
			x = 0
		}
		next := t.rightChild[node]
		if x <= t.threshold[node] {
			next = t.leftChild[node]
		}
		if next < 0 {
			return t.leafValue[^next]
		}
		node = next
	}
}

type hbin struct{ g, h float64 }

// histogram holds gradient and hessian sums per (feature, bin), feature f at bins[f*stride:].
// A sparse histogram, used for nodes with few rows, also marks its occupied bins, so that scanning,
// subtracting and clearing it cost O(rows × features) instead of O(bins × features).
type histogram struct {
	bins   []hbin
	occ    []uint64 // sparse only: bit k of words occ[f*wpf:(f+1)*wpf] marks bin k of feature f
	sparse bool
}

// builder grows one depth-limited tree per call from gradient histograms.
type builder struct {
	bd          *binned
	opt         TrainOptions
	grad, hess  []float64 // per training row, filled by the caller before build
	idx, tmp    []int32   // row order: every node owns a contiguous range of idx
	wpf         int       // occupancy words per feature
	sparseLimit int       // nodes with at most this many rows get sparse histograms
	free        []*histogram
	leafStart   []int // rows of leaf l after build: idx[leafStart[l]:leafEnd[l]]
	leafEnd     []int
}

type buildNode struct {
	leaf, start, end, depth int
	g, h                    float64
	hist                    *histogram // nil: the node stays a leaf
}

func (nd *buildNode) rows() int { return nd.end - nd.start }

func newBuilder(bd *binned, opt TrainOptions) *builder {
	return &builder{
		bd: bd, opt: opt,
		grad: make([]float64, bd.n), hess: make([]float64, bd.n),
		idx: make([]int32, bd.n), tmp: make([]int32, bd.n),
		wpf:         (bd.stride + 63) / 64,
		sparseLimit: bd.stride / 2,
	}
}

func (b *builder) value(g, h float64) float64 {
	d := h + b.opt.Lambda
	if !(d > 0) {
		return 0
	}
	return -g / d * b.opt.LearningRate
}

// newHist returns a zeroed histogram filled from rows.
func (b *builder) newHist(rows []int32) *histogram {
	var h *histogram
	if n := len(b.free); n > 0 {
		h = b.free[n-1]
		b.free = b.free[:n-1]
	} else {
		h = &histogram{bins: make([]hbin, b.bd.nFeat*b.bd.stride), occ: make([]uint64, b.bd.nFeat*b.wpf)}
	}
	h.sparse = len(rows) <= b.sparseLimit
	nf, stride, bins, hb := b.bd.nFeat, b.bd.stride, b.bd.bins, h.bins
	if !h.sparse {
		for _, r := range rows {
			g, hs := b.grad[r], b.hess[r]
			off := 0
			for _, bin := range bins[int(r)*nf : int(r)*nf+nf] {
				p := &hb[off+int(bin)]
				p.g += g
				p.h += hs
				off += stride
			}
		}
		return h
	}
	for _, r := range rows {
		g, hs := b.grad[r], b.hess[r]
		off, woff := 0, 0
		for _, bin := range bins[int(r)*nf : int(r)*nf+nf] {
			p := &hb[off+int(bin)]
			p.g += g
			p.h += hs
			h.occ[woff+int(bin>>6)] |= 1 << (bin & 63)
			off += stride
			woff += b.wpf
		}
	}
	return h
}

// putHist zeroes h and keeps it for reuse.
func (b *builder) putHist(h *histogram) {
	if h == nil {
		return
	}
	if h.sparse {
		for wi, m := range h.occ {
			if m == 0 {
				continue
			}
			f, base := wi/b.wpf, (wi%b.wpf)*64
			for ; m != 0; m &= m - 1 {
				h.bins[f*b.bd.stride+base+bits.TrailingZeros64(m)] = hbin{}
			}
			h.occ[wi] = 0
		}
	} else {
		clear(h.bins)
	}
	b.free = append(b.free, h)
}

// subtract removes child's sums from h.
func (b *builder) subtract(h, child *histogram) {
	if !child.sparse {
		for i, s := range child.bins {
			h.bins[i].g -= s.g
			h.bins[i].h -= s.h
		}
		return
	}
	for wi, m := range child.occ {
		f, base := wi/b.wpf, (wi%b.wpf)*64
		for ; m != 0; m &= m - 1 {
			i := f*b.bd.stride + base + bits.TrailingZeros64(m)
			h.bins[i].g -= child.bins[i].g
			h.bins[i].h -= child.bins[i].h
		}
	}
}

// canSplit says whether a node may still be split (and so needs a histogram).
func (b *builder) canSplit(depth, rows int, h float64) bool {
	return depth < b.opt.MaxDepth && rows >= 2 && h >= 2*b.opt.MinChildWeight && h > 0
}

// bestSplit returns the best split of nd: feature, bin (left takes bins <= bin), gain and the left
// side's gradient sums; ok is false when no split gains. Bins are offered in increasing order per
// feature, features in increasing order, and the first of equal gains wins.
func (b *builder) bestSplit(nd *buildNode) (feat, bin int, gain, gl, hl float64, ok bool) {
	G, H, lambda := nd.g, nd.h, b.opt.Lambda
	parent := G * G / (H + lambda)
	// A side must carry at least MinChildWeight of hessian, and more than rounding residue; bins
	// lighter than emptyH are empty but for residue of the histogram subtraction, and the split
	// after an empty bin is the split after the bin before it.
	minH := max(b.opt.MinChildWeight, 1e-12*H)
	emptyH := 1e-12 * H
	best := 1e-12 * parent
	// Division-free screen: a/b + c/d > t ⇔ a·d + c·b > t·b·d (b, d > 0), with slack for
	// rounding; the exact gain then decides.
	target := (best + parent) * (1 - 1e-9)
	for f := 0; f < b.bd.nFeat; f++ {
		nb := len(b.bd.edges[f]) + 1
		if nb < 2 {
			continue
		}
		fb := nd.hist.bins[f*b.bd.stride : f*b.bd.stride+nb]
		sg, sh := 0.0, 0.0
		if !nd.hist.sparse {
			for k := 0; k < nb-1; k++ {
				hk := fb[k].h
				sg += fb[k].g
				sh += hk
				if sh < minH || hk <= emptyH {
					continue
				}
				rh := H - sh
				if rh < minH {
					break
				}
				rg := G - sg
				lb, rb := sh+lambda, rh+lambda
				if sg*sg*rb+rg*rg*lb < target*lb*rb {
					continue
				}
				if gn := sg*sg/lb + rg*rg/rb - parent; gn > best {
					best, feat, bin, gl, hl, ok = gn, f, k, sg, sh, true
					target = (gn + parent) * (1 - 1e-9)
				}
			}
			continue
		}
	words:
		for w, m := range nd.hist.occ[f*b.wpf : (f+1)*b.wpf] {
			for ; m != 0; m &= m - 1 {
				k := w*64 + bits.TrailingZeros64(m)
				if k >= nb-1 {
					break words
				}
				hk := fb[k].h
				sg += fb[k].g
				sh += hk
				if sh < minH || hk <= emptyH {
					continue
				}
				rh := H - sh
				if rh < minH {
					break words
				}
				rg := G - sg
				lb, rb := sh+lambda, rh+lambda
				if sg*sg*rb+rg*rg*lb < target*lb*rb {
					continue
				}
				if gn := sg*sg/lb + rg*rg/rb - parent; gn > best {
					best, feat, bin, gl, hl, ok = gn, f, k, sg, sh, true
					target = (gn + parent) * (1 - 1e-9)
				}
			}
		}
	}
	return feat, bin, best, gl, hl, ok
}

// build grows a tree on the current gradients. Nodes are expanded depth-first; each node's split
// depends only on its own rows, so the tree equals a level-wise one, while at most one histogram
// per level is alive.
func (b *builder) build() *tree {
	n := b.bd.n
	for i := range b.idx {
		b.idx[i] = int32(i)
	}
	g, h := 0.0, 0.0
	for r := 0; r < n; r++ {
		g += b.grad[r]
		h += b.hess[r]
	}
	t := newTree(b.value(g, h), h, n)
	b.leafStart, b.leafEnd = append(b.leafStart[:0], 0), append(b.leafEnd[:0], n)
	root := buildNode{leaf: 0, start: 0, end: n, g: g, h: h}
	if b.canSplit(0, n, h) {
		root.hist = b.newHist(b.idx)
	}
	stack := []buildNode{root}
	nf := b.bd.nFeat
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if nd.hist == nil {
			continue // a leaf for good
		}
		f, bin, gain, gl, hl, ok := b.bestSplit(&nd)
		if !ok {
			b.putHist(nd.hist)
			continue
		}
		// Stable partition: rows with bin <= bin first.
		mid, nt := nd.start, 0
		for i := nd.start; i < nd.end; i++ {
			r := b.idx[i]
			if int(b.bd.bins[int(r)*nf+f]) <= bin {
				b.idx[mid] = r
				mid++
			} else {
				b.tmp[nt] = r
				nt++
			}
		}
		copy(b.idx[mid:nd.end], b.tmp[:nt])
		if mid == nd.start || mid == nd.end {
			b.putHist(nd.hist) // cannot happen with positive hessians; keep the leaf
			continue
		}
		gr, hr := nd.g-gl, nd.h-hl
		left := buildNode{leaf: nd.leaf, start: nd.start, end: mid, depth: nd.depth + 1, g: gl, h: hl}
		right := buildNode{start: mid, end: nd.end, depth: nd.depth + 1, g: gr, h: hr}
		right.leaf = t.split(nd.leaf, f, b.bd.edges[f][bin], gain,
			b.value(gl, hl), hl, left.rows(), b.value(gr, hr), hr, right.rows())
		b.leafStart[nd.leaf], b.leafEnd[nd.leaf] = left.start, left.end
		b.leafStart, b.leafEnd = append(b.leafStart, right.start), append(b.leafEnd, right.end)

		needL := b.canSplit(left.depth, left.rows(), left.h)
		needR := b.canSplit(right.depth, right.rows(), right.h)
		small, large := &left, &right
		if right.rows() < left.rows() {
			small, large = &right, &left
		}
		switch {
		case !needL && !needR:
			b.putHist(nd.hist)
		case large.rows() > b.sparseLimit && !nd.hist.sparse:
			// Histogram subtraction: fill the smaller child, derive the larger from the parent.
			small.hist = b.newHist(b.idx[small.start:small.end])
			b.subtract(nd.hist, small.hist)
			large.hist = nd.hist
			if !needL {
				b.putHist(left.hist)
				left.hist = nil
			}
			if !needR {
				b.putHist(right.hist)
				right.hist = nil
			}
		default:
			// Small children get sparse histograms straight from their rows.
			b.putHist(nd.hist)
			if needL {
				left.hist = b.newHist(b.idx[left.start:left.end])
			}
			if needR {
				right.hist = b.newHist(b.idx[right.start:right.end])
			}
		}
		stack = append(stack, right, left)
	}
	return t
}

// addLeafValues adds each leaf's value to the scores of the training rows that the last build put
// in it.
func (b *builder) addLeafValues(t *tree, scores []float64) {
	for l, v := range t.leafValue {
		for _, r := range b.idx[b.leafStart[l]:b.leafEnd[l]] {
			scores[r] += v
		}
	}
}
