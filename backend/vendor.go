package backend

import (
	"context"
	"slices"
	"time"

	"colt/schedule"
)

// Vendor is a vendor library's measurement of a program's shapes: what the user could call
// instead of a tuned kernel, timed and checked like a candidate in the same run.
type Vendor struct {
	// Library names the library: "cuBLAS", "oneDNN" or "OpenBLAS".
	Library string
	// Result is its measurement: the latency and the check against the reference.
	Result Result
}

// VendorLibraries names the vendor libraries this backend can time on f's (unscheduled)
// shapes, in preference order, or nil when it has none; each is what a user could call instead
// of a tuned kernel, for the report's comparison.
//
// On a CUDA target: ["cuBLAS"] when f is a single (batched) matmul (MatmulShape).
//
// On the CPU: ["oneDNN", "OpenBLAS"] when some block of f, sitting in its own loop nest as
// in an unscheduled program, is a (batched) matmul or a 2-D convolution (NCHW data, OIHW
// weights, any stride, no padding inside the block) of parameters or intermediates, and f
// lowers to C; the reference is then a composition: f's C with each such nest replaced by
// library calls and every other block (softmax, padding, an activation) left as plain C.
// OpenBLAS only when f has no convolution block (it has no convolution).
func (b *Backend) VendorLibraries(f *schedule.Func) []string {
	if f == nil {
		return nil
	}
	if b.nvcc != nil {
		if _, ok := MatmulShape(f); ok {
			return []string{"cuBLAS"}
		}
		return nil
	}
	return cpuVendorLibraries(f, b.cpuLibraries())
}

// MeasureVendor builds and times the named vendor library on f's shapes with the same inputs,
// timing protocol and check against ref as a candidate (timeout 0: Config.RunTimeout); ok is
// false when library is not among VendorLibraries(f). A failure is in the Result's status, as
// for a candidate: a library that is not installed is a build error whose message says how to
// install it ("oneDNN not installed: apt-get install libdnnl-dev").
//
// The CPU libraries are built with the candidates' C compiler, flags and harness (so their
// Source is the C kernel without the harness) and run with the candidates' thread count
// (OMP_NUM_THREADS; OpenBLAS also gets OPENBLAS_NUM_THREADS and an OPENBLAS_CORETYPE chosen
// from the target). oneDNN's setup — engine, stream, primitive creation and the reorder of
// input weights into the layout a convolution prefers — runs once, lazily, in the kernel's
// first call, which is the harness's checked warm-up call: the timed calls measure the
// library's execution alone, as a framework runs inference.
func (b *Backend) MeasureVendor(ctx context.Context, f *schedule.Func, library string, ref *Reference, timeout time.Duration) (v Vendor, ok bool) {
	v.Library = library
	if !slices.Contains(b.VendorLibraries(f), library) {
		return v, false
	}
	if b.nvcc != nil {
		v.Result = b.measureCublas(ctx, f, ref, timeout)
		return v, true
	}
	for _, lib := range b.cpuLibraries() {
		if lib.name == library {
			v.Result = b.measureCPUVendor(ctx, f, lib, ref, timeout)
			return v, true
		}
	}
	return v, false
}

// measureCublas builds the cuBLAS program of f's matmul with nvcc and runs it like a candidate.
func (b *Backend) measureCublas(ctx context.Context, f *schedule.Func, ref *Reference, timeout time.Duration) Result {
	spec, _ := MatmulShape(f)
	src := CublasSource(spec)
	b.phase.RLock()
	r := b.nvcc.BuildWith(ctx, src, CublasLinkFlags())
	b.phase.RUnlock()
	built := Built{Func: f, Source: src, Binary: r.Binary, BuildS: r.Seconds, Cached: r.Cached, runTimeout: timeout}
	if r.Err != nil {
		res := &Result{Status: StatusBuildError, Message: oneLine(r.Err.Error()), BuildS: r.Seconds, Source: src}
		if be, isBuild := r.Err.(*BuildError); isBuild {
			res.Detail = be.Detail()
		}
		built.failed = res
	}
	return b.RunBatch(ctx, []Built{built}, ref)[0]
}
