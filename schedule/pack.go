package schedule

import (
	"fmt"
	"strings"
)

// Packing is a constant input stored in another layout, as TVM's layout rewrite does: the
// kernel reads Packed, which a packing function fills once from the input in its declared
// layout (Original) before any timed call. The layout is panels of the last dimension:
// Original[i..., n] is Packed[n / Factor, i..., n % Factor], so a kernel that walks Factor
// consecutive elements of the last dimension for each step of the others reads memory in
// order.
type Packing struct {
	Original *Buffer
	Packed   *Buffer
	Factor   int
}

// PackedIndex is where an element of the original layout lives in the packed one.
func (p *Packing) PackedIndex(idx []Expr) []Expr {
	last := len(idx) - 1
	out := []Expr{Bin(FloorDiv, idx[last], Int(int64(p.Factor)))}
	out = append(out, idx[:last]...)
	return append(out, Bin(FloorMod, idx[last], Int(int64(p.Factor))))
}

// Layout describes the packed layout in one line, e.g. "W[k, n] = W_packed[n // 64, k, n % 64]".
func (p *Packing) Layout() string {
	vars := make([]string, len(p.Original.Shape))
	for i := range vars {
		vars[i] = fmt.Sprintf("i%d", i)
	}
	last := len(vars) - 1
	packed := append([]string{fmt.Sprintf("%s // %d", vars[last], p.Factor)}, vars[:last]...)
	packed = append(packed, fmt.Sprintf("%s %% %d", vars[last], p.Factor))
	return fmt.Sprintf("%s[%s] = %s[%s]", p.Original.Name, strings.Join(vars, ", "), p.Packed.Name, strings.Join(packed, ", "))
}

// PackingOf returns the packing whose Packed buffer is b, or nil.
func (f *Func) PackingOf(b *Buffer) *Packing {
	for _, p := range f.Packings {
		if p.Packed == b {
			return p
		}
	}
	return nil
}

// PackPanels stores the constant input parameter named name in panels of factor elements of
// its last dimension (see Packing); every load of it is rewritten to the packed layout. The
// parameter must be marked constant, not already packed, and its last dimension a multiple of
// the factor.
func (s *Schedule) PackPanels(name string, factor IntRV) error {
	f, err := s.IntValue(factor)
	if err != nil {
		return primError("pack_panels", "factor: %v", err)
	}
	at := -1
	for i, p := range s.fn.Params {
		if p.Name == name {
			at = i
		}
	}
	if at < 0 {
		return primError("pack_panels", "found no parameter %q, want a constant input", name)
	}
	orig := s.fn.Params[at]
	switch {
	case !orig.Constant:
		return primError("pack_panels", "%s is not a constant input; only constant inputs (weights) may be packed", name)
	case s.fn.PackingOf(orig) != nil:
		return primError("pack_panels", "%s is already packed", name)
	case len(orig.Shape) == 0:
		return primError("pack_panels", "%s is a scalar", name)
	case f < 1 || orig.Shape[len(orig.Shape)-1]%f != 0:
		return primError("pack_panels", "found factor %d, want a divisor of %s's last dimension %d", f, name, orig.Shape[len(orig.Shape)-1])
	}
	for _, b := range s.fn.Blocks() {
		if blockWritesBuf(b, orig) {
			return primError("pack_panels", "block %s writes %s", b.Name, name)
		}
	}
	last := orig.Shape[len(orig.Shape)-1]
	shape := append([]int{last / f}, orig.Shape[:len(orig.Shape)-1]...)
	packed := &Buffer{Name: name + "_packed", Shape: append(shape, f), DType: orig.DType, Scope: Global, Constant: true}
	p := &Packing{Original: orig, Packed: packed, Factor: f}
	for _, b := range s.fn.Blocks() {
		if !blockReadsBuf(b, orig) {
			continue
		}
		rewrite := func(e Expr) Expr {
			return replaceLoads(e, func(ld *Load) (Expr, bool) {
				if ld.Buffer != orig || len(ld.Indices) != len(orig.Shape) {
					return nil, false
				}
				return &Load{Buffer: packed, Indices: p.PackedIndex(ld.Indices)}, true
			})
		}
		rewriteStmtExprs(b, rewrite)
		inferRegions(b)
	}
	s.fn.Params[at] = packed
	s.fn.Packings = append(s.fn.Packings, p)
	s.record(Inst{Kind: KindPackPanels, Name: name}, []string{s.intName(factor)}, nil)
	return nil
}

// rewriteStmtExprs replaces every expression a block's own statements hold (init, body,
// predicate; not nested blocks, which the caller visits itself) by fn of it.
func rewriteStmtExprs(b *Block, fn func(Expr) Expr) {
	if b.Predicate != nil {
		b.Predicate = fn(b.Predicate)
	}
	var visit func(st Stmt)
	visit = func(st Stmt) {
		switch st := st.(type) {
		case *Store:
			st.Value = fn(st.Value)
			for i, x := range st.Indices {
				st.Indices[i] = fn(x)
			}
		case *Seq:
			for _, c := range st.Stmts {
				visit(c)
			}
		case *Loop:
			visit(st.Body)
		}
	}
	visit(b.Init)
	visit(b.Body)
}

// checkPackings reports what is wrong with a program's packings, for Verify.
func checkPackings(f *Func) []string {
	var problems []string
	for _, p := range f.Packings {
		switch {
		case p == nil || p.Original == nil || p.Packed == nil:
			problems = append(problems, "a packing without its buffers")
			continue
		case p.Factor < 1 || len(p.Original.Shape) == 0 || p.Original.Shape[len(p.Original.Shape)-1]%p.Factor != 0:
			problems = append(problems, fmt.Sprintf("packing of %s with factor %d", p.Original.Name, p.Factor))
			continue
		}
		want := append([]int{p.Original.Shape[len(p.Original.Shape)-1] / p.Factor}, p.Original.Shape[:len(p.Original.Shape)-1]...)
		want = append(want, p.Factor)
		if fmt.Sprint(want) != fmt.Sprint(p.Packed.Shape) || p.Packed.DType != p.Original.DType {
			problems = append(problems, fmt.Sprintf("packed %s has shape %v, want %v", p.Original.Name, p.Packed.Shape, want))
		}
		isParam := false
		for _, q := range f.Params {
			isParam = isParam || q == p.Packed
		}
		if !isParam {
			problems = append(problems, fmt.Sprintf("packed %s is not a parameter", p.Original.Name))
		}
	}
	return problems
}

// contiguousConstants lists the constant parameters a block reads with its last spatial
// iterator as their last index, plainly: the operands a micro-kernel over that iterator reads
// as vectors, which panels make contiguous.
func contiguousConstants(f *Func, b *Block) []*Buffer {
	var last *Var
	for _, iv := range b.IterVars {
		if iv.Kind == Spatial {
			last = iv.Var
		}
	}
	var out []*Buffer
	seen := map[*Buffer]bool{}
	blockLoads(b, func(ld *Load) {
		if last == nil || seen[ld.Buffer] || !ld.Buffer.Constant || len(ld.Indices) == 0 || ld.Indices[len(ld.Indices)-1] != Expr(last) {
			return
		}
		for _, p := range f.Params {
			if p == ld.Buffer {
				seen[ld.Buffer] = true
				out = append(out, ld.Buffer)
			}
		}
	})
	return out
}

// PackValues lays out the values of the original buffer (row-major) in the packed layout, as
// the generated packing function does.
func (p *Packing) PackValues(src []float64) []float64 {
	shape := p.Original.Shape
	last := shape[len(shape)-1]
	rows := len(src) / max(last, 1)
	dst := make([]float64, len(src))
	for r := 0; r < rows; r++ {
		for n := 0; n < last; n++ {
			dst[((n/p.Factor)*rows+r)*p.Factor+n%p.Factor] = src[r*last+n]
		}
	}
	return dst
}
