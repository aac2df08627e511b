package schedule

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a program: where it is and what was found against what was
// wanted.
type Problem struct {
	Where string // e.g. `block "O"` or `loop k`
	Found string
	Want  string
}

// String renders the problem as "WHERE: found X, want Y".
func (p Problem) String() string {
	return fmt.Sprintf("%s: found %s, want %s", p.Where, p.Found, p.Want)
}

// VerifyError lists every problem the verifier found in a program.
type VerifyError struct {
	Func     string
	Problems []Problem
}

// Error joins all problems on one line.
func (e *VerifyError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	noun := "problems"
	if len(parts) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("invalid program %s: %d %s: %s", e.Func, len(parts), noun, strings.Join(parts, "; "))
}

// Verify checks that a program is well formed and returns a *VerifyError listing every problem
// found, or nil. It checks scoping of variables and buffers, types, index counts, that every
// index and binding provably stays in bounds (taking guards from selects and block predicates
// into account), that reads and writes are declared in block regions, that a reduction never
// writes at an index that depends on a reduction iterator, that intermediates are written
// before they are read, and loop kinds. It never panics, whatever the input.
func Verify(f *Func) error {
	v := &verifier{
		vars:     map[*Var]interval{},
		defined:  map[*Var]bool{},
		visible:  map[*Buffer]bool{},
		interm:   map[*Buffer]bool{},
		written:  map[*Buffer]bool{},
		blockIDs: map[string]bool{},

		concurrent: map[*Var]LoopKind{},
	}
	v.function(f)
	if len(v.problems) == 0 {
		return nil
	}
	name := "<nil>"
	if f != nil {
		name = f.Name
	}
	return &VerifyError{Func: name, Problems: v.problems}
}

type guard struct {
	x Expr
	r interval
}

type verifier struct {
	problems []Problem
	where    string
	vars     map[*Var]interval // variables in scope and their ranges
	defined  map[*Var]bool     // every variable ever defined, to catch a second definition
	visible  map[*Buffer]bool  // parameters and allocations of enclosing blocks
	interm   map[*Buffer]bool  // allocated intermediates (must be written before read)
	written  map[*Buffer]bool  // buffers some block has stored to, in program order
	guards   []guard
	block    *Block // innermost enclosing block
	parallel string // name of the enclosing parallel loop, if any
	// concurrent holds the enclosing loops whose iterations may run at once (parallel,
	// vectorized): a reduction iterator bound to one of them would race.
	concurrent map[*Var]LoopKind
	blockIDs   map[string]bool
}

func (v *verifier) report(found, want string, args ...any) {
	n := strings.Count(found, "%")
	v.problems = append(v.problems, Problem{
		Where: v.where,
		Found: fmt.Sprintf(found, args[:n]...),
		Want:  fmt.Sprintf(want, args[n:]...),
	})
}

func (v *verifier) function(f *Func) {
	v.where = "function"
	if f == nil {
		v.report("no function", "a function")
		return
	}
	v.where = "function " + f.Name
	names := map[string]bool{}
	for i, b := range f.Params {
		if b == nil {
			v.report("parameter %d is nil", "a buffer", i)
			continue
		}
		v.buffer(b, "parameter")
		if names[b.Name] {
			v.report("two parameters named %s", "unique parameter names", b.Name)
		}
		names[b.Name] = true
		if v.visible[b] {
			v.report("buffer %s passed twice", "each parameter once", b.Name)
		}
		v.visible[b] = true
	}
	if f.Root == nil {
		v.report("no root block", "a root block holding the computation")
		return
	}
	if len(f.Root.IterVars) != 0 {
		v.report("%d iterators on the root block", "none", len(f.Root.IterVars))
	}
	for _, p := range checkPackings(f) {
		v.report("%s", "packings whose packed buffers are parameters of the panel shape", p)
	}
	v.allocs(f.Root.Allocs)
	v.stmt(f.Root.Body)
}

func (v *verifier) buffer(b *Buffer, role string) {
	if b.Name == "" {
		v.report("%s buffer without a name", "a name", role)
	}
	if len(b.Shape) == 0 {
		v.report("%s %s with no dimensions", "at least one dimension", role, b.Name)
	}
	for i, d := range b.Shape {
		if d < 1 {
			v.report("%s %s dimension %d of extent %d", "extents ≥ 1", role, b.Name, i, d)
		}
	}
	if !b.DType.IsFloat() {
		v.report("%s %s of type %s", "float32 or float64", role, b.Name, b.DType)
	}
	switch b.Scope {
	case Global, Local, Shared:
	default:
		v.report("%s %s in scope %q", "global, local or shared", role, b.Name, b.Scope)
	}
}

func (v *verifier) allocs(bufs []*Buffer) {
	for _, b := range bufs {
		if b == nil {
			v.report("a nil allocation", "a buffer")
			continue
		}
		v.buffer(b, "intermediate")
		if v.visible[b] {
			v.report("buffer %s allocated twice", "one allocation", b.Name)
		}
		v.visible[b] = true
		v.interm[b] = true
	}
}

func (v *verifier) define(x *Var, extent int, what string) bool {
	if x == nil {
		v.report("a %s without a variable", "a variable", what)
		return false
	}
	if v.defined[x] {
		v.report("%s %s defined twice", "each variable defined once", what, x.Name)
	}
	v.defined[x] = true
	if extent < 1 {
		v.report("%s %s of extent %d", "an extent ≥ 1", what, x.Name, extent)
	}
	v.vars[x] = interval{0, int64(extent) - 1}
	return true
}

func (v *verifier) stmt(s Stmt) {
	switch s := s.(type) {
	case nil:
		v.report("an empty statement", "a loop, block or store")
	case *Seq:
		for _, c := range s.Stmts {
			v.stmt(c)
		}
	case *Loop:
		v.loop(s)
	case *Block:
		v.blockStmt(s)
	case *Store:
		v.store(s)
	default:
		v.report("a statement of kind %T", "a loop, block or store", s)
	}
}

func (v *verifier) loop(l *Loop) {
	outer := v.where
	name := "?"
	if l.Var != nil {
		name = l.Var.Name
	}
	v.where = "loop " + name
	defer func() { v.where = outer }()
	if !v.define(l.Var, l.Extent, "loop variable") {
		return
	}
	defer delete(v.vars, l.Var)
	if l.Kind == Parallel || l.Kind == Vectorized {
		v.concurrent[l.Var] = l.Kind
		defer delete(v.concurrent, l.Var)
	}
	switch l.Kind {
	case Serial, Vectorized, Unrolled:
	case Parallel:
		if v.parallel != "" {
			v.report("a parallel loop inside parallel loop %s", "one level of parallel loops", v.parallel)
		}
		outerPar := v.parallel
		v.parallel = name
		defer func() { v.parallel = outerPar }()
	case ThreadBound:
		if l.Thread == "" {
			v.report("a thread-bound loop without a thread axis", `an axis such as "threadIdx.x"`)
		}
	default:
		v.report("loop kind %d", "serial, parallel, vectorized, unroll or thread_binding", int(l.Kind))
	}
	if l.Kind != ThreadBound && l.Thread != "" {
		v.report("thread axis %q on a %s loop", "a thread axis only on thread-bound loops", l.Thread, l.Kind)
	}
	if _, ok := l.Annotations[AnnMicroKernel]; ok {
		if _, err := PlanMicroKernel(l); err != nil {
			v.report("%v", "a nest a micro-kernel can replace", err)
		}
	}
	v.stmt(l.Body)
}

func (v *verifier) blockStmt(b *Block) {
	outer, outerBlock := v.where, v.block
	v.where = fmt.Sprintf("block %q", b.Name)
	defer func() { v.where, v.block = outer, outerBlock }()
	if b.Name == "" {
		v.report("a block without a name", "a unique name")
	} else if v.blockIDs[b.Name] {
		v.report("two blocks named %q", "unique block names", b.Name)
	}
	v.blockIDs[b.Name] = true
	if len(b.Bindings) != len(b.IterVars) {
		v.report("%d bindings for %d iterators", "one binding per iterator", len(b.Bindings), len(b.IterVars))
	}
	// Bindings are evaluated in the enclosing scope, before the iterators exist.
	var predGuards []guard
	if b.Predicate != nil {
		v.expectType(b.Predicate, Bool, "the predicate")
		predGuards = guardsOf(b.Predicate)
	}
	v.guards = append(v.guards, predGuards...)
	for i, iv := range b.IterVars {
		if i >= len(b.Bindings) {
			break
		}
		name := "?"
		if iv.Var != nil {
			name = iv.Var.Name
		}
		bind := b.Bindings[i]
		v.expectType(bind, Int32, "the binding of "+name)
		if r, ok := v.rangeOf(bind); ok && (r.lo < 0 || r.hi >= int64(iv.Extent)) {
			v.report("binding of %s ranging over [%d, %d]", "within [0, %d)", name, r.lo, r.hi, iv.Extent)
		}
		if iv.Kind == Reduce {
			for lv, kind := range v.concurrent {
				if usesVar(bind, lv) {
					v.report("reduction iterator %s bound to %s loop %s", "%s loops over spatial iterators only", name, kind, lv.Name, kind)
				}
			}
		}
	}
	v.guards = v.guards[:len(v.guards)-len(predGuards)]
	v.concurrentUse(b)
	for _, iv := range b.IterVars {
		if v.define(iv.Var, iv.Extent, "iterator") {
			defer delete(v.vars, iv.Var)
		}
		if iv.Kind != Spatial && iv.Kind != Reduce {
			v.report("iterator kind %d", "spatial or reduce", int(iv.Kind))
		}
	}
	hasReduce := false
	for _, iv := range b.IterVars {
		hasReduce = hasReduce || iv.Kind == Reduce
	}
	if b.Init != nil && !hasReduce {
		v.report("an init statement in a block without reduction iterators", "init only in reduction blocks")
	}
	v.regions(b.Reads, "T.reads")
	v.regions(b.Writes, "T.writes")
	v.allocs(b.Allocs)
	v.block = b
	v.guards = append(v.guards, predGuards...)
	defer func() { v.guards = v.guards[:len(v.guards)-len(predGuards)] }()
	if b.Init != nil {
		v.stmt(b.Init)
	}
	if b.Body == nil {
		v.report("a block without a body", "a body")
		return
	}
	v.stmt(b.Body)
}

func (v *verifier) regions(rs []Region, what string) {
	for _, r := range rs {
		if r.Buffer == nil {
			v.report("a nil buffer in %s", "a buffer", what)
			continue
		}
		if !v.visible[r.Buffer] {
			v.report("%s names buffer %s, which is not a parameter or an enclosing allocation", "only visible buffers", what, r.Buffer.Name)
		}
		if len(r.Ranges) != len(r.Buffer.Shape) {
			v.report("%s region of %s with %d ranges", "%d (one per dimension)", what, r.Buffer.Name, len(r.Ranges), len(r.Buffer.Shape))
			continue
		}
		for _, rg := range r.Ranges {
			v.expr(rg.Min)
			if rg.Extent < 1 {
				v.report("%s region of %s with extent %d", "extents ≥ 1", what, r.Buffer.Name, rg.Extent)
			}
		}
	}
}

func regionsName(rs []Region, b *Buffer) bool {
	for _, r := range rs {
		if r.Buffer == b {
			return true
		}
	}
	return false
}

func (v *verifier) store(s *Store) {
	if s.Buffer == nil {
		v.report("a store to a nil buffer", "a buffer")
		return
	}
	v.access(s.Buffer, s.Indices, "store to")
	if s.Value == nil {
		v.report("a store to %s without a value", "a value", s.Buffer.Name)
	} else {
		v.expr(s.Value)
		if t := s.Value.Type(); t != s.Buffer.DType {
			v.report("a %s value stored into %s buffer %s", "a %s value", t, s.Buffer.DType, s.Buffer.Name, s.Buffer.DType)
		}
	}
	if v.block == nil {
		v.report("a store to %s outside any block", "stores inside blocks", s.Buffer.Name)
	} else {
		if !regionsName(v.block.Writes, s.Buffer) {
			v.report("a store to %s not listed in T.writes", "every written buffer listed", s.Buffer.Name)
		}
		for _, iv := range v.block.IterVars {
			if iv.Kind != Reduce || iv.Var == nil {
				continue
			}
			for _, idx := range s.Indices {
				if usesVar(idx, iv.Var) {
					v.report("store index of %s depending on reduction iterator %s", "indices over spatial iterators only", s.Buffer.Name, iv.Var.Name)
				}
			}
		}
	}
	v.written[s.Buffer] = true
}

func usesVar(e Expr, x *Var) bool {
	found := false
	WalkExpr(e, func(e Expr) bool {
		if e == x {
			found = true
		}
		return !found
	})
	return found
}

// access checks a load or store's buffer, index count, index types and bounds.
func (v *verifier) access(b *Buffer, idx []Expr, what string) {
	if !v.visible[b] {
		v.report("a %s buffer %s, which is not a parameter or an enclosing allocation", "only visible buffers", what, b.Name)
	}
	if len(idx) != len(b.Shape) {
		v.report("%d indices in a %s %s", "%d (one per dimension)", len(idx), what, b.Name, len(b.Shape))
		return
	}
	for d, x := range idx {
		if x == nil {
			v.report("a nil index in a %s %s", "an index expression", what, b.Name)
			continue
		}
		v.expr(x)
		if x.Type() != Int32 {
			v.report("index %d of %s of type %s", "int32", d, b.Name, x.Type())
			continue
		}
		if r, ok := v.rangeOf(x); ok && (r.lo < 0 || r.hi >= int64(b.Shape[d])) {
			v.report("index %s of %s dimension %d ranging over [%d, %d]", "within [0, %d)", PrintExpr(x), b.Name, d, r.lo, r.hi, b.Shape[d])
		}
	}
}

// rangeOf bounds an integer expression, narrowed by the guards in effect.
func (v *verifier) rangeOf(e Expr) (interval, bool) {
	vars := v.vars
	if len(v.guards) > 0 {
		vars = make(map[*Var]interval, len(v.vars))
		for k, r := range v.vars {
			vars[k] = r
		}
		for _, g := range v.guards {
			if x, ok := g.x.(*Var); ok {
				if r, ok := vars[x]; ok {
					vars[x] = intersect(r, g.r)
				}
			}
		}
	}
	r, ok := bounds(e, vars)
	if !ok {
		return r, false
	}
	for _, g := range v.guards {
		if ExprEqual(g.x, e) {
			r = intersect(r, g.r)
		}
	}
	return r, true
}

func intersect(a, b interval) interval {
	return interval{max(a.lo, b.lo), min(a.hi, b.hi)}
}

func guardsOf(cond Expr) []guard {
	var gs []guard
	for _, c := range conjuncts(cond) {
		if x, r, ok := guardBound(c); ok {
			gs = append(gs, guard{x, r})
		}
	}
	return gs
}

func (v *verifier) expectType(e Expr, t DType, what string) {
	if e == nil {
		v.report("no expression for %s", "an expression", what)
		return
	}
	v.expr(e)
	if got := e.Type(); got != t {
		v.report("%s of type %s", "%s", what, got, t)
	}
}

// expr checks scoping and typing of an expression tree.
func (v *verifier) expr(e Expr) {
	switch e := e.(type) {
	case nil:
		v.report("a missing operand", "an expression")
	case *IntImm:
	case *FloatImm:
		if !e.DType.IsFloat() {
			v.report("a float constant of type %s", "float32 or float64", e.DType)
		}
	case *Var:
		if _, ok := v.vars[e]; !ok {
			v.report("variable %s used outside its loop or block", "only variables in scope", e.Name)
		}
	case *Binary:
		v.expr(e.A)
		v.expr(e.B)
		if e.A == nil || e.B == nil {
			return
		}
		ta, tb := e.A.Type(), e.B.Type()
		switch {
		case ta != tb:
			v.report("operands of %s of types %s and %s", "equal types", e.Op, ta, tb)
		case e.Op.IsLogic() && ta != Bool:
			v.report("%s operands to %s", "bool operands", ta, e.Op)
		case !e.Op.IsLogic() && ta == Bool:
			v.report("bool operands to %s", "numbers", e.Op)
		case (e.Op == FloorDiv || e.Op == FloorMod) && ta != Int32:
			v.report("%s operands to %s", "int32 operands", ta, e.Op)
		case e.Op == Div && ta == Int32:
			v.report("integer operands to /", "float operands (use // for integers)")
		}
		if (e.Op == FloorDiv || e.Op == FloorMod) && ta == Int32 {
			if c, ok := e.B.(*IntImm); ok && c.Value <= 0 {
				v.report("%s by %d", "a positive divisor", e.Op, c.Value)
			}
		}
	case *Not:
		v.expectType(e.X, Bool, "the operand of not")
	case *Call:
		if len(e.Args) != 1 {
			v.report("%s with %d arguments", "1", e.Fn, len(e.Args))
		}
		known := false
		for _, fn := range Intrinsics() {
			known = known || fn == e.Fn
		}
		if !known {
			v.report("unknown function %s", "one of the intrinsics", e.Fn)
		}
		for _, a := range e.Args {
			v.expr(a)
			if a != nil && !a.Type().IsFloat() {
				v.report("a %s argument to %s", "a float argument", a.Type(), e.Fn)
			}
		}
	case *Load:
		if e.Buffer == nil {
			v.report("a load from a nil buffer", "a buffer")
			return
		}
		v.access(e.Buffer, e.Indices, "load from")
		if v.block != nil && !regionsName(v.block.Reads, e.Buffer) && !regionsName(v.block.Writes, e.Buffer) {
			v.report("a load from %s not listed in T.reads", "every read buffer listed", e.Buffer.Name)
		}
		if v.interm[e.Buffer] && !v.written[e.Buffer] && !(v.block != nil && regionsName(v.block.Writes, e.Buffer)) {
			v.report("a read of %s before any block writes it", "producers before consumers", e.Buffer.Name)
		}
	case *Select:
		v.expectType(e.Cond, Bool, "the select condition")
		v.expr(e.Else)
		gs := guardsOf(e.Cond)
		v.guards = append(v.guards, gs...)
		v.expr(e.Then)
		v.guards = v.guards[:len(v.guards)-len(gs)]
		if e.Then != nil && e.Else != nil && e.Then.Type() != e.Else.Type() {
			v.report("select arms of types %s and %s", "equal types", e.Then.Type(), e.Else.Type())
		}
	case *Cast:
		v.expr(e.X)
	default:
		v.report("an expression of kind %T", "a known expression", e)
	}
}

// concurrentUse reports a block that does not depend, through a spatial iterator, on every
// enclosing parallel or vectorized loop: its iterations would write the same elements at once.
func (v *verifier) concurrentUse(b *Block) {
	var loops []*Var
	for lv := range v.concurrent {
		loops = append(loops, lv)
	}
	sort.Slice(loops, func(i, j int) bool { return loops[i].Name < loops[j].Name })
	for _, lv := range loops {
		used := false
		for i, iv := range b.IterVars {
			used = used || (iv.Kind == Spatial && i < len(b.Bindings) && usesVar(b.Bindings[i], lv))
		}
		if !used {
			kind := v.concurrent[lv]
			v.report("a block that does not depend on the %s loop %s around it", "every block under a %s loop bound to it through a spatial iterator, so that iterations write different elements", kind, lv.Name, kind)
		}
	}
}
