package backend

import (
	"fmt"
	"strings"

	"colt/schedule"
)

// CUDAOptions controls LowerCUDA.
type CUDAOptions struct {
	// Arch is the GPU architecture the source is meant for ("sm_90"); it only appears in the
	// header comment, nvcc's -arch chooses what is built.
	Arch string
}

// LowerCUDA lowers a GPU-scheduled program (one that passed schedule.VerifyGPU) to one CUDA
// translation unit: a __global__ kernel per nest of the root (its blockIdx loop is the grid,
// its threadIdx loops the block), shared and local buffers compacted to their footprints
// (__shared__ arrays and per-thread arrays), __syncthreads() where a shared buffer written by
// one statement is read or overwritten by another (see PlanBarriers), "#pragma unroll" for
// unrolled, vectorized and virtual-thread loops, intermediates of the root in device memory,
// and a host launcher with the kernel's name and parameters (device pointers) as LowerC
// declares them, which launches the kernels in order on the default stream.
func LowerCUDA(f *schedule.Func, opt CUDAOptions) (string, error) {
	if f != nil && len(f.Packings) > 0 {
		return "", fmt.Errorf("lower %s to CUDA: packed inputs (%s) are a CPU layout; the CUDA backend reads inputs as declared", f.Name, f.Packings[0].Original.Name)
	}
	l, err := newModeLowerer(f, schedule.Float32, modeCUDA)
	if err != nil {
		return "", err
	}
	if err := l.prepareGPU(); err != nil {
		return "", fmt.Errorf("lower %s to CUDA: %w", f.Name, err)
	}
	var kernels []cudaKernel
	for i, nest := range bodyStmtsOf(f.Root.Body) {
		k, err := l.lowerKernel(i, nest)
		if err != nil {
			return "", fmt.Errorf("lower %s to CUDA: kernel %d: %w", f.Name, i, err)
		}
		kernels = append(kernels, k)
	}
	return l.assembleCUDA(kernels, opt), nil
}

// staticSharedLimit is the most shared memory a kernel may declare statically; beyond it
// (up to the GPU's opt-in maximum) it is dynamic shared memory the launcher opts in to.
const staticSharedLimit = 48 << 10

// cudaKernel is one lowered __global__ function and its launch configuration.
type cudaKernel struct {
	name          string
	dynamicShared int64 // bytes of dynamic shared memory (0: static arrays only)
	grid          [3]int
	block         [3]int
	text          string
	first         string // the first block's name, for the comment
}

func (l *cLowerer) lowerKernel(i int, nest schedule.Stmt) (cudaKernel, error) {
	k := cudaKernel{name: fmt.Sprintf("%s_kernel%d", l.kernel, i), grid: [3]int{1, 1, 1}, block: [3]int{1, 1, 1}}
	if bs := blocksOf(nest); len(bs) > 0 {
		k.first = bs[0].Name
	}
	top, ok := nest.(*schedule.Loop)
	if !ok || top.Kind != schedule.ThreadBound || !strings.HasPrefix(top.Thread, "blockIdx") {
		return k, fmt.Errorf("the nest of block %s is not bound to GPU blocks, want its outer loop bound to blockIdx.x (the design space's auto-bind does this)", k.first)
	}
	axisIndex := map[string]int{"x": 0, "y": 1, "z": 2}
	for lp, ok := nest.(*schedule.Loop); ok && lp.Kind == schedule.ThreadBound && strings.HasPrefix(lp.Thread, "blockIdx"); lp, ok = lp.Body.(*schedule.Loop) {
		k.grid[axisIndex[strings.TrimPrefix(lp.Thread, "blockIdx.")]] = lp.Extent
	}
	l.blockDim = threadExtents(nest)
	for a, n := range l.blockDim {
		k.block[axisIndex[strings.TrimPrefix(a, "threadIdx.")]] = n
	}
	if err := l.planKernelBarriers(nest); err != nil {
		return k, err
	}
	l.body.Reset()
	l.depth = 1
	l.unroll = 0
	if n, ok := l.f.Root.Annotations.Int(AutoUnrollKey); ok && n > 0 {
		l.unroll = n
	}
	// Shared and local buffers this kernel uses.
	used := map[*schedule.Buffer]bool{}
	for _, b := range blocksOf(nest) {
		schedule.WalkStmt(b.Body, func(x schedule.Stmt) bool {
			if s, ok := x.(*schedule.Store); ok {
				used[s.Buffer] = true
			}
			schedule.StmtExprs(x, func(e schedule.Expr) {
				schedule.WalkExpr(e, func(y schedule.Expr) bool {
					if ld, ok := y.(*schedule.Load); ok {
						used[ld.Buffer] = true
					}
					return true
				})
			})
			return true
		})
		if b.Init != nil {
			schedule.WalkStmt(b.Init, func(x schedule.Stmt) bool {
				if s, ok := x.(*schedule.Store); ok {
					used[s.Buffer] = true
				}
				return true
			})
		}
	}
	type array struct {
		buf       *schedule.Buffer
		ctype, nm string
		elems     int64
		shape     []int
		offset    int64 // in the dynamic shared memory
	}
	var shared, local []array
	var sharedBytes int64
	for _, b := range l.statics {
		if !used[b] || (b.Scope != schedule.Shared && b.Scope != schedule.Local) {
			continue
		}
		ct, _ := cType(b.DType, l.prec)
		n, _ := l.names.lookup(b)
		shape := b.Shape
		if fp, ok := l.fps[b]; ok {
			shape = fp.Shape
		}
		a := array{buf: b, ctype: ct, nm: n, elems: max(shapeElems(shape), 1), shape: shape}
		if b.Scope == schedule.Shared {
			a.offset = sharedBytes
			sharedBytes += (a.elems*int64(max(b.DType.Bytes(), 1)) + 15) / 16 * 16
			shared = append(shared, a)
		} else {
			local = append(local, a)
		}
	}
	if sharedBytes > staticSharedLimit {
		// Above 48 KiB a kernel must take its shared memory dynamically, after opting in.
		k.dynamicShared = sharedBytes
		l.line("extern __shared__ __align__(16) unsigned char colt_dynamic_shared[]; /* %d bytes, opted in by the launcher */", sharedBytes)
	}
	for _, a := range shared {
		if k.dynamicShared > 0 {
			l.line("%s* const %s = (%s*)(colt_dynamic_shared + %d); /* %s%s%s */", a.ctype, a.nm, a.ctype, a.offset, a.buf.DType, shapeText(a.shape), l.scopeNote(a.buf))
		} else {
			l.line("__shared__ __align__(16) %s %s[%d]; /* %s%s%s */", a.ctype, a.nm, a.elems, a.buf.DType, shapeText(a.shape), l.scopeNote(a.buf))
		}
	}
	for _, a := range local {
		l.line("%s %s[%d]; /* %s%s%s, per thread */", a.ctype, a.nm, a.elems, a.buf.DType, shapeText(a.shape), l.scopeNote(a.buf))
	}
	l.kernelVars = nil
	decls := l.body.String()
	l.body.Reset()
	if err := l.stmt(nest); err != nil {
		return k, err
	}
	if len(l.kernelVars) > 0 {
		decls += "  " + l.idxType + " " + strings.Join(l.kernelVars, ", ") + "; /* loop variables */\n"
	}
	k.text = decls + l.body.String()
	return k, nil
}

// cudaSignature is the parameter list of the kernels and the launcher.
func (l *cLowerer) cudaParams() []string {
	params := make([]string, len(l.f.Params))
	for i, p := range l.f.Params {
		ct, _ := cType(p.DType, l.prec)
		name, _ := l.names.lookup(p)
		if l.inputs[p] {
			params[i] = "const " + ct + "* __restrict__ " + name
		} else {
			params[i] = ct + "* __restrict__ " + name
		}
	}
	return params
}

func joinParams(params []string, indent string) string {
	one := strings.Join(params, ", ")
	if len(one) <= 90 {
		return one
	}
	return "\n" + indent + strings.Join(params, ",\n"+indent)
}

func (l *cLowerer) assembleCUDA(kernels []cudaKernel, opt CUDAOptions) string {
	var b strings.Builder
	arch := opt.Arch
	if arch == "" {
		arch = "any NVIDIA GPU"
	}
	b.WriteString("/*\n")
	fmt.Fprintf(&b, " * colt kernel %q, lowered from the GPU-scheduled IR by colt's CUDA backend for %s.\n", commentSafe(l.f.Name), arch)
	fmt.Fprintf(&b, " * %d kernel launch(es); buffers are flat row-major arrays indexed with %s.\n", len(kernels), l.idxType)
	b.WriteString(" * Parameters (device pointers):\n")
	l.writeParamComment(&b)
	b.WriteString(" */\n#include <cuda_runtime.h>\n#include <math.h>\n#include <stdint.h>\n")
	if h := l.helperText(); h != "" {
		b.WriteString("\n")
		b.WriteString(strings.ReplaceAll(h, "static inline ", "static __device__ inline "))
	}
	var globals []*schedule.Buffer
	for _, s := range l.statics {
		if s.Scope != schedule.Shared && s.Scope != schedule.Local {
			globals = append(globals, s)
		}
	}
	if len(globals) > 0 {
		b.WriteString("\n/* Intermediate buffers of the root block, in device memory. */\n")
		for _, s := range globals {
			ct, _ := cType(s.DType, l.prec)
			n, _ := l.names.lookup(s)
			fmt.Fprintf(&b, "__device__ %s %s[%d]; /* %s%s */\n", ct, n, max(s.Elems(), 1), s.DType, shapeText(s.Shape))
		}
	}
	params := l.cudaParams()
	for _, k := range kernels {
		threads := k.block[0] * k.block[1] * k.block[2]
		fmt.Fprintf(&b, "\n/* Kernel %s (block %s): grid (%d, %d, %d), %d threads per block. */\n", k.name, commentSafe(k.first), k.grid[0], k.grid[1], k.grid[2], threads)
		fmt.Fprintf(&b, "__global__ void __launch_bounds__(%d) %s(%s) {\n", threads, k.name, joinParams(params, "    "))
		b.WriteString(k.text)
		b.WriteString("}\n")
	}
	args := make([]string, len(l.f.Params))
	for i, p := range l.f.Params {
		args[i], _ = l.names.lookup(p)
	}
	hostParams := make([]string, len(params))
	for i, p := range params {
		hostParams[i] = strings.Replace(p, "* __restrict__ ", "* ", 1)
	}
	b.WriteString("\n/* Host launcher: launches the kernels in order on the default stream; the pointers are device\n * pointers. It does not synchronize. */\n")
	fmt.Fprintf(&b, "void %s(%s) {\n", l.kernel, joinParams(hostParams, "    "))
	for _, k := range kernels {
		if k.dynamicShared > 0 {
			fmt.Fprintf(&b, "  cudaFuncSetAttribute(%s, cudaFuncAttributeMaxDynamicSharedMemorySize, %d); /* opt in above 48 KiB */\n", k.name, k.dynamicShared)
		}
		dynamic := ""
		if k.dynamicShared > 0 {
			dynamic = fmt.Sprintf(", %d", k.dynamicShared)
		}
		fmt.Fprintf(&b, "  %s<<<dim3(%d, %d, %d), dim3(%d, %d, %d)%s>>>(%s);\n", k.name, k.grid[0], k.grid[1], k.grid[2], k.block[0], k.block[1], k.block[2], dynamic, strings.Join(args, ", "))
	}
	b.WriteString("}\n")
	return b.String()
}
