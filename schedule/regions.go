package schedule

import (
	"fmt"
	"strconv"
)

// This file holds the analyses the block primitives share: linear forms of index expressions,
// the region a set of accesses covers, read/write region inference, and queries about which
// blocks access which buffers where.

// linTerm is coef·atom, where atom is a variable or an integer expression that is not linear
// (a floordiv, a product of two variables, ...).
type linTerm struct {
	atom Expr
	coef int64
}

// linForm is Σ terms + c.
type linForm struct {
	terms []linTerm
	c     int64
}

func (f *linForm) addTerm(atom Expr, coef int64) {
	if coef == 0 {
		return
	}
	for i := range f.terms {
		if ExprEqual(f.terms[i].atom, atom) {
			f.terms[i].coef += coef
			if f.terms[i].coef == 0 {
				f.terms = append(f.terms[:i:i], f.terms[i+1:]...)
			}
			return
		}
	}
	f.terms = append(f.terms, linTerm{atom: atom, coef: coef})
}

func (f linForm) plus(g linForm, sign int64) linForm {
	out := linForm{terms: append([]linTerm(nil), f.terms...), c: f.c + sign*g.c}
	for _, t := range g.terms {
		out.addTerm(t.atom, sign*t.coef)
	}
	return out
}

func (f linForm) scale(k int64) linForm {
	if k == 0 {
		return linForm{}
	}
	out := linForm{c: f.c * k}
	for _, t := range f.terms {
		out.terms = append(out.terms, linTerm{atom: t.atom, coef: t.coef * k})
	}
	return out
}

// linearize writes an integer expression as a linear form over its variables and its
// non-linear subexpressions. It fails only on expressions that are not integer arithmetic.
func linearize(e Expr) (linForm, bool) {
	switch e := e.(type) {
	case *IntImm:
		return linForm{c: e.Value}, true
	case *Var:
		var f linForm
		f.addTerm(e, 1)
		return f, true
	case *Binary:
		if e.A == nil || e.B == nil || e.Op.IsCompare() || e.Op.IsLogic() || e.Op == Div {
			return linForm{}, false
		}
		a, okA := linearize(e.A)
		b, okB := linearize(e.B)
		if !okA || !okB {
			return linForm{}, false
		}
		switch e.Op {
		case Add:
			return a.plus(b, 1), true
		case Sub:
			return a.plus(b, -1), true
		case Mul:
			if len(a.terms) == 0 {
				return b.scale(a.c), true
			}
			if len(b.terms) == 0 {
				return a.scale(b.c), true
			}
		}
		var f linForm
		f.addTerm(e, 1)
		return f, true
	}
	return linForm{}, false
}

// sameTerms reports whether two term lists are equal as multisets.
func sameTerms(a, b []linTerm) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
	for _, t := range a {
		found := false
		for j, u := range b {
			if !used[j] && u.coef == t.coef && ExprEqual(u.atom, t.atom) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// buildLinear turns terms + c back into an expression.
func buildLinear(terms []linTerm, c int64) Expr {
	var e Expr
	for _, t := range terms {
		coef := t.coef
		neg := coef < 0 && e != nil
		if neg {
			coef = -coef
		}
		var term Expr = t.atom
		if coef != 1 {
			term = Bin(Mul, t.atom, Int(coef))
		}
		switch {
		case e == nil:
			e = term
		case neg:
			e = Bin(Sub, e, term)
		default:
			e = Bin(Add, e, term)
		}
	}
	if e == nil {
		return Int(c)
	}
	return Simplify(Bin(Add, e, Int(c)))
}

// indexSpan is one index split as fixed + [lo, hi]: fixed is the part over fixed variables,
// [lo, hi] what the constant and the free variables add to it.
type indexSpan struct {
	fixed  []linTerm
	lo, hi int64
}

func varsIn(e Expr, visit func(*Var)) {
	WalkExpr(e, func(x Expr) bool {
		if v, ok := x.(*Var); ok {
			visit(v)
		}
		return true
	})
}

// spanOf splits an index over fixed variables and free ones, which range over [0, extent).
func spanOf(e Expr, free map[*Var]int) (indexSpan, bool) {
	f, ok := linearize(e)
	if !ok {
		return indexSpan{}, false
	}
	sp := indexSpan{lo: f.c, hi: f.c}
	var freeRanges map[*Var]interval
	for _, t := range f.terms {
		if v, isVar := t.atom.(*Var); isVar {
			if ext, isFree := free[v]; isFree {
				span := t.coef * int64(ext-1)
				sp.lo += min(0, span)
				sp.hi += max(0, span)
			} else {
				sp.fixed = append(sp.fixed, t)
			}
			continue
		}
		usesFree, usesFixed := false, false
		varsIn(t.atom, func(v *Var) {
			if _, isFree := free[v]; isFree {
				usesFree = true
			} else {
				usesFixed = true
			}
		})
		if !usesFree {
			sp.fixed = append(sp.fixed, t)
			continue
		}
		if usesFixed {
			return indexSpan{}, false
		}
		if freeRanges == nil {
			freeRanges = map[*Var]interval{}
			for v, ext := range free {
				freeRanges[v] = interval{0, int64(ext) - 1}
			}
		}
		r, ok := bounds(t.atom, freeRanges)
		if !ok {
			return indexSpan{}, false
		}
		a, b := t.coef*r.lo, t.coef*r.hi
		sp.lo += min(a, b)
		sp.hi += max(a, b)
	}
	return sp, true
}

// coverRange returns the smallest range [min, min+extent) of one buffer dimension that holds
// every index in idx for every value of the free variables (each in [0, extent)), with the
// other variables fixed; ok is false when the indices do not share one fixed part.
func coverRange(idx []Expr, free map[*Var]int) (Range, bool) {
	if len(idx) == 0 {
		return Range{}, false
	}
	same := true
	for _, x := range idx[1:] {
		same = same && ExprEqual(x, idx[0])
	}
	if same && !anyVarIn(idx[0], free) {
		return Range{Min: idx[0], Extent: 1}, true
	}
	var first indexSpan
	for i, x := range idx {
		sp, ok := spanOf(x, free)
		if !ok {
			return Range{}, false
		}
		if i == 0 {
			first = sp
			continue
		}
		if !sameTerms(first.fixed, sp.fixed) {
			return Range{}, false
		}
		first.lo, first.hi = min(first.lo, sp.lo), max(first.hi, sp.hi)
	}
	ext := first.hi - first.lo + 1
	if ext < 1 || ext > 1<<31-1 {
		return Range{}, false
	}
	return Range{Min: buildLinear(first.fixed, first.lo), Extent: int(ext)}, true
}

func anyVarIn(e Expr, set map[*Var]int) bool {
	found := false
	varsIn(e, func(v *Var) {
		if _, ok := set[v]; ok {
			found = true
		}
	})
	return found
}

// clipRange fits a range into [0, domain) for every value of the fixed variables (ranges in
// fixed): a range that may cross an end is clamped, keeping its extent, to
// min(max(min, 0), domain - extent), which still covers its part inside the domain. A range
// that cannot be bounded, or is at least as wide as the domain, becomes the whole [0, domain).
func clipRange(r Range, ok bool, domain int, fixed map[*Var]interval) Range {
	whole := Range{Min: Int(0), Extent: domain}
	if !ok || r.Extent >= domain {
		return whole
	}
	b, bounded := bounds(r.Min, fixed)
	if !bounded {
		return whole
	}
	if b.lo < 0 {
		r.Min = Simplify(Bin(Max, r.Min, Int(0)))
	}
	if last := int64(domain - r.Extent); b.hi > last {
		r.Min = Simplify(Bin(Min, r.Min, Int(last)))
	}
	return r
}

// blockLoads calls visit for every load in a block's init and body.
func blockLoads(b *Block, visit func(*Load)) {
	for _, st := range []Stmt{b.Body, b.Init} {
		stmtLoads(st, visit)
	}
}

func stmtLoads(s Stmt, visit func(*Load)) {
	WalkStmt(s, func(st Stmt) bool {
		StmtExprs(st, func(e Expr) {
			WalkExpr(e, func(x Expr) bool {
				if l, ok := x.(*Load); ok && l.Buffer != nil {
					visit(l)
				}
				return true
			})
		})
		return true
	})
}

// blockStores calls visit for every store in a block's init and body.
func blockStores(b *Block, visit func(*Store)) {
	for _, st := range []Stmt{b.Init, b.Body} {
		WalkStmt(st, func(x Stmt) bool {
			if s, ok := x.(*Store); ok && s.Buffer != nil {
				visit(s)
			}
			return true
		})
	}
}

func blockReadsBuf(b *Block, buf *Buffer) bool {
	found := false
	blockLoads(b, func(l *Load) { found = found || l.Buffer == buf })
	return found
}

func blockWritesBuf(b *Block, buf *Buffer) bool {
	found := false
	blockStores(b, func(s *Store) { found = found || s.Buffer == buf })
	return found
}

// storedBuffers lists the buffers a block stores to, in order of first store.
func storedBuffers(b *Block) []*Buffer {
	var out []*Buffer
	seen := map[*Buffer]bool{}
	blockStores(b, func(s *Store) {
		if !seen[s.Buffer] {
			seen[s.Buffer] = true
			out = append(out, s.Buffer)
		}
	})
	return out
}

// loadedBuffers lists the buffers a block loads, in order of first load (body before init).
func loadedBuffers(b *Block) []*Buffer {
	var out []*Buffer
	seen := map[*Buffer]bool{}
	blockLoads(b, func(l *Load) {
		if !seen[l.Buffer] {
			seen[l.Buffer] = true
			out = append(out, l.Buffer)
		}
	})
	return out
}

// inferRegions recomputes a block's T.reads and T.writes from its loads and stores, as the
// workloads lowering writes them: one region per buffer, in order of first access; a buffer
// the block writes is not listed in T.reads (a reduction's update reads its own output). Per
// dimension the region is the index when all accesses agree, their hull when they differ by
// constants, and the whole dimension otherwise.
func inferRegions(b *Block) {
	type acc struct {
		buf *Buffer
		idx [][]Expr
	}
	collect := func(each func(func(*Buffer, []Expr))) []acc {
		var out []acc
		pos := map[*Buffer]int{}
		each(func(buf *Buffer, idx []Expr) {
			i, ok := pos[buf]
			if !ok {
				i = len(out)
				pos[buf] = i
				out = append(out, acc{buf: buf})
			}
			out[i].idx = append(out[i].idx, idx)
		})
		return out
	}
	writes := collect(func(f func(*Buffer, []Expr)) {
		blockStores(b, func(s *Store) { f(s.Buffer, s.Indices) })
	})
	written := map[*Buffer]bool{}
	for _, w := range writes {
		written[w.buf] = true
	}
	reads := collect(func(f func(*Buffer, []Expr)) {
		blockLoads(b, func(l *Load) {
			if !written[l.Buffer] {
				f(l.Buffer, l.Indices)
			}
		})
	})
	toRegions := func(as []acc) []Region {
		out := make([]Region, 0, len(as))
		for _, a := range as {
			r := Region{Buffer: a.buf, Ranges: make([]Range, len(a.buf.Shape))}
			for d, shape := range a.buf.Shape {
				var dim []Expr
				for _, idx := range a.idx {
					if d < len(idx) && idx[d] != nil {
						dim = append(dim, idx[d])
					}
				}
				rg, ok := coverRange(dim, nil)
				if !ok || len(dim) != len(a.idx) || rg.Extent > shape {
					rg = Range{Min: Int(0), Extent: shape}
				}
				r.Ranges[d] = rg
			}
			out = append(out, r)
		}
		return out
	}
	b.Reads = toRegions(reads)
	b.Writes = toRegions(writes)
}

// replaceLoads rebuilds e with every load for which fn returns true replaced by its result.
func replaceLoads(e Expr, fn func(*Load) (Expr, bool)) Expr {
	switch e := e.(type) {
	case *Binary:
		return &Binary{Op: e.Op, A: replaceLoads(e.A, fn), B: replaceLoads(e.B, fn)}
	case *Not:
		return &Not{X: replaceLoads(e.X, fn)}
	case *Call:
		args := make([]Expr, len(e.Args))
		for i, a := range e.Args {
			args[i] = replaceLoads(a, fn)
		}
		return &Call{Fn: e.Fn, Args: args}
	case *Load:
		if r, ok := fn(e); ok {
			return r
		}
		return e
	case *Select:
		return &Select{Cond: replaceLoads(e.Cond, fn), Then: replaceLoads(e.Then, fn), Else: replaceLoads(e.Else, fn)}
	case *Cast:
		return &Cast{To: e.To, X: replaceLoads(e.X, fn)}
	}
	return e
}

// rewriteStores applies fn to every store under s.
func rewriteStores(s Stmt, fn func(*Store)) {
	WalkStmt(s, func(x Stmt) bool {
		if st, ok := x.(*Store); ok {
			fn(st)
		}
		return true
	})
}

// plainIterIndices reports whether idx are distinct plain iterator variables of b; it returns
// for each index the position of its iterator in b.IterVars.
func plainIterIndices(idx []Expr, b *Block) ([]int, bool) {
	pos := map[*Var]int{}
	for i, iv := range b.IterVars {
		if iv.Var != nil {
			pos[iv.Var] = i
		}
	}
	out := make([]int, len(idx))
	seen := map[int]bool{}
	for d, x := range idx {
		v, ok := x.(*Var)
		if !ok {
			return nil, false
		}
		i, ok := pos[v]
		if !ok || seen[i] {
			return nil, false
		}
		seen[i] = true
		out[d] = i
	}
	return out, true
}

// wellFormedBlock checks what the block primitives rely on: one binding per iterator, every
// iterator a variable, and a single store as the body (and as the init, if any).
func wellFormedBlock(b *Block) error {
	if len(b.Bindings) != len(b.IterVars) {
		return fmt.Errorf("block %q has %d bindings for %d iterators, want one per iterator", b.Name, len(b.Bindings), len(b.IterVars))
	}
	for i, iv := range b.IterVars {
		if iv.Var == nil || b.Bindings[i] == nil || iv.Extent < 1 {
			return fmt.Errorf("block %q has a malformed iterator %d, want a variable with an extent and a binding", b.Name, i)
		}
	}
	if st, ok := b.Body.(*Store); !ok || st.Buffer == nil || len(st.Indices) != len(st.Buffer.Shape) || st.Value == nil {
		return fmt.Errorf("block %q has a body that is not a single store, want one store", b.Name)
	}
	if b.Init != nil {
		if st, ok := b.Init.(*Store); !ok || st.Buffer == nil || len(st.Indices) != len(st.Buffer.Shape) || st.Value == nil {
			return fmt.Errorf("block %q has an init that is not a single store, want one store", b.Name)
		}
	}
	ok := true
	blockLoads(b, func(l *Load) { ok = ok && len(l.Indices) == len(l.Buffer.Shape) })
	if !ok {
		return fmt.Errorf("block %q loads with the wrong number of indices, want one per dimension", b.Name)
	}
	return nil
}

func hasReduceIter(b *Block) bool {
	for _, iv := range b.IterVars {
		if iv.Kind == Reduce {
			return true
		}
	}
	return false
}

// topStmts returns the statements directly under the root block.
func (s *Schedule) topStmts() []Stmt {
	if seq, ok := s.fn.Root.Body.(*Seq); ok {
		return seq.Stmts
	}
	if s.fn.Root.Body == nil {
		return nil
	}
	return []Stmt{s.fn.Root.Body}
}

// topIndex returns the position, among the root's statements, of the one holding target
// (-1 when none does).
func (s *Schedule) topIndex(target Stmt) int {
	path := s.pathTo(target)
	if len(path) < 2 {
		return -1
	}
	top := path[1]
	if _, ok := top.(*Seq); ok && len(path) >= 3 {
		top = path[2]
	}
	for i, st := range s.topStmts() {
		if st == top {
			return i
		}
	}
	return -1
}

// blocksIn returns the blocks under s, in program order.
func blocksIn(s Stmt) []*Block {
	var out []*Block
	WalkStmt(s, func(x Stmt) bool {
		if b, ok := x.(*Block); ok {
			out = append(out, b)
		}
		return true
	})
	return out
}

// blocksInTop returns the blocks of the root statements lo..hi (inclusive), in program order.
func (s *Schedule) blocksInTop(lo, hi int) []*Block {
	var out []*Block
	for i, st := range s.topStmts() {
		if i >= lo && i <= hi {
			out = append(out, blocksIn(st)...)
		}
	}
	return out
}

// soleChain reports whether the root statement holding b is a chain of loops, each the only
// statement of the previous, ending in b.
func (s *Schedule) soleChain(b *Block) bool {
	path := s.pathTo(b)
	if len(path) < 2 {
		return false
	}
	i := 1
	if _, ok := path[1].(*Seq); ok {
		i = 2
	}
	for ; i < len(path)-1; i++ {
		lp, ok := path[i].(*Loop)
		if !ok || lp.Body != path[i+1] {
			return false
		}
	}
	return true
}

// removeStmt removes a statement from the program together with the loops left empty by the
// removal.
func (s *Schedule) removeStmt(target Stmt) {
	path := s.pathTo(target)
	for i := len(path) - 1; i >= 1; i-- {
		parent := path[i-1]
		replaceChild(parent, path[i], nil)
		empty := false
		switch p := parent.(type) {
		case *Loop:
			empty = p.Body == nil
		case *Seq:
			empty = len(p.Stmts) == 0
		}
		if !empty || i-1 == 0 {
			break
		}
	}
	if s.fn.Root.Body == nil {
		s.fn.Root.Body = &Seq{}
	}
	s.fn.Root.Body = normalizeSeqs(s.fn.Root.Body)
}

// insertInto puts st at position i of the statements of a body (a sequence or one statement)
// and returns the new body.
func insertInto(body Stmt, i int, st Stmt) Stmt {
	var stmts []Stmt
	if seq, ok := body.(*Seq); ok {
		stmts = seq.Stmts
	} else if body != nil {
		stmts = []Stmt{body}
	}
	i = max(0, min(i, len(stmts)))
	out := make([]Stmt, 0, len(stmts)+1)
	out = append(out, stmts[:i]...)
	out = append(out, st)
	out = append(out, stmts[i:]...)
	if seq, ok := body.(*Seq); ok {
		seq.Stmts = out
		return seq
	}
	return &Seq{Stmts: out}
}

// bodyStmts lists the statements of a body (a sequence or a single statement).
func bodyStmts(body Stmt) []Stmt {
	if seq, ok := body.(*Seq); ok {
		return seq.Stmts
	}
	if body == nil {
		return nil
	}
	return []Stmt{body}
}

// removeAlloc drops a buffer's allocation from whichever block allocates it.
func (s *Schedule) removeAlloc(buf *Buffer) {
	for _, b := range append([]*Block{s.fn.Root}, s.fn.Blocks()...) {
		for i, a := range b.Allocs {
			if a == buf {
				b.Allocs = append(b.Allocs[:i:i], b.Allocs[i+1:]...)
				if len(b.Allocs) == 0 {
					b.Allocs = nil
				}
				return
			}
		}
	}
}

func (s *Schedule) isParam(buf *Buffer) bool {
	for _, p := range s.fn.Params {
		if p == buf {
			return true
		}
	}
	return false
}

// freshName returns base, or base_1, base_2, ... : the first name no block and no buffer of
// the program carries.
func (s *Schedule) freshName(base string) string {
	used := map[string]bool{s.fn.Root.Name: true}
	for _, p := range s.fn.Params {
		if p != nil {
			used[p.Name] = true
		}
	}
	for _, b := range append([]*Block{s.fn.Root}, s.fn.Blocks()...) {
		used[b.Name] = true
		for _, a := range b.Allocs {
			if a != nil {
				used[a.Name] = true
			}
		}
	}
	name := base
	for i := 1; used[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	return name
}

// loopRanges returns the ranges of the given loops' variables.
func loopRanges(loops []*Loop) map[*Var]interval {
	m := map[*Var]interval{}
	for _, l := range loops {
		if l.Var != nil {
			m[l.Var] = interval{0, int64(l.Extent) - 1}
		}
	}
	return m
}

// bindingMap maps a block's iterators to their bindings.
func bindingMap(b *Block) map[*Var]Expr {
	m := map[*Var]Expr{}
	for i, iv := range b.IterVars {
		if i < len(b.Bindings) && iv.Var != nil {
			m[iv.Var] = b.Bindings[i]
		}
	}
	return m
}

// nestFor builds the loops of a block placed over the given iterator ranges: a loop ax<N> per
// range wider than one, the iterator bound to min + ax<N>; an iterator of a one-wide range is
// bound to its min. It returns the outermost statement and the bindings.
func nestFor(b *Block, ranges []Range) (Stmt, []Expr) {
	binds := make([]Expr, len(ranges))
	var loops []*Loop
	for i, r := range ranges {
		if r.Extent <= 1 {
			binds[i] = r.Min
			continue
		}
		lp := &Loop{Var: NewVar("ax" + strconv.Itoa(len(loops))), Extent: r.Extent}
		loops = append(loops, lp)
		binds[i] = Simplify(Bin(Add, r.Min, lp.Var))
	}
	var body Stmt = b
	for i := len(loops) - 1; i >= 0; i-- {
		loops[i].Body = body
		body = loops[i]
	}
	return body, binds
}

// copyBlock builds a block name that copies src into dst over their whole (equal) shape, in
// its own loop nest ax0, ax1, ...
func copyBlock(name string, src, dst *Buffer) (*Block, Stmt) {
	n := len(dst.Shape)
	iters := make([]IterVar, n)
	idx := make([]Expr, n)
	for d, ext := range dst.Shape {
		v := NewVar("v" + strconv.Itoa(d))
		iters[d] = IterVar{Var: v, Extent: ext, Kind: Spatial}
		idx[d] = v
	}
	blk := &Block{
		Name:     name,
		IterVars: iters,
		Body:     &Store{Buffer: dst, Indices: idx, Value: &Load{Buffer: src, Indices: append([]Expr(nil), idx...)}},
	}
	inferRegions(blk)
	// Every dimension gets its own loop, even of extent 1, as a copy nest in TVM does.
	var body Stmt = blk
	binds := make([]Expr, n)
	loops := make([]*Loop, n)
	for d := range n {
		loops[d] = &Loop{Var: NewVar("ax" + strconv.Itoa(d)), Extent: dst.Shape[d]}
		binds[d] = loops[d].Var
	}
	for d := n - 1; d >= 0; d-- {
		loops[d].Body = body
		body = loops[d]
	}
	blk.Bindings = binds
	return blk, body
}
