package schedule

import (
	"fmt"
	"strings"
)

// AnnMicroKernel is the loop annotation that asks the C backend to replace the loop nest below
// it by an explicit vector micro-kernel (TVM's tensorize, with the kernel generated rather than
// taken from a library): the accumulators of the whole tile live in vector registers across
// the reduction loops. Its value is the target's float32 lanes per vector register.
const AnnMicroKernel = "colt.micro_kernel"

// MaxMicroAccumulators bounds a micro-kernel's vector accumulators: twice the 32 registers of
// AVX-512, beyond which the tile spills and its unrolled code grows without benefit.
const MaxMicroAccumulators = 64

// MicroKernel is the plan of a micro-kernel rooted at an annotated loop: an accumulation
// C[...] = C[...] + Update whose loop nest is the reduction loops, then the tile loops, the
// last of which walks C contiguously (the vector loop). Every tile element is an accumulator
// loaded from C before the reduction loops and stored back after them; the Update of each
// reduction step runs in the same order per element as the loop nest would, so the results are
// identical.
type MicroKernel struct {
	// Reduce are the loops that run as loops, outermost first; none of them indexes C.
	Reduce []*Loop
	// Tile are the loops whose iterations are unrolled into accumulators, outermost first; the
	// last is the vector loop.
	Tile []*Loop
	// Lanes is the vector width used: the largest power of two that divides the vector loop's
	// extent and is at most the annotated lanes (1 means scalar accumulators).
	Lanes int
	// Block is the accumulating block; Store its store into C; Update what it adds.
	Block  *Block
	Store  *Store
	Update Expr
	// Contiguous lists the loads of Update that step by one element with the vector loop (read
	// as vectors); every other load of Update does not depend on it (one value for all lanes).
	Contiguous map[*Load]bool
}

// Accumulators is the number of vector accumulators the tile needs.
func (m *MicroKernel) Accumulators() int {
	n := 1
	for _, l := range m.Tile[:len(m.Tile)-1] {
		n *= l.Extent
	}
	return n * m.Tile[len(m.Tile)-1].Extent / m.Lanes
}

// String describes the micro-kernel in one line, e.g. "4×64 tile (16 accumulators of 16
// lanes) over k_1 (8)".
func (m *MicroKernel) String() string {
	dims := make([]string, len(m.Tile))
	for i, l := range m.Tile {
		dims[i] = fmt.Sprint(l.Extent)
	}
	red := make([]string, len(m.Reduce))
	for i, l := range m.Reduce {
		red[i] = fmt.Sprintf("%s (%d)", l.Var.Name, l.Extent)
	}
	over := "no reduction loop"
	if len(red) > 0 {
		over = strings.Join(red, ", ")
	}
	return fmt.Sprintf("%s tile (%d accumulators of %d lanes) over %s", strings.Join(dims, "×"), m.Accumulators(), m.Lanes, over)
}

// PlanMicroKernel checks that the nest below an annotated loop can become a micro-kernel and
// returns its plan; the error says what stands in the way. The nest must be a chain of
// serial, unrolled or vectorized loops holding one block without init or predicate whose body
// is C[idx] = C[idx] + e (or e + C[idx]), e made of float32 loads, constants, +, -, * and /; the
// loops that index C must come after those that do not, and the last one must step C and
// every load of e that depends on it by exactly one element.
func PlanMicroKernel(root *Loop) (_ *MicroKernel, err error) {
	defer guardInput("PlanMicroKernel", &err)
	m, err := planMicroKernelShape(root, false)
	if err != nil {
		return nil, err
	}
	if n := m.Accumulators(); n > MaxMicroAccumulators {
		return nil, fmt.Errorf("micro-kernel at loop %s (block %s): the %s needs %d vector accumulators, at most %d", root.Var.Name, m.Block.Name, m, n, MaxMicroAccumulators)
	}
	return m, nil
}

// planMicroKernelShape is PlanMicroKernel without the bound on accumulators: what holds for
// every tiling of a sketch, whatever its sampled tile sizes. In a sketch (inSketch) the block
// may still have its init, which the postprocessors move out of the reduction loops.
func planMicroKernelShape(root *Loop, inSketch bool) (*MicroKernel, error) {
	if root == nil {
		return nil, fmt.Errorf("micro-kernel: no loop")
	}
	lanes, ok := root.Annotations.Int(AnnMicroKernel)
	if !ok || lanes < 1 || lanes > 64 {
		return nil, fmt.Errorf("micro-kernel at loop %s: found lanes %q, want 1 to 64", root.Var.Name, root.Annotations[AnnMicroKernel])
	}
	var loops []*Loop
	var blk *Block
	for cur := Stmt(root); blk == nil; {
		switch s := cur.(type) {
		case *Loop:
			if s.Kind != Serial && s.Kind != Unrolled && s.Kind != Vectorized {
				return nil, fmt.Errorf("micro-kernel at loop %s: loop %s is %s, want serial, unrolled or vectorized", root.Var.Name, s.Var.Name, s.Kind)
			}
			if s.Extent < 1 {
				return nil, fmt.Errorf("micro-kernel at loop %s: loop %s has extent %d", root.Var.Name, s.Var.Name, s.Extent)
			}
			loops = append(loops, s)
			cur = s.Body
		case *Seq:
			if len(s.Stmts) != 1 {
				return nil, fmt.Errorf("micro-kernel at loop %s: found %d statements in one loop, want a single loop nest around one block", root.Var.Name, len(s.Stmts))
			}
			cur = s.Stmts[0]
		case *Block:
			blk = s
		default:
			return nil, fmt.Errorf("micro-kernel at loop %s: found a %T, want loops around one block", root.Var.Name, cur)
		}
	}
	m := &MicroKernel{Block: blk, Contiguous: map[*Load]bool{}}
	where := fmt.Sprintf("micro-kernel at loop %s (block %s)", root.Var.Name, blk.Name)
	if (blk.Init != nil && !inSketch) || blk.Predicate != nil || len(blk.Allocs) > 0 {
		return nil, fmt.Errorf("%s: the block has an init, a predicate or allocations, want a plain accumulation", where)
	}
	st, ok := blk.Body.(*Store)
	if !ok || st == nil || st.Buffer == nil || st.Value == nil {
		return nil, fmt.Errorf("%s: the body is not one store", where)
	}
	m.Store = st
	if st.Buffer.DType != Float32 {
		return nil, fmt.Errorf("%s: %s is %s, want float32", where, st.Buffer.Name, st.Buffer.DType)
	}
	sum, ok := st.Value.(*Binary)
	if !ok || sum.Op != Add {
		return nil, fmt.Errorf("%s: the store is not an accumulation %s[...] = %s[...] + e", where, st.Buffer.Name, st.Buffer.Name)
	}
	switch {
	case isLoadAt(sum.A, st.Buffer, st.Indices):
		m.Update = sum.B
	case isLoadAt(sum.B, st.Buffer, st.Indices):
		m.Update = sum.A
	default:
		return nil, fmt.Errorf("%s: the store is not an accumulation %s[...] = %s[...] + e", where, st.Buffer.Name, st.Buffer.Name)
	}
	var loads []*Load
	var bad string
	WalkExpr(m.Update, func(e Expr) bool {
		switch e := e.(type) {
		case *Load:
			switch {
			case e.Buffer == st.Buffer:
				bad = "a load of the accumulated buffer " + st.Buffer.Name
			case e.Buffer.DType != Float32:
				bad = fmt.Sprintf("a load of %s (%s)", e.Buffer.Name, e.Buffer.DType)
			}
			loads = append(loads, e)
			return false
		case *FloatImm:
		case *Binary:
			if e.Op != Add && e.Op != Sub && e.Op != Mul && e.Op != Div {
				bad = "operator " + e.Op.String()
			}
		default:
			bad = fmt.Sprintf("a %T", e)
		}
		return bad == ""
	})
	if bad != "" {
		return nil, fmt.Errorf("%s: the update has %s; a micro-kernel takes float32 loads, constants, +, -, * and /", where, bad)
	}

	// Offsets as linear forms over the loop variables (bindings substituted).
	binds := bindingMap(blk)
	extents := map[*Var]int{}
	for _, l := range loops {
		extents[l.Var] = l.Extent
	}
	offset := func(buf *Buffer, idx []Expr) (linForm, bool) {
		var total linForm
		stride := int64(1)
		for d := len(idx) - 1; d >= 0; d-- {
			f, ok := linearize(simplifyDivMod(Substitute(idx[d], binds), extents))
			if !ok {
				return linForm{}, false
			}
			total = total.plus(f.scale(stride), 1)
			stride *= int64(buf.Shape[d])
		}
		return total, true
	}
	cOff, ok := offset(st.Buffer, st.Indices)
	if !ok {
		return nil, fmt.Errorf("%s: the index of %s is not integer arithmetic", where, st.Buffer.Name)
	}
	coef := func(f linForm, v *Var) (int64, bool) {
		var c int64
		for _, t := range f.terms {
			if t.atom == Expr(v) {
				c = t.coef
			} else if usesVar(t.atom, v) {
				return 0, false // v inside a division, modulo or product
			}
		}
		return c, true
	}
	for i, l := range loops {
		c, ok := coef(cOff, l.Var)
		if !ok {
			return nil, fmt.Errorf("%s: loop %s enters the index of %s non-linearly", where, l.Var.Name, st.Buffer.Name)
		}
		if c == 0 {
			if len(m.Tile) > 0 {
				return nil, fmt.Errorf("%s: loop %s does not index %s but is inside tile loop %s; the reduction loops must come first", where, l.Var.Name, st.Buffer.Name, m.Tile[0].Var.Name)
			}
			m.Reduce = append(m.Reduce, loops[i])
			continue
		}
		m.Tile = append(m.Tile, l)
	}
	if len(m.Tile) == 0 {
		return nil, fmt.Errorf("%s: no loop indexes %s, so there is no tile to keep in registers", where, st.Buffer.Name)
	}
	vec := m.Tile[len(m.Tile)-1]
	// A one-iteration vector loop makes scalar accumulators: any stride will do.
	scalar := vec.Extent == 1 && !inSketch
	if c, _ := coef(cOff, vec.Var); c != 1 && !scalar {
		return nil, fmt.Errorf("%s: the innermost loop %s steps %s by %d elements, want 1", where, vec.Var.Name, st.Buffer.Name, c)
	}
	// Distinct tile iterations must update distinct elements of C.
	seen := map[int64]bool{}
	points := 1
	for _, l := range m.Tile {
		points *= l.Extent
		if points > MaxMicroAccumulators*64 {
			return nil, fmt.Errorf("%s: the tile has more than %d elements", where, MaxMicroAccumulators*64)
		}
	}
	for p := 0; p < points; p++ {
		var off int64
		rest := p
		for i := len(m.Tile) - 1; i >= 0; i-- {
			c, _ := coef(cOff, m.Tile[i].Var)
			off += c * int64(rest%m.Tile[i].Extent)
			rest /= m.Tile[i].Extent
		}
		if seen[off] {
			return nil, fmt.Errorf("%s: two iterations of the tile update the same element of %s", where, st.Buffer.Name)
		}
		seen[off] = true
	}
	for _, ld := range loads {
		f, ok := offset(ld.Buffer, ld.Indices)
		if !ok {
			return nil, fmt.Errorf("%s: the index of %s is not integer arithmetic", where, ld.Buffer.Name)
		}
		switch c, ok := coef(f, vec.Var); {
		case scalar:
		case !ok:
			return nil, fmt.Errorf("%s: loop %s enters the index of %s non-linearly", where, vec.Var.Name, ld.Buffer.Name)
		case c == 1:
			m.Contiguous[ld] = true
		case c != 0:
			return nil, fmt.Errorf("%s: the innermost loop %s steps %s by %d elements, want 0 or 1", where, vec.Var.Name, ld.Buffer.Name, c)
		}
	}
	m.Lanes = 1
	for m.Lanes*2 <= int(lanes) && vec.Extent%(m.Lanes*2) == 0 {
		m.Lanes *= 2
	}
	return m, nil
}

// isLoadAt reports whether e loads buf at exactly the indices idx.
func isLoadAt(e Expr, buf *Buffer, idx []Expr) bool {
	ld, ok := e.(*Load)
	return ok && ld != nil && ld.Buffer == buf && exprsEqual(ld.Indices, idx)
}

// MicroKernel asks for a vector micro-kernel rooted at loop l (AnnMicroKernel with the given
// float32 lanes per vector register); whether the nest qualifies is checked when the program
// is verified (PlanMicroKernel), after the postprocessors.
func (s *Schedule) MicroKernel(l LoopRV, lanes int) error {
	if lanes < 1 || lanes > 64 {
		return primError("micro_kernel", "found %d lanes, want 1 to 64", lanes)
	}
	return s.Annotate(l, AnnMicroKernel, Lit(lanes))
}

// simplifyDivMod rewrites floordiv and floormod by a positive constant d of a linear form whose
// terms split into a multiple of d and a remainder that provably stays in [0, d), given the
// extents of some variables (each ranges over [0, extent)): (q·d + r) // d = q and
// (q·d + r) % d = r. That is what makes a packed operand's index linear in the loops of a
// tile again. Anything it cannot prove is left as it is.
func simplifyDivMod(e Expr, extent map[*Var]int) Expr {
	bin, ok := e.(*Binary)
	if !ok || bin == nil {
		return e
	}
	a, b := simplifyDivMod(bin.A, extent), simplifyDivMod(bin.B, extent)
	out := &Binary{Op: bin.Op, A: a, B: b}
	d, isConst := b.(*IntImm)
	if (bin.Op != FloorDiv && bin.Op != FloorMod) || !isConst || d.Value <= 0 {
		return out
	}
	f, ok := linearize(a)
	if !ok {
		return out
	}
	var quot, rem []linTerm
	lo, hi := floorModInt(f.c, d.Value), floorModInt(f.c, d.Value)
	for _, t := range f.terms {
		if t.coef%d.Value == 0 {
			quot = append(quot, linTerm{atom: t.atom, coef: t.coef / d.Value})
			continue
		}
		v, isVar := t.atom.(*Var)
		n, known := extent[v]
		if !isVar || !known || n < 1 {
			return out
		}
		span := t.coef * int64(n-1)
		lo, hi = lo+min(span, 0), hi+max(span, 0)
		rem = append(rem, t)
	}
	if lo < 0 || hi >= d.Value {
		return out
	}
	if bin.Op == FloorDiv {
		return buildLinear(quot, floorDiv(f.c, d.Value))
	}
	return buildLinear(rem, floorModInt(f.c, d.Value))
}

func floorModInt(a, b int64) int64 { return a - floorDiv(a, b)*b }
