package backend

import (
	"strings"
	"testing"

	"colt/schedule"
)

func TestLowerMatmulText(t *testing.T) {
	src, err := LowerC(matmulFunc(8, 16, 4), LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#include <math.h>",
		"void matmul(const float* restrict A, const float* restrict B, float* restrict C) {",
		"for (int32_t i = 0; i < 8; ++i) {",
		"const int32_t vk = k;",
		"if (vk == 0) {",
		"C[vi * 16 + vj] = 0.0f;",
		"C[vi * 16 + vj] += A[vi * 4 + vk] * B[vk * 16 + vj];",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("lowered C lacks %q:\n%s", want, src)
		}
	}
	dbl, err := LowerC(matmulFunc(8, 16, 4), LowerOptions{Precision: schedule.Float64})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dbl, "void matmul(const double* restrict A, const double* restrict B, double* restrict C)") ||
		!strings.Contains(dbl, "= 0.0;") || strings.Contains(dbl, "float*") || strings.Contains(dbl, "0f") {
		t.Errorf("double lowering is not all double:\n%s", dbl)
	}
	proto, err := Prototype(matmulFunc(8, 16, 4))
	if err != nil || proto != "void matmul(const float* restrict A, const float* restrict B, float* restrict C);" {
		t.Errorf("Prototype = %q, %v", proto, err)
	}
}

func TestLowerScheduledPragmas(t *testing.T) {
	src, err := LowerC(scheduledMatmul(matmulFunc(10, 16, 6)), LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#pragma omp parallel for\n  for (int32_t i_0 = 0; i_0 < 3; ++i_0) {",
		"#pragma GCC unroll 4\n        for (int32_t i_1 = 0; i_1 < 4; ++i_1) {",
		"#pragma omp simd\n          for (int32_t j_1 = 0; j_1 < 8; ++j_1) {",
		"const int32_t vi = i_0 * 4 + i_1;",
		"if (i_0 * 4 + i_1 < 10) {",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("lowered C lacks %q:\n%s", want, src)
		}
	}
	// Auto-unroll 64: k (6 iterations × 64 stores) and j_0 are too big; nothing else is serial.
	if strings.Contains(src, "#pragma GCC unroll 6") {
		t.Errorf("auto-unroll unrolled a loop of 384 steps under max step 64:\n%s", src)
	}
}

func TestLowerAutoUnrollRule(t *testing.T) {
	f := matmulFunc(4, 4, 2)
	f.Root.Annotations = schedule.Annotations{AutoUnrollKey: "8"}
	src, err := LowerC(f, LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// k: 2 iterations × 2 stores (init + update) = 4 ≤ 8; j: 4 × 4 = 16 > 8.
	if !strings.Contains(src, "#pragma GCC unroll 2\n      for (int32_t k") || strings.Contains(src, "#pragma GCC unroll 4") {
		t.Errorf("auto-unroll rule not applied as documented:\n%s", src)
	}
}

func TestLowerVectorizedReductionDropsHint(t *testing.T) {
	f := matmulFunc(4, 4, 8)
	k := f.Root.Body.(*schedule.Loop).Body.(*schedule.Loop).Body.(*schedule.Loop)
	k.Kind = schedule.Vectorized
	src, err := LowerC(f, LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(src, "omp simd") || !strings.Contains(src, "vectorize hint dropped") {
		t.Errorf("a vectorized reduction loop got omp simd:\n%s", src)
	}
}

func TestLowerNestedParallel(t *testing.T) {
	f := matmulFunc(4, 4, 8)
	i := f.Root.Body.(*schedule.Loop)
	j := i.Body.(*schedule.Loop)
	i.Kind, j.Kind = schedule.Parallel, schedule.Parallel
	src, err := LowerC(f, LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(src, "omp parallel for") != 1 || !strings.Contains(src, "nested parallel loop") {
		t.Errorf("nested parallel loops:\n%s", src)
	}
}

func TestLowerErrors(t *testing.T) {
	cases := map[string]struct {
		mutate func(f *schedule.Func)
		want   string
	}{
		"thread binding": {func(f *schedule.Func) {
			l := f.Root.Body.(*schedule.Loop)
			l.Kind, l.Thread = schedule.ThreadBound, "threadIdx.x"
		}, "GPU thread binding"},
		"unbound variable": {func(f *schedule.Func) {
			f.Blocks()[0].Bindings[0] = schedule.NewVar("stray")
		}, "variable stray is used outside"},
		"wrong index count": {func(f *schedule.Func) {
			f.Blocks()[0].Init = st(f.Params[2], fc(0), ic(0))
		}, "has 2 dimensions but is accessed with 1"},
		"unknown buffer": {func(f *schedule.Func) {
			f.Blocks()[0].Init = st(schedule.NewBuffer("Z", f32, 4), fc(0), ic(0))
		}, "buffer Z is neither a parameter nor allocated"},
		"shared memory": {func(f *schedule.Func) {
			f.Blocks()[0].Allocs = []*schedule.Buffer{{Name: "S", Shape: []int{4}, DType: f32, Scope: schedule.Shared}}
		}, "shared-memory buffers need the CUDA backend"},
		"incomplete expression": {func(f *schedule.Func) {
			f.Blocks()[0].Bindings[1] = &schedule.Binary{Op: schedule.Add, A: ic(1)}
		}, "incomplete expression"},
		"bad intrinsic": {func(f *schedule.Func) {
			f.Blocks()[0].Init = st(f.Params[2], &schedule.Call{Fn: "softplus", Args: []schedule.Expr{fc(1)}}, ic(0), ic(0))
		}, `unknown intrinsic "softplus"`},
		"integer division": {func(f *schedule.Func) {
			f.Blocks()[0].Bindings[0] = schedule.Bin(schedule.Div, f.Blocks()[0].Bindings[0], ic(2))
		}, "division / of integers"},
		"bindings": {func(f *schedule.Func) {
			f.Blocks()[0].Bindings = f.Blocks()[0].Bindings[:2]
		}, "3 iterators but 2 bindings"},
		"nil statement in seq": {func(f *schedule.Func) {
			f.Root.Body = seq(nil, f.Root.Body)
		}, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := matmulFunc(4, 4, 4)
			c.mutate(f)
			_, err := LowerC(f, LowerOptions{})
			if c.want == "" {
				if err != nil {
					t.Fatalf("LowerC: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("LowerC error = %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := LowerC(nil, LowerOptions{}); err == nil {
		t.Error("LowerC(nil) succeeded")
	}
	if _, err := LowerC(&schedule.Func{Name: "x"}, LowerOptions{}); err == nil {
		t.Error("LowerC without a root succeeded")
	}
}

func TestKernelNameAndIdentifiers(t *testing.T) {
	for in, want := range map[string]string{
		"matmul": "matmul", "elementwise chain": "elementwise_chain", "3mm": "x_3mm",
		"main": "main_kernel", "": "kernel", "colt_x": "ucolt_x", "float": "float_kernel",
	} {
		if got := KernelName(&schedule.Func{Name: in}); got != want {
			t.Errorf("KernelName(%q) = %q, want %q", in, got, want)
		}
	}
	// Nested variables with the same name get different C names, sibling loop nests reuse
	// names, and a buffer named like a standard function is renamed.
	f := elementwiseFunc(4)
	f.Params[0].Name = "exp"
	src, err := LowerC(f, LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src, "const float* restrict exp_1") || strings.Count(src, "for (int32_t i = 0;") != 2 {
		t.Errorf("names not chosen as documented:\n%s", src)
	}
	g := matmulFunc(2, 2, 2)
	g.Root.Body.(*schedule.Loop).Body.(*schedule.Loop).Var.Name = "i"
	src, err = LowerC(g, LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src, "for (int32_t i_1 = 0; i_1 < 2; ++i_1)") || !strings.Contains(src, "const int32_t vj = i_1;") {
		t.Errorf("nested variables named alike were not told apart:\n%s", src)
	}
}

func TestFloatLiterals(t *testing.T) {
	for _, c := range []struct {
		v      float64
		single bool
		want   string
	}{
		{0, true, "0.0f"}, {1, true, "1.0f"}, {0.1, true, "0.1f"}, {-2.5, true, "-2.5f"},
		{1e30, true, "1e+30f"}, {3.4028235e38, true, "3.4028235e+38f"}, {1e39, true, "INFINITY"},
		{0.1, false, "0.1"}, {1.0 / 3, false, "0.3333333333333333"}, {2, false, "2.0"},
	} {
		if got := floatExpr(c.v, c.single).text; got != c.want {
			t.Errorf("floatExpr(%v, %v) = %q, want %q", c.v, c.single, got, c.want)
		}
	}
}

func TestTargetString(t *testing.T) {
	tg := Target{Kind: "cpu", Model: "AMD EPYC", Cores: 2, SIMD: "avx512", VectorBytes: 64, Caches: []Cache{
		{1, "Data", 32 << 10}, {1, "Instruction", 32 << 10}, {2, "Unified", 1 << 20}, {3, "Unified", 32 << 20},
	}}
	want := "cpu: AMD EPYC, 2 cores, avx512 (64 B vectors), L1d 32 KiB, L2 1 MiB, L3 32 MiB"
	if got := tg.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for in, want := range map[string]int64{"32K": 32 << 10, "1024K": 1 << 20, "32M": 32 << 20, "512": 512} {
		if got, err := parseCacheSize(in); err != nil || got != want {
			t.Errorf("parseCacheSize(%q) = %d, %v", in, got, err)
		}
	}
	d := DetectCPU()
	if d.Kind != "cpu" || d.Cores < 1 || d.SIMD == "" || d.VectorBytes < 4 {
		t.Errorf("DetectCPU() = %+v", d)
	}
	t.Log(d)
}

func TestParseTiming(t *testing.T) {
	n, lat, err := parseTiming("noise\ncolt-timing number=128 seconds=1.5e-06,1.25e-06\n", 2)
	if err != nil || n != 128 || len(lat) != 2 || lat[1] != 1.25e-6 {
		t.Errorf("parseTiming = %d %v %v", n, lat, err)
	}
	for _, bad := range []string{"", "colt-timing number=x seconds=1", "colt-timing number=1 seconds=1,nan", "colt-timing number=1 seconds=1"} {
		if _, _, err := parseTiming(bad, 2); err == nil {
			t.Errorf("parseTiming(%q) succeeded", bad)
		}
	}
}

func TestLowerLargeBuffersUseInt64(t *testing.T) {
	A := schedule.NewBuffer("A", f32, 65536, 65536)
	B := schedule.NewBuffer("B", f32, 65536, 65536)
	l, v := vars("i", "j"), vars("vi", "vj")
	blk := spatial("B", v, []int{65536, 65536}, exprs(l), st(B, mul(ld(A, v[0], v[1]), fc(2)), v[0], v[1]))
	f := &schedule.Func{Name: "big", Params: []*schedule.Buffer{A, B},
		Root: &schedule.Block{Name: "root", Body: loop(l[0], 65536, loop(l[1], 65536, blk))}}
	src, err := LowerC(f, LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src, "for (int64_t i = 0; i < 65536; ++i)") || !strings.Contains(src, "const int64_t vi = i;") ||
		strings.Contains(src, "int32_t") {
		t.Errorf("large buffers without int64 indices:\n%s", src)
	}
	if got := intLiteral(1 << 33); got != "8589934592LL" {
		t.Errorf("intLiteral = %s", got)
	}
}

func TestLowerParallelReductionRunsSerially(t *testing.T) {
	f := matmulFunc(4, 4, 8)
	k := f.Root.Body.(*schedule.Loop).Body.(*schedule.Loop).Body.(*schedule.Loop)
	k.Kind = schedule.Parallel
	src, err := LowerC(f, LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(src, "omp parallel") || !strings.Contains(src, "parallel hint dropped") {
		t.Errorf("a parallel reduction loop got omp parallel for:\n%s", src)
	}
}

func TestMalformedProgramsErrorWithoutPanic(t *testing.T) {
	cases := map[string]func(f *schedule.Func){
		"nil loop":            func(f *schedule.Func) { f.Root.Body = seq((*schedule.Loop)(nil)) },
		"nil seq":             func(f *schedule.Func) { f.Root.Body = (*schedule.Seq)(nil) },
		"nil block":           func(f *schedule.Func) { f.Root.Body.(*schedule.Loop).Body = (*schedule.Block)(nil) },
		"nil operand":         func(f *schedule.Func) { f.Blocks()[0].Bindings[0] = &schedule.Binary{Op: schedule.Add, A: ic(1)} },
		"typed nil predicate": func(f *schedule.Func) { f.Blocks()[0].Predicate = (*schedule.Binary)(nil) },
		"nil load buffer":     func(f *schedule.Func) { f.Blocks()[0].Init = st(f.Params[2], &schedule.Load{}, ic(0), ic(0)) },
		"nil call argument": func(f *schedule.Func) {
			f.Blocks()[0].Init = st(f.Params[2], &schedule.Call{Fn: schedule.Exp, Args: []schedule.Expr{nil}}, ic(0), ic(0))
		},
		"nil store": func(f *schedule.Func) { f.Blocks()[0].Init = (*schedule.Store)(nil) },
		"nil update operand": func(f *schedule.Func) {
			f.Blocks()[0].Body.(*schedule.Store).Value.(*schedule.Binary).A = (*schedule.Load)(nil)
		},
		"nil param":           func(f *schedule.Func) { f.Params[1] = nil },
		"nil iterator var":    func(f *schedule.Func) { f.Blocks()[0].IterVars[0].Var = nil },
		"nil alloc":           func(f *schedule.Func) { f.Root.Allocs = []*schedule.Buffer{nil} },
		"nil root":            func(f *schedule.Func) { f.Root = nil },
		"nil var in an index": func(f *schedule.Func) { f.Blocks()[0].Init = st(f.Params[2], fc(0), (*schedule.Var)(nil), ic(0)) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			f := matmulFunc(4, 4, 4)
			mutate(f)
			if _, err := LowerC(f, LowerOptions{}); err == nil {
				t.Error("LowerC succeeded")
			}
			if _, err := Prototype(f); err == nil {
				t.Error("Prototype succeeded")
			}
			if h := Harness(f, schedule.Float32); !strings.Contains(h, "#error") {
				t.Errorf("Harness of a malformed program:\n%s", h)
			}
		})
	}
}
