package backend

import (
	"context"
	"time"

	"colt/schedule"
)

// Vendor is a vendor library's measurement of a program's shapes: what the user could call
// instead of a tuned kernel, timed and checked like a candidate in the same run.
type Vendor struct {
	// Library names the library, e.g. "cuBLAS".
	Library string
	// Result is its measurement: the latency and the check against the reference.
	Result Result
}

// VendorLibrary names the vendor library this backend times for f's shapes, or "" when it has
// none: cuBLAS for (batched) matmuls on a GPU. The CPU's libraries come with issue 13.
func (b *Backend) VendorLibrary(f *schedule.Func) string {
	if b.nvcc == nil || f == nil {
		return ""
	}
	if _, ok := MatmulShape(f); ok {
		return "cuBLAS"
	}
	return ""
}

// MeasureVendor builds and times the vendor library on f's shapes with the same inputs, timing
// protocol and check against ref as a candidate (timeout 0: Config.RunTimeout); ok is false
// when VendorLibrary(f) is "". A failure is in the Result's status, as for a candidate.
func (b *Backend) MeasureVendor(ctx context.Context, f *schedule.Func, ref *Reference, timeout time.Duration) (v Vendor, ok bool) {
	v.Library = b.VendorLibrary(f)
	if v.Library == "" {
		return v, false
	}
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
	v.Result = b.RunBatch(ctx, []Built{built}, ref)[0]
	return v, true
}
