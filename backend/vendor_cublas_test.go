package backend

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"colt/schedule"
	"colt/workloads"
)

// builtinTask returns the function of a built-in workload's task ("" for a single workload).
func builtinTask(t *testing.T, ws []*workloads.Workload, name, task string) *schedule.Func {
	t.Helper()
	for _, w := range ws {
		if w.Name != name {
			continue
		}
		for _, tk := range w.Tasks {
			if task == "" || tk.Name == task {
				return tk.Func()
			}
		}
	}
	t.Fatalf("no built-in workload %s task %q", name, task)
	return nil
}

// parsedFunc builds a one-task workload from stages.
func parsedFunc(t *testing.T, dtype string, sizes map[string]any, inputs []string, stages ...string) *schedule.Func {
	t.Helper()
	w, err := workloads.Parse("t", workloads.Spec{DType: dtype, Sizes: sizes, Inputs: inputs, Stages: stages}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return w.Tasks[0].Func()
}

// shapeOf is a compact description of a MatmulSpec for table comparisons.
func shapeOf(s MatmulSpec) string {
	return fmt.Sprintf("batch=%d M=%d N=%d K=%d transA=%v transB=%v A=%s B=%s C=%s batchedA=%v batchedB=%v",
		s.Batch, s.M, s.N, s.K, s.TransA, s.TransB, s.A.Name, s.B.Name, s.C.Name, s.BatchedA, s.BatchedB)
}

func TestMatmulShapeBuiltins(t *testing.T) {
	ws := workloads.Builtin()
	for _, c := range []struct {
		name, task string
		want       string // "" means not a matmul
	}{
		{"llama3-8b-attn", "", "batch=1 M=16 N=4096 K=4096 transA=false transB=false A=X B=Wq C=O batchedA=true batchedB=false"},
		{"deepseek-r1-moe", "", "batch=1 M=16 N=2048 K=7168 transA=false transB=false A=X B=We C=O batchedA=true batchedB=false"},
		{"flux-attn", "", ""},
		{"flux-conv", "", ""},
		{"llama4-scout-mlp", "", ""},
		{"llama3-8b", "qkv", "batch=1 M=16 N=6144 K=4096 transA=false transB=false A=X B=Wqkv C=O batchedA=true batchedB=false"},
		{"llama3-8b", "attention", ""},
		{"llama3-8b", "out-proj", "batch=1 M=16 N=4096 K=4096 transA=false transB=false A=X B=Wo C=O batchedA=true batchedB=false"},
		{"llama3-8b", "gate-up", ""},
		{"llama3-8b", "down", "batch=1 M=16 N=4096 K=14336 transA=false transB=false A=X B=Wd C=O batchedA=true batchedB=false"},
		{"llama3-8b", "rmsnorm", ""},
		{"llama3-8b", "lm-head", "batch=1 M=16 N=128256 K=4096 transA=false transB=false A=X B=Wlm C=O batchedA=true batchedB=false"},
	} {
		f := builtinTask(t, ws, c.name, c.task)
		spec, ok := MatmulShape(f)
		got := ""
		if ok {
			got = shapeOf(spec)
			if len(spec.Params) != len(f.Params) {
				t.Errorf("%s:%s: Params %v, want the function's", c.name, c.task, spec.Params)
			}
		}
		if got != c.want {
			t.Errorf("MatmulShape(%s:%s) = %q, want %q", c.name, c.task, got, c.want)
		}
	}
}

func TestMatmulShapeVariants(t *testing.T) {
	sz := map[string]any{"NB": 3, "H": 2, "M": 5, "N": 7, "K": 4}
	for _, c := range []struct {
		name   string
		dtype  string
		inputs []string
		stages []string
		want   string
	}{
		{"plain", "", []string{"A[M, K]", "B[K, N]"}, []string{"C[i, j] += A[i, k] * B[k, j]"},
			"batch=1 M=5 N=7 K=4 transA=false transB=false A=A B=B C=C batchedA=false batchedB=false"},
		{"operands swapped", "", []string{"A[M, K]", "B[K, N]"}, []string{"C[i, j] += B[k, j] * A[i, k]"},
			"batch=1 M=5 N=7 K=4 transA=false transB=false A=A B=B C=C batchedA=false batchedB=false"},
		{"B transposed", "", []string{"A[M, K]", "Bt[N, K]"}, []string{"C[i, j] += A[i, k] * Bt[j, k]"},
			"batch=1 M=5 N=7 K=4 transA=false transB=true A=A B=Bt C=C batchedA=false batchedB=false"},
		{"A transposed", "", []string{"At[K, M]", "B[K, N]"}, []string{"C[i, j] += At[k, i] * B[k, j]"},
			"batch=1 M=5 N=7 K=4 transA=true transB=false A=At B=B C=C batchedA=false batchedB=false"},
		{"batched", "", []string{"A[NB, M, K]", "W[NB, K, N]"}, []string{"C[b, i, j] += A[b, i, k] * W[b, k, j]"},
			"batch=3 M=5 N=7 K=4 transA=false transB=false A=A B=W C=C batchedA=true batchedB=true"},
		{"two batch axes, Q·Kᵀ", "", []string{"Q[NB, H, M, K]", "Kt[NB, H, N, K]"}, []string{"S[b, h, i, j] += Q[b, h, i, d] * Kt[b, h, j, d]"},
			"batch=6 M=5 N=7 K=4 transA=false transB=true A=Q B=Kt C=S batchedA=true batchedB=true"},
		{"shared A", "", []string{"A[M, K]", "W[NB, K, N]"}, []string{"C[b, i, j] += A[i, k] * W[b, k, j]"},
			"batch=3 M=5 N=7 K=4 transA=false transB=false A=A B=W C=C batchedA=false batchedB=true"},
		{"gram", "", []string{"X[M, K]"}, []string{"C[i, j] += X[i, k] * X[j, k]"},
			"batch=1 M=5 N=5 K=4 transA=false transB=true A=X B=X C=C batchedA=false batchedB=false"},
		{"softmax", "", []string{"X[M, N]"}, []string{"Mx[i] max= X[i, j]", "E[i, j] = exp(X[i, j] - Mx[i])", "Z[i] += E[i, j]", "Y[i, j] = E[i, j] / Z[i]"}, ""},
		{"float64", "float64", []string{"A[M, K]", "B[K, N]"}, []string{"C[i, j] += A[i, k] * B[k, j]"}, ""},
		{"max-plus", "", []string{"A[M, K]", "B[K, N]"}, []string{"C[i, j] max= A[i, k] * B[k, j]"}, ""},
		{"scaled", "", []string{"A[M, K]", "B[K, N]"}, []string{"C[i, j] += 2 * A[i, k] * B[k, j]"}, ""},
		{"matmul then relu", "", []string{"A[M, K]", "B[K, N]"}, []string{"C[i, j] += A[i, k] * B[k, j]", "Y[i, j] = relu(C[i, j])"}, ""},
		{"element-wise product", "", []string{"A[M, K]", "B[M, K]"}, []string{"C[i] += A[i, k] * B[i, k]"}, ""},
		{"partly batched operand", "", []string{"A[NB, M, K]", "W[H, K, N]"}, []string{"C[b, h, i, j] += A[b, i, k] * W[h, k, j]"}, ""},
		{"shifted index", "", []string{"A[M, K]", "B[K, N]"}, []string{"C[i, j] += A[i, K - 1 - k] * B[k, j]"}, ""},
		{"outer product", "", []string{"A[M]", "B[N]"}, []string{"C[i, j] = A[i] * B[j]"}, ""},
	} {
		f := parsedFunc(t, c.dtype, sz, c.inputs, c.stages...)
		spec, ok := MatmulShape(f)
		got := ""
		if ok {
			got = shapeOf(spec)
		}
		if got != c.want {
			t.Errorf("%s: MatmulShape = %q, want %q\n%s", c.name, got, c.want, schedule.Print(f))
		}
	}
}

func TestMatmulShapeMalformed(t *testing.T) {
	good := matmulFunc(5, 7, 4)
	if _, ok := MatmulShape(good); !ok {
		t.Fatal("the fixture matmul is not recognized")
	}
	broken := func(edit func(f *schedule.Func, b *schedule.Block)) *schedule.Func {
		f := schedule.CloneFunc(matmulFunc(5, 7, 4))
		edit(f, f.Blocks()[0])
		return f
	}
	A := schedule.NewBuffer("A", f32, 4)
	for name, f := range map[string]*schedule.Func{
		"nil":       nil,
		"no root":   {Name: "x"},
		"nil param": {Params: []*schedule.Buffer{A, nil}, Root: &schedule.Block{Name: "root"}},
		"no blocks": {Params: []*schedule.Buffer{A}, Root: &schedule.Block{Name: "root"}},
		"nil store": {Params: []*schedule.Buffer{A}, Root: &schedule.Block{Name: "root", Body: &schedule.Block{Name: "b", Body: &schedule.Store{}}}},
		"no init":   broken(func(_ *schedule.Func, b *schedule.Block) { b.Init = nil }),
		"init 1":    broken(func(_ *schedule.Func, b *schedule.Block) { b.Init.(*schedule.Store).Value = fc(1) }),
		"predicate": broken(func(_ *schedule.Func, b *schedule.Block) {
			b.Predicate = schedule.Bin(schedule.LT, b.IterVars[0].Var, ic(3))
		}),
		"k spatial":     broken(func(_ *schedule.Func, b *schedule.Block) { b.IterVars[2].Kind = schedule.Spatial }),
		"bad extent":    broken(func(_ *schedule.Func, b *schedule.Block) { b.IterVars[2].Extent = 3 }),
		"zero extent":   broken(func(_ *schedule.Func, b *schedule.Block) { b.IterVars[0].Extent = 0 }),
		"nil body":      broken(func(_ *schedule.Func, b *schedule.Block) { b.Body = nil }),
		"nil iter var":  broken(func(_ *schedule.Func, b *schedule.Block) { b.IterVars[1].Var = nil }),
		"dup iter var":  broken(func(_ *schedule.Func, b *schedule.Block) { b.IterVars[1].Var = b.IterVars[0].Var }),
		"C not a param": broken(func(f *schedule.Func, _ *schedule.Block) { f.Params = f.Params[:2] }),
		"int32 A": broken(func(f *schedule.Func, _ *schedule.Block) {
			f.Params[0].DType = schedule.Int32
		}),
		"intermediate": broken(func(f *schedule.Func, _ *schedule.Block) {
			f.Root.Allocs = append(f.Root.Allocs, schedule.NewBuffer("T", f32, 2))
		}),
	} {
		if spec, ok := MatmulShape(f); ok {
			t.Errorf("%s: MatmulShape = %+v, want false", name, spec)
		}
	}
}

// emulateCublas runs g as cuBLAS defines SGEMM (column-major, alpha 1, beta 0) on the device
// buffers a, b, c.
func emulateCublas(g cublasGemm, a, b, c []float64) {
	at := func(buf []float64, trans bool, ld int, stride int64, batch, row, col int) float64 {
		// op(X)[row, col] of a column-major X with leading dimension ld.
		if trans {
			row, col = col, row
		}
		return buf[stride*int64(batch)+int64(col*ld+row)]
	}
	for bt := range g.batch {
		for col := range g.n {
			for row := range g.m {
				sum := 0.0
				for p := range g.k {
					sum += at(b, g.transB, g.ldb, g.strideB, bt, row, p) * at(a, g.transA, g.lda, g.strideA, bt, p, col)
				}
				c[g.strideC*int64(bt)+int64(col*g.ldc+row)] = sum
			}
		}
	}
}

// TestCublasCallComputesTheSpec checks the operand swap, leading dimensions, batch folding and
// strides without a GPU: the cuBLAS call, emulated by its definition, must compute the
// product the function describes, row-major, for every kind of matmul MatmulShape accepts.
func TestCublasCallComputesTheSpec(t *testing.T) {
	sz := map[string]any{"NB": 3, "H": 2, "M": 5, "N": 7, "K": 4}
	for _, c := range []struct {
		inputs  []string
		stage   string
		strided bool
	}{
		{[]string{"A[M, K]", "B[K, N]"}, "C[i, j] += A[i, k] * B[k, j]", false},
		{[]string{"A[M, K]", "Bt[N, K]"}, "C[i, j] += A[i, k] * Bt[j, k]", false},
		{[]string{"At[K, M]", "B[K, N]"}, "C[i, j] += At[k, i] * B[k, j]", false},
		{[]string{"At[K, M]", "Bt[N, K]"}, "C[i, j] += At[k, i] * Bt[j, k]", false},
		{[]string{"X[M, K]"}, "C[i, j] += X[i, k] * X[j, k]", false},
		{[]string{"A[NB, M, K]", "W[K, N]"}, "C[b, i, j] += A[b, i, k] * W[k, j]", false},       // folded
		{[]string{"A[NB, M, K]", "W[N, K]"}, "C[b, i, j] += A[b, i, k] * W[j, k]", false},       // folded
		{[]string{"A[NB, K, M]", "W[K, N]"}, "C[b, i, j] += A[b, k, i] * W[k, j]", true},        // not foldable
		{[]string{"A[NB, M, K]", "W[NB, K, N]"}, "C[b, i, j] += A[b, i, k] * W[b, k, j]", true}, // both batched
		{[]string{"A[M, K]", "W[NB, N, K]"}, "C[b, i, j] += A[i, k] * W[b, j, k]", true},        // shared A
		{[]string{"Q[NB, H, M, K]", "Kt[NB, H, N, K]"}, "S[b, h, i, j] += Q[b, h, i, d] * Kt[b, h, j, d]", true},
	} {
		f := parsedFunc(t, "", sz, c.inputs, c.stage)
		spec, ok := MatmulShape(f)
		if !ok {
			t.Errorf("%s: not recognized\n%s", c.stage, schedule.Print(f))
			continue
		}
		g := cublasGemmFor(spec)
		if g.strided != c.strided {
			t.Errorf("%s: strided = %v, want %v", c.stage, g.strided, c.strided)
		}
		rng := rand.New(rand.NewSource(1))
		data := map[*schedule.Buffer][]float64{}
		for _, p := range f.Params {
			v := make([]float64, p.Elems())
			for i := range v {
				v[i] = float64(rng.Intn(9) - 4)
			}
			data[p] = v
		}
		got := make([]float64, spec.C.Elems())
		emulateCublas(g, data[spec.A], data[spec.B], got)
		want := directMatmul(spec, data[spec.A], data[spec.B])
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: C[%d] = %g via cuBLAS's definition, want %g (call %+v)", c.stage, i, got[i], want[i], g)
				break
			}
		}
	}
}

// directMatmul computes spec row-major straight from its definition.
func directMatmul(s MatmulSpec, a, b []float64) []float64 {
	c := make([]float64, s.Batch*s.M*s.N)
	for bt := range s.Batch {
		ab, bb := 0, 0
		if s.BatchedA {
			ab = bt * s.M * s.K
		}
		if s.BatchedB {
			bb = bt * s.K * s.N
		}
		for i := range s.M {
			for j := range s.N {
				sum := 0.0
				for k := range s.K {
					av := a[ab+i*s.K+k]
					if s.TransA {
						av = a[ab+k*s.M+i]
					}
					bv := b[bb+k*s.N+j]
					if s.TransB {
						bv = b[bb+j*s.K+k]
					}
					sum += av * bv
				}
				c[(bt*s.M+i)*s.N+j] = sum
			}
		}
	}
	return c
}

func TestCublasSourceText(t *testing.T) {
	f := builtinTask(t, workloads.Builtin(), "llama3-8b-attn", "")
	spec, ok := MatmulShape(f)
	if !ok {
		t.Fatal("llama3-8b-attn is not a matmul")
	}
	src := CublasSource(spec)
	for _, want := range []string{
		"#include <cublas_v2.h>",
		"cublasSgemm(colt_h_handle, CUBLAS_OP_N, CUBLAS_OP_N, 4096, 16, 4096, &alpha, colt_h_b, 4096, colt_h_a, 4096, &beta, colt_h_c, 4096)",
		"CUBLAS_DEFAULT_MATH",
		"colt-timing number=%lld seconds=",
		"OUTPUT_FILE SEED REPEAT MIN_REPEAT_MS [FLUSH_L2]",
		"colt harness: cuBLAS error: %s (%d) at %s", "colt harness: CUDA error: %s (%s) at %s",
		"colt harness: no CUDA device",
		"exit(2);", "return 3;", "exit(4);", "exit(5);",
		"fwrite(p2, sizeof(float), 65536ULL, out)",
		"cudaMemsetAsync", "cudaEventElapsedTime",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("CublasSource lacks %q", want)
		}
	}
	// Inputs and the output are filled as the harness fills them.
	for _, line := range strings.Split(Harness(f, schedule.Float32), "\n") {
		if strings.Contains(line, "uint64_t s = seed") && !strings.Contains(src, line+"\n") {
			t.Errorf("CublasSource does not fill as the harness does: %q", line)
		}
	}
	for _, fn := range []string{"colt_h_next", "colt_h_uniform"} {
		if cpu, gpu := cFunctionText(Harness(f, schedule.Float32), fn), cFunctionText(src, fn); cpu == "" || cpu != gpu {
			t.Errorf("%s differs from the harness's", fn)
		}
	}
	// Invalid specs give one #error line, never a panic.
	X := schedule.NewBuffer("X", f32, 5, 4)
	D := schedule.NewBuffer("D", schedule.Float64, 5, 5)
	for name, bad := range map[string]MatmulSpec{
		"zero":       {},
		"no buffers": {Batch: 1, M: 5, N: 5, K: 4},
		"C operand":  {Batch: 1, M: 5, N: 4, K: 4, A: X, B: X, C: X},
		"shape":      {Batch: 1, M: 5, N: 6, K: 4, A: X, B: X, C: schedule.NewBuffer("C", f32, 5, 5), TransB: true},
		"float64":    {Batch: 1, M: 5, N: 5, K: 4, A: X, B: X, C: D, TransB: true},
		"not param":  {Batch: 1, M: 5, N: 5, K: 4, A: X, B: X, C: schedule.NewBuffer("C", f32, 5, 5), TransB: true, Params: []*schedule.Buffer{X}},
		"nil param":  {Batch: 1, M: 5, N: 5, K: 4, A: X, B: X, C: schedule.NewBuffer("C", f32, 5, 5), TransB: true, Params: []*schedule.Buffer{X, nil}},
		"huge":       {Batch: 1, M: 1 << 31, N: 5, K: 4, A: X, B: X, C: schedule.NewBuffer("C", f32, 5, 5)},
	} {
		if src := CublasSource(bad); !strings.HasPrefix(src, "#error \"colt cublas: ") || strings.Count(src, "\n") != 1 {
			t.Errorf("%s: CublasSource = %q, want one #error line", name, src)
		}
	}
	// A hand-made spec without Params takes A, B, C as the parameters (here the Gram X·Xᵀ).
	gram := MatmulSpec{Batch: 1, M: 5, N: 5, K: 4, A: X, B: X, C: schedule.NewBuffer("C", f32, 5, 5), TransB: true}
	if src := CublasSource(gram); strings.HasPrefix(src, "#error") || strings.Count(src, "colt_h_device_alloc(\"X\"") != 1 {
		t.Errorf("Gram spec without Params:\n%s", src)
	}
}

func TestCublasSourceCompiles(t *testing.T) {
	b := newNVCCTestBuilder(t)
	sz := map[string]any{"NB": 3, "H": 2, "M": 5, "N": 7, "K": 4}
	var sources []string
	var names []string
	add := func(name string, f *schedule.Func) {
		spec, ok := MatmulShape(f)
		if !ok {
			t.Fatalf("%s: not a matmul", name)
		}
		sources = append(sources, CublasSource(spec))
		names = append(names, name)
	}
	add("llama3-8b-attn", builtinTask(t, workloads.BuiltinSmall(64), "llama3-8b-attn", ""))
	add("strided, transposed", parsedFunc(t, "", sz, []string{"Q[NB, H, M, K]", "Kt[NB, H, N, K]"}, "S[b, h, i, j] += Q[b, h, i, d] * Kt[b, h, j, d]"))
	add("folded batch", parsedFunc(t, "", sz, []string{"A[NB, M, K]", "W[K, N]"}, "C[b, i, j] += A[b, i, k] * W[k, j]"))
	add("batched gram", parsedFunc(t, "", sz, []string{"X[NB, M, K]"}, "C[b, i, j] += X[b, i, k] * X[b, j, k]"))
	for i, r := range b.BuildAllWith(context.Background(), sources, CublasLinkFlags()) {
		if r.Err != nil {
			detail := ""
			if be, ok := r.Err.(*BuildError); ok {
				detail = be.Detail()
			}
			t.Errorf("%s: CublasSource does not compile: %v\n%s", names[i], r.Err, detail)
		}
	}
	// Without -lcublas the link fails, and the headline says why.
	r := b.Build(context.Background(), sources[0])
	be, ok := r.Err.(*BuildError)
	if !ok || !strings.Contains(be.Headline(), "cublas") {
		t.Errorf("build without -lcublas: %+v (headline %q)", r, func() string {
			if be != nil {
				return be.Headline()
			}
			return ""
		}())
	}
}
