package schedule

import "fmt"

// Footprint is the part of a shared-memory or local buffer that one GPU block (shared) or
// one thread (local) uses: per dimension an offset over the variables of the loops enclosing
// every access of the buffer, and an extent. The backend allocates only that part and indexes
// it relative to the offset, as TVM's buffer compaction does.
type Footprint struct {
	Offsets []Expr
	Shape   []int
}

// Elems is the number of elements of the footprint.
func (fp Footprint) Elems() int64 {
	n := int64(1)
	for _, d := range fp.Shape {
		n *= int64(d)
	}
	return n
}

// bufferAccess is one load or store of a buffer with the loops around its block.
type bufferAccess struct {
	loops    []*Loop
	block    *Block
	bindings map[*Var]Expr
	indices  []Expr
}

// Footprints computes the footprint of every shared and local buffer allocated in the root
// block. The variables fixed in a footprint's offsets are those of the loops around every
// access of the buffer, except, for shared memory, the loops bound to threadIdx (the block's
// threads share the buffer). A buffer whose accesses cannot be bounded that way is an error.
func Footprints(f *Func) (_ map[*Buffer]Footprint, err error) {
	defer guardInput("Footprints", &err)
	if f == nil || f.Root == nil {
		return nil, fmt.Errorf("footprints: no program")
	}
	wanted := map[*Buffer]bool{}
	for _, b := range f.Root.Allocs {
		if b != nil && (b.Scope == Shared || b.Scope == Local) {
			wanted[b] = true
		}
	}
	accesses := map[*Buffer][]bufferAccess{}
	var walk func(st Stmt, loops []*Loop)
	walk = func(st Stmt, loops []*Loop) {
		switch st := st.(type) {
		case *Seq:
			for _, c := range st.Stmts {
				walk(c, loops)
			}
		case *Loop:
			walk(st.Body, append(loops[:len(loops):len(loops)], st))
		case *Block:
			m := bindingMap(st)
			add := func(buf *Buffer, idx []Expr) {
				if wanted[buf] {
					accesses[buf] = append(accesses[buf], bufferAccess{loops: loops, block: st, bindings: m, indices: idx})
				}
			}
			blockLoads(st, func(ld *Load) { add(ld.Buffer, ld.Indices) })
			blockStores(st, func(s *Store) { add(s.Buffer, s.Indices) })
			walk(st.Body, loops)
		}
	}
	walk(f.Root.Body, nil)
	out := map[*Buffer]Footprint{}
	for _, buf := range f.Root.Allocs {
		acc := accesses[buf]
		if len(acc) == 0 {
			continue
		}
		fp, err := footprintOf(buf, acc)
		if err != nil {
			return nil, err
		}
		out[buf] = fp
	}
	return out, nil
}

func footprintOf(buf *Buffer, acc []bufferAccess) (Footprint, error) {
	common := acc[0].loops
	for _, a := range acc[1:] {
		n := 0
		for n < len(common) && n < len(a.loops) && common[n] == a.loops[n] {
			n++
		}
		common = common[:n]
	}
	free := map[*Var]int{}
	fixed := loopRanges(common)
	if buf.Scope == Shared {
		for _, lp := range common {
			if lp.Kind == ThreadBound && isThreadIdx(lp.Thread) {
				free[lp.Var] = lp.Extent
				delete(fixed, lp.Var)
			}
		}
	}
	perDim := make([][]Expr, len(buf.Shape))
	for _, a := range acc {
		if len(a.indices) != len(buf.Shape) {
			return Footprint{}, fmt.Errorf("block %q accesses %s with %d indices, want %d", a.block.Name, buf.Name, len(a.indices), len(buf.Shape))
		}
		for _, lp := range a.loops[len(common):] {
			if lp.Var != nil {
				free[lp.Var] = lp.Extent
			}
		}
		for d, x := range a.indices {
			perDim[d] = append(perDim[d], Substitute(x, a.bindings))
		}
	}
	fp := Footprint{Offsets: make([]Expr, len(buf.Shape)), Shape: make([]int, len(buf.Shape))}
	for d, xs := range perDim {
		r, ok := coverRange(xs, free)
		if ok && r.Extent < buf.Shape[d] {
			if _, bounded := bounds(r.Min, fixed); !bounded {
				ok = false
			}
		}
		r = clipRange(r, ok, buf.Shape[d], fixed)
		fp.Offsets[d], fp.Shape[d] = r.Min, r.Extent
	}
	return fp, nil
}

// isThreadIdx reports whether a GPU axis is one of the thread indices within a block.
func isThreadIdx(axis string) bool {
	return axis == "threadIdx.x" || axis == "threadIdx.y" || axis == "threadIdx.z"
}
