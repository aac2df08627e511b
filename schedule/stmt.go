package schedule

import (
	"sort"
	"strconv"
)

// Stmt is a statement: a loop, a block, a store or a sequence of statements.
type Stmt interface{ isStmt() }

// Seq runs its statements in order.
type Seq struct{ Stmts []Stmt }

// LoopKind says how a loop's iterations are executed.
type LoopKind int

// Loop kinds. ThreadBound loops are mapped to a GPU thread axis named in Loop.Thread.
const (
	Serial LoopKind = iota
	Parallel
	Vectorized
	Unrolled
	ThreadBound
)

var loopKindNames = [...]string{"serial", "parallel", "vectorized", "unroll", "thread_binding"}

// String is the kind's name as the printer shows it (T.serial, T.parallel, ...).
func (k LoopKind) String() string {
	if k < 0 || int(k) >= len(loopKindNames) {
		return "unknown"
	}
	return loopKindNames[k]
}

// Loop runs Body for Var = 0 .. Extent-1.
type Loop struct {
	Var         *Var
	Extent      int
	Kind        LoopKind
	Thread      string // GPU axis such as "threadIdx.x"; only for ThreadBound loops
	Annotations Annotations
	Body        Stmt
}

// IterKind says whether a block iterator is data-parallel or reduced over.
type IterKind int

// Block iterator kinds.
const (
	Spatial IterKind = iota
	Reduce
)

// Letter is the kind's letter in T.axis.remap ("S" or "R").
func (k IterKind) Letter() string {
	if k == Reduce {
		return "R"
	}
	return "S"
}

// IterVar is a block iterator: a variable with a domain [0, Extent) and a kind.
type IterVar struct {
	Var    *Var
	Extent int
	Kind   IterKind
}

// Range is the index interval [Min, Min+Extent) of one buffer dimension.
type Range struct {
	Min    Expr
	Extent int
}

// Region is the part of a buffer a block reads or writes, one range per dimension.
type Region struct {
	Buffer *Buffer
	Ranges []Range
}

// Block is the unit of computation, as in TensorIR: iterators bound to values of the enclosing
// loop variables, the regions it reads and writes, an optional init statement run when every
// reduction iterator is at its first value, and a body. A block may allocate intermediate
// buffers visible to everything nested inside it. The function's root block has no iterators.
type Block struct {
	Name        string
	IterVars    []IterVar
	Bindings    []Expr // one per iterator: its value in terms of enclosing loop variables
	Predicate   Expr   // nil means always true
	Reads       []Region
	Writes      []Region
	Init        Stmt // nil when the block does not reduce
	Body        Stmt
	Allocs      []*Buffer
	Annotations Annotations
}

// Store writes a value into one element of a buffer.
type Store struct {
	Buffer  *Buffer
	Indices []Expr
	Value   Expr
}

func (*Seq) isStmt()   {}
func (*Loop) isStmt()  {}
func (*Block) isStmt() {}
func (*Store) isStmt() {}

// Annotations are key/value hints attached to loops and blocks (for example
// "pragma_auto_unroll_max_step"). Values are strings; integers are stored in decimal.
type Annotations map[string]string

// Keys returns the keys in sorted order, so that printing and hashing are deterministic.
func (a Annotations) Keys() []string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Int returns the annotation's value as an integer, and whether it is one.
func (a Annotations) Int(key string) (int64, bool) {
	v, ok := a[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// Func is a tensor program: parameter buffers (inputs and outputs) and a root block whose
// body is the computation.
type Func struct {
	Name   string
	Params []*Buffer
	Root   *Block
	// Packings are the constant inputs the schedule stores in another layout; their Packed
	// buffers are among Params, in the place of the inputs as declared.
	Packings []*Packing
}

// Blocks returns every block below the root in program order.
func (f *Func) Blocks() []*Block {
	var out []*Block
	WalkStmt(f.Root.Body, func(s Stmt) bool {
		if b, ok := s.(*Block); ok {
			out = append(out, b)
		}
		return true
	})
	return out
}

// OutputParams returns the parameters some block writes, in parameter order.
func (f *Func) OutputParams() []*Buffer {
	written := map[*Buffer]bool{}
	WalkStmt(f.Root.Body, func(s Stmt) bool {
		if st, ok := s.(*Store); ok {
			written[st.Buffer] = true
		}
		return true
	})
	var out []*Buffer
	for _, p := range f.Params {
		if written[p] {
			out = append(out, p)
		}
	}
	return out
}

// InputParams returns the parameters no block writes, in parameter order.
func (f *Func) InputParams() []*Buffer {
	outs := map[*Buffer]bool{}
	for _, p := range f.OutputParams() {
		outs[p] = true
	}
	var in []*Buffer
	for _, p := range f.Params {
		if !outs[p] {
			in = append(in, p)
		}
	}
	return in
}
