package backend

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"colt/schedule"
	"colt/workloads"
)

// microSketches are the micro-kernel sketches of f's design space for a CPU with the given
// float32 lanes per vector.
func microSketches(t *testing.T, f *schedule.Func, opt schedule.SpaceOptions) []schedule.Sketch {
	t.Helper()
	sketches, err := schedule.DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	var out []schedule.Sketch
	for _, s := range sketches {
		if strings.Contains(s.Name, "micro-kernel") {
			out = append(out, s)
		}
	}
	return out
}

// TestMicroKernelsMatchTheInterpreter samples candidates with vector micro-kernels for every
// built-in task that has one (matmuls, batched matmuls, the SwiGLU projections, convolutions)
// at several vector widths, and checks each candidate's C, in float and double, against the
// IR interpreter and its measurement against the reference.
func TestMicroKernelsMatchTheInterpreter(t *testing.T) {
	b := newTestBackend(t, nil)
	rng := rand.New(rand.NewPCG(5, 6))
	with := map[string]bool{}
	// Narrower vectors for two of them: 8 and 4 lanes (AVX2, NEON).
	extraLanes := map[string][]int{"deepseek-r1-moe": {8, 4}, "flux-conv": {4}}
	for _, w := range workloads.BuiltinSmall(16) {
		for _, task := range w.Tasks {
			name := w.Name + ":" + task.Name
			f := task.Func()
			for _, lanes := range append([]int{16}, extraLanes[w.Name]...) {
				opt := schedule.DefaultSpaceOptions(2)
				opt.SIMDLanes = lanes
				sketches := microSketches(t, f, opt)
				if len(sketches) == 0 {
					continue
				}
				with[w.Name] = true
				// One sampled candidate of one micro-kernel sketch per task and width keeps
				// the suite fast; a tile too large for registers is invalid, so draw again.
				for attempt := 0; attempt < 8; attempt++ {
					sk := sketches[rng.IntN(len(sketches))]
					tr, err := schedule.SampleCandidate(f, sk.Trace, rng)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					prog, err := schedule.Build(f, tr, opt)
					if err != nil {
						if strings.Contains(err.Error(), "vector accumulators") {
							continue
						}
						t.Fatalf("%s: %s: %v\n%s", name, sk.Name, err, tr)
					}
					src, err := LowerC(prog, LowerOptions{})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if !strings.Contains(src, "vector micro-kernel") {
						t.Fatalf("%s: %s: no micro-kernel in the C:\n%s", name, sk.Name, src)
					}
					t.Run(fmt.Sprintf("%s/%d-lanes", name, lanes), func(t *testing.T) { checkProgram(t, b, prog, f) })
					break
				}
			}
		}
	}
	for _, want := range []string{"llama3-8b-attn", "deepseek-r1-moe", "flux-conv", "flux-attn", "llama4-scout-mlp"} {
		if !with[want] {
			t.Errorf("%s has no micro-kernel sketch", want)
		}
	}
}

// TestMicroKernelPlans checks which nests a micro-kernel accepts and how it reads operands.
func TestMicroKernelPlans(t *testing.T) {
	opt := schedule.DefaultSpaceOptions(2)
	opt.SIMDLanes = 16
	for _, tc := range []struct {
		workload string
		want     bool
	}{
		{"llama3-8b-attn", true},
		{"flux-conv", true},
		{"llama3-8b:rmsnorm", false}, // no tiled block
		{"llama3-8b:attention", true},
	} {
		var f *schedule.Func
		for _, w := range workloads.BuiltinSmall(32) {
			for _, task := range w.Tasks {
				if w.Name == tc.workload || w.Name+":"+task.Name == tc.workload {
					f = task.Func()
				}
			}
		}
		if f == nil {
			t.Fatalf("no workload %s", tc.workload)
		}
		if got := len(microSketches(t, f, opt)) > 0; got != tc.want {
			t.Errorf("%s: micro-kernel sketch %v, want %v", tc.workload, got, tc.want)
		}
	}
}

// TestMicroKernelKeepsAccumulatorsInRegisters compiles a 4×64 matmul micro-tile to assembly and
// checks that its reduction loop stores nothing to memory: the 16 accumulators stay in vector
// registers, and only the operands are loaded.
func TestMicroKernelKeepsAccumulatorsInRegisters(t *testing.T) {
	b := newTestBackend(t, nil)
	if b.Target().SIMD != "avx512" {
		t.Skipf("the assembly check is written for AVX-512; this CPU has %s", b.Target().SIMD)
	}
	f := specFuncForMicro(t)
	opt := schedule.DefaultSpaceOptions(2)
	opt.SIMDLanes = 16
	sk := microSketches(t, f, opt)
	if len(sk) == 0 {
		t.Fatal("no micro-kernel sketch")
	}
	tr := sk[0].Trace.Copy()
	// Decide S0 S1 S2 S3 of m as 1 1 1 4 (4 rows), of n as 1 2 1 64 (4 vectors), k as 8 32.
	decisions := [][]int{{1, 1, 1, 4}, {1, 2, 1, 64}, {8, 32}}
	d := 0
	for i, in := range tr.Insts {
		if in.Kind == schedule.KindSamplePerfectTile && d < len(decisions) {
			tr.Insts[i].Decision = decisions[d]
			d++
		}
	}
	for i, in := range tr.Insts {
		if in.Kind == schedule.KindSampleCategorical {
			tr.Insts[i].Decision = []int{0} // no auto-unroll: the reduction stays a loop
		}
	}
	prog, err := schedule.Build(f, tr, opt)
	if err != nil {
		t.Fatalf("%v\n%s", err, tr)
	}
	src, err := LowerC(prog, LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src, "16 accumulators of 16 lanes") {
		t.Fatalf("want a 4×64 tile of 16 accumulators:\n%s", src)
	}
	dir := t.TempDir()
	cfile := filepath.Join(dir, "k.c")
	if err := os.WriteFile(cfile, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	asmFile := filepath.Join(dir, "k.s")
	args := append(append(append([]string{}, b.builder.ccArgs...), DefaultCFlags()...), "-S", "-o", asmFile, cfile)
	if out, err := exec.Command(b.builder.cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc -S: %v\n%s", err, out)
	}
	asm, err := os.ReadFile(asmFile)
	if err != nil {
		t.Fatal(err)
	}
	body := innermostLoop(string(asm))
	if body == "" {
		t.Fatalf("no loop found in the assembly")
	}
	fmas := regexp.MustCompile(`vfmadd\w+\s+[^\n]*zmm`).FindAllString(body, -1)
	stores := regexp.MustCompile(`vmov\w*\s+%zmm\d+, [^%\n]*\(`).FindAllString(body, -1)
	if len(fmas) < 16 {
		t.Errorf("the reduction loop has %d zmm FMAs, want at least 16 (one per accumulator):\n%s", len(fmas), body)
	}
	if len(stores) > 0 {
		t.Errorf("the reduction loop stores vectors to memory (accumulators spilled): %q\n%s", stores, body)
	}
}

// specFuncForMicro is a 4×128×256 matmul, C[m, n] += A[m, k] * B[k, n].
func specFuncForMicro(t *testing.T) *schedule.Func {
	t.Helper()
	w, err := workloads.Parse("mk", workloads.Spec{
		Sizes:  map[string]any{"M": 4, "K": 256, "N": 128},
		Inputs: []string{"A[M, K]", "B[K, N]"},
		Stages: []string{"C[m, n] += A[m, k] * B[k, n]"},
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return w.Tasks[0].Func()
}

// innermostLoop returns the assembly between the last backward-branch target label and its
// jump: the body of the hottest (innermost) loop gcc emitted, found as the shortest span
// from a label to a conditional jump back to it.
func innermostLoop(asm string) string {
	lines := strings.Split(asm, "\n")
	labelAt := map[string]int{}
	best := ""
	for i, line := range lines {
		s := strings.TrimSpace(line)
		if strings.HasSuffix(s, ":") && strings.HasPrefix(s, ".L") {
			labelAt[strings.TrimSuffix(s, ":")] = i
			continue
		}
		fields := strings.Fields(s)
		if len(fields) == 2 && strings.HasPrefix(fields[0], "j") && fields[0] != "jmp" {
			if at, ok := labelAt[fields[1]]; ok {
				span := strings.Join(lines[at:i+1], "\n")
				if strings.Contains(span, "vfmadd") && (best == "" || len(span) < len(best)) {
					best = span
				}
			}
		}
	}
	return best
}
