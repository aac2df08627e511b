package schedule_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"colt/schedule"
	"colt/schedule/scheduletest"
)

func gpuOptions(mut func(*schedule.GPUSpace)) schedule.SpaceOptions {
	g := schedule.DefaultGPUSpace()
	if mut != nil {
		mut(&g)
	}
	opt := schedule.DefaultSpaceOptions(2)
	opt.GPU = &g
	return opt
}

// TestGPUCandidateOverALimitIsInvalid: a candidate over the GPU's shared memory, threads or
// registers is rejected by Build with the limit named.
func TestGPUCandidateOverALimitIsInvalid(t *testing.T) {
	f := scheduletest.Matmul(64, 64, 64, false)
	cases := []struct {
		name string
		mut  func(*schedule.GPUSpace)
		want string
	}{
		{"shared memory", func(g *schedule.GPUSpace) { g.MaxSharedBytes = 64 }, "shared memory per block"},
		{"registers", func(g *schedule.GPUSpace) { g.MaxRegistersPerThread = 8 }, "register estimate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tight := gpuOptions(c.mut)
			sk, err := schedule.DesignSpace(f, gpuOptions(nil))
			if err != nil {
				t.Fatal(err)
			}
			_, err = schedule.Build(f, sk[0].Trace, tight)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "allows") {
				t.Errorf("Build: %v; want an error naming %q and the limit", err, c.want)
			}
		})
	}
}

// TestGPUSamplesRespectTheDevice: sampled GPU candidates of a matmul all build, with at most
// the device's threads per block, and the tile limits hold for every sampled tiling.
func TestGPUSamplesRespectTheDevice(t *testing.T) {
	f := scheduletest.Matmul(128, 128, 128, true)
	opt := gpuOptions(nil)
	sk, err := schedule.DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 40; i++ {
		tr, err := schedule.SampleCandidate(f, sk[0].Trace, rng)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := schedule.Build(f, tr, opt); err != nil {
			t.Errorf("sample %d: %v", i, err)
		}
		for _, in := range tr.Insts {
			for j, lim := range in.Limits {
				if lim > 0 && j < len(in.Decision) && in.Decision[j] > lim {
					t.Errorf("sample %d: tile %v exceeds limits %v", i, in.Decision, in.Limits)
				}
			}
		}
	}
}

// TestThreadBindingMutator changes the threads of an auto-bound kernel and nothing else.
func TestThreadBindingMutator(t *testing.T) {
	f := scheduletest.Softmax(64, 32)
	opt := gpuOptions(nil)
	sk, err := schedule.DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := schedule.MutatorByNameFor(opt, schedule.MutThreadBinding)
	if !ok {
		t.Fatal("no ThreadBinding mutator in the GPU vocabulary")
	}
	if _, ok := schedule.MutatorByNameFor(schedule.SpaceOptions{}, schedule.MutThreadBinding); ok {
		t.Error("ThreadBinding is in the CPU vocabulary")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	out, err := m.Apply(f, sk[0].Trace, opt, rng)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i, in := range out.Insts {
		old := sk[0].Trace.Insts[i]
		if in.Kind != schedule.KindSamplePerfectTile || equalInts(in.Decision, old.Decision) {
			continue
		}
		changed++
		if in.Name != schedule.AutoBindTile || in.Decision[0]*in.Decision[1] != old.Decision[0]*old.Decision[1] {
			t.Errorf("changed %v to %v in %q, want an auto-bind tiling with the same product", old.Decision, in.Decision, in.Name)
		}
	}
	if changed != 1 {
		t.Errorf("%d decisions changed, want 1", changed)
	}
	if _, err := schedule.Build(f, out, opt); err != nil {
		t.Errorf("the mutated trace does not build: %v", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestVectorCopyOnlyWhenAligned: cooperative fetches are marked for float2/float4 copies only
// when the rows they copy start at multiples of the width in both buffers: never for the rows
// of a 63-wide input, sometimes for a 64-wide one.
func TestVectorCopyOnlyWhenAligned(t *testing.T) {
	f := scheduletest.Matmul(64, 64, 63, false) // A is 64×63, B 63×64
	opt := gpuOptions(nil)
	sk, err := schedule.DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	marked := map[string]int{}
	for i := 0; i < 60; i++ {
		tr, err := schedule.SampleCandidate(f, sk[0].Trace, rng)
		if err != nil {
			t.Fatal(err)
		}
		g, err := schedule.Build(f, tr, opt)
		if err != nil {
			continue
		}
		schedule.WalkStmt(g.Root.Body, func(s schedule.Stmt) bool {
			lp, ok := s.(*schedule.Loop)
			if !ok {
				return true
			}
			n, ok := lp.Annotations.Int(schedule.AnnVectorCopy)
			if !ok {
				return true
			}
			blk, isBlock := lp.Body.(*schedule.Block)
			if !isBlock || int64(lp.Extent) != n || lp.Kind != schedule.Vectorized {
				t.Errorf("vector copy of width %d on a %s loop of extent %d", n, lp.Kind, lp.Extent)
				return true
			}
			marked[blk.Name]++
			return true
		})
	}
	if marked["A_shared"] > 0 {
		t.Errorf("%d copies of the 63-wide A marked as vector copies", marked["A_shared"])
	}
	if marked["B_shared"] == 0 {
		t.Error("no copy of the 64-wide B marked as a vector copy in 60 samples")
	}
}
