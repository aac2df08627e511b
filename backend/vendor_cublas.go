package backend

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"colt/schedule"
)

// MatmulSpec is the shape of a (batched) matrix product C[b, i, j] = Σk A[b, i, k]·B[b, k, j]
// over row-major float32 buffers, as MatmulShape finds it in a Func: what a vendor library
// (cuBLAS) is asked to compute for comparison with a tuned kernel of the same workload.
type MatmulSpec struct {
	// Batch is the number of products: the product of the extents of the batch iterators (the
	// leading indices of C before i and j); 1 when there are none.
	Batch int
	// M, N, K are the rows of C, the columns of C and the reduced extent.
	M, N, K int
	// TransA: A is stored [k, i] (K×M) rather than [i, k]; TransB: B is stored [j, k] (N×K)
	// rather than [k, j].
	TransA, TransB bool
	// A, B, C are the parameters read as the left and right operand and written as the result.
	// A and B may be the same buffer (C = X·Xᵀ).
	A, B, C *schedule.Buffer
	// BatchedA and BatchedB say whether A and B carry the batch indices (as C's leading
	// indices, in the same order); an operand without them is shared by every batch.
	BatchedA, BatchedB bool
	// Params are the function's parameters in order: inputs are filled by parameter index, as
	// the harnesses do. Nil means A, B, C.
	Params []*schedule.Buffer
}

// MatmulShape recognizes an (unscheduled) function whose only block is a matrix product:
//
//	C[b..., i, j] = 0 (init);  C[b..., i, j] += A[b..., i, k] * B[b..., k, j]
//
// with i, j, k and the batch iterators b... (any number, flattened into Batch) distinct block
// iterators, k the only reduction iterator, A stored as [i, k] or [k, i], B as [k, j] or [j, k],
// each with or without the batch indices, every buffer float32 and a parameter, and C the
// only output. The operands of + and * may come in either order. It reports false for
// anything else: other or more blocks (including scheduled programs with cache stages),
// intermediates, predicates, other init values, indices that are not plain iterators, sizes
// that do not match the iterator extents or do not fit cuBLAS's int dimensions. It never
// panics on a malformed function. (The block itself is recognized as the CPU vendor
// references recognize a matmul block of a multi-block function.)
func MatmulShape(f *schedule.Func) (MatmulSpec, bool) {
	if checkIR(f) != nil || len(f.Root.Allocs) > 0 {
		return MatmulSpec{}, false
	}
	blocks := f.Blocks()
	if len(blocks) != 1 {
		return MatmulSpec{}, false
	}
	spec, ok := blockMatmul(blocks[0])
	if !ok {
		return MatmulSpec{}, false
	}
	if outs := f.OutputParams(); len(outs) != 1 || outs[0] != spec.C {
		return MatmulSpec{}, false
	}
	spec.Params = f.Params
	if spec.validate() != nil { // A, B and C are parameters
		return MatmulSpec{}, false
	}
	return spec, true
}

// plainVars returns indices that are all distinct non-nil variables.
func plainVars(idx []schedule.Expr) ([]*schedule.Var, bool) {
	out := make([]*schedule.Var, len(idx))
	for n, e := range idx {
		v, ok := e.(*schedule.Var)
		if !ok || v == nil || slices.Contains(out[:n], v) {
			return nil, false
		}
		out[n] = v
	}
	return out, true
}

// isLoadOf reports whether e loads buf at exactly the variables idx.
func isLoadOf(e schedule.Expr, buf *schedule.Buffer, idx []*schedule.Var) bool {
	l, ok := e.(*schedule.Load)
	if !ok || l == nil || l.Buffer != buf {
		return false
	}
	got, ok := plainVars(l.Indices)
	return ok && slices.Equal(got, idx)
}

// isZero reports whether e is the constant 0.
func isZero(e schedule.Expr) bool {
	switch c := e.(type) {
	case *schedule.FloatImm:
		return c != nil && c.Value == 0
	case *schedule.IntImm:
		return c != nil && c.Value == 0
	}
	return false
}

// params is s.Params, or A, B, C when it is empty.
func (s MatmulSpec) params() []*schedule.Buffer {
	if len(s.Params) > 0 {
		return s.Params
	}
	if s.A == s.B {
		return []*schedule.Buffer{s.A, s.C}
	}
	return []*schedule.Buffer{s.A, s.B, s.C}
}

// validate checks that the spec describes buffers cuBLAS can multiply as stated.
func (s MatmulSpec) validate() error {
	if s.A == nil || s.B == nil || s.C == nil {
		return fmt.Errorf("A, B and C must all be set")
	}
	if s.C == s.A || s.C == s.B {
		return fmt.Errorf("C must not be an operand")
	}
	for _, d := range []int{s.Batch, s.M, s.N, s.K} {
		if d <= 0 || d > math.MaxInt32 {
			return fmt.Errorf("sizes must be in 1..%d: batch %d, M %d, N %d, K %d", math.MaxInt32, s.Batch, s.M, s.N, s.K)
		}
	}
	bs := []int{}
	if s.Batch > 1 {
		bs = []int{s.Batch}
	}
	shape := func(batched bool, rows, cols int) []int {
		if batched {
			return append(slices.Clone(bs), rows, cols)
		}
		return []int{rows, cols}
	}
	a, b := shape(s.BatchedA, s.M, s.K), shape(s.BatchedB, s.K, s.N)
	if s.TransA {
		a = shape(s.BatchedA, s.K, s.M)
	}
	if s.TransB {
		b = shape(s.BatchedB, s.N, s.K)
	}
	for _, x := range []struct {
		name string
		buf  *schedule.Buffer
		want []int
	}{{"A", s.A, a}, {"B", s.B, b}, {"C", s.C, shape(true, s.M, s.N)}} {
		if x.buf.DType != schedule.Float32 {
			return fmt.Errorf("%s (%s) is %s; cuBLAS SGEMM needs float32", x.name, x.buf.Name, x.buf.DType)
		}
		// Batch indices are flattened: compare element counts and the two matrix dimensions.
		n := len(x.buf.Shape)
		if n < 2 || x.buf.Shape[n-2] != x.want[len(x.want)-2] || x.buf.Shape[n-1] != x.want[len(x.want)-1] ||
			x.buf.Elems() != elemsOf(x.want) {
			return fmt.Errorf("%s (%s) has shape %s, want %s", x.name, x.buf.Name, shapeText(x.buf.Shape), shapeText(x.want))
		}
	}
	ps := s.params()
	for _, p := range ps {
		if p == nil {
			return fmt.Errorf("nil parameter")
		}
	}
	for _, x := range []*schedule.Buffer{s.A, s.B, s.C} {
		if !slices.Contains(ps, x) {
			return fmt.Errorf("%s is not a parameter", x.Name)
		}
	}
	return nil
}

func elemsOf(shape []int) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
	}
	return n
}

// CublasLinkFlags are the extra flags a CublasSource program needs: build it with
// builder.BuildWith(ctx, CublasSource(spec), CublasLinkFlags()) on an nvcc Builder.
func CublasLinkFlags() []string { return []string{"-lcublas"} }

// CublasSource returns a complete CUDA program that computes spec with cuBLAS (cublasSgemm,
// or cublasSgemmStridedBatched when the batch cannot be folded into M) in the default FP32
// math mode (no TF32), for comparison with a tuned kernel of the same workload. Row-major
// storage is handled by computing Cᵀ = Bᵀ·Aᵀ in cuBLAS's column-major terms (the operands
// swapped). It is run like a CUDAHarness program,
//
//	prog OUTPUT_FILE SEED REPEAT MIN_REPEAT_MS [FLUSH_L2]
//
// fills A, B and C exactly as the harnesses do (by their index in spec.Params), writes C to
// OUTPUT_FILE in the harness's output format (so the caller may compare it with the
// reference; nothing when OUTPUT_FILE is empty), times the library call with the same
// protocol and prints the same colt-timing line, with the same exit statuses (2 usage or
// allocation, 3 output file, 4 CUDA or cuBLAS error — "colt harness: cuBLAS error: <status>
// at <what>" —, 5 no device). Link it with CublasLinkFlags. An invalid spec yields a program
// that is a single #error line, so the build fails with the reason.
func CublasSource(spec MatmulSpec) string {
	if err := spec.validate(); err != nil {
		return fmt.Sprintf("#error \"colt cublas: %s\"\n", cStringSafe(err.Error()))
	}
	ps := spec.params()
	index := func(b *schedule.Buffer) int { return slices.Index(ps, b) }
	ia, ib, ic := index(spec.A), index(spec.B), index(spec.C)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	op := func(t bool) string {
		if t {
			return "CUBLAS_OP_T"
		}
		return "CUBLAS_OP_N"
	}
	batchText := ""
	if spec.Batch > 1 {
		batchText = fmt.Sprintf("%d × ", spec.Batch)
	}
	aText, bText := "A[M, K]", "B[K, N]"
	if spec.TransA {
		aText = "A[K, M]"
	}
	if spec.TransB {
		bText = "B[N, K]"
	}
	w("/* colt vendor reference: cuBLAS SGEMM, %sC[M, N] = %s · %s with M=%d N=%d K=%d\n", batchText, aText, bText, spec.M, spec.N, spec.K)
	w(" * (A = %s, B = %s, C = %s; row-major, computed as Cᵀ = Bᵀ·Aᵀ in column-major).\n", commentSafe(spec.A.Name), commentSafe(spec.B.Name), commentSafe(spec.C.Name))
	w(" * Inputs as harness v%d. Link with -lcublas. */\n", HarnessVersion)
	w("#include <cublas_v2.h>\n#include <cuda_runtime.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n\n")
	w("%s", cudaHarnessCommon)
	b.WriteString(`static const char* colt_h_cublas_status(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
  }
}

/* Every cuBLAS call goes through colt_h_cublas_check: an error ends the program with status 4. */
static void colt_h_cublas_check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    fprintf(stderr, "colt harness: cuBLAS error: %s (%d) at %s\n", colt_h_cublas_status(s), (int)s, what);
    exit(4);
  }
}

static cublasHandle_t colt_h_handle;
static const float* colt_h_a;
static const float* colt_h_b;
static float* colt_h_c;

`)
	g := cublasGemmFor(spec)
	w("/* One library call: C = A·B for every batch. */\n")
	w("static void colt_h_gemm(void) {\n  const float alpha = 1.0f, beta = 0.0f;\n")
	if !g.strided {
		w("  colt_h_cublas_check(cublasSgemm(colt_h_handle, %s, %s, %d, %d, %d, &alpha, colt_h_b, %d, colt_h_a, %d, &beta, colt_h_c, %d), \"cublasSgemm\");\n",
			op(g.transB), op(g.transA), g.m, g.n, g.k, g.ldb, g.lda, g.ldc)
	} else {
		w("  colt_h_cublas_check(cublasSgemmStridedBatched(colt_h_handle, %s, %s, %d, %d, %d, &alpha, colt_h_b, %d, %dLL, colt_h_a, %d, %dLL, &beta, colt_h_c, %d, %dLL, %d), \"cublasSgemmStridedBatched\");\n",
			op(g.transB), op(g.transA), g.m, g.n, g.k, g.ldb, g.strideB, g.lda, g.strideA, g.ldc, g.strideC, g.batch)
	}
	w("}\n\n")
	w("%s", cudaMainPrologue)
	dev := map[int]string{}
	for _, x := range []struct {
		i   int
		buf *schedule.Buffer
	}{{ia, spec.A}, {ib, spec.B}, {ic, spec.C}} {
		if _, done := dev[x.i]; done {
			continue // A and B are the same buffer
		}
		n := x.buf.Elems()
		name := cStringSafe(x.buf.Name)
		w("  float* p%d = (float*)colt_h_alloc(\"%s\", %dULL * sizeof(float)); /* %s%s */\n", x.i, name, n, x.buf.DType, shapeText(x.buf.Shape))
		w("  { uint64_t s = seed ^ (0xD1B54A32D192ED03ULL * %dULL); for (uint64_t i = 0; i < %dULL; ++i) p%d[i] = (float)colt_h_uniform(&s); }\n",
			x.i+1, n, x.i)
		w("  float* d%d = (float*)colt_h_device_alloc(\"%s\", %dULL * sizeof(float));\n", x.i, name, n)
		w("  colt_h_check(cudaMemcpy(d%d, p%d, %dULL * sizeof(float), cudaMemcpyHostToDevice), \"cudaMemcpy of %s to the device\");\n", x.i, x.i, n, name)
		dev[x.i] = fmt.Sprintf("d%d", x.i)
	}
	nC := spec.C.Elems()
	w("  colt_h_a = d%d;\n  colt_h_b = d%d;\n  colt_h_c = d%d;\n", ia, ib, ic)
	b.WriteString(`  colt_h_cublas_check(cublasCreate(&colt_h_handle), "cublasCreate");
  colt_h_cublas_check(cublasSetMathMode(colt_h_handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  colt_h_cublas_check(cublasSetStream(colt_h_handle, 0), "cublasSetStream");
  colt_h_gemm(); /* the checked call, also the warm-up */
  colt_h_check(cudaGetLastError(), "the cuBLAS call (checked call)");
  colt_h_check(cudaDeviceSynchronize(), "the run of the cuBLAS call (checked call)");
`)
	w("  colt_h_check(cudaMemcpy(p%d, d%d, %dULL * sizeof(float), cudaMemcpyDeviceToHost), \"cudaMemcpy of output %s to the host\");\n",
		ic, ic, nC, cStringSafe(spec.C.Name))
	b.WriteString(`  if (out_path[0] != '\0') {
    FILE* out = fopen(out_path, "wb");
    if (out == NULL) {
      perror("colt harness: cannot open the output file");
      return 3;
    }
`)
	w("    if (fwrite(p%d, sizeof(float), %dULL, out) != %dULL) { perror(\"colt harness: cannot write output %s\"); return 3; }\n",
		ic, nC, nC, cStringSafe(spec.C.Name))
	b.WriteString(`    if (fclose(out) != 0) {
      perror("colt harness: cannot write the output file");
      return 3;
    }
  }
`)
	w("%s", cudaTimedTail("colt_h_gemm();", "the cuBLAS call"))
	return b.String()
}

// cublasGemm is the column-major cuBLAS call that computes a row-major MatmulSpec: cuBLAS
// sees the row-major C (M×N) as the column-major Cᵀ (N×M) and computes it as Bᵀ·Aᵀ, so its
// first operand is B and its second A, each transposed when the spec stores it transposed.
type cublasGemm struct {
	strided                   bool // cublasSgemmStridedBatched rather than cublasSgemm
	transB, transA            bool // op of the first (B) and second (A) operand
	m, n, k                   int  // cuBLAS's m (= N), n (= M, times Batch when folded), k (= K)
	ldb, lda, ldc             int
	strideB, strideA, strideC int64 // element strides between batches (0: shared operand)
	batch                     int
}

// cublasGemmFor maps spec to one cuBLAS call: the row-major call (rowMajorGemmFor, batch
// folding included) with the operands swapped; a batch that is not folded becomes a strided
// batched call with stride 0 for a shared operand.
func cublasGemmFor(spec MatmulSpec) cublasGemm {
	g := rowMajorGemmFor(spec)
	return cublasGemm{strided: g.batch > 1, transB: g.transB, transA: g.transA, m: g.n, n: g.m, k: g.k,
		ldb: g.ldb, lda: g.lda, ldc: g.ldc, strideB: g.strideB, strideA: g.strideA, strideC: g.strideC, batch: g.batch}
}
