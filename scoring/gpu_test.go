package scoring

import (
	"math"
	"math/rand/v2"
	"testing"

	"colt/schedule"
	"colt/schedule/scheduletest"
	"colt/workloads"
)

// TestGPUProgramsScore: the features and the analytic estimate of sampled GPU candidates of
// every built-in task are finite, and the features mark them as GPU programs with their thread
// extents.
func TestGPUProgramsScore(t *testing.T) {
	g := schedule.DefaultGPUSpace()
	opt := schedule.DefaultSpaceOptions(2)
	opt.GPU = &g
	rng := rand.New(rand.NewPCG(9, 9))
	names := FeatureNames()
	col := map[string]int{}
	for i, n := range names {
		col[n] = i
	}
	for _, w := range workloads.BuiltinSmall(16) {
		for _, task := range w.Tasks {
			f := task.Func()
			sk, err := schedule.DesignSpace(f, opt)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := schedule.SampleCandidate(f, sk[0].Trace, rng)
			if err != nil {
				t.Fatal(err)
			}
			p, err := schedule.Build(f, tr, opt)
			if err != nil {
				t.Fatalf("%s: %v", task.Name, err)
			}
			rows, err := Extract(p)
			if err != nil || len(rows) == 0 {
				t.Fatalf("%s: features: %d rows, %v", task.Name, len(rows), err)
			}
			gpuRows := 0
			for _, r := range rows {
				for j, x := range r {
					if math.IsNaN(x) || math.IsInf(x, 0) {
						t.Errorf("%s: feature %s is %v", task.Name, names[j], x)
					}
				}
				if r[col["is_gpu"]] > 0 && r[col["threadIdx_x_len"]] > 0 {
					gpuRows++
				}
			}
			if gpuRows == 0 {
				t.Errorf("%s: no row marked as a GPU store with a thread extent", task.Name)
			}
			if s, err := Estimate(p, DefaultHardware()); err != nil || !(s > 0) || math.IsInf(s, 0) {
				t.Errorf("%s: estimate %v, %v", task.Name, s, err)
			}
		}
	}
}

// TestGPUEstimateRanks: the GPU estimate prefers a block of 256 threads to blocks of one
// thread, and some tiled shared-memory candidate of a 512³ matmul to the naive kernel that
// reads every operand from device memory.
func TestGPUEstimateRanks(t *testing.T) {
	hw := Hardware{GPU: &GPUHardware{SMs: 132, MemGBps: 4800}}
	f := scheduletest.Matmul(512, 512, 512, false)
	estimate := func(p *schedule.Func) float64 {
		t.Helper()
		s, err := Estimate(p, hw)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	naive, err := schedule.GPUProgram(f, schedule.DefaultGPUSpace())
	if err != nil {
		t.Fatal(err)
	}
	one := schedule.DefaultGPUSpace()
	one.MaxThreadsPerBlock = 1
	single, err := schedule.GPUProgram(f, one)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := estimate(naive), estimate(single); !(a < b) {
		t.Errorf("256 threads per block: %.3g s, 1 thread per block: %.3g s; want the first faster", a, b)
	}
	g := schedule.DefaultGPUSpace()
	opt := schedule.DefaultSpaceOptions(2)
	opt.GPU = &g
	sk, err := schedule.DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	best := math.Inf(1)
	for i := 0; i < 20; i++ {
		tr, err := schedule.SampleCandidate(f, sk[0].Trace, rng)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := schedule.Build(f, tr, opt); err == nil {
			best = min(best, estimate(p))
		}
	}
	if n := estimate(naive); !(best < n) {
		t.Errorf("best tiled candidate %.3g s, naive kernel %.3g s; want a tiled one faster", best, n)
	}
}
