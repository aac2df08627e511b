package core

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"colt/backend"
	"colt/schedule"
	"colt/workloads"
)

// smallTasks are the built-in workloads' tasks at test sizes.
func smallTasks() map[string]*workloads.Task {
	out := map[string]*workloads.Task{}
	for _, w := range workloads.BuiltinSmall(32) {
		for _, t := range w.Tasks {
			name := w.Name
			if !w.IsSingle() {
				name += ":" + t.Name
			}
			out[name] = t
		}
	}
	return out
}

func testBackend(t testing.TB) *backend.Backend {
	t.Helper()
	cfg := backend.DefaultConfig()
	cfg.CacheDir = t.TempDir()
	cfg.Repeat = 1
	cfg.MinRepeatMs = 1
	cfg.RunTimeout = 20 * time.Second
	be, err := backend.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return be
}

// TestSampledCandidatesAreCorrect draws candidates from every sketch of every built-in task (at
// test sizes), compiles and runs them for real, and checks each against the reference.
func TestSampledCandidatesAreCorrect(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles dozens of candidates")
	}
	be := testBackend(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 12))
	opt := schedule.DefaultSpaceOptions(be.Target().Cores)
	for name, task := range smallTasks() {
		t.Run(name, func(t *testing.T) {
			f := task.Func()
			ref, err := be.Reference(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			sketches, err := schedule.DesignSpace(f, opt)
			if err != nil {
				t.Fatal(err)
			}
			var cands []backend.Candidate
			var traces []*schedule.Trace
			for _, sk := range sketches {
				for i := 0; i < 2; i++ {
					tr, err := schedule.SampleCandidate(f, sk.Trace, rng)
					if err != nil {
						t.Fatalf("sample from %q: %v", sk.Name, err)
					}
					prog, err := schedule.Build(f, tr, opt)
					if err != nil {
						t.Fatalf("build a sample of %q: %v\n%s", sk.Name, err, tr)
					}
					cands = append(cands, backend.Candidate{Func: prog})
					traces = append(traces, tr)
				}
			}
			results := be.RunBatch(ctx, be.BuildBatch(ctx, cands), ref)
			for i, r := range results {
				if !r.OK() {
					t.Errorf("candidate %d: %s: %s\n%s\n%s", i, r.Status, r.Message, traces[i], schedule.Print(cands[i].Func))
				}
			}
		})
	}
}
