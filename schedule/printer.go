package schedule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Print renders a function as TVMScript-like text. The output is deterministic: the same program
// always prints the same way. It is the one rendering of a program that the console shows, the
// LLM prompt contains and export writes. Variables that share a name get numeric suffixes so the
// text is unambiguous. Print never panics, even on a program the verifier would reject.
func Print(f *Func) string {
	p := newPrinter(false)
	p.function(f)
	return p.sb.String()
}

// PrintExpr renders one expression with the names its variables and buffers carry.
func PrintExpr(e Expr) string {
	p := newPrinter(false)
	p.freeNames = true
	return p.expr(e, 0)
}

// PrintStmt renders one statement (and everything nested in it) at indentation zero.
func PrintStmt(s Stmt) string {
	p := newPrinter(false)
	p.freeNames = true
	p.stmt(s)
	return p.sb.String()
}

type printer struct {
	sb        strings.Builder
	indent    int
	canonical bool // names replaced by definition order, for hashing
	freeNames bool // print undefined variables and buffers by their own names
	varNames  map[*Var]string
	bufNames  map[*Buffer]string
	used      map[string]bool
	counter   int // canonical names are numbered in definition order
}

func newPrinter(canonical bool) *printer {
	// "T" is the TVMScript module prefix; no variable or buffer may shadow it.
	return &printer{canonical: canonical, varNames: map[*Var]string{}, bufNames: map[*Buffer]string{}, used: map[string]bool{"T": true}}
}

func (p *printer) line(format string, args ...any) {
	p.sb.WriteString(strings.Repeat("    ", p.indent))
	fmt.Fprintf(&p.sb, format, args...)
	p.sb.WriteByte('\n')
}

// uniqueName gives each distinct object its own printed name, derived from the name it carries.
func (p *printer) uniqueName(base, canonicalPrefix string) string {
	if p.canonical {
		p.counter++
		return fmt.Sprintf("%s%d", canonicalPrefix, p.counter)
	}
	if base == "" {
		base = "_"
	}
	name := base
	for i := 1; p.used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	p.used[name] = true
	return name
}

func (p *printer) defineVar(v *Var, prefix string) string {
	if v == nil {
		return "<nil>"
	}
	if n, ok := p.varNames[v]; ok {
		return n
	}
	n := p.uniqueName(v.Name, prefix)
	p.varNames[v] = n
	return n
}

// releaseVars ends the scope of variables: their names may be reused by later siblings, as
// each loop nest of an unscheduled program reuses its index names.
func (p *printer) releaseVars(vars ...*Var) {
	for _, v := range vars {
		if n, ok := p.varNames[v]; ok && v != nil {
			delete(p.used, n)
			delete(p.varNames, v)
		}
	}
}

func (p *printer) varName(v *Var) string {
	if v == nil {
		return "<nil>"
	}
	if n, ok := p.varNames[v]; ok {
		return n
	}
	if p.freeNames {
		return v.Name
	}
	// An undefined variable: the verifier reports it; print it recognisably.
	return "?" + v.Name
}

func (p *printer) defineBuffer(b *Buffer) string {
	if b == nil {
		return "<nil>"
	}
	if n, ok := p.bufNames[b]; ok {
		return n
	}
	n := p.uniqueName(b.Name, "buf")
	p.bufNames[b] = n
	return n
}

func (p *printer) bufName(b *Buffer) string {
	if b == nil {
		return "<nil>"
	}
	if n, ok := p.bufNames[b]; ok {
		return n
	}
	if p.freeNames {
		return b.Name
	}
	return "?" + b.Name
}

func shapeText(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (p *printer) function(f *Func) {
	if f == nil {
		p.line("<nil function>")
		return
	}
	name := f.Name
	if p.canonical {
		name = "main"
	}
	params := make([]string, len(f.Params))
	for i, b := range f.Params {
		if b == nil {
			params[i] = "<nil>"
			continue
		}
		params[i] = fmt.Sprintf("%s: T.Buffer(%s, %q)", p.defineBuffer(b), shapeText(b.Shape), string(b.DType))
	}
	p.line("# from tvm.script import tir as T")
	p.line("")
	p.line("@T.prim_func")
	p.line("def %s(%s):", name, strings.Join(params, ", "))
	p.indent++
	p.line(`T.func_attr({"global_symbol": %q, "tir.noalias": T.bool(True)})`, name)
	for _, pk := range f.Packings {
		if pk != nil && pk.Original != nil && pk.Packed != nil {
			p.line("# %s is the constant input %s%s packed once before the calls: %s", p.defineBuffer(pk.Packed), pk.Original.Name, shapeText(pk.Original.Shape), pk.Layout())
		}
	}
	if f.Root == nil {
		p.line("pass")
		p.indent--
		return
	}
	if len(f.Root.Annotations) > 0 {
		p.line(`with T.block("root"):`)
		p.indent++
		p.line("T.block_attr(%s)", p.annotations(f.Root.Annotations))
	} else {
		p.line(`# with T.block("root"):`)
	}
	p.allocs(f.Root.Allocs)
	p.stmt(f.Root.Body)
	if len(f.Root.Annotations) > 0 {
		p.indent--
	}
	p.indent--
}

func (p *printer) allocs(bufs []*Buffer) {
	for _, b := range bufs {
		if b == nil {
			continue
		}
		extra := ""
		if b.DType != Float32 {
			extra += fmt.Sprintf(", %q", string(b.DType))
		}
		if b.Scope != Global && b.Scope != "" {
			extra += fmt.Sprintf(", scope=%q", string(b.Scope))
		}
		p.line("%s = T.alloc_buffer(%s%s)", p.defineBuffer(b), shapeText(b.Shape), extra)
	}
}

func (p *printer) annotations(a Annotations) string {
	parts := make([]string, 0, len(a))
	for _, k := range a.Keys() {
		v := a[k]
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			v = strconv.Quote(v)
		}
		parts = append(parts, fmt.Sprintf("%q: %s", k, v))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (p *printer) stmt(s Stmt) {
	switch s := s.(type) {
	case nil:
		p.line("pass")
	case *Seq:
		if len(s.Stmts) == 0 {
			p.line("pass")
		}
		for _, c := range s.Stmts {
			p.stmt(c)
		}
	case *Loop:
		p.loop(s)
	case *Block:
		p.block(s)
	case *Store:
		p.line("%s = %s", p.access(s.Buffer, s.Indices), p.expr(s.Value, 0))
	default:
		p.line("<unknown statement %T>", s)
	}
}

// isGridLoop reports whether a loop can join a T.grid header: serial, unannotated.
func isGridLoop(l *Loop) bool {
	return l != nil && l.Kind == Serial && len(l.Annotations) == 0 && l.Var != nil
}

func (p *printer) loop(l *Loop) {
	if isGridLoop(l) {
		vars := []string{p.defineVar(l.Var, "l")}
		defined := []*Var{l.Var}
		extents := []string{strconv.Itoa(l.Extent)}
		body := l.Body
		for {
			inner, ok := body.(*Loop)
			if !ok || !isGridLoop(inner) {
				break
			}
			defined = append(defined, inner.Var)
			vars = append(vars, p.defineVar(inner.Var, "l"))
			extents = append(extents, strconv.Itoa(inner.Extent))
			body = inner.Body
		}
		if len(vars) == 1 {
			p.line("for %s in range(%s):", vars[0], extents[0])
		} else {
			p.line("for %s in T.grid(%s):", strings.Join(vars, ", "), strings.Join(extents, ", "))
		}
		p.indent++
		p.stmt(body)
		p.indent--
		p.releaseVars(defined...)
		return
	}
	args := strconv.Itoa(l.Extent)
	if l.Kind == ThreadBound {
		args += fmt.Sprintf(", thread=%q", l.Thread)
	}
	if len(l.Annotations) > 0 {
		args += ", annotations=" + p.annotations(l.Annotations)
	}
	p.line("for %s in T.%s(%s):", p.defineVar(l.Var, "l"), l.Kind, args)
	p.indent++
	p.stmt(l.Body)
	p.indent--
	p.releaseVars(l.Var)
}

func (p *printer) block(b *Block) {
	name := b.Name
	if p.canonical {
		name = ""
	}
	p.line("with T.block(%q):", name)
	p.indent++
	p.blockIterators(b)
	if b.Predicate != nil {
		p.line("T.where(%s)", p.expr(b.Predicate, 0))
	}
	p.line("T.reads(%s)", p.regions(b.Reads))
	p.line("T.writes(%s)", p.regions(b.Writes))
	if len(b.Annotations) > 0 {
		p.line("T.block_attr(%s)", p.annotations(b.Annotations))
	}
	p.allocs(b.Allocs)
	if b.Init != nil {
		p.line("with T.init():")
		p.indent++
		p.stmt(b.Init)
		p.indent--
	}
	p.stmt(b.Body)
	p.indent--
	for _, iv := range b.IterVars {
		p.releaseVars(iv.Var)
	}
}

// blockIterators prints the iterator bindings: one T.axis.remap line when every iterator is bound
// to a distinct plain loop variable, one T.axis.spatial/reduce line per iterator otherwise.
func (p *printer) blockIterators(b *Block) {
	if len(b.IterVars) == 0 {
		return
	}
	remap := len(b.Bindings) == len(b.IterVars)
	seen := map[*Var]bool{}
	for i := 0; remap && i < len(b.Bindings); i++ {
		v, ok := b.Bindings[i].(*Var)
		if !ok || seen[v] {
			remap = false
			break
		}
		seen[v] = true
	}
	if remap {
		kinds := ""
		names := make([]string, len(b.IterVars))
		values := make([]string, len(b.IterVars))
		for i, iv := range b.IterVars {
			kinds += iv.Kind.Letter()
			values[i] = p.expr(b.Bindings[i], 0) // before defining: bindings refer to loop variables
			names[i] = p.defineVar(iv.Var, "v")
		}
		p.line("%s = T.axis.remap(%q, [%s])", strings.Join(names, ", "), kinds, strings.Join(values, ", "))
		return
	}
	for i, iv := range b.IterVars {
		value := "<missing binding>"
		if i < len(b.Bindings) {
			value = p.expr(b.Bindings[i], 0)
		}
		kind := "spatial"
		if iv.Kind == Reduce {
			kind = "reduce"
		}
		p.line("%s = T.axis.%s(%d, %s)", p.defineVar(iv.Var, "v"), kind, iv.Extent, value)
	}
}

func (p *printer) regions(rs []Region) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		dims := make([]string, len(r.Ranges))
		for j, rg := range r.Ranges {
			lo := p.expr(rg.Min, 0)
			if rg.Extent == 1 {
				dims[j] = lo
			} else {
				dims[j] = fmt.Sprintf("%s:%s", lo, p.expr(Simplify(Bin(Add, rg.Min, Int(int64(rg.Extent)))), precAdd+1))
			}
		}
		parts[i] = fmt.Sprintf("%s[%s]", p.bufName(r.Buffer), strings.Join(dims, ", "))
	}
	return strings.Join(parts, ", ")
}

func (p *printer) access(b *Buffer, idx []Expr) string {
	parts := make([]string, len(idx))
	for i, x := range idx {
		parts[i] = p.expr(x, 0)
	}
	return fmt.Sprintf("%s[%s]", p.bufName(b), strings.Join(parts, ", "))
}

// Operator precedence, loosest first, as in Python.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCmp
	precAdd
	precMul
	precUnary
	precAtom
)

func binPrec(op BinOp) int {
	switch op {
	case Or:
		return precOr
	case And:
		return precAnd
	case Add, Sub:
		return precAdd
	case Mul, Div, FloorDiv, FloorMod:
		return precMul
	case Min, Max:
		return precAtom
	}
	return precCmp
}

// expr prints e; ctx is the precedence of the surrounding operator, so parentheses appear only
// where they are needed.
func (p *printer) expr(e Expr, ctx int) string {
	switch e := e.(type) {
	case nil:
		return "<nil>"
	case *IntImm:
		s := strconv.FormatInt(e.Value, 10)
		if e.Value < 0 && ctx >= precUnary {
			return "(" + s + ")"
		}
		return s
	case *FloatImm:
		return floatText(e.Value, e.DType)
	case *Var:
		return p.varName(e)
	case *Binary:
		if e.Op == Min || e.Op == Max {
			return fmt.Sprintf("T.%s(%s, %s)", e.Op, p.expr(e.A, 0), p.expr(e.B, 0))
		}
		prec := binPrec(e.Op)
		// Left-associative: the right operand of an equal-precedence operator needs parentheses.
		s := fmt.Sprintf("%s %s %s", p.expr(e.A, prec), e.Op, p.expr(e.B, prec+1))
		if prec < ctx {
			return "(" + s + ")"
		}
		return s
	case *Not:
		s := "not " + p.expr(e.X, precNot)
		if precNot < ctx {
			return "(" + s + ")"
		}
		return s
	case *Call:
		args := make([]string, len(e.Args))
		for i, a := range e.Args {
			args[i] = p.expr(a, 0)
		}
		return fmt.Sprintf("T.%s(%s)", e.Fn, strings.Join(args, ", "))
	case *Load:
		return p.access(e.Buffer, e.Indices)
	case *Select:
		return fmt.Sprintf("T.if_then_else(%s, %s, %s)", p.expr(e.Cond, 0), p.expr(e.Then, 0), p.expr(e.Else, 0))
	case *Cast:
		return fmt.Sprintf("T.Cast(%q, %s)", string(e.To), p.expr(e.X, 0))
	}
	return fmt.Sprintf("<unknown expression %T>", e)
}

// floatText prints a float constant so that it reads back to the same value.
func floatText(v float64, t DType) string {
	switch {
	case math.IsInf(v, 1):
		return fmt.Sprintf(`T.%s("inf")`, t)
	case math.IsInf(v, -1):
		return fmt.Sprintf(`T.%s("-inf")`, t)
	case math.IsNaN(v):
		return fmt.Sprintf(`T.%s("nan")`, t)
	}
	bits := 64
	if t == Float32 {
		bits = 32
	}
	s := strconv.FormatFloat(v, 'g', -1, bits)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return fmt.Sprintf("T.%s(%s)", t, s)
}
