package backend

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"colt/schedule"
)

// newTestBackend returns a Backend with a private cache and quick timing settings; tests that
// need a C compiler are skipped where there is none.
func newTestBackend(t *testing.T, mutate func(*Config)) *Backend {
	t.Helper()
	cfg := Config{CacheDir: t.TempDir(), Repeat: 2, MinRepeatMs: 2, RunTimeout: 30 * time.Second, Threads: 2}
	if mutate != nil {
		mutate(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		if strings.Contains(err.Error(), "no C compiler found") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return b
}

// runOutputs lowers f in the given precision, builds it with the harness (reference flags for
// double), runs it once without timing and returns its outputs.
func runOutputs(t *testing.T, b *Backend, f *schedule.Func, prec schedule.DType) [][]float64 {
	t.Helper()
	ctx := context.Background()
	src, err := LowerC(f, LowerOptions{Precision: prec})
	if err != nil {
		t.Fatal(err)
	}
	full := src + Harness(f, prec)
	br := b.builder.Build(ctx, full)
	if prec == schedule.Float64 {
		br = b.builder.BuildReference(ctx, full)
	}
	if br.Err != nil {
		t.Fatalf("build: %v\n%s\n%s", br.Err, br.Err.(*BuildError).Detail(), full)
	}
	outPath := filepath.Join(t.TempDir(), "out.bin")
	o := runBinary(ctx, runSpec{binary: br.Binary, outPath: outPath, seed: b.cfg.Seed, threads: 2, timeout: 30 * time.Second})
	if o.status != "" {
		t.Fatalf("run: %s: %s", o.status, o.message)
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := decodeOutputs(raw, f.OutputParams(), prec)
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// interpReference wraps the Go interpreter's outputs as a Reference with the given dtype.
func interpReference(f *schedule.Func, seed uint64, dt schedule.DType) *Reference {
	ref := &Reference{Outputs: refOutputs(f.OutputParams(), interpret(f, seed))}
	for i := range ref.Outputs {
		ref.Outputs[i].DType = dt
	}
	return ref
}

// checkProgram checks f's C lowering (float and double) against the Go interpreter, the double
// reference against the interpreter, and then measures f against the cached reference of ref
// (the unscheduled program; f itself when nil).
func checkProgram(t *testing.T, b *Backend, f, unscheduled *schedule.Func) Result {
	t.Helper()
	seed := b.cfg.Seed
	if c := Compare(interpReference(f, seed, schedule.Float32), runOutputs(t, b, f, schedule.Float32)); !c.OK {
		t.Errorf("float32 C vs interpreter: %s", c.Message)
	}
	if c := Compare(interpReference(f, seed, schedule.Float64), runOutputs(t, b, f, schedule.Float64)); !c.OK {
		t.Errorf("float64 C vs interpreter: %s", c.Message)
	}
	if unscheduled == nil {
		unscheduled = f
	}
	ref, err := b.Reference(context.Background(), unscheduled)
	if err != nil {
		t.Fatal(err)
	}
	if c := Compare(interpReference(unscheduled, seed, schedule.Float64), outputsOf(ref)); !c.OK {
		t.Errorf("Reference vs interpreter: %s", c.Message)
	}
	res := b.Measure(context.Background(), f, ref)
	if !res.OK() {
		t.Fatalf("Measure: %s: %s\n%s\n%s", res.Status, res.Message, res.Detail, res.Source)
	}
	if len(res.LatenciesS) != b.cfg.Repeat || res.Number < 1 || res.MedianS <= 0 || res.MinS > res.MedianS || res.MaxS < res.MedianS {
		t.Errorf("Measure timing: %+v", res)
	}
	return res
}

func outputsOf(ref *Reference) [][]float64 {
	var out [][]float64
	for _, o := range ref.Outputs {
		out = append(out, o.Values)
	}
	return out
}

func TestMatmul(t *testing.T) {
	b := newTestBackend(t, nil)
	f := matmulFunc(16, 16, 16)
	res := checkProgram(t, b, f, nil)
	t.Logf("matmul 16x16x16: %s (latencies %v, build %.2fs, run %.2fs)", res.Message, res.LatenciesS, res.BuildS, res.RunS)
	t.Logf("target: %s; compiler: %s", b.Target(), b.Compiler())
}

func TestScheduledMatmul(t *testing.T) {
	b := newTestBackend(t, nil)
	f := matmulFunc(10, 16, 6)
	res := checkProgram(t, b, scheduledMatmul(f), f)
	if !strings.Contains(res.Source, "#pragma omp parallel for") {
		t.Errorf("scheduled source lacks its pragmas:\n%s", res.Source)
	}
}

func TestElementwiseIntrinsics(t *testing.T) {
	b := newTestBackend(t, nil)
	checkProgram(t, b, elementwiseFunc(37), nil)
}

func TestPadSelect(t *testing.T) {
	b := newTestBackend(t, nil)
	checkProgram(t, b, padFunc(5, 7), nil)
}

func TestMaxReduction(t *testing.T) {
	b := newTestBackend(t, nil)
	src := checkProgram(t, b, maxFunc(6, 9), nil).Source
	if !strings.Contains(src, "M[vi] = -INFINITY;") || !strings.Contains(src, "colt_maxf(M[vi], A[vi * 9 + vk])") {
		t.Errorf("max reduction lowering:\n%s", src)
	}
}

// handMatmul is a hand-written 8×8×8 kernel for matmulFunc(8, 8, 8); body replaces the loop.
func handMatmul(body string) string {
	return "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n" +
		"void matmul(const float* restrict A, const float* restrict B, float* restrict C) {\n" + body + "\n}\n"
}

const handLoop = `for (int i = 0; i < 8; ++i) for (int j = 0; j < 8; ++j) {
  float acc = 0.0f;
  for (int k = 0; k < KMAX; ++k) acc += A[i * 8 + k] * B[k * 8 + j];
  C[i * 8 + j] = acc;
}`

func TestMeasureSourceOutcomes(t *testing.T) {
	b := newTestBackend(t, func(c *Config) { c.RunTimeout = 1500 * time.Millisecond })
	f := matmulFunc(8, 8, 8)
	ctx := context.Background()
	ref, err := b.Reference(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	cases := []struct {
		name, kernel string
		status       Status
		message      string
	}{
		{"correct", handMatmul(strings.Replace(handLoop, "KMAX", "8", 1)), StatusOK, "max relative error"},
		{"off by one term", handMatmul(strings.Replace(handLoop, "KMAX", "7", 1)), StatusWrongResult, "wrong result: max relative error"},
		{"segfault", handMatmul("volatile float* p = 0; *p = A[0];"), StatusCrash, "crashed with SIGSEGV"},
		{"abort", handMatmul(`fprintf(stderr, "kernel gave up\n"); abort();`), StatusCrash, "crashed with SIGABRT: kernel gave up"},
		{"exit status", handMatmul(`fprintf(stderr, "bad input\n"); exit(3);`), StatusCrash, "exited with status 3: bad input"},
		{"hang", handMatmul(`pid_t c = fork(); if (c == 0) { for (;;) {} }
FILE* f = fopen("` + pidFile + `", "w"); fprintf(f, "%d\n", (int)c); fclose(f);
for (;;) {}`), StatusTimeout, "still running after 1.5s; killed"},
		{"syntax error", handMatmul("C[0] = A[0] +;"), StatusBuildError, "error: expected expression"},
		{"wrong name", "void not_matmul(void) {}\n", StatusBuildError, "matmul"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := b.MeasureSource(ctx, f, c.kernel, ref)
			if res.Status != c.status || !strings.Contains(res.Message, c.message) {
				t.Fatalf("MeasureSource = %s %q, want %s containing %q\n%s", res.Status, res.Message, c.status, c.message, res.Detail)
			}
			if testing.Verbose() {
				t.Logf("%s: %s", res.Status, res.Message)
			}
			if strings.Contains(res.Message, "\n") {
				t.Errorf("message is not one line: %q", res.Message)
			}
			switch c.status {
			case StatusWrongResult:
				if res.MaxRelErr <= Tolerance(schedule.Float32) || !strings.HasPrefix(res.WorstIndex, "C[") {
					t.Errorf("wrong result details: %+v", res)
				}
			case StatusBuildError:
				if res.Detail == "" || !strings.Contains(res.Detail, "kernel.c") && c.name == "syntax error" {
					t.Errorf("build error without the compiler's message: %q", res.Detail)
				}
			}
		})
	}
	// The hanging kernel's forked child was in the killed process group.
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	if pid <= 0 {
		t.Fatalf("bad child pid %q", raw)
	}
	deadline := time.Now().Add(5 * time.Second)
	for processRunning(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the hanging kernel's child %d survived the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processRunning reports whether pid exists and is not a zombie.
func processRunning(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestMissingCompiler(t *testing.T) {
	_, err := New(Config{CC: "/nonexistent/cc", CacheDir: t.TempDir()})
	if err == nil {
		t.Fatal("New succeeded without a compiler")
	}
	want := "no C compiler found (tried /nonexistent/cc): install gcc or set [backend] cc in colt.toml"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestReferenceCache(t *testing.T) {
	b := newTestBackend(t, nil)
	ctx := context.Background()
	f := matmulFunc(4, 5, 3)
	r1, err := b.Reference(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	s1 := b.Stats()
	if r1.Cached || s1.ReferenceRuns != 1 || s1.Compiles != 1 {
		t.Fatalf("first Reference: cached=%v stats=%+v", r1.Cached, s1)
	}
	// A second Backend on the same cache directory loads the file: no compile, no run.
	b2 := newTestBackend(t, func(c *Config) { c.CacheDir = b.cfg.CacheDir })
	r2, err := b2.Reference(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Cached || b2.Stats() != (Stats{}) || r2.Path != r1.Path {
		t.Fatalf("second Reference: cached=%v stats=%+v", r2.Cached, b2.Stats())
	}
	if c := Compare(r1, outputsOf(r2)); !c.OK || c.MaxRelErr != 0 {
		t.Fatalf("cached reference differs: %s", c.Message)
	}
	// A different seed is a different reference.
	b3 := newTestBackend(t, func(c *Config) { c.CacheDir = b.cfg.CacheDir; c.Seed = 7 })
	if r3, err := b3.Reference(ctx, f); err != nil || r3.Cached || r3.Key == r1.Key {
		t.Fatalf("seed 7 reused seed 1's reference: %v", err)
	}
	// Corruptions are detected and the file recomputed.
	raw, err := os.ReadFile(r1.Path)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"flipped byte": append(append([]byte{}, raw[:8]...), append([]byte{raw[8] ^ 0x40}, raw[9:]...)...),
		"truncated":    raw[:len(raw)-5],
		"empty":        {},
	} {
		if err := os.WriteFile(r1.Path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		before := b.Stats().ReferenceRuns
		r, err := b.Reference(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if r.Cached || b.Stats().ReferenceRuns != before+1 {
			t.Errorf("%s: corrupt cache file was used", name)
		}
		if c := Compare(r1, outputsOf(r)); !c.OK || c.MaxRelErr != 0 {
			t.Errorf("%s: recomputed reference differs: %s", name, c.Message)
		}
		if got, _ := os.ReadFile(r1.Path); string(got) != string(raw) {
			t.Errorf("%s: cache file not rewritten", name)
		}
	}
}

func TestBuildCacheAndBatch(t *testing.T) {
	b := newTestBackend(t, nil)
	ctx := context.Background()
	f1, f2 := matmulFunc(4, 4, 4), maxFunc(3, 5)
	built := b.BuildBatch(ctx, []Candidate{{Func: f1}, {Func: f2}, {Func: f1}, {Func: &schedule.Func{Name: "broken"}}})
	if s := b.Stats(); s.Compiles != 2 {
		t.Errorf("BuildBatch compiled %d times, want 2 (identical sources once)", s.Compiles)
	}
	again := b.BuildBatch(ctx, []Candidate{{Func: f1}})
	if !again[0].Cached || b.Stats().Compiles != 2 || again[0].Binary != built[0].Binary {
		t.Errorf("rebuild was not a cache hit: %+v, %+v", again[0], b.Stats())
	}
	if entries, _ := filepath.Glob(filepath.Join(b.cfg.CacheDir, "build", ".tmp-*")); len(entries) != 0 {
		t.Errorf("temporary build directories left behind: %v", entries)
	}
	results := b.RunBatch(ctx, built, nil)
	for i, want := range []Status{StatusOK, StatusOK, StatusOK, StatusInvalid} {
		if results[i].Status != want {
			t.Errorf("RunBatch[%d] = %s %q, want %s", i, results[i].Status, results[i].Message, want)
		}
	}
	if b.Stats().Runs != 3 {
		t.Errorf("runs = %d, want 3", b.Stats().Runs)
	}
}

func TestCompare(t *testing.T) {
	ref := &Reference{Outputs: refOutputs([]*schedule.Buffer{schedule.NewBuffer("Y", f32, 2, 2)}, [][]float64{{1, -2, 0, math.Inf(-1)}})}
	for _, c := range []struct {
		got  []float64
		ok   bool
		want string
	}{
		{[]float64{1, -2, 0, math.Inf(-1)}, true, ""},
		{[]float64{1.0001, -2, 0, math.Inf(-1)}, true, "Y[0, 0]"},
		{[]float64{1, -2, 0.1, math.Inf(-1)}, false, "Y[1, 0]"},
		{[]float64{1, math.NaN(), 0, math.Inf(-1)}, false, "Y[0, 1]"},
		{[]float64{1, -2, 0, -1e30}, false, "Y[1, 1]"},
	} {
		r := Compare(ref, [][]float64{c.got})
		if r.OK != c.ok || r.Worst != c.want {
			t.Errorf("Compare(%v) = %+v, want ok=%v worst=%q", c.got, r, c.ok, c.want)
		}
	}
	if Tolerance(schedule.Float32) != 1e-3 || Tolerance(schedule.Float64) != 1e-9 {
		t.Error("tolerances")
	}
}

func TestBuildTimeoutKillsCompiler(t *testing.T) {
	b := newTestBackend(t, func(c *Config) { c.BuildTimeout = time.Millisecond })
	src, err := LowerC(matmulFunc(4, 4, 4), LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := b.builder.Build(context.Background(), src)
	be, ok := r.Err.(*BuildError)
	if !ok || !be.TimedOut || r.Err.Error() != "compiler still running after 1ms; killed" {
		t.Fatalf("Build with a 1ms timeout: %v", r.Err)
	}
	if entries, _ := filepath.Glob(filepath.Join(b.cfg.CacheDir, "build", "*")); len(entries) != 0 {
		t.Errorf("a killed build left files in the cache: %v", entries)
	}
}
