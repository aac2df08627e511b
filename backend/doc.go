// Package backend turns a scheduled schedule.Func into a measured fact: it detects the target
// (CPU model, cores, SIMD width, caches), lowers the IR to readable C with OpenMP and SIMD
// hints, compiles it with the system C compiler (parallel builds, a content-addressed cache and
// a timeout per build), runs every candidate in its own process group with a timeout and the
// TVM timing protocol, and checks its outputs against a double-precision reference of the
// unscheduled program that is computed once and cached on disk.
//
// Vendor references (vendor.go): for matmul- and convolution-shaped programs it also builds and
// times what a user could call instead of a tuned kernel, on the same inputs and with the same
// check: cuBLAS on a GPU, oneDNN and OpenBLAS on the CPU. A CPU reference is the unscheduled
// program's C with each recognised block's loop nest replaced by library calls
// (vendor_blocks.go recognises the blocks, vendor_cpu.go writes the calls).
//
// Beyond plain loops, the C lowering writes a loop annotated schedule.AnnMicroKernel as an
// explicit vector micro-kernel (lower_micro.go) and a packing function for every packed input
// (lower_pack.go), which the harness calls once before the timed calls; UnrolledStatements
// (unroll_size.go) bounds what a build may ask of the compiler.
//
// Measurement discipline: timing is never overlapped with compilation. Callers alternate: build
// a batch (BuildBatch, parallel), then run it (RunBatch, serial). The Backend enforces this for
// its own work with a phase lock: builds share it, timed runs take it exclusively, so a timed run
// waits for every build in flight and no build starts while a candidate is timed.
package backend
