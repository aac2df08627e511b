package scoring

import (
	"fmt"
	"math"

	"colt/schedule"
)

// This file holds the loop-nest analysis that both Extract and Estimate read: every buffer
// store of a program with the loops around it, and its index expressions rewritten in terms of
// those loops' variables and compiled into a small DAG that interval and point evaluation run
// over quickly.

// maxNestDepth bounds the number of (non-unit) loops around one store; dependence masks are
// 64-bit words.
const maxNestDepth = 64

// maxStmtDepth bounds the nesting of statements the analysis follows, so that a malformed
// program whose statements form a cycle is an error rather than a stack overflow.
const maxStmtDepth = 4096

// unknownBound stands for an index bound the analysis cannot compute; regions are clamped to
// the buffer's shape afterwards.
const unknownBound = 1e15

// cop is the operator of a compiled integer expression node.
type cop uint8

const (
	opConst cop = iota
	opLoop      // a loop variable; k is its position in the nest (0 = outermost)
	opAdd
	opSub
	opMul
	opDiv // floor division
	opMod // floor modulo
	opMin
	opMax
	opUnknown // something the analysis does not model (a load in an index, a select, ...)
)

// cnode is one node of a store's compiled integer expressions. Operands precede the node, so
// the node slice is in topological order.
type cnode struct {
	op   cop
	a, b int32
	k    int64
}

// nestLoop is a loop around a store. Loops of extent 1 are left out of nests: they execute once
// and move no index (their variables compile to the constant 0).
type nestLoop struct {
	loop   *schedule.Loop
	extent int64
	kind   schedule.LoopKind
	thread string
	step   int64 // auto-unroll step in effect at the loop (its own annotation included)
}

// access is one buffer a store touches: the store's own write and/or the loads of its value.
type access struct {
	buf         *schedule.Buffer
	read, write bool
	tuples      [][]int32 // distinct index tuples (node ids), the write's and the loads'
	readTuples  [][]int32 // distinct index tuples of the loads
	mask        uint64    // the loops (bit = nest position) the indices depend on
	order       int       // order of first appearance: the write first, then loads left to right
}

// storeNest is one store of a program with everything the features and the estimate need.
type storeNest struct {
	store  *schedule.Store
	block  *schedule.Block
	init   bool       // the store is a block's T.init() statement
	loops  []nestLoop // non-unit loops around the store, outermost first
	unroll int64      // auto-unroll step in effect at the store (0 = none)
	nodes  []cnode
	masks  []uint64 // per node: the loops it depends on
	accs   []access
	ops    opCounts // per execution of the store
	// spatial and reduce are the loops feeding the block's spatial and reduction iterators.
	spatial, reduce uint64
	// Allocation of the written buffer: whether it is an intermediate and the product of the
	// loop extents around the block that allocates it.
	alloc      bool
	allocOuter float64
	// guarded: a load sits in an arm of a select, so the compiler cannot speculate it (no
	// if-conversion, no vectors).
	guarded bool
}

// prod is the number of times the store executes.
func (s *storeNest) prod() float64 {
	p := 1.0
	for _, l := range s.loops {
		p *= float64(l.extent)
	}
	return p
}

// innerProd is the product of the extents of the loops at positions ≥ from.
func (s *storeNest) innerProd(from int) float64 {
	p := 1.0
	for i := max(from, 0); i < len(s.loops); i++ {
		p *= float64(s.loops[i].extent)
	}
	return p
}

// opCounts are the scalar operations of one execution of a store, in TVM's groups.
type opCounts struct {
	floatMAD, floatAddSub, floatMul, floatDivMod, floatCmp, floatMath, floatOther float64
	intMAD, intAddSub, intMul, intDivMod, intCmp, intMath, intOther               float64
	boolOp, selectOp                                                              float64
}

// flops is the floating-point work of one execution, a multiply-add counting two.
func (o opCounts) flops() float64 {
	return 2*o.floatMAD + o.floatAddSub + o.floatMul + o.floatDivMod + o.floatCmp + o.floatMath + o.floatOther
}

// programNests is the analysis of a whole program.
type programNests struct {
	stores []*storeNest
	// reducing holds the loops whose variable feeds a reduction iterator of some block: the
	// backend runs those serially even when they are marked parallel or vectorized.
	reducing map[*schedule.Loop]bool
	// steps is TVM's auto-unroll step count of each loop: the stores its body executes.
	steps map[*schedule.Loop]int64
	gpu   bool // some loop is bound to a GPU thread axis
}

// binding is what a variable stands for while the walk is inside its scope.
type binding struct {
	loop int           // ≥ 0: position of a non-unit loop in the nest; -1: a unit loop (value 0)
	expr schedule.Expr // for a block iterator: its binding
	iter bool
}

type nestWalker struct {
	pn     *programNests
	env    map[*schedule.Var]binding
	loops  []nestLoop
	unroll int64
	allocs map[*schedule.Buffer]float64 // intermediate → product of loop extents around its alloc
	params map[*schedule.Buffer]bool
	inInit bool
	blocks []*schedule.Block // enclosing blocks, innermost last
}

// analyze walks a program and returns its stores in program order. A malformed program (an
// unbound variable, a buffer that is neither a parameter nor allocated, a wrong number of
// indices, a nil node, ...) is an error.
func analyze(f *schedule.Func) (pn *programNests, err error) {
	if f == nil || f.Root == nil {
		return nil, fmt.Errorf("analyze: no program")
	}
	pn = &programNests{reducing: map[*schedule.Loop]bool{}, steps: map[*schedule.Loop]int64{}}
	w := &nestWalker{pn: pn, env: map[*schedule.Var]binding{}, allocs: map[*schedule.Buffer]float64{}, params: map[*schedule.Buffer]bool{}}
	for _, p := range f.Params {
		if p == nil {
			return nil, fmt.Errorf("analyze %s: nil parameter", f.Name)
		}
		w.params[p] = true
	}
	if loopSteps(f.Root, pn.steps, 0) < 0 {
		return nil, fmt.Errorf("analyze %s: statements nested deeper than %d (a cycle?)", f.Name, maxStmtDepth)
	}
	if err := w.stmt(f.Root); err != nil {
		return nil, fmt.Errorf("analyze %s: %w", f.Name, err)
	}
	return pn, nil
}

// loopSteps records the auto-unroll step count of every loop below s (the number of stores
// executed, saturating) and returns that of s, or -1 when statements nest deeper than
// maxStmtDepth.
func loopSteps(s schedule.Stmt, steps map[*schedule.Loop]int64, depth int) int64 {
	const limit = int64(1) << 40
	if depth > maxStmtDepth {
		return -1
	}
	switch s := s.(type) {
	case *schedule.Seq:
		if s == nil {
			return 0
		}
		var n int64
		for _, c := range s.Stmts {
			k := loopSteps(c, steps, depth+1)
			if k < 0 {
				return -1
			}
			n = min(n+k, limit)
		}
		return n
	case *schedule.Loop:
		if s == nil {
			return 0
		}
		inner := loopSteps(s.Body, steps, depth+1)
		if inner < 0 {
			return -1
		}
		n := limit
		if s.Extent <= 0 {
			n = 0
		} else if inner <= limit/int64(s.Extent) {
			n = int64(s.Extent) * inner
		}
		steps[s] = n
		return n
	case *schedule.Block:
		if s == nil {
			return 0
		}
		a := loopSteps(s.Init, steps, depth+1)
		b := loopSteps(s.Body, steps, depth+1)
		if a < 0 || b < 0 {
			return -1
		}
		return min(a+b, limit)
	case *schedule.Store:
		return 1
	}
	return 0
}

func (w *nestWalker) stmt(s schedule.Stmt) error {
	switch s := s.(type) {
	case nil:
		return nil
	case *schedule.Seq:
		if s == nil {
			return nil
		}
		for _, c := range s.Stmts {
			if err := w.stmt(c); err != nil {
				return err
			}
		}
		return nil
	case *schedule.Loop:
		if s == nil {
			return fmt.Errorf("nil loop")
		}
		return w.loop(s)
	case *schedule.Block:
		if s == nil {
			return fmt.Errorf("nil block")
		}
		return w.block(s)
	case *schedule.Store:
		if s == nil {
			return fmt.Errorf("nil store")
		}
		return w.storeStmt(s)
	}
	return fmt.Errorf("unknown statement %T", s)
}

func (w *nestWalker) bind(v *schedule.Var, b binding) error {
	if v == nil {
		return fmt.Errorf("nil variable")
	}
	if _, ok := w.env[v]; ok {
		return fmt.Errorf("variable %s is bound twice", v.Name)
	}
	w.env[v] = b
	return nil
}

func (w *nestWalker) loop(l *schedule.Loop) error {
	if l.Extent < 0 {
		return fmt.Errorf("loop %s has negative extent %d", varName(l.Var), l.Extent)
	}
	if l.Extent == 0 {
		return nil // never runs: no store below executes
	}
	savedUnroll := w.unroll
	defer func() { w.unroll = savedUnroll }()
	if n, ok := l.Annotations.Int(schedule.AnnAutoUnrollStep); ok {
		w.unroll = max(n, 0)
	}
	b := binding{loop: -1}
	if l.Extent > 1 {
		if len(w.loops) >= maxNestDepth {
			return fmt.Errorf("loop nest deeper than %d", maxNestDepth)
		}
		b.loop = len(w.loops)
		w.loops = append(w.loops, nestLoop{loop: l, extent: int64(l.Extent), kind: l.Kind, thread: l.Thread, step: w.unroll})
		if l.Kind == schedule.ThreadBound {
			w.pn.gpu = true
		}
	}
	if err := w.bind(l.Var, b); err != nil {
		return err
	}
	err := w.stmt(l.Body)
	delete(w.env, l.Var)
	if b.loop >= 0 {
		w.loops = w.loops[:len(w.loops)-1]
	}
	return err
}

func varName(v *schedule.Var) string {
	if v == nil {
		return "<nil>"
	}
	return v.Name
}

func (w *nestWalker) block(b *schedule.Block) error {
	if len(b.Bindings) != len(b.IterVars) {
		return fmt.Errorf("block %s has %d iterators but %d bindings", b.Name, len(b.IterVars), len(b.Bindings))
	}
	savedUnroll := w.unroll
	defer func() { w.unroll = savedUnroll }()
	if n, ok := b.Annotations.Int(schedule.AnnAutoUnrollStep); ok {
		w.unroll = max(n, 0)
	}
	outer := 1.0
	for _, l := range w.loops {
		outer *= float64(l.extent)
	}
	for _, a := range b.Allocs {
		if a == nil {
			return fmt.Errorf("block %s allocates a nil buffer", b.Name)
		}
		if w.params[a] {
			return fmt.Errorf("block %s allocates parameter %s", b.Name, a.Name)
		}
		if _, ok := w.allocs[a]; ok {
			return fmt.Errorf("buffer %s is allocated twice", a.Name)
		}
		w.allocs[a] = outer
	}
	for i, iv := range b.IterVars {
		if b.Bindings[i] == nil {
			return fmt.Errorf("block %s: iterator %d has no binding", b.Name, i)
		}
		if err := w.bind(iv.Var, binding{loop: -1, expr: b.Bindings[i], iter: true}); err != nil {
			return fmt.Errorf("block %s: %w", b.Name, err)
		}
		if iv.Kind == schedule.Reduce {
			w.markReducing(b.Bindings[i], 0)
		}
	}
	w.blocks = append(w.blocks, b)
	err := func() error {
		if b.Init != nil {
			w.inInit = true
			err := w.stmt(b.Init)
			w.inInit = false
			if err != nil {
				return fmt.Errorf("block %s init: %w", b.Name, err)
			}
		}
		if err := w.stmt(b.Body); err != nil {
			return err
		}
		return nil
	}()
	w.blocks = w.blocks[:len(w.blocks)-1]
	for _, iv := range b.IterVars {
		delete(w.env, iv.Var)
	}
	for _, a := range b.Allocs {
		delete(w.allocs, a)
	}
	return err
}

// markReducing records the loops a reduction iterator's binding uses.
func (w *nestWalker) markReducing(e schedule.Expr, depth int) {
	if depth > 64 {
		return // bindings referring to each other in a cycle: the compiler reports it
	}
	schedule.WalkExpr(e, func(x schedule.Expr) bool {
		v, ok := x.(*schedule.Var)
		if !ok {
			return true
		}
		bd, ok := w.env[v]
		switch {
		case !ok:
		case bd.iter:
			w.markReducing(bd.expr, depth+1)
		case bd.loop >= 0:
			w.pn.reducing[w.loops[bd.loop].loop] = true
		}
		return true
	})
}

// compiler turns one store's expressions into nodes.
type compiler struct {
	w     *nestWalker
	sn    *storeNest
	cons  map[cnode]int32
	iters map[*schedule.Var]int32
	pos   []int   // nest position of each enclosing non-unit loop in this store's nest; -1: pinned to 0
	loopN []int32 // node of each enclosing loop, or -1 until used
	roots []int32 // integer expressions evaluated per execution (for the op counts)
	depth int
	arms  int // nesting in the arms of selects
}

func (c *compiler) node(n cnode) int32 {
	// Constant folding and the identities that matter for split/fuse index arithmetic.
	nodes := c.sn.nodes
	if n.op >= opAdd && n.op <= opMax {
		a, b := nodes[n.a], nodes[n.b]
		if a.op == opConst && b.op == opConst {
			if v, ok := foldConst(n.op, a.k, b.k); ok {
				return c.node(cnode{op: opConst, k: v})
			}
		}
		switch n.op {
		case opAdd:
			if a.op == opConst && a.k == 0 {
				return n.b
			}
			if b.op == opConst && b.k == 0 {
				return n.a
			}
		case opSub:
			if b.op == opConst && b.k == 0 {
				return n.a
			}
		case opMul:
			if (a.op == opConst && a.k == 0) || (b.op == opConst && b.k == 0) {
				return c.node(cnode{op: opConst})
			}
			if a.op == opConst && a.k == 1 {
				return n.b
			}
			if b.op == opConst && b.k == 1 {
				return n.a
			}
		case opDiv:
			if b.op == opConst && b.k == 1 {
				return n.a
			}
			if a.op == opConst && a.k == 0 {
				return n.a
			}
		case opMod:
			if b.op == opConst && b.k == 1 {
				return c.node(cnode{op: opConst})
			}
		}
	}
	if id, ok := c.cons[n]; ok {
		return id
	}
	id := int32(len(nodes))
	var m uint64
	switch n.op {
	case opLoop:
		m = 1 << uint(n.k)
	case opConst, opUnknown:
	default:
		m = c.sn.masks[n.a] | c.sn.masks[n.b]
	}
	c.sn.nodes = append(nodes, n)
	c.sn.masks = append(c.sn.masks, m)
	c.cons[n] = id
	return id
}

func foldConst(op cop, a, b int64) (int64, bool) {
	switch op {
	case opAdd:
		return a + b, true
	case opSub:
		return a - b, true
	case opMul:
		return a * b, true
	case opDiv:
		if b == 0 {
			return 0, false
		}
		return floorDiv(a, b), true
	case opMod:
		if b == 0 {
			return 0, false
		}
		return a - floorDiv(a, b)*b, true
	case opMin:
		return min(a, b), true
	case opMax:
		return max(a, b), true
	}
	return 0, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

var binOps = map[schedule.BinOp]cop{
	schedule.Add: opAdd, schedule.Sub: opSub, schedule.Mul: opMul,
	schedule.FloorDiv: opDiv, schedule.FloorMod: opMod, schedule.Min: opMin, schedule.Max: opMax,
}

// index compiles an integer expression.
func (c *compiler) index(e schedule.Expr) (int32, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 10000 {
		return 0, fmt.Errorf("expression nested too deeply")
	}
	switch e := e.(type) {
	case nil:
		return 0, fmt.Errorf("nil index expression")
	case *schedule.IntImm:
		if e == nil {
			return 0, fmt.Errorf("nil constant")
		}
		return c.node(cnode{op: opConst, k: e.Value}), nil
	case *schedule.Var:
		if e == nil {
			return 0, fmt.Errorf("nil variable")
		}
		bd, ok := c.w.env[e]
		if !ok {
			return 0, fmt.Errorf("variable %s is not bound by an enclosing loop or block", e.Name)
		}
		if bd.iter {
			if id, ok := c.iters[e]; ok {
				return id, nil
			}
			id, err := c.index(bd.expr)
			if err != nil {
				return 0, err
			}
			c.iters[e] = id
			return id, nil
		}
		if bd.loop < 0 || bd.loop >= len(c.pos) || c.pos[bd.loop] < 0 {
			return c.node(cnode{op: opConst}), nil
		}
		if c.loopN[bd.loop] < 0 {
			c.loopN[bd.loop] = c.node(cnode{op: opLoop, k: int64(c.pos[bd.loop])})
		}
		return c.loopN[bd.loop], nil
	case *schedule.Binary:
		if e == nil {
			return 0, fmt.Errorf("nil expression")
		}
		op, ok := binOps[e.Op]
		if !ok || e.A == nil || e.B == nil || e.A.Type().IsFloat() {
			if err := c.value(e); err != nil {
				return 0, err
			}
			return c.node(cnode{op: opUnknown, k: int64(len(c.sn.nodes))}), nil
		}
		a, err := c.index(e.A)
		if err != nil {
			return 0, err
		}
		b, err := c.index(e.B)
		if err != nil {
			return 0, err
		}
		return c.node(cnode{op: op, a: a, b: b}), nil
	}
	// A load, select, cast, ... inside an index: count its work, treat its value as unknown.
	if err := c.value(e); err != nil {
		return 0, err
	}
	return c.node(cnode{op: opUnknown, k: int64(len(c.sn.nodes))}), nil
}

// value walks the stored value, counting operations and recording loads.
func (c *compiler) value(e schedule.Expr) error {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 10000 {
		return fmt.Errorf("expression nested too deeply")
	}
	o := &c.sn.ops
	switch e := e.(type) {
	case nil:
		return fmt.Errorf("nil expression")
	case *schedule.IntImm, *schedule.FloatImm:
		return nil
	case *schedule.Var:
		id, err := c.index(e)
		c.roots = append(c.roots, id)
		return err
	case *schedule.Binary:
		if e == nil || e.A == nil || e.B == nil {
			return fmt.Errorf("binary expression with a nil operand")
		}
		float := e.A.Type().IsFloat()
		switch {
		case e.Op.IsLogic():
			o.boolOp++
			return c.values(e.A, e.B)
		case e.Op.IsCompare():
			if float {
				o.floatCmp++
				return c.values(e.A, e.B)
			}
			o.intCmp++
			return c.intRoots(e.A, e.B)
		case !float:
			return c.intRoots(e)
		}
		switch e.Op {
		case schedule.Add, schedule.Sub:
			if m, ok := e.B.(*schedule.Binary); ok && m.Op == schedule.Mul {
				o.floatMAD++
				return c.values(e.A, m.A, m.B)
			}
			if m, ok := e.A.(*schedule.Binary); ok && m.Op == schedule.Mul && e.Op == schedule.Add {
				o.floatMAD++
				return c.values(m.A, m.B, e.B)
			}
			o.floatAddSub++
		case schedule.Mul:
			o.floatMul++
		case schedule.Div, schedule.FloorDiv, schedule.FloorMod:
			o.floatDivMod++
		case schedule.Min, schedule.Max:
			o.floatCmp++
		default:
			o.floatOther++
		}
		return c.values(e.A, e.B)
	case *schedule.Not:
		if e == nil {
			return fmt.Errorf("nil expression")
		}
		o.boolOp++
		return c.value(e.X)
	case *schedule.Select:
		if e == nil {
			return fmt.Errorf("nil expression")
		}
		o.selectOp++
		if err := c.value(e.Cond); err != nil {
			return err
		}
		c.arms++
		defer func() { c.arms-- }()
		return c.values(e.Then, e.Else)
	case *schedule.Cast:
		if e == nil {
			return fmt.Errorf("nil expression")
		}
		return c.value(e.X)
	case *schedule.Call:
		if e == nil {
			return fmt.Errorf("nil expression")
		}
		switch e.Fn {
		case schedule.Relu, schedule.Abs:
			o.floatOther++
		case schedule.Exp, schedule.Log, schedule.Sqrt, schedule.Rsqrt, schedule.Tanh, schedule.Sigmoid,
			schedule.Silu, schedule.Gelu, schedule.Erf:
			o.floatMath++
		default:
			o.floatOther++
		}
		return c.values(e.Args...)
	case *schedule.Load:
		if e == nil {
			return fmt.Errorf("nil load")
		}
		if c.arms > 0 {
			c.sn.guarded = true
		}
		return c.access(e.Buffer, e.Indices, false)
	}
	return fmt.Errorf("unknown expression %T", e)
}

func (c *compiler) values(es ...schedule.Expr) error {
	for _, e := range es {
		if err := c.value(e); err != nil {
			return err
		}
	}
	return nil
}

func (c *compiler) intRoots(es ...schedule.Expr) error {
	for _, e := range es {
		id, err := c.index(e)
		if err != nil {
			return err
		}
		c.roots = append(c.roots, id)
	}
	return nil
}

// access records a load (write=false) or the store of a buffer.
func (c *compiler) access(b *schedule.Buffer, idx []schedule.Expr, write bool) error {
	if b == nil {
		return fmt.Errorf("access to a nil buffer")
	}
	if !c.w.params[b] {
		if _, ok := c.w.allocs[b]; !ok {
			return fmt.Errorf("buffer %s is neither a parameter nor allocated in an enclosing block", b.Name)
		}
	}
	if len(idx) != len(b.Shape) {
		return fmt.Errorf("buffer %s has %d dimensions but is accessed with %d indices", b.Name, len(b.Shape), len(idx))
	}
	for _, d := range b.Shape {
		if d < 0 {
			return fmt.Errorf("buffer %s has a negative dimension", b.Name)
		}
	}
	t := make([]int32, len(idx))
	for i, e := range idx {
		id, err := c.index(e)
		if err != nil {
			return fmt.Errorf("index of %s: %w", b.Name, err)
		}
		t[i] = id
		c.roots = append(c.roots, id)
	}
	var a *access
	for i := range c.sn.accs {
		if c.sn.accs[i].buf == b {
			a = &c.sn.accs[i]
			break
		}
	}
	if a == nil {
		c.sn.accs = append(c.sn.accs, access{buf: b, order: len(c.sn.accs)})
		a = &c.sn.accs[len(c.sn.accs)-1]
	}
	if write {
		a.write = true
	} else {
		a.read = true
	}
	for _, u := range t {
		a.mask |= c.sn.masks[u]
	}
	a.tuples = addTuple(a.tuples, t)
	if !write {
		a.readTuples = addTuple(a.readTuples, t)
	}
	return nil
}

// addTuple adds t to ts unless an equal tuple is there.
func addTuple(ts [][]int32, t []int32) [][]int32 {
	for _, old := range ts {
		if equalTuple(old, t) {
			return ts
		}
	}
	return append(ts, t)
}

// perExec is the number of element accesses of the buffer per execution of the store: the
// write, if any, and each distinct load.
func (a *access) perExec() float64 {
	n := float64(len(a.readTuples))
	if a.write {
		n++
	}
	return n
}

func equalTuple(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (w *nestWalker) storeStmt(st *schedule.Store) error {
	if len(w.blocks) == 0 {
		return fmt.Errorf("store to %s outside every block", bufName(st.Buffer))
	}
	blk := w.blocks[len(w.blocks)-1]
	pos := make([]int, len(w.loops))
	for i := range pos {
		pos[i] = i
	}
	var pinned uint64
	if w.inInit {
		// The init runs when every reduction iterator is at its first value: the loops that feed
		// only reduction iterators are pinned to 0 and do not repeat the init.
		scratch := newCompiler(w, &storeNest{}, pos)
		var sp, rd uint64
		for _, iv := range blk.IterVars {
			id, err := scratch.index(iv.Var)
			if err != nil {
				return fmt.Errorf("block %s: %w", blk.Name, err)
			}
			if iv.Kind == schedule.Reduce {
				rd |= scratch.sn.masks[id]
			} else {
				sp |= scratch.sn.masks[id]
			}
		}
		pinned = rd &^ sp
	}
	sn := &storeNest{store: st, block: blk, init: w.inInit, unroll: w.unroll}
	n := 0
	for i, l := range w.loops {
		if pinned&(1<<uint(i)) != 0 {
			pos[i] = -1
			continue
		}
		pos[i] = n
		n++
		sn.loops = append(sn.loops, l)
	}
	c := newCompiler(w, sn, pos)
	for _, iv := range blk.IterVars {
		id, err := c.index(iv.Var)
		if err != nil {
			return fmt.Errorf("block %s: %w", blk.Name, err)
		}
		if iv.Kind == schedule.Reduce {
			sn.reduce |= sn.masks[id]
		} else {
			sn.spatial |= sn.masks[id]
		}
	}
	if err := c.access(st.Buffer, st.Indices, true); err != nil {
		return err
	}
	if err := c.value(st.Value); err != nil {
		return fmt.Errorf("value stored into %s: %w", st.Buffer.Name, err)
	}
	c.countIntOps()
	if outer, ok := w.allocs[st.Buffer]; ok {
		sn.alloc, sn.allocOuter = true, outer
	}
	w.pn.stores = append(w.pn.stores, sn)
	return nil
}

func newCompiler(w *nestWalker, sn *storeNest, pos []int) *compiler {
	c := &compiler{w: w, sn: sn, cons: map[cnode]int32{}, iters: map[*schedule.Var]int32{}, pos: pos, loopN: make([]int32, len(pos))}
	for i := range c.loopN {
		c.loopN[i] = -1
	}
	return c
}

func bufName(b *schedule.Buffer) string {
	if b == nil {
		return "<nil>"
	}
	return b.Name
}

// countIntOps counts the distinct integer operations of the store's index arithmetic (shared
// subexpressions once, as a compiler would compute them).
func (c *compiler) countIntOps() {
	nodes := c.sn.nodes
	live := make([]bool, len(nodes))
	for _, r := range c.roots {
		live[r] = true
	}
	for i := len(nodes) - 1; i >= 0; i-- {
		if live[i] && nodes[i].op >= opAdd && nodes[i].op <= opMax {
			live[nodes[i].a], live[nodes[i].b] = true, true
		}
	}
	o := &c.sn.ops
	for i, n := range nodes {
		if !live[i] {
			continue
		}
		switch n.op {
		case opAdd, opSub:
			if nodes[n.a].op == opMul || nodes[n.b].op == opMul {
				o.intMAD++
				o.intMul--
			} else {
				o.intAddSub++
			}
		case opMul:
			o.intMul++
		case opDiv, opMod:
			o.intDivMod++
		case opMin, opMax:
			o.intCmp++
		case opUnknown:
			o.intOther++
		}
	}
	o.intMul = max(o.intMul, 0)
}

// intervals computes, for every node, its range when the loops at positions ≥ level run over
// their whole extent and the outer ones are at their first iteration.
func (s *storeNest) intervals(level int, lo, hi []float64) {
	for i, n := range s.nodes {
		switch n.op {
		case opConst:
			lo[i], hi[i] = float64(n.k), float64(n.k)
		case opLoop:
			lo[i], hi[i] = 0, 0
			if int(n.k) >= level {
				hi[i] = float64(s.loops[n.k].extent - 1)
			}
		case opAdd:
			lo[i], hi[i] = lo[n.a]+lo[n.b], hi[n.a]+hi[n.b]
		case opSub:
			lo[i], hi[i] = lo[n.a]-hi[n.b], hi[n.a]-lo[n.b]
		case opMul:
			p1, p2, p3, p4 := lo[n.a]*lo[n.b], lo[n.a]*hi[n.b], hi[n.a]*lo[n.b], hi[n.a]*hi[n.b]
			lo[i], hi[i] = min(p1, p2, p3, p4), max(p1, p2, p3, p4)
		case opDiv:
			d := lo[n.b]
			if d != hi[n.b] || d <= 0 {
				lo[i], hi[i] = -unknownBound, unknownBound
				break
			}
			lo[i], hi[i] = math.Floor(lo[n.a]/d), math.Floor(hi[n.a]/d)
		case opMod:
			d := lo[n.b]
			if d != hi[n.b] || d <= 0 {
				lo[i], hi[i] = -unknownBound, unknownBound
				break
			}
			if math.Floor(lo[n.a]/d) == math.Floor(hi[n.a]/d) {
				lo[i], hi[i] = lo[n.a]-math.Floor(lo[n.a]/d)*d, hi[n.a]-math.Floor(hi[n.a]/d)*d
			} else {
				lo[i], hi[i] = 0, d-1
			}
		case opMin:
			lo[i], hi[i] = min(lo[n.a], lo[n.b]), min(hi[n.a], hi[n.b])
		case opMax:
			lo[i], hi[i] = max(lo[n.a], lo[n.b]), max(hi[n.a], hi[n.b])
		default:
			lo[i], hi[i] = -unknownBound, unknownBound
		}
	}
}

// points evaluates every node with the loops at the given values.
func (s *storeNest) points(loopVal []float64, val []float64) {
	for i, n := range s.nodes {
		switch n.op {
		case opConst:
			val[i] = float64(n.k)
		case opLoop:
			val[i] = loopVal[n.k]
		case opAdd:
			val[i] = val[n.a] + val[n.b]
		case opSub:
			val[i] = val[n.a] - val[n.b]
		case opMul:
			val[i] = val[n.a] * val[n.b]
		case opDiv:
			if val[n.b] == 0 {
				val[i] = 0
			} else {
				val[i] = math.Floor(val[n.a] / val[n.b])
			}
		case opMod:
			if val[n.b] == 0 {
				val[i] = 0
			} else {
				val[i] = val[n.a] - math.Floor(val[n.a]/val[n.b])*val[n.b]
			}
		case opMin:
			val[i] = min(val[n.a], val[n.b])
		case opMax:
			val[i] = max(val[n.a], val[n.b])
		default:
			val[i] = 0
		}
	}
}

// footprint is the number of elements of access a the loops at positions ≥ level touch: the
// bounding box of its index tuples, clamped to the buffer's shape.
func (a *access) footprint(lo, hi []float64) float64 {
	n := 1.0
	for d, size := range a.buf.Shape {
		l, h := math.Inf(1), math.Inf(-1)
		for _, t := range a.tuples {
			l, h = min(l, lo[t[d]]), max(h, hi[t[d]])
		}
		l, h = max(l, 0), min(h, float64(size-1))
		if h < l {
			return 0
		}
		n *= h - l + 1
	}
	return n
}

// contiguous is the length in elements of the longest contiguous run in the box the loops at
// positions ≥ level touch: the trailing dimensions covered whole, times the next one's extent.
func (a *access) contiguous(lo, hi []float64) float64 {
	run := 1.0
	for d := len(a.buf.Shape) - 1; d >= 0; d-- {
		size := float64(a.buf.Shape[d])
		l, h := math.Inf(1), math.Inf(-1)
		for _, t := range a.tuples {
			l, h = min(l, lo[t[d]]), max(h, hi[t[d]])
		}
		l, h = max(l, 0), min(h, size-1)
		ext := max(h-l+1, 1)
		run *= ext
		if ext < size {
			break
		}
	}
	return run
}

// flat is the row-major element offset of tuple t given node values.
func (a *access) flat(t []int32, val []float64) float64 {
	off := 0.0
	for d, size := range a.buf.Shape {
		off = off*float64(size) + val[t[d]]
	}
	return off
}

// nestRegions are a store's footprints at every level of its nest.
type nestRegions struct {
	fp      [][]float64 // fp[level][access]: elements touched by the loops at positions ≥ level
	bytes   []float64   // bytes[level]: Σ over accesses of fp × element size
	contig  [][]float64 // contig[level][access]: longest contiguous run (elements) of that box
	strides [][]float64 // strides[access][loop]: elements the flat index moves per iteration
	// pressure[level]: the most cache lines the loops at positions ≥ level touch that fall into
	// one set of a 4 KiB-way cache (only when asked for).
	pressure []float64
	// ownPressure[level][access]: the same for one access alone.
	ownPressure [][]float64
}

func regions(sn *storeNest) nestRegions { return computeRegions(sn, false) }

func computeRegions(sn *storeNest, withPressure bool) nestRegions {
	n := len(sn.loops)
	nn := len(sn.nodes)
	buf := make([]float64, 3*nn+n)
	lo, hi, val, loopVal := buf[:nn], buf[nn:2*nn], buf[2*nn:3*nn], buf[3*nn:]
	r := nestRegions{fp: make([][]float64, n+1), bytes: make([]float64, n+1), contig: make([][]float64, n+1)}
	fps := make([]float64, 2*(n+1)*len(sn.accs))
	cts := fps[(n+1)*len(sn.accs):]
	if withPressure {
		r.pressure = make([]float64, n+1)
		r.ownPressure = make([][]float64, n+1)
		own := make([]float64, (n+1)*len(sn.accs))
		for level := range r.ownPressure {
			r.ownPressure[level] = own[level*len(sn.accs) : (level+1)*len(sn.accs)]
		}
	}
	for level := n; level >= 0; level-- {
		sn.intervals(level, lo, hi)
		if withPressure {
			r.pressure[level] = setPressure(sn, lo, hi, r.ownPressure[level])
		}
		r.fp[level] = fps[level*len(sn.accs) : (level+1)*len(sn.accs)]
		r.contig[level] = cts[level*len(sn.accs) : (level+1)*len(sn.accs)]
		for i := range sn.accs {
			a := &sn.accs[i]
			v := a.footprint(lo, hi)
			r.fp[level][i] = v
			r.bytes[level] += v * dtypeBytes(a.buf)
			r.contig[level][i] = a.contiguous(lo, hi)
		}
	}
	// Strides: the flat index of each access with one loop at 1 (or, for a loop that moves it
	// only every few iterations, at its last value), the others at 0.
	r.strides = make([][]float64, len(sn.accs))
	st := make([]float64, len(sn.accs)*n)
	sn.points(loopVal, val)
	base := make([][]float64, len(sn.accs))
	for i := range sn.accs {
		a := &sn.accs[i]
		base[i] = make([]float64, len(a.tuples))
		for k, t := range a.tuples {
			base[i][k] = a.flat(t, val)
		}
		r.strides[i] = st[i*n : (i+1)*n]
	}
	for j := 0; j < n; j++ {
		var anyDep bool
		for i := range sn.accs {
			if sn.accs[i].mask&(1<<uint(j)) != 0 {
				anyDep = true
			}
		}
		if !anyDep {
			continue
		}
		for _, at := range []float64{1, float64(sn.loops[j].extent - 1)} {
			loopVal[j] = at
			sn.points(loopVal, val)
			loopVal[j] = 0
			done := true
			for i := range sn.accs {
				a := &sn.accs[i]
				if a.mask&(1<<uint(j)) == 0 || r.strides[i][j] != 0 {
					continue
				}
				s := math.Inf(1)
				for k, t := range a.tuples {
					if d := math.Abs(a.flat(t, val)-base[i][k]) / at; d > 0 {
						s = min(s, d)
					}
				}
				if math.IsInf(s, 1) {
					done = false
					continue
				}
				r.strides[i][j] = s
			}
			if done || at == float64(sn.loops[j].extent-1) {
				break
			}
		}
	}
	return r
}

// dtypeBytes is the element size of a buffer.
func dtypeBytes(b *schedule.Buffer) float64 { return float64(b.DType.Bytes()) }

// waySlots is the number of 64-byte sets of one way of the cache setPressure models: a 32 KiB
// 8-way L1, whose ways are 4 KiB, so addresses 4 KiB apart share a set.
const (
	waySlots = 64
	wayBytes = waySlots * cacheLineBytes
)

// setPressure is the largest number of cache lines the box of every access (given by the node
// ranges lo, hi) puts into one set of a cache with 4 KiB ways, every buffer starting at a page
// boundary: power-of-two strides make rows of a tile collide in a few sets long before the
// tile fills the cache.
// Each access's own largest count goes to own[access].
func setPressure(sn *storeNest, lo, hi []float64, own []float64) float64 {
	var count [waySlots]float64
	for i := range sn.accs {
		a := &sn.accs[i]
		cover, lines := a.setCover(lo, hi)
		if cover == 0 || lines <= 0 {
			own[i] = 0
			continue
		}
		per := lines / float64(popcount(cover))
		own[i] = per
		for s := 0; s < waySlots; s++ {
			if cover&(1<<uint(s)) != 0 {
				count[s] += per
			}
		}
	}
	m := 0.0
	for _, c := range count {
		m = max(m, c)
	}
	return m
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func rotl(x uint64, k int) uint64 {
	k = ((k % waySlots) + waySlots) % waySlots
	return x<<uint(k) | x>>uint(waySlots-k)
}

// setCover returns the sets (of a 4 KiB way, one bit per 64-byte line) an access's box covers
// and the number of cache lines in the box.
func (a *access) setCover(lo, hi []float64) (uint64, float64) {
	nd := len(a.buf.Shape)
	if nd == 0 {
		return 1, 1
	}
	el := dtypeBytes(a.buf)
	ext := make([]float64, nd)
	start := make([]float64, nd)
	for d, size := range a.buf.Shape {
		l, h := math.Inf(1), math.Inf(-1)
		for _, t := range a.tuples {
			l, h = min(l, lo[t[d]]), max(h, hi[t[d]])
		}
		l, h = max(l, 0), min(h, float64(size-1))
		if h < l {
			return 0, 0
		}
		start[d], ext[d] = l, h-l+1
	}
	// Byte strides of the dimensions and the box's first address within a way.
	stride := make([]float64, nd)
	s := el
	addr := 0.0
	for d := nd - 1; d >= 0; d-- {
		stride[d] = s
		addr += start[d] * s
		s *= float64(a.buf.Shape[d])
	}
	run := ext[nd-1] * el
	rows := 1.0
	for d := 0; d < nd-1; d++ {
		rows *= ext[d]
	}
	lines := rows * math.Ceil(run/cacheLineBytes)
	const all = ^uint64(0)
	var cover uint64
	first := int(math.Mod(addr, wayBytes) / cacheLineBytes)
	if run >= wayBytes {
		cover = all
	} else {
		n := int(math.Ceil((math.Mod(addr, cacheLineBytes) + run) / cacheLineBytes))
		for k := 0; k < n; k++ {
			cover |= 1 << uint((first+k)%waySlots)
		}
	}
	for d := nd - 2; d >= 0 && cover != all; d-- {
		if ext[d] <= 1 {
			continue
		}
		step := math.Mod(stride[d], wayBytes)
		next := cover
		for i := 1; i < int(min(ext[d], 2*waySlots)); i++ {
			off := math.Mod(float64(i)*step, wayBytes)
			if off == 0 {
				break // the rows wrap around to the same sets from here on
			}
			next |= rotl(cover, int(off/cacheLineBytes))
			if next == all {
				break
			}
		}
		cover = next
	}
	return cover, lines
}
