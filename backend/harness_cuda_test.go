package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"colt/schedule"
)

// cudaMatmulSource is a hand-written CUDA translation unit for matmulFunc(m, n, k): one
// kernel and the host launcher the CUDA lowering emits, with the CPU kernel's name and order.
const cudaMatmulSource = `#define M 37
#define N 24
#define K 19

__global__ void matmul_kernel0(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C) {
  const int i = blockIdx.y * 16 + threadIdx.y;
  const int j = blockIdx.x * 16 + threadIdx.x;
  if (i < M && j < N) {
    float acc = 0.0f;
    for (int k = 0; k < K; ++k) acc += A[i * K + k] * B[k * N + j];
    C[i * N + j] = acc;
  }
}

void matmul(const float* A, const float* B, float* C) {
  dim3 block(16, 16);
  dim3 grid((N + 15) / 16, (M + 15) / 16);
  matmul_kernel0<<<grid, block>>>(A, B, C);
}
`

// nvccOrSkip returns the nvcc path, skipping the test when there is none.
func nvccOrSkip(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("nvcc")
	if err != nil {
		t.Skip("nvcc not installed")
	}
	return p
}

// newNVCCTestBuilder is an nvcc Builder for sm_90 with its cache in a temporary directory.
func newNVCCTestBuilder(t *testing.T) *Builder {
	t.Helper()
	nvcc := nvccOrSkip(t)
	b, err := NewNVCCBuilder(Config{CacheDir: t.TempDir(), BuildTimeout: 5 * time.Minute}, nvcc, "sm_90")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCUDAHarnessCompiles(t *testing.T) {
	b := newNVCCTestBuilder(t)
	if b.SourceExt() != ".cu" || !strings.HasPrefix(b.Compiler(), "nvcc ") {
		t.Errorf("nvcc builder: ext %q, compiler %q", b.SourceExt(), b.Compiler())
	}
	flags := strings.Join(b.Flags(), " ")
	for _, want := range []string{"-O3", "-arch=sm_90", "-lineinfo"} {
		if !strings.Contains(flags, want) {
			t.Errorf("nvcc flags %q lack %s", flags, want)
		}
	}
	f := matmulFunc(37, 24, 19)
	src := cudaMatmulSource + CUDAHarness(f)
	ctx := context.Background()
	r := b.Build(ctx, src)
	if r.Err != nil {
		be, _ := r.Err.(*BuildError)
		detail := ""
		if be != nil {
			detail = be.Detail()
		}
		t.Fatalf("the CUDA harness does not compile: %v\n%s", r.Err, detail)
	}
	if st, err := os.Stat(r.Binary); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("no executable at %s: %v", r.Binary, err)
	}
	if _, err := os.Stat(r.Binary + ".cu"); err != nil {
		t.Errorf("the cached source is not kept as .cu: %v", err)
	}
	again := b.Build(ctx, src)
	if !again.Cached || again.Binary != r.Binary {
		t.Errorf("rebuild was not a cache hit: %+v", again)
	}
	// Extra flags are part of the key: the same source with -lcublas is another binary.
	with := b.BuildWith(ctx, src, []string{"-lcublas"})
	if with.Err != nil || with.Cached || with.Binary == r.Binary {
		t.Errorf("BuildWith(-lcublas) = %+v, want a fresh binary", with)
	}
	if entries, _ := filepath.Glob(filepath.Join(filepath.Dir(r.Binary), ".tmp-*")); len(entries) != 0 {
		t.Errorf("temporary build directories left behind: %v", entries)
	}
	// Running it here, without a GPU, must end with the documented "no device" status 5 (or,
	// on a machine with a GPU, succeed).
	if out, err := exec.Command(r.Binary, "", "1", "0", "0").CombinedOutput(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 5 || !strings.Contains(string(out), "colt harness: no CUDA device") {
			t.Errorf("run without a GPU: %v: %s", err, out)
		}
	}
}

func TestCUDAHarnessSignatureMismatchFailsTheBuild(t *testing.T) {
	b := newNVCCTestBuilder(t)
	// The launcher takes its first input non-const: the harness must not compile it.
	bad := strings.Replace(cudaMatmulSource, "void matmul(const float* A,", "void matmul(float* A,", 1)
	r := b.Build(context.Background(), bad+CUDAHarness(matmulFunc(37, 24, 19)))
	be, ok := r.Err.(*BuildError)
	if !ok {
		t.Fatalf("a launcher with the wrong signature built: %+v", r)
	}
	if h := be.Headline(); !regexp.MustCompile(`kernel\.cu\(\d+\): error`).MatchString(h) {
		t.Errorf("headline %q is not nvcc's error line; stderr:\n%s", h, be.Detail())
	}
}

func TestCUDAHarnessText(t *testing.T) {
	f := matmulFunc(37, 24, 19)
	h := CUDAHarness(f)
	for _, want := range []string{
		"colt_h_launcher volatile colt_h_fn = matmul;",
		"typedef void (*colt_h_launcher)(const float*, const float*, float*);",
		"colt_h_fn(d0, d1, d2);",
		"cudaMalloc", "cudaMemcpyHostToDevice", "cudaMemcpyDeviceToHost", "cudaDeviceSynchronize()",
		"cudaEventRecord", "cudaEventElapsedTime", "cudaMemsetAsync", "cudaDevAttrL2CacheSize",
		"colt-timing number=%lld seconds=",
		"OUTPUT_FILE SEED REPEAT MIN_REPEAT_MS [FLUSH_L2]",
		"colt harness: CUDA error: %s (%s) at %s", "cudaGetErrorString(e), cudaGetErrorName(e)",
		"colt harness: no CUDA device",
		"exit(2);", "return 3;", "exit(4);", "exit(5);",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("CUDA harness lacks %q", want)
		}
	}
	// Every parameter is allocated on the host and the device and mentioned by name; only the
	// output is copied back and written.
	for i, p := range f.Params {
		for _, want := range []string{
			"colt_h_alloc(\"" + p.Name + "\"",
			"colt_h_device_alloc(\"" + p.Name + "\"",
			"cudaMemcpy(d" + string(rune('0'+i)) + ", p" + string(rune('0'+i)),
		} {
			if !strings.Contains(h, want) {
				t.Errorf("CUDA harness lacks %q for parameter %s", want, p.Name)
			}
		}
	}
	if !strings.Contains(h, "cudaMemcpy(p2, d2,") || strings.Contains(h, "cudaMemcpy(p0, d0,") {
		t.Error("outputs (and only outputs) are copied back")
	}
	if !strings.Contains(h, "fwrite(p2, sizeof(float), 888ULL, out)") {
		t.Error("the output C is not written to the output file")
	}
	// The inputs are those of the CPU harness, so the CPU reference applies: every fill line
	// of Harness appears unchanged.
	fills := 0
	for _, line := range strings.Split(Harness(f, schedule.Float32), "\n") {
		if strings.Contains(line, "colt_h_uniform(&s)") && strings.Contains(line, "uint64_t s = seed") {
			fills++
			if !strings.Contains(h, line+"\n") {
				t.Errorf("CUDA harness does not fill as the CPU harness does: %q", line)
			}
		}
	}
	if fills != len(f.Params) {
		t.Errorf("found %d fill lines in Harness, want %d", fills, len(f.Params))
	}
	for _, fn := range []string{"colt_h_next", "colt_h_uniform"} {
		cpu, gpu := cFunctionText(Harness(f, schedule.Float32), fn), cFunctionText(h, fn)
		if cpu == "" || cpu != gpu {
			t.Errorf("%s differs between the harnesses:\n%s\nvs\n%s", fn, cpu, gpu)
		}
	}
}

// cFunctionText is the text of the static C function name in src, up to its closing brace.
func cFunctionText(src, name string) string {
	i := strings.Index(src, " "+name+"(")
	if i < 0 {
		return ""
	}
	j := strings.Index(src[i:], "\n}\n")
	if j < 0 {
		return ""
	}
	return src[i : i+j+3]
}

func TestCUDAHarnessMalformed(t *testing.T) {
	A := schedule.NewBuffer("A", f32, 4)
	for _, f := range []*schedule.Func{
		nil,
		{Name: "noroot"},
		{Name: "nilparam", Params: []*schedule.Buffer{A, nil}, Root: &schedule.Block{Name: "root"}},
		{Name: "nilstore", Params: []*schedule.Buffer{A}, Root: &schedule.Block{Name: "root", Body: &schedule.Store{}}},
	} {
		h := CUDAHarness(f)
		if !strings.HasPrefix(strings.TrimSpace(h), "#error \"colt harness: ") || strings.Count(h, "\n") > 2 {
			t.Errorf("CUDAHarness(malformed) = %q, want one #error line", h)
		}
	}
	// No parameters at all is well-formed: a launcher taking nothing.
	h := CUDAHarness(&schedule.Func{Name: "empty", Root: &schedule.Block{Name: "root"}})
	if !strings.Contains(h, "typedef void (*colt_h_launcher)(void);") || !strings.Contains(h, "colt_h_fn();") {
		t.Errorf("harness of a function without parameters:\n%s", h)
	}
}

func TestBuildErrorHeadline(t *testing.T) {
	for _, c := range []struct {
		stderr []string
		want   string
	}{
		{[]string{"kernel.c: In function 'f':", "kernel.c:3:5: error: expected ';'"}, "kernel.c:3:5: error: expected ';'"},
		{[]string{`kernel.cu(5): warning #177-D: variable "error_count" was declared but never referenced`, `kernel.cu(12): error: identifier "x" is undefined`}, `kernel.cu(12): error: identifier "x" is undefined`},
		{[]string{`kernel.cu(12): error #20: identifier "x" is undefined`}, `kernel.cu(12): error #20: identifier "x" is undefined`},
		{[]string{"nvcc fatal   : Unsupported gpu architecture 'compute_12'"}, "nvcc fatal   : Unsupported gpu architecture 'compute_12'"},
		{[]string{"ptxas info    : 0 bytes gmem", "ptxas error   : Entry function 'k' uses too much shared data"}, "ptxas error   : Entry function 'k' uses too much shared data"},
		{[]string{"/usr/bin/ld: cannot find -lcublas: No such file or directory", "collect2: error: ld returned 1 exit status"}, "/usr/bin/ld: cannot find -lcublas: No such file or directory"},
		{[]string{"/usr/bin/ld: /tmp/x.o: in function `main':", "x.cpp:(.text+0x4d1): undefined reference to `cublasCreate_v2'", "collect2: error: ld returned 1 exit status"}, "x.cpp:(.text+0x4d1): undefined reference to `cublasCreate_v2'"},
		{[]string{"something about errors", "more"}, "something about errors"},
		{[]string{"first", "second"}, "first"},
		{nil, ""},
	} {
		if got := (&BuildError{Stderr: c.stderr}).Headline(); got != c.want {
			t.Errorf("Headline(%q) = %q, want %q", c.stderr, got, c.want)
		}
	}
}

func TestNVCCBuilderArgs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"sm_90", "sm_90"}, {"90", "sm_90"}, {"9.0", "sm_90"}, {" SM_90a ", "sm_90a"}, {"compute_80", "compute_80"},
		{"", ""}, {"sm_", ""}, {"hopper", ""}, {"sm_90 -O0", ""}, {"-arch=sm_90", ""},
	} {
		got, err := builderNVCCArch(c.in)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("builderNVCCArch(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := NewNVCCBuilder(Config{CacheDir: t.TempDir()}, "/nonexistent/nvcc", "sm_90"); err == nil {
		t.Error("NewNVCCBuilder with a missing nvcc succeeded")
	}
	if _, err := NewNVCCBuilder(Config{CacheDir: t.TempDir()}, "", "hopper"); err == nil {
		t.Error("NewNVCCBuilder with a bad arch succeeded")
	}
}

func TestNVCCBuilderRefusesTheReference(t *testing.T) {
	b := newNVCCTestBuilder(t)
	r := b.BuildReference(context.Background(), "int main(void) { return 0; }\n")
	if r.Err == nil || !strings.Contains(r.Err.Error(), "reference") {
		t.Errorf("BuildReference on nvcc = %+v, want an error", r)
	}
}

func TestCBuilderKeysUnchanged(t *testing.T) {
	// The C builder's cache key without extra flags is that of earlier versions, so existing
	// build caches stay valid; extra flags give a different key.
	b := &Builder{cc: "/usr/bin/cc", version: "cc 1", flags: []string{"-O3", "-fopenmp"}, ext: ".c"}
	old := sha256.Sum256([]byte("colt-build-v1\x00/usr/bin/cc\x00\x00cc 1\x00-O3\x00-fopenmp\x00int x;"))
	if got := b.cacheKey("int x;", b.flags, nil); got != hex.EncodeToString(old[:]) {
		t.Errorf("C cache key changed: %s", got)
	}
	if b.cacheKey("int x;", b.flags, nil) == b.cacheKey("int x;", b.flags, []string{"-lcublas"}) {
		t.Error("extra flags are not part of the cache key")
	}
	cu := &Builder{cc: "/usr/bin/cc", version: "cc 1", flags: []string{"-O3"}, ext: ".cu"}
	if b.cacheKey("int x;", b.flags, nil) == cu.cacheKey("int x;", b.flags, nil) {
		t.Error("the source extension is not part of the cache key")
	}
}
