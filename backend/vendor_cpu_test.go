package backend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"colt/schedule"
	"colt/schedule/scheduletest"
	"colt/workloads"
)

// specFunc builds a one-task workload from a full spec (sizes, inputs, tensors, stages).
func specFunc(t *testing.T, spec workloads.Spec) *schedule.Func {
	t.Helper()
	w, err := workloads.Parse("t", spec, "test")
	if err != nil {
		t.Fatal(err)
	}
	return w.Tasks[0].Func()
}

// convS2 is the example-conv-s2 workload of colt.toml: a 3x3 convolution, stride 2, padding
// 1, prime sizes, a GELU epilogue.
func convS2(t *testing.T) *schedule.Func {
	return specFunc(t, workloads.Spec{
		Sizes:   map[string]any{"N": 1, "C": 7, "K": 13, "H": 31, "W": 29, "OH": "(H + 2 - 3) / 2 + 1", "OW": "(W + 2 - 3) / 2 + 1"},
		Inputs:  []string{"X[N, C, H, W]", "Wt[K, C, 3, 3]"},
		Tensors: []string{"Xp[N, C, H + 2, W + 2]", "Y[N, K, OH, OW]"},
		Stages: []string{
			"Xp[n, c, h, w] = pad(X[n, c, h - 1, w - 1])",
			"Y[n, k, y, x] += Xp[n, c, y*2 + r, x*2 + s] * Wt[k, c, r, s]",
			"O[n, k, y, x] = gelu(Y[n, k, y, x])",
		},
	})
}

func TestVendorLibrariesOnTheCPU(t *testing.T) {
	be := newTestBackend(t, nil)
	both, dnnl := []string{"oneDNN", "OpenBLAS"}, []string{"oneDNN"}
	full := workloads.Builtin()
	small := workloads.BuiltinSmall(16)
	for _, c := range []struct {
		name, task string
		want       []string
	}{
		{"llama3-8b-attn", "", both},
		{"deepseek-r1-moe", "", both},
		{"flux-attn", "", both}, // Q·Kᵀ and P·V; the softmax between stays C
		{"flux-conv", "", dnnl}, // the padding stays C; OpenBLAS has no convolution
		{"llama4-scout-mlp", "", both},
		{"llama3-8b", "qkv", both},
		{"llama3-8b", "attention", nil}, // K and V lack the group index: neither batched nor shared
		{"llama3-8b", "out-proj", both},
		{"llama3-8b", "gate-up", both},
		{"llama3-8b", "down", both},
		{"llama3-8b", "rmsnorm", nil},
		{"llama3-8b", "lm-head", both},
	} {
		for _, ws := range [][]*workloads.Workload{full, small} {
			f := builtinTask(t, ws, c.name, c.task)
			if got := be.VendorLibraries(f); !slices.Equal(got, c.want) {
				t.Errorf("VendorLibraries(%s:%s %v) = %q, want %q", c.name, c.task, f.Params[0].Shape, got, c.want)
			}
		}
	}
	sz := map[string]any{"M": 5, "N": 7, "K": 4}
	for _, c := range []struct {
		name string
		f    *schedule.Func
		want []string
	}{
		{"example-conv-s2", convS2(t), dnnl},
		{"softmax", scheduletest.Softmax(8, 8), nil},
		{"scheduled matmul", scheduledMatmul(matmulFunc(8, 16, 4)), nil}, // split loops: not a plain nest
		{"hand-made matmul", matmulFunc(5, 7, 4), both},
		{"matmul, bias, relu", scheduletest.MatmulBiasRelu(8, 8, 8), both},
		{"conv fixture", scheduletest.Conv2D(1, 3, 4, 6, 6), dnnl},
		{"float64 matmul", parsedFunc(t, "float64", sz, []string{"A[M, K]", "B[K, N]"}, "C[i, j] += A[i, k] * B[k, j]"), nil},
		{"scaled matmul", parsedFunc(t, "", sz, []string{"A[M, K]", "B[K, N]"}, "C[i, j] += 2 * A[i, k] * B[k, j]"), nil},
		{"nil", nil, nil},
		{"no root", &schedule.Func{Name: "x"}, nil},
	} {
		if got := be.VendorLibraries(c.f); !slices.Equal(got, c.want) {
			t.Errorf("VendorLibraries(%s) = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestCPUVendorReferences builds and runs each library on each kind of program it computes and
// checks its outputs against the reference, as a candidate's.
func TestCPUVendorReferences(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs library programs")
	}
	be := newTestBackend(t, func(c *Config) { c.Repeat = 1; c.MinRepeatMs = 0 })
	ctx := context.Background()
	sz := map[string]any{"NB": 3, "H": 2, "M": 5, "N": 7, "K": 4}
	small := workloads.BuiltinSmall(16)
	type program struct {
		name  string
		f     *schedule.Func
		calls int  // library calls the source makes (outside loops)
		conv  bool // oneDNN only
	}
	progs := []program{
		{"matmul", parsedFunc(t, "", sz, []string{"A[M, K]", "B[K, N]"}, "C[i, j] += A[i, k] * B[k, j]"), 1, false},
		{"transposed A", parsedFunc(t, "", sz, []string{"At[K, M]", "B[K, N]"}, "C[i, j] += At[k, i] * B[k, j]"), 1, false},
		{"gram (A = B, transposed B)", parsedFunc(t, "", sz, []string{"X[M, K]"}, "C[i, j] += X[i, k] * X[j, k]"), 1, false},
		{"batched, shared A", parsedFunc(t, "", sz, []string{"A[M, K]", "W[NB, K, N]"}, "C[b, i, j] += A[i, k] * W[b, k, j]"), 1, false},
		{"batched, shared B, folded", parsedFunc(t, "", sz, []string{"A[NB, M, K]", "W[K, N]"}, "C[b, i, j] += A[b, i, k] * W[k, j]"), 1, false},
		{"batched, transposed B (Q·Kᵀ)", parsedFunc(t, "", sz, []string{"Q[NB, H, M, K]", "Kt[NB, H, N, K]"}, "S[b, h, i, j] += Q[b, h, i, d] * Kt[b, h, j, d]"), 1, false},
		{"llama4-scout-mlp (3 matmuls, silu in C)", builtinTask(t, small, "llama4-scout-mlp", ""), 3, false},
		{"flux-attn (2 batched matmuls, softmax in C)", builtinTask(t, small, "flux-attn", ""), 2, false},
		{"matmul, bias, relu", scheduletest.MatmulBiasRelu(8, 8, 8), 1, false},
		{"flux-conv", builtinTask(t, small, "flux-conv", ""), 1, true},
		{"example-conv-s2", convS2(t), 1, true},
		{"conv of computed weights", specFunc(t, workloads.Spec{
			Sizes:   map[string]any{"N": 2, "C": 3, "K": 5, "H": 9, "W": 8},
			Inputs:  []string{"X[N, C, H, W]", "Wt[K, C, 2, 3]"},
			Tensors: []string{"W2[K, C, 2, 3]", "Y[N, K, H - 1, W - 2]"},
			Stages: []string{
				"W2[k, c, r, s] = Wt[k, c, r, s] * 2",
				"Y[n, k, y, x] += X[n, c, y + r, x + s] * W2[k, c, r, s]",
			},
		}), 1, true},
	}
	for _, lib := range []string{"oneDNN", "OpenBLAS"} {
		for _, p := range progs {
			name := lib + ": " + p.name
			libs := be.VendorLibraries(p.f)
			if p.conv && lib == "OpenBLAS" {
				if slices.Contains(libs, lib) {
					t.Errorf("%s: offered for a convolution", name)
				}
				if _, ok := be.MeasureVendor(ctx, p.f, lib, nil, 0); ok {
					t.Errorf("%s: measured a convolution", name)
				}
				continue
			}
			if !slices.Contains(libs, lib) {
				t.Errorf("%s: not offered (VendorLibraries %q)", name, libs)
				continue
			}
			ref, err := be.Reference(ctx, p.f)
			if err != nil {
				t.Fatalf("%s: reference: %v", name, err)
			}
			v, ok := be.MeasureVendor(ctx, p.f, lib, ref, 0)
			if !ok || v.Library != lib {
				t.Errorf("%s: MeasureVendor ok %v, library %q", name, ok, v.Library)
				continue
			}
			if !v.Result.OK() {
				t.Errorf("%s: %s: %s\n%s\n%s", name, v.Result.Status, v.Result.Message, v.Result.Detail, v.Result.Source)
				continue
			}
			call := map[string]string{"oneDNN": "dnnl_sgemm(", "OpenBLAS": "cblas_sgemm(CblasRowMajor"}[lib]
			if p.conv {
				call = "colt_dnnl_conv"
			}
			kernel := v.Result.Source[strings.Index(v.Result.Source, "\nvoid "):]
			if got := strings.Count(kernel, call); got != p.calls {
				t.Errorf("%s: the kernel makes %d calls of %s, want %d:\n%s", name, got, call, p.calls, v.Result.Source)
			}
			if !strings.Contains(v.Result.Source, "colt vendor reference: "+lib) {
				t.Errorf("%s: the source's header does not say it is the %s reference", name, lib)
			}
			t.Logf("%s: %s", name, v.Result.Message)
		}
	}
}

// TestCPUVendorMissingLibrary: a library whose header or library cannot be found is one line
// saying how to install it, with the compiler's complaint in the detail.
func TestCPUVendorMissingLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	f := parsedFunc(t, "", map[string]any{"M": 5, "N": 7, "K": 4}, []string{"A[M, K]", "B[K, N]"}, "C[i, j] += A[i, k] * B[k, j]")
	libs := defaultCPULibraries()
	dnnl, blas := libs[0], libs[1]
	noHeader := dnnl
	noHeader.headers = []string{"colt_no_such_dnnl.h"}
	noLib := blas
	noLib.link = []string{"-lcolt_no_such_openblas"}
	unlinked := dnnl // the header is there, the library is not linked: undefined references
	unlinked.link = nil
	for _, c := range []struct {
		name string
		lib  cpuLibrary
		want string
	}{
		{"oneDNN header missing", noHeader, "oneDNN not installed: apt-get install libdnnl-dev"},
		{"OpenBLAS library missing", noLib, "OpenBLAS not installed: apt-get install libopenblas-dev"},
		{"oneDNN not linked", unlinked, "oneDNN not installed: apt-get install libdnnl-dev"},
	} {
		be := newTestBackend(t, func(cfg *Config) { cfg.Repeat = 1 })
		be.cpuLibs = []cpuLibrary{c.lib}
		v, ok := be.MeasureVendor(context.Background(), f, c.lib.name, nil, 0)
		if !ok {
			t.Errorf("%s: not measured", c.name)
			continue
		}
		if v.Result.Status != StatusBuildError || v.Result.Message != c.want || v.Result.Detail == "" || v.Result.Source == "" {
			t.Errorf("%s: %s: %q (detail %q); want build_error %q with the compiler's lines", c.name, v.Result.Status, v.Result.Message, v.Result.Detail, c.want)
		}
	}
	// Another build error keeps the compiler's headline.
	if msg := dnnl.missingMessage(&BuildError{Stderr: []string{"kernel.c:3:5: error: expected ';'"}}); msg != "" {
		t.Errorf("a syntax error reads %q", msg)
	}
}

func TestOpenBLASEnvironment(t *testing.T) {
	blas := defaultCPULibraries()[1]
	for _, c := range []struct {
		arch, simd string
		want       []string
	}{
		{"amd64", "avx512", []string{"OPENBLAS_NUM_THREADS=3", "OPENBLAS_CORETYPE=SkylakeX"}},
		{"amd64", "avx2", []string{"OPENBLAS_NUM_THREADS=3", "OPENBLAS_CORETYPE=Haswell"}},
		{"amd64", "sse4", []string{"OPENBLAS_NUM_THREADS=3"}},
		{"arm64", "neon", []string{"OPENBLAS_NUM_THREADS=3"}},
	} {
		if got := blas.runEnv(Target{Arch: c.arch, SIMD: c.simd}, 3); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: %q, want %q", c.arch, c.simd, got, c.want)
		}
	}
	if got := defaultCPULibraries()[0].runEnv(Target{Arch: "amd64", SIMD: "avx512"}, 3); got != nil {
		t.Errorf("oneDNN's environment %q, want none beyond OMP_NUM_THREADS", got)
	}
	env := runEnv([]string{"A=1", "OPENBLAS_CORETYPE=Zen", "B=2"}, []string{"OMP_NUM_THREADS=2", "OPENBLAS_CORETYPE=Haswell"})
	if want := []string{"A=1", "B=2", "OMP_NUM_THREADS=2", "OPENBLAS_CORETYPE=Haswell"}; !slices.Equal(env, want) {
		t.Errorf("runEnv = %q, want %q", env, want)
	}
}

// TestOpenBLASCoreTypeReachesTheRun: the run of an OpenBLAS reference sees the environment the
// library needs (checked with a program that prints it).
func TestOpenBLASCoreTypeReachesTheRun(t *testing.T) {
	be := newTestBackend(t, func(c *Config) { c.Repeat = 1; c.Threads = 2 })
	f := matmulFunc(2, 2, 2)
	kernel := `#include <stdio.h>
#include <stdlib.h>
void matmul(const float* restrict A, const float* restrict B, float* restrict C) {
  const char* ct = getenv("OPENBLAS_CORETYPE");
  fprintf(stderr, "env OPENBLAS_NUM_THREADS=%s OPENBLAS_CORETYPE=%s\n", getenv("OPENBLAS_NUM_THREADS"), ct ? ct : "");
  exit(7);
}
`
	built := be.BuildBatch(context.Background(), []Candidate{{Func: f, KernelC: kernel}})
	blas := defaultCPULibraries()[1]
	tg := Target{Arch: "amd64", SIMD: "avx2"}
	built[0].env = blas.runEnv(tg, be.threads())
	r := be.RunBatch(context.Background(), built, nil)[0]
	if want := "env OPENBLAS_NUM_THREADS=2 OPENBLAS_CORETYPE=Haswell"; !strings.Contains(r.Message, want) {
		t.Errorf("run: %s: %s; want the message to show %q", r.Status, r.Message, want)
	}
}

func TestBlockConv(t *testing.T) {
	sz := map[string]any{"N": 2, "C": 3, "K": 5, "H": 9, "W": 8}
	conv := func(x, y string, stage string) *schedule.Func {
		return specFunc(t, workloads.Spec{
			Sizes: sz, Inputs: []string{"X[N, C, H, W]", "Wt[K, C, 3, 2]"},
			Tensors: []string{"Y[N, K, " + y + ", " + x + "]"}, Stages: []string{stage},
		})
	}
	text := func(s convSpec) string {
		return fmt.Sprintf("N=%d C=%d K=%d H=%d W=%d R=%d Q=%d OH=%d OW=%d S=%dx%d X=%s Wt=%s Y=%s",
			s.N, s.C, s.K, s.H, s.W, s.R, s.Q, s.OH, s.OW, s.SH, s.SW, s.X.Name, s.Wt.Name, s.Y.Name)
	}
	for _, c := range []struct {
		name string
		f    *schedule.Func
		want string
	}{
		{"stride 1", conv("W - 1", "H - 2", "Y[n, k, y, x] += X[n, c, y + r, x + s] * Wt[k, c, r, s]"),
			"N=2 C=3 K=5 H=9 W=8 R=3 Q=2 OH=7 OW=7 S=1x1 X=X Wt=Wt Y=Y"},
		{"operands swapped", conv("W - 1", "H - 2", "Y[n, k, y, x] += Wt[k, c, r, s] * X[n, c, r + y, s + x]"),
			"N=2 C=3 K=5 H=9 W=8 R=3 Q=2 OH=7 OW=7 S=1x1 X=X Wt=Wt Y=Y"},
		{"strides 2 and 3", conv("(W - 2) / 3 + 1", "(H - 3) / 2 + 1", "Y[n, k, y, x] += X[n, c, 2*y + r, x*3 + s] * Wt[k, c, r, s]"),
			"N=2 C=3 K=5 H=9 W=8 R=3 Q=2 OH=4 OW=3 S=2x3 X=X Wt=Wt Y=Y"},
		{"rows a stride skips", conv("2", "2", "Y[n, k, y, x] += X[n, c, y*4 + r, x*4 + s] * Wt[k, c, r, s]"),
			"N=2 C=3 K=5 H=9 W=8 R=3 Q=2 OH=2 OW=2 S=4x4 X=X Wt=Wt Y=Y"},
		{"too few outputs", conv("W - 2", "H - 2", "Y[n, k, y, x] += X[n, c, y + r, x + s] * Wt[k, c, r, s]"), ""},
		{"dilation", conv("W - 2", "H - 4", "Y[n, k, y, x] += X[n, c, y + 2*r, x + 2*s] * Wt[k, c, r, s]"), ""},
		{"offset", conv("W - 2", "H - 3", "Y[n, k, y, x] += X[n, c, y + r + 1, x + s] * Wt[k, c, r, s]"), ""},
		{"flipped kernel", conv("W - 1", "H - 2", "Y[n, k, y, x] += X[n, c, y + 2 - r, x + s] * Wt[k, c, r, s]"), ""},
		{"weights HWIO order", specFunc(t, workloads.Spec{Sizes: sz, Inputs: []string{"X[N, C, H, W]", "Wt[3, 2, C, K]"},
			Tensors: []string{"Y[N, K, H - 2, W - 1]"}, Stages: []string{"Y[n, k, y, x] += X[n, c, y + r, x + s] * Wt[r, s, c, k]"}}), ""},
		{"scaled", conv("W - 1", "H - 2", "Y[n, k, y, x] += 2 * X[n, c, y + r, x + s] * Wt[k, c, r, s]"), ""},
		{"max", conv("W - 1", "H - 2", "Y[n, k, y, x] max= X[n, c, y + r, x + s] * Wt[k, c, r, s]"), ""},
	} {
		got := ""
		for _, blk := range c.f.Blocks() {
			if s, ok := blockConv(blk); ok {
				got = text(s)
			}
		}
		if got != c.want {
			t.Errorf("%s: blockConv = %q, want %q\n%s", c.name, got, c.want, schedule.Print(c.f))
		}
	}
	// The padded built-in and the stride-2 example.
	for _, c := range []struct {
		name string
		f    *schedule.Func
		want string
	}{
		{"flux-conv", builtinTask(t, workloads.Builtin(), "flux-conv", ""), "N=1 C=128 K=128 H=66 W=66 R=3 Q=3 OH=64 OW=64 S=1x1 X=Xp Wt=Wt Y=Y"},
		{"example-conv-s2", convS2(t), "N=1 C=7 K=13 H=33 W=31 R=3 Q=3 OH=16 OW=15 S=2x2 X=Xp Wt=Wt Y=Y"},
	} {
		got := ""
		for _, blk := range c.f.Blocks() {
			if s, ok := blockConv(blk); ok {
				got = text(s)
			}
		}
		if got != c.want {
			t.Errorf("%s: blockConv = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestRecognisersMalformed: broken blocks and nests are refused, never a panic.
func TestRecognisersMalformed(t *testing.T) {
	base := scheduletest.Conv2D(1, 3, 4, 6, 6)
	if _, ok := blockConv(base.Blocks()[1]); !ok {
		t.Fatal("the conv fixture is not recognized")
	}
	edits := map[string]func(b *schedule.Block){
		"nil body":       func(b *schedule.Block) { b.Body = nil },
		"nil init":       func(b *schedule.Block) { b.Init = nil },
		"init 1":         func(b *schedule.Block) { b.Init.(*schedule.Store).Value = fc(1) },
		"nil iter var":   func(b *schedule.Block) { b.IterVars[2].Var = nil },
		"dup iter var":   func(b *schedule.Block) { b.IterVars[1].Var = b.IterVars[0].Var },
		"zero extent":    func(b *schedule.Block) { b.IterVars[3].Extent = 0 },
		"c spatial":      func(b *schedule.Block) { b.IterVars[4].Kind = schedule.Spatial },
		"nil load":       func(b *schedule.Block) { b.Body.(*schedule.Store).Value.(*schedule.Binary).B = nil },
		"nil index":      func(b *schedule.Block) { b.Body.(*schedule.Store).Indices[0] = nil },
		"nil buffer":     func(b *schedule.Block) { b.Body.(*schedule.Store).Buffer = nil },
		"missing index":  func(b *schedule.Block) { b.Body.(*schedule.Store).Indices = b.Body.(*schedule.Store).Indices[:3] },
		"predicate":      func(b *schedule.Block) { b.Predicate = schedule.Bin(schedule.LT, b.IterVars[0].Var, ic(3)) },
		"bindings short": func(b *schedule.Block) { b.Bindings = b.Bindings[:2] },
		"allocation":     func(b *schedule.Block) { b.Allocs = []*schedule.Buffer{schedule.NewBuffer("T", f32, 2)} },
	}
	for name, edit := range edits {
		f := schedule.CloneFunc(base)
		blk := f.Blocks()[1]
		edit(blk)
		if _, ok := blockConv(blk); ok {
			t.Errorf("%s: blockConv accepted it", name)
		}
		if _, ok := blockMatmul(blk); ok {
			t.Errorf("%s: blockMatmul accepted it", name)
		}
		_ = planCPUVendor(f) // must not panic
	}
	for name, e := range map[string]schedule.Expr{
		"nil":         nil,
		"nil var":     (*schedule.Var)(nil),
		"float":       fc(1),
		"var product": mul(schedule.NewVar("a"), schedule.NewVar("b")),
		"huge":        mul(ic(1<<30), mul(ic(1<<30), schedule.NewVar("a"))),
	} {
		if _, _, ok := linearForm(e, 0); ok {
			t.Errorf("linearForm(%s) accepted it", name)
		}
	}
	// A nest whose loops do not match the block's iterators is not replaced.
	f := schedule.CloneFunc(matmulFunc(5, 7, 4))
	outer := f.Root.Body.(*schedule.Loop)
	outer.Extent = 4
	if _, ok := nestBlock(outer); ok {
		t.Error("a nest over part of the domain is accepted")
	}
	if _, ok := nestBlock(&schedule.Loop{}); ok {
		t.Error("an empty loop is accepted")
	}
}

// TestDNNLConvLayouts: both of a convolution's layouts (NCHW data, and the layout oneDNN
// prefers with the data reordered in every call) compute the reference's result.
func TestDNNLConvLayouts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs library programs")
	}
	be := newTestBackend(t, func(c *Config) { c.Repeat = 1; c.MinRepeatMs = 0 })
	ctx := context.Background()
	dnnl := defaultCPULibraries()[0]
	for _, p := range []struct {
		name string
		f    *schedule.Func
	}{
		{"flux-conv", builtinTask(t, workloads.BuiltinSmall(16), "flux-conv", "")},
		{"example-conv-s2", convS2(t)},
	} {
		ref, err := be.Reference(ctx, p.f)
		if err != nil {
			t.Fatal(err)
		}
		for _, layout := range []string{"nchw", "blocked"} {
			built := be.buildCPUVendor(ctx, p.f, dnnl, 0)
			built.env = append(built.env, "COLT_DNNL_CONV_LAYOUT="+layout)
			if r := be.RunBatch(ctx, []Built{built}, ref)[0]; !r.OK() {
				t.Errorf("%s in layout %s: %s: %s", p.name, layout, r.Status, r.Message)
			}
		}
	}
}

// TestDNNLErrorIsACrash: a failing oneDNN call ends the run as a crash whose message names the
// call and oneDNN's status.
func TestDNNLErrorIsACrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs library programs")
	}
	be := newTestBackend(t, func(c *Config) { c.Repeat = 1 })
	ctx := context.Background()
	f := builtinTask(t, workloads.BuiltinSmall(8), "flux-conv", "")
	src, err := cpuVendorSource(f, planCPUVendor(f), defaultCPULibraries()[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	// Ask for a CPU engine that does not exist.
	bad := strings.Replace(src, "dnnl_engine_create(&colt_dnnl_engine, dnnl_cpu, 0)", "dnnl_engine_create(&colt_dnnl_engine, dnnl_cpu, 99)", 1)
	if bad == src {
		t.Fatal("the source has no engine creation")
	}
	r := be.builder.BuildWith(ctx, bad+Harness(f, schedule.Float32), []string{"-ldnnl"})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	res := be.RunBatch(ctx, []Built{{Func: f, Source: bad, Binary: r.Binary}}, nil)[0]
	want := "exited with status 4: colt vendor: oneDNN error: invalid_arguments"
	if res.Status != StatusCrash || !strings.HasPrefix(res.Message, want) || !strings.HasSuffix(res.Message, "at dnnl_engine_create of the kernel") {
		t.Errorf("got %s: %s; want a crash %q … at dnnl_engine_create of the kernel", res.Status, res.Message, want)
	}
}
