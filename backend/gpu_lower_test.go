package backend

import (
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"colt/schedule"
	"colt/schedule/scheduletest"
	"colt/workloads"
)

var update = flag.Bool("update", false, "rewrite golden files with the current output")

// golden compares got with testdata/NAME, or rewrites the file under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./backend -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run go test ./backend -run %s -update after checking the change):\n%s", name, t.Name(), got)
	}
}

func gpuSpace() schedule.SpaceOptions {
	g := schedule.DefaultGPUSpace()
	opt := schedule.DefaultSpaceOptions(2)
	opt.GPU = &g
	opt.UnrollSteps = schedule.GPUUnrollSteps()
	return opt
}

// defaultGPUProgram builds a program's GPU sketch with its own decisions.
func defaultGPUProgram(t *testing.T, f *schedule.Func) *schedule.Func {
	t.Helper()
	opt := gpuSpace()
	sk, err := schedule.DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	g, err := schedule.Build(f, sk[0].Trace, opt)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGPUCandidatesOfEveryBuiltinTask is the GPU target's check on a machine without a GPU:
// for every built-in task at small sizes, sampled candidates of the GPU design space and the
// unscheduled program as the GPU baseline runs it are run by the C emulation (block and
// thread loops in order) and checked against the reference, and their CUDA (kernels, launcher
// and measurement harness) is compiled with nvcc for sm_90.
func TestGPUCandidatesOfEveryBuiltinTask(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles dozens of programs; run without -short")
	}
	be := newTestBackend(t, func(c *Config) { c.Repeat, c.MinRepeatMs = 1, 0 })
	ctx := context.Background()
	opt := gpuSpace()
	rng := rand.New(rand.NewPCG(7, 11))
	var cuda []string
	var names []string
	const perTask = 2
	for _, w := range workloads.BuiltinSmall(16) {
		for _, task := range w.Tasks {
			name := w.Name + ":" + task.Name
			f := task.Func()
			ref, err := be.Reference(ctx, f)
			if err != nil {
				t.Fatalf("%s: reference: %v", name, err)
			}
			sk, err := schedule.DesignSpace(f, opt)
			if err != nil || len(sk) == 0 {
				t.Fatalf("%s: GPU design space: %v", name, err)
			}
			for i := 0; i <= perTask; i++ {
				var g *schedule.Func
				if i == perTask {
					// The unscheduled program as the GPU baseline runs it.
					if g, err = schedule.GPUProgram(f, *opt.GPU); err != nil {
						t.Errorf("%s: GPU baseline program: %v", name, err)
						continue
					}
				} else {
					tr, err := schedule.SampleCandidate(f, sk[0].Trace, rng)
					if err != nil {
						t.Fatalf("%s: sample: %v", name, err)
					}
					if g, err = schedule.Build(f, tr, opt); err != nil {
						t.Errorf("%s: candidate %d is invalid: %v", name, i, err)
						continue
					}
				}
				src, err := LowerGPUEmulation(g)
				if err != nil {
					t.Errorf("%s: candidate %d: emulation: %v", name, i, err)
					continue
				}
				if r := be.MeasureSource(ctx, g, src, ref); !r.OK() {
					t.Errorf("%s: candidate %d: emulated GPU schedule: %s: %s", name, i, r.Status, r.Message)
				}
				cu, err := LowerCUDA(g, CUDAOptions{Arch: "sm_90"})
				if err != nil {
					t.Errorf("%s: candidate %d: CUDA lowering: %v", name, i, err)
					continue
				}
				cuda = append(cuda, cu+CUDAHarness(g))
				names = append(names, name)
			}
		}
	}
	nvcc, _, err := FindNVCC("")
	if err != nil {
		t.Skipf("emulated candidates checked; CUDA not compiled: %v", err)
	}
	bld, err := NewNVCCBuilder(Config{CacheDir: t.TempDir()}, nvcc, "sm_90")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range bld.BuildAll(ctx, cuda) {
		if r.Err != nil {
			t.Errorf("%s: nvcc -arch=sm_90: %v", names[i], r.Err)
		}
	}
}

// TestCUDAGolden pins the CUDA of a matmul and of a row softmax (the attention's softmax
// stages) under their default GPU schedules, and checks that nvcc compiles them.
func TestCUDAGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		f    *schedule.Func
	}{
		{"matmul", scheduletest.Matmul(64, 64, 64, false)},
		{"softmax", scheduletest.Softmax(32, 128)},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := defaultGPUProgram(t, c.f)
			cu, err := LowerCUDA(g, CUDAOptions{Arch: "sm_90"})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("cuda", c.name+".cu"), cu)
			nvcc, _, err := FindNVCC("")
			if err != nil {
				t.Skipf("golden checked; not compiled: %v", err)
			}
			path := filepath.Join(t.TempDir(), c.name+".cu")
			if err := os.WriteFile(path, []byte(cu), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(nvcc, "-arch=sm_90", "-c", "-o", path+".o", path).CombinedOutput()
			if err != nil {
				t.Fatalf("nvcc: %v\n%s", err, out)
			}
		})
	}
}

// TestMissingBarrierIsDetected removes each planned __syncthreads() of a tiled matmul in turn:
// the static check must name the shared buffer each time, and accept the full plan.
func TestMissingBarrierIsDetected(t *testing.T) {
	g := defaultGPUProgram(t, scheduletest.Matmul(64, 64, 64, false))
	kernel := bodyStmtsOf(g.Root.Body)[0]
	plan := map[schedule.Stmt]bool{}
	if err := PlanBarriers(kernel, plan); err != nil {
		t.Fatal(err)
	}
	if err := CheckBarriers(kernel, plan); err != nil {
		t.Fatalf("the planned barriers fail the check: %v", err)
	}
	if len(plan) < 2 {
		t.Fatalf("found %d barriers, want one before the shared reads and one before the next fetch", len(plan))
	}
	for missing := range plan {
		without := map[schedule.Stmt]bool{}
		for s := range plan {
			if s != missing {
				without[s] = true
			}
		}
		err := CheckBarriers(kernel, without)
		if err == nil || !strings.Contains(err.Error(), "missing __syncthreads()") || !strings.Contains(err.Error(), "_shared") {
			t.Errorf("a barrier removed: check says %v, want a missing __syncthreads() naming a shared buffer", err)
		}
	}
	cu, err := LowerCUDA(g, CUDAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(cu, "__syncthreads();"); n != len(plan) {
		t.Errorf("the CUDA has %d __syncthreads(), the plan %d", n, len(plan))
	}
}

// TestLowerCUDARejects: programs the CUDA backend cannot launch are errors, never panics.
func TestLowerCUDARejects(t *testing.T) {
	f := scheduletest.Matmul(8, 8, 8, false) // unscheduled: no GPU bindings
	if _, err := LowerCUDA(f, CUDAOptions{}); err == nil || !strings.Contains(err.Error(), "blockIdx") {
		t.Errorf("unbound program: got %v, want an error asking for a blockIdx binding", err)
	}
	if _, err := LowerCUDA(nil, CUDAOptions{}); err == nil {
		t.Error("nil program: no error")
	}
}

// TestCUDABackendWithoutAGPU drives a cuda Backend described from an arch alone: a candidate and
// the cuBLAS reference are built with nvcc and run, and each run's failure says there is no
// device; a program without GPU bindings never reaches the compiler.
func TestCUDABackendWithoutAGPU(t *testing.T) {
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Skip("this machine has nvidia-smi")
	}
	if _, _, err := FindNVCC(""); err != nil {
		t.Skip(err)
	}
	gpu, err := GPUForArch("sm_90")
	if err != nil {
		t.Fatal(err)
	}
	target := GPUTarget(gpu)
	be := newTestBackend(t, func(c *Config) { c.Target = &target })
	if !strings.Contains(be.Compiler(), "nvcc") {
		t.Errorf("compiler %q, want nvcc", be.Compiler())
	}
	g := defaultGPUProgram(t, scheduletest.Matmul(64, 64, 64, false))
	r := be.MeasureCandidate(context.Background(), Candidate{Func: g}, nil)
	if r.Status != StatusCrash || !strings.Contains(r.Message, "no CUDA device") || !strings.Contains(r.Source, "__global__") {
		t.Errorf("got %s: %s; want a crash saying there is no CUDA device, after a CUDA build", r.Status, r.Message)
	}
	if libs := be.VendorLibraries(scheduletest.Softmax(8, 8)); libs != nil {
		t.Errorf("softmax has vendor libraries %q, want none", libs)
	}
	if libs := be.VendorLibraries(scheduletest.Matmul(64, 64, 64, false)); !slices.Equal(libs, []string{"cuBLAS"}) {
		t.Errorf("matmul on a GPU: vendor libraries %q, want [cuBLAS]", libs)
	}
	if _, ok := be.MeasureVendor(context.Background(), scheduletest.Matmul(64, 64, 64, false), "oneDNN", nil, 0); ok {
		t.Error("the CUDA backend measures oneDNN")
	}
	v, ok := be.MeasureVendor(context.Background(), scheduletest.Matmul(64, 64, 64, false), "cuBLAS", nil, 0)
	if !ok || v.Library != "cuBLAS" || v.Result.Status != StatusCrash || !strings.Contains(v.Result.Message, "no CUDA device") {
		t.Errorf("cuBLAS: ok %v, %s %s: %s; want cuBLAS built (-lcublas) and its run saying there is no device", ok, v.Library, v.Result.Status, v.Result.Message)
	}
	cpu := newTestBackend(t, nil)
	if _, ok := cpu.MeasureVendor(context.Background(), scheduletest.Matmul(8, 8, 8, false), "cuBLAS", nil, 0); ok {
		t.Error("the CPU backend claims cuBLAS")
	}
	unbound := scheduletest.Matmul(8, 8, 8, false)
	r = be.MeasureCandidate(context.Background(), Candidate{Func: unbound}, nil)
	if r.Status != StatusInvalid || !strings.Contains(r.Message, "blockIdx") {
		t.Errorf("unbound program: got %s: %s; want invalid asking for a blockIdx binding", r.Status, r.Message)
	}
}

// TestCUDACandidatesRunOnTheGPU is the check on a machine with an NVIDIA GPU (scripts/gpu-check.sh
// runs it): for every built-in task at small sizes, the GPU baseline program and sampled GPU
// candidates are built with nvcc, run and timed on the device and checked against the
// reference, and cuBLAS is measured on the matmul-shaped ones. Without a GPU it is skipped.
func TestCUDACandidatesRunOnTheGPU(t *testing.T) {
	nvcc, _, err := FindNVCC("")
	if err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	gpu, err := DetectGPU(ctx, nvcc, t.TempDir())
	if err != nil {
		t.Skipf("no GPU to run on: %v", err)
	}
	target := GPUTarget(gpu)
	be := newTestBackend(t, func(c *Config) { c.Target = &target })
	opt := gpuSpace()
	opt.GPU.MaxSharedBytes = gpu.SharedPerBlock
	rng := rand.New(rand.NewPCG(3, 5))
	for _, w := range workloads.BuiltinSmall(64) {
		for _, task := range w.Tasks {
			name := w.Name + ":" + task.Name
			f := task.Func()
			ref, err := be.Reference(ctx, f)
			if err != nil {
				t.Fatalf("%s: reference: %v", name, err)
			}
			progs := []*schedule.Func{}
			if g, err := schedule.GPUProgram(f, *opt.GPU); err == nil {
				progs = append(progs, g)
			} else {
				t.Errorf("%s: GPU baseline program: %v", name, err)
			}
			sk, err := schedule.DesignSpace(f, opt)
			if err != nil {
				t.Fatal(err)
			}
			for len(progs) < 4 {
				tr, err := schedule.SampleCandidate(f, sk[0].Trace, rng)
				if err != nil {
					t.Fatal(err)
				}
				if g, err := schedule.Build(f, tr, opt); err == nil {
					progs = append(progs, g)
				}
			}
			for i, g := range progs {
				if r := be.Measure(ctx, g, ref); !r.OK() {
					t.Errorf("%s: program %d: %s: %s", name, i, r.Status, r.Message)
				} else {
					t.Logf("%s: program %d: %s", name, i, r.Message)
				}
			}
			if v, ok := be.MeasureVendor(ctx, f, "cuBLAS", ref, 0); ok {
				if !v.Result.OK() {
					t.Errorf("%s: cuBLAS: %s: %s", name, v.Result.Status, v.Result.Message)
				} else {
					t.Logf("%s: cuBLAS: %s", name, v.Result.Message)
				}
			}
		}
	}
}

// TestCUDADynamicSharedMemory: a kernel whose shared memory exceeds the 48 KiB a kernel may
// declare statically takes it dynamically and its launcher opts in, up to the GPU's maximum;
// its emulation still matches the reference and nvcc compiles it.
func TestCUDADynamicSharedMemory(t *testing.T) {
	f := scheduletest.Matmul(256, 256, 256, false)
	opt := gpuSpace()
	opt.GPU.MaxSharedBytes = 227 << 10
	sk, err := schedule.DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	var big *schedule.Func
	for i := 0; i < 400 && big == nil; i++ {
		tr, err := schedule.SampleCandidate(f, sk[0].Trace, rng)
		if err != nil {
			t.Fatal(err)
		}
		g, err := schedule.Build(f, tr, opt)
		if err != nil {
			continue
		}
		if err := schedule.VerifyGPU(g, schedule.DefaultGPUSpace()); err != nil && strings.Contains(err.Error(), "shared memory per block") {
			big = g
		}
	}
	if big == nil {
		t.Fatal("no candidate above 48 KiB of shared memory in 400 samples")
	}
	cu, err := LowerCUDA(big, CUDAOptions{Arch: "sm_90"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"extern __shared__", "cudaFuncSetAttribute(", "cudaFuncAttributeMaxDynamicSharedMemorySize"} {
		if !strings.Contains(cu, want) {
			t.Errorf("the CUDA lacks %q", want)
		}
	}
	be := newTestBackend(t, func(c *Config) { c.Repeat, c.MinRepeatMs = 1, 0 })
	ref, err := be.Reference(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	src, err := LowerGPUEmulation(big)
	if err != nil {
		t.Fatal(err)
	}
	if r := be.MeasureSource(context.Background(), big, src, ref); !r.OK() {
		t.Errorf("emulation: %s: %s", r.Status, r.Message)
	}
	nvcc, _, err := FindNVCC("")
	if err != nil {
		t.Skip(err)
	}
	bld, err := NewNVCCBuilder(Config{CacheDir: t.TempDir()}, nvcc, "sm_90")
	if err != nil {
		t.Fatal(err)
	}
	if r := bld.BuildAll(context.Background(), []string{cu + CUDAHarness(big)})[0]; r.Err != nil {
		t.Errorf("nvcc: %v", r.Err)
	}
}

// TestCUDABackendWithoutNVCC: a cuda backend whose configured nvcc does not exist is a one-line
// error naming the path and what to do.
func TestCUDABackendWithoutNVCC(t *testing.T) {
	gpu, err := GPUForArch("sm_90")
	if err != nil {
		t.Fatal(err)
	}
	target := GPUTarget(gpu)
	_, err = New(Config{CacheDir: t.TempDir(), Target: &target, NVCC: filepath.Join(t.TempDir(), "no-nvcc")})
	if err == nil || !strings.Contains(err.Error(), "nvcc not found") || !strings.Contains(err.Error(), "no-nvcc") || strings.Contains(err.Error(), "\n") {
		t.Errorf("got %v, want one line saying the configured nvcc is missing", err)
	}
}
