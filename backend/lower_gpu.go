package backend

import (
	"fmt"
	"strings"

	"colt/schedule"
)

// lowerMode says what a cLowerer produces.
type lowerMode int

const (
	modeC       lowerMode = iota // CPU C: GPU constructs are errors
	modeEmulate                  // C that runs a GPU program's block and thread loops in order
	modeCUDA                     // CUDA C++ kernels and their host launcher
)

// LowerGPUEmulation lowers a GPU-scheduled program (a program that passed
// schedule.VerifyGPU) to a C translation unit with the same kernel signature as LowerC, so the
// CPU harness can run it and its outputs can be checked against the reference on any machine.
// Block and thread loops run in order, one after another: each nest under a block completes
// before the next starts, which is what __syncthreads() guarantees on the GPU. Shared and local
// buffers are compacted to their footprints exactly as the CUDA lowering compacts them, so the
// emulation checks the same indexing; the barriers the CUDA lowering places appear as comments.
func LowerGPUEmulation(f *schedule.Func) (string, error) {
	l, err := newModeLowerer(f, schedule.Float32, modeEmulate)
	if err != nil {
		return "", err
	}
	if err := l.prepareGPU(); err != nil {
		return "", fmt.Errorf("lower %s for GPU emulation: %w", f.Name, err)
	}
	for _, k := range bodyStmtsOf(f.Root.Body) {
		if err := l.planKernelBarriers(k); err != nil {
			return "", fmt.Errorf("lower %s for GPU emulation: %w", f.Name, err)
		}
	}
	if err := l.lowerBody(); err != nil {
		return "", fmt.Errorf("lower %s for GPU emulation: %w", f.Name, err)
	}
	return l.assemble(), nil
}

// prepareGPU computes the footprints of the shared and local buffers.
func (l *cLowerer) prepareGPU() error {
	fps, err := schedule.Footprints(l.f)
	if err != nil {
		return err
	}
	l.fps = fps
	l.barriers = map[schedule.Stmt]bool{}
	return nil
}

// planKernelBarriers places the barriers of one kernel and checks the result.
func (l *cLowerer) planKernelBarriers(kernel schedule.Stmt) error {
	if err := PlanBarriers(kernel, l.barriers); err != nil {
		return err
	}
	return CheckBarriers(kernel, l.barriers)
}

// bodyStmtsOf lists a body's statements (one, or a sequence's).
func bodyStmtsOf(s schedule.Stmt) []schedule.Stmt {
	if seq, ok := s.(*schedule.Seq); ok && seq != nil {
		return seq.Stmts
	}
	if s == nil {
		return nil
	}
	return []schedule.Stmt{s}
}

// barrierBefore writes the barrier planned before a statement, if any.
func (l *cLowerer) barrierBefore(s schedule.Stmt) {
	if !l.barriers[s] {
		return
	}
	if l.mode == modeCUDA {
		l.line("__syncthreads();")
	} else {
		l.line("/* __syncthreads(): the nests above complete before the next starts */")
	}
}

// scopeNote is the comment suffix naming a non-global scope.
func (l *cLowerer) scopeNote(b *schedule.Buffer) string {
	if b.Scope == schedule.Global || b.Scope == "" {
		return ""
	}
	if _, ok := l.fps[b]; ok {
		return fmt.Sprintf(", %s, compacted from %s", b.Scope, shapeText(b.Shape))
	}
	return ", " + string(b.Scope)
}

func shapeElems(shape []int) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= int64(max(d, 0))
	}
	return n
}

// gpuLoop lowers a loop of a GPU program: in emulation every loop is a C loop (bound ones
// named in a comment); in CUDA a blockIdx or threadIdx loop is its index, guarded when the
// loop is shorter than the block, and a virtual thread is an unrolled loop.
func (l *cLowerer) gpuLoop(s *schedule.Loop, name string) error {
	savedUnroll := l.unroll
	defer func() { l.unroll = savedUnroll }()
	if n, ok := s.Annotations.Int(AutoUnrollKey); ok {
		l.unroll = max(n, 0)
	}
	body := func() error {
		l.bound[s.Var], l.nonneg[s.Var] = true, true
		l.barrierBefore(s.Body)
		err := l.stmt(s.Body)
		l.unbind(s.Var)
		return err
	}
	closeLoop := func() error {
		l.depth++
		err := body()
		l.depth--
		l.line("}")
		return err
	}
	forLine := func() {
		if l.mode == modeCUDA {
			// Loop variables are declared at the top of the kernel: nvcc 11.8's front end
			// takes time exponential in the nesting depth of for-loops that declare them.
			l.declareKernelVar(name)
			l.line("for (%s = 0; %s < %s; ++%s) {", name, name, intLiteral(int64(s.Extent)), name)
			return
		}
		l.line("for (%s %s = 0; %s < %s; ++%s) {", l.idxType, name, name, intLiteral(int64(s.Extent)), name)
	}
	if l.mode == modeEmulate {
		switch s.Kind {
		case schedule.ThreadBound:
			l.line("/* %s */", s.Thread)
		case schedule.Parallel:
			return fmt.Errorf("loop %s is parallel: a GPU program has thread bindings instead", s.Var.Name)
		}
		forLine()
		return closeLoop()
	}
	switch s.Kind {
	case schedule.ThreadBound:
		axis := s.Thread
		switch {
		case strings.HasPrefix(axis, "blockIdx"):
			l.line("{")
			l.depth++
			l.line("const %s %s = %s;", l.idxType, name, axis)
			err := body()
			l.depth--
			l.line("}")
			return err
		case strings.HasPrefix(axis, "threadIdx"):
			if s.Extent < l.blockDim[axis] {
				l.line("if (%s < %d) {", axis, s.Extent)
			} else {
				l.line("{")
			}
			l.depth++
			l.inThread++
			l.line("const %s %s = %s;", l.idxType, name, axis)
			err := body()
			l.inThread--
			l.depth--
			l.line("}")
			return err
		case strings.HasPrefix(axis, "vthread"):
			l.line("#pragma unroll")
			forLine()
			return closeLoop()
		}
		return fmt.Errorf("loop %s is bound to unknown axis %q", s.Var.Name, axis)
	case schedule.Parallel:
		return fmt.Errorf("loop %s is parallel: a GPU program has thread bindings instead", s.Var.Name)
	case schedule.Vectorized, schedule.Unrolled:
		if n := l.vectorCopyWidth(s); n > 0 {
			// One aligned float2/float4 copy instead of the loop (the postprocessor proved the
			// lanes consecutive and aligned in both buffers).
			l.line("{ /* %s: one float%d copy */", name, n)
			l.depth++
			l.line("const %s %s = 0;", l.idxType, name)
			l.vectorCopy = n
			err := body()
			l.vectorCopy = 0
			l.depth--
			l.line("}")
			return err
		}
		l.line("#pragma unroll")
	case schedule.Serial:
		if l.unroll > 0 && s.Extent > 1 && loopSteps(s) <= l.unroll {
			l.line("#pragma unroll")
		}
	default:
		return fmt.Errorf("loop %s has unknown kind %d", s.Var.Name, int(s.Kind))
	}
	forLine()
	return closeLoop()
}

// declareKernelVar notes a loop variable to declare at the top of the current kernel.
func (l *cLowerer) declareKernelVar(name string) {
	for _, v := range l.kernelVars {
		if v == name {
			return
		}
	}
	l.kernelVars = append(l.kernelVars, name)
}

// onceGuard is the condition under which a block outside every thread loop of a kernel runs:
// on the block's first thread only (as it runs once in the emulation), or "" when the kernel
// has one thread or the block is inside a thread loop.
func (l *cLowerer) onceGuard() string {
	if l.mode != modeCUDA || l.inThread > 0 {
		return ""
	}
	var conds []string
	for _, a := range []string{"threadIdx.x", "threadIdx.y", "threadIdx.z"} {
		if l.blockDim[a] > 1 {
			conds = append(conds, a+" == 0")
		}
	}
	return strings.Join(conds, " && ")
}

// vectorCopyWidth is the width of the float2/float4 copy a vectorized loop may be lowered to
// (0: none): the loop carries the postprocessor's AnnVectorCopy, runs exactly that many lanes
// and holds one block copying a float32 element to the same indices of another buffer, whose
// compacted rows keep the lanes aligned.
func (l *cLowerer) vectorCopyWidth(s *schedule.Loop) int {
	n, ok := s.Annotations.Int(schedule.AnnVectorCopy)
	if !ok || (n != 2 && n != 4) || int64(s.Extent) != n {
		return 0
	}
	blk, ok := s.Body.(*schedule.Block)
	if !ok || blk == nil {
		return 0
	}
	st, ok := blk.Body.(*schedule.Store)
	if !ok || st.Buffer == nil || st.Buffer.DType != schedule.Float32 {
		return 0
	}
	ld, ok := st.Value.(*schedule.Load)
	if !ok || ld.Buffer == nil || ld.Buffer.DType != schedule.Float32 {
		return 0
	}
	for _, b := range []*schedule.Buffer{st.Buffer, ld.Buffer} {
		shape := b.Shape
		if fp, ok := l.fps[b]; ok {
			shape = fp.Shape
		}
		if len(shape) == 0 || int64(shape[len(shape)-1])%n != 0 {
			return 0
		}
	}
	return int(n)
}
