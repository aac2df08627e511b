package backend

import (
	"fmt"
	"math"
	"strings"

	"colt/schedule"
)

// LowerOptions controls LowerC.
type LowerOptions struct {
	// Precision is schedule.Float32 for candidates (every buffer keeps its own type) or
	// schedule.Float64 for the double-precision reference (every float buffer, constant and
	// intrinsic in double). The zero value means Float32.
	Precision schedule.DType
}

// AutoUnrollKey is the loop or block annotation whose integer value N asks for automatic
// unrolling below it, as TVM's pragma_auto_unroll_max_step.
const AutoUnrollKey = "pragma_auto_unroll_max_step"

// maxGCCUnroll is the largest factor "#pragma GCC unroll" accepts.
const maxGCCUnroll = 65534

// LowerC lowers a (scheduled) program to one C translation unit holding the kernel function
// KernelName(f): a header comment, includes, the helper functions the kernel uses, file-scope
// static arrays for the root block's intermediates, then
//
//	void NAME(const float* restrict A, ..., float* restrict C)
//
// with the parameters in f.Params order and inputs const. Buffers are flat row-major arrays
// indexed with int32_t (int64_t when some buffer has more than 2^31-1 elements).
//
// Loop kinds map to C as follows: Parallel → "#pragma omp parallel for" (only the outermost
// parallel loop; nested ones run serially inside it, and so does a parallel loop that carries
// a reduction, which would otherwise race); Vectorized → "#pragma omp simd" (only the
// outermost; the hint is dropped with a comment on a loop that carries a reduction, since
// omp simd would assert that no iteration depends on another); Unrolled → "#pragma GCC unroll
// N" with N the extent. Auto-unroll follows TVM's step rule: below a loop or block annotated
// AutoUnrollKey=N (the annotated loop included), a serial loop is fully unrolled when its
// extent times the number of stores its body executes per iteration is at most N.
// ThreadBound loops and shared-memory buffers are GPU constructs and make LowerC fail.
//
// Every unsupported or malformed construct (an unbound variable, a buffer that is neither a
// parameter nor allocated in an enclosing block, a wrong number of indices, ...) is an error;
// LowerC never panics on a program that passes its checks.
func LowerC(f *schedule.Func, opt LowerOptions) (string, error) {
	return lowerCWith(f, opt, nil)
}

// lowerCWith is LowerC with a hook that may replace loop nests by other C (nil: none).
func lowerCWith(f *schedule.Func, opt LowerOptions, hook nestHook) (string, error) {
	l, err := newLowerer(f, opt.Precision)
	if err != nil {
		return "", err
	}
	l.hook = hook
	if err := l.lowerBody(); err != nil {
		return "", fmt.Errorf("lower %s to C: %w", f.Name, err)
	}
	return l.assemble(), nil
}

// Prototype is the C declaration of f's kernel as LowerC defines it, ending in ';': the
// signature a hand-written kernel passed to Backend.MeasureSource must have.
func Prototype(f *schedule.Func) (string, error) {
	l, err := newLowerer(f, schedule.Float32)
	if err != nil {
		return "", err
	}
	return l.signature() + ";", nil
}

// nestHook lets a caller replace loop nests of the program being lowered by other C: the CPU
// vendor references replace each recognised block's nest by library calls (vendor_cpu.go).
type nestHook interface {
	// nest returns the lines (relative indentation included) that replace loop s and
	// everything in it, or false to lower s as usual. name gives a buffer's C identifier
	// (parameters and the root block's intermediates have one); a non-nil error fails the
	// lowering.
	nest(s *schedule.Loop, name func(*schedule.Buffer) (string, bool)) (lines []string, ok bool, err error)
	// headerLines are added to the translation unit's header comment (after its first line).
	headerLines() []string
	// prelude is C placed at file scope after the includes and helper functions, before the
	// intermediates: the library's includes and the functions the replacing lines call. It
	// is asked for after the body is lowered.
	prelude() string
}

// cLowerer holds the state of one lowering.
type cLowerer struct {
	f       *schedule.Func
	prec    schedule.DType
	kernel  string
	idxType string
	names   *nameTable
	inputs  map[*schedule.Buffer]bool
	visible map[*schedule.Buffer]int // buffers that may be accessed here (nesting count)
	bound   map[*schedule.Var]bool   // variables in scope
	nonneg  map[*schedule.Var]bool   // variables known to be ≥ 0
	helpers map[string]bool          // helper functions used
	body    strings.Builder          // the kernel's statements
	depth   int                      // indentation level of body
	inPar   bool                     // inside an omp parallel for
	inSimd  bool                     // inside an omp simd loop
	unroll  int64                    // current auto-unroll max step (0: none)
	statics []*schedule.Buffer       // root allocations, emitted at file scope
	reduced map[*schedule.Var]bool   // loop variables some reduction iterator is bound to
	hook    nestHook                 // replaces loop nests by library calls (vendor_cpu.go); nil: none

	// GPU programs (lower_gpu.go).
	mode       lowerMode
	fps        map[*schedule.Buffer]schedule.Footprint // compacted shared and local buffers
	barriers   map[schedule.Stmt]bool                  // statements preceded by __syncthreads()
	blockDim   map[string]int                          // the current kernel's threads per axis
	kernelVars []string                                // the current kernel's loop variables
	inThread   int                                     // threadIdx loops around the current statement
	vectorCopy int                                     // lanes of the vector copy being lowered (0: none)
}

func newLowerer(f *schedule.Func, prec schedule.DType) (*cLowerer, error) {
	return newModeLowerer(f, prec, modeC)
}

func newModeLowerer(f *schedule.Func, prec schedule.DType, mode lowerMode) (*cLowerer, error) {
	if f == nil {
		return nil, fmt.Errorf("lower to C: no function")
	}
	if err := checkIR(f); err != nil {
		return nil, fmt.Errorf("lower %s to C: %w", f.Name, err)
	}
	if prec == "" {
		prec = schedule.Float32
	}
	if prec != schedule.Float32 && prec != schedule.Float64 {
		return nil, fmt.Errorf("lower %s to C: precision %s, want float32 or float64", f.Name, prec)
	}
	l := &cLowerer{
		f: f, prec: prec, kernel: KernelName(f), idxType: "int32_t",
		inputs: map[*schedule.Buffer]bool{}, visible: map[*schedule.Buffer]int{},
		bound: map[*schedule.Var]bool{}, nonneg: map[*schedule.Var]bool{},
		helpers: map[string]bool{}, reduced: map[*schedule.Var]bool{}, mode: mode,
	}
	l.names = newNameTable(l.kernel)
	r := f.Root
	if len(r.IterVars) > 0 || r.Init != nil || r.Predicate != nil {
		return nil, fmt.Errorf("lower %s to C: the root block has iterators, an init or a predicate; want none", f.Name)
	}
	seen := map[*schedule.Buffer]bool{}
	for i, p := range f.Params {
		if p == nil {
			return nil, fmt.Errorf("lower %s to C: parameter %d is nil", f.Name, i)
		}
		if seen[p] {
			return nil, fmt.Errorf("lower %s to C: buffer %s appears twice among the parameters", f.Name, p.Name)
		}
		seen[p] = true
		if !p.DType.IsFloat() {
			return nil, fmt.Errorf("lower %s to C: parameter %s has type %s; the C backend takes float32 or float64 parameters", f.Name, p.Name, p.DType)
		}
		l.names.name(p, p.Name)
		l.visible[p]++
	}
	for _, p := range f.InputParams() {
		l.inputs[p] = true
	}
	for _, b := range r.Allocs {
		if err := l.checkAlloc(b); err != nil {
			return nil, fmt.Errorf("lower %s to C: %w", f.Name, err)
		}
		if seen[b] {
			return nil, fmt.Errorf("lower %s to C: buffer %s is both a parameter and allocated in the root block", f.Name, b.Name)
		}
		l.names.name(b, b.Name)
		l.visible[b]++
		l.statics = append(l.statics, b)
	}
	// Index width: int64_t as soon as one buffer is too large for int32 indices.
	big := false
	check := func(b *schedule.Buffer) {
		if b != nil && b.Elems() > math.MaxInt32 {
			big = true
		}
	}
	for _, p := range f.Params {
		check(p)
	}
	for _, b := range r.Allocs {
		check(b)
	}
	schedule.WalkStmt(r.Body, func(s schedule.Stmt) bool {
		if blk, ok := s.(*schedule.Block); ok {
			for _, b := range blk.Allocs {
				check(b)
			}
			for i, iv := range blk.IterVars {
				if iv.Kind == schedule.Reduce && i < len(blk.Bindings) {
					schedule.WalkExpr(blk.Bindings[i], func(e schedule.Expr) bool {
						if v, ok := e.(*schedule.Var); ok {
							l.reduced[v] = true
						}
						return true
					})
				}
			}
		}
		return true
	})
	if big {
		l.idxType = "int64_t"
	}
	return l, nil
}

// checkAlloc rejects buffers the C backend cannot allocate.
func (l *cLowerer) checkAlloc(b *schedule.Buffer) error {
	if b == nil {
		return fmt.Errorf("a block allocates a nil buffer")
	}
	if b.Scope == schedule.Shared && l.mode == modeC {
		return fmt.Errorf("buffer %s is in GPU shared memory: shared-memory buffers need the CUDA backend", b.Name)
	}
	if _, ok := cType(b.DType, l.prec); !ok {
		return fmt.Errorf("buffer %s has type %q; want float32, float64, int32 or bool", b.Name, b.DType)
	}
	for _, d := range b.Shape {
		if d < 0 {
			return fmt.Errorf("buffer %s has negative extent %d in shape %v", b.Name, d, b.Shape)
		}
	}
	return nil
}

// lowerBody lowers the root block's body into l.body.
func (l *cLowerer) lowerBody() error {
	l.depth = 1
	if n, ok := l.f.Root.Annotations.Int(AutoUnrollKey); ok && n > 0 {
		l.unroll = n
	}
	return l.stmt(l.f.Root.Body)
}

func bufName(b *schedule.Buffer) string {
	if b == nil {
		return "<nil buffer>"
	}
	return b.Name
}

func shapeText(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// signature is the kernel's C function header (without body or ';').
func (l *cLowerer) signature() string {
	params := make([]string, len(l.f.Params))
	for i, p := range l.f.Params {
		ct, _ := cType(p.DType, l.prec)
		name, _ := l.names.lookup(p)
		if l.inputs[p] {
			params[i] = "const " + ct + "* restrict " + name
		} else {
			params[i] = ct + "* restrict " + name
		}
	}
	if len(params) == 0 {
		return "void " + l.kernel + "(void)"
	}
	one := "void " + l.kernel + "(" + strings.Join(params, ", ") + ")"
	if len(one) <= 100 {
		return one
	}
	return "void " + l.kernel + "(\n    " + strings.Join(params, ",\n    ") + ")"
}

// assemble puts the translation unit together.
func (l *cLowerer) assemble() string {
	var b strings.Builder
	b.WriteString("/*\n")
	fmt.Fprintf(&b, " * colt kernel %q, lowered from the scheduled IR by colt's C backend.\n", commentSafe(l.f.Name))
	if l.hook != nil {
		for _, line := range l.hook.headerLines() {
			b.WriteString(strings.TrimRight(" * "+commentSafe(line), " ") + "\n")
		}
	}
	if l.prec == schedule.Float64 {
		b.WriteString(" * Double-precision reference: every float buffer, constant and intrinsic in double.\n")
	} else {
		b.WriteString(" * Precision: each buffer in its own type.\n")
	}
	fmt.Fprintf(&b, " * Buffers are flat row-major arrays indexed with %s.\n", l.idxType)
	b.WriteString(" * Parameters:\n")
	l.writeParamComment(&b)
	b.WriteString(" */\n#include <math.h>\n#include <stdint.h>\n")
	if h := l.helperText(); h != "" {
		b.WriteString("\n")
		b.WriteString(h)
	}
	if l.hook != nil {
		if p := l.hook.prelude(); p != "" {
			b.WriteString("\n")
			b.WriteString(p)
		}
	}
	if len(l.statics) > 0 {
		b.WriteString("\n/* Intermediate buffers of the root block. */\n")
		for _, s := range l.statics {
			ct, _ := cType(s.DType, l.prec)
			n, _ := l.names.lookup(s)
			shape := s.Shape
			if fp, ok := l.fps[s]; ok {
				shape = fp.Shape
			}
			fmt.Fprintf(&b, "static %s %s[%d] __attribute__((aligned(64))); /* %s%s%s */\n", ct, n, max(shapeElems(shape), 1), s.DType, shapeText(shape), l.scopeNote(s))
		}
	}
	b.WriteString("\n")
	b.WriteString(l.signature())
	b.WriteString(" {\n")
	b.WriteString(l.body.String())
	b.WriteString("}\n")
	b.WriteString(l.packFunctions())
	return b.String()
}

// writeParamComment writes the header comment's lines listing the parameters: name, type,
// shape and role.
func (l *cLowerer) writeParamComment(b *strings.Builder) {
	width := 0
	for _, p := range l.f.Params {
		n, _ := l.names.lookup(p)
		width = max(width, len(n))
	}
	for _, p := range l.f.Params {
		n, _ := l.names.lookup(p)
		role := "output"
		if l.inputs[p] {
			role = "input"
		}
		if pk := l.f.PackingOf(p); pk != nil {
			role = fmt.Sprintf("constant input %s%s, packed (%s) by %s", pk.Original.Name, shapeText(pk.Original.Shape), pk.Layout(), PackFunctionName(l.f, pk))
		}
		fmt.Fprintf(b, " *   %-*s  %s%s  %s\n", width, n, p.DType, shapeText(p.Shape), role)
	}
}
