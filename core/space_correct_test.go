package core

import (
	"context"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"colt/backend"
	"colt/schedule"
	"colt/schedule/scheduletest"
	"colt/workloads"
)

// builtinTasks are the built-in workloads' tasks by "workload" or "model:task" name, in a
// fixed order.
func builtinTasks(ws []*workloads.Workload) ([]string, map[string]*workloads.Task) {
	out := map[string]*workloads.Task{}
	var names []string
	for _, w := range ws {
		for _, t := range w.Tasks {
			name := w.Name
			if !w.IsSingle() {
				name += ":" + t.Name
			}
			out[name] = t
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, out
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

// sampleFromEverySketch draws perSketch candidates from every sketch of f and builds them.
func sampleFromEverySketch(t testing.TB, f *schedule.Func, opt schedule.SpaceOptions, rng *rand.Rand, perSketch int) ([]*schedule.Func, []*schedule.Trace) {
	t.Helper()
	sketches, err := schedule.DesignSpace(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	var progs []*schedule.Func
	var traces []*schedule.Trace
	for _, sk := range sketches {
		for i := 0; i < perSketch; i++ {
			tr, err := schedule.SampleCandidate(f, sk.Trace, rng)
			if err != nil {
				t.Fatalf("sample from %q: %v", sk.Name, err)
			}
			prog, err := schedule.Build(f, tr, opt)
			if err != nil {
				t.Fatalf("build a sample of %q: %v\n%s", sk.Name, err, tr)
			}
			progs = append(progs, prog)
			traces = append(traces, tr)
		}
	}
	return progs, traces
}

// TestSampledCandidatesMatchTheInterpreter draws candidates from every sketch of every built-in
// task at small sizes and checks each against the unscheduled program in the IR interpreter.
func TestSampledCandidatesMatchTheInterpreter(t *testing.T) {
	names, tasks := builtinTasks(workloads.BuiltinSmall(12))
	rng := rand.New(rand.NewPCG(21, 22))
	opt := schedule.DefaultSpaceOptions(2)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f := tasks[name].Func()
			want := scheduletest.Run(f, 1)
			progs, traces := sampleFromEverySketch(t, f, opt, rng, 2)
			for i, p := range progs {
				if err := scheduletest.Equal(scheduletest.Run(p, 1), want, 1e-9); err != nil {
					t.Errorf("candidate %d: %v\n%s\n%s", i, err, traces[i], schedule.Print(p))
				}
			}
		})
	}
}

// TestSampledCandidatesAreCorrect compiles and runs, for real, candidates of every built-in
// task at test sizes and checks them against the reference; one candidate per task keeps the
// compile time of the suite reasonable (BenchmarkSampledCandidatesFullSize covers full sizes).
func TestSampledCandidatesAreCorrect(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a candidate per built-in task")
	}
	be := testBackend(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 12))
	opt := schedule.DefaultSpaceOptions(be.Target().Cores)
	names, tasks := builtinTasks(workloads.BuiltinSmall(32))
	var cands []backend.Candidate
	var refs []*backend.Reference
	var traces []*schedule.Trace
	for _, name := range names {
		f := tasks[name].Func()
		ref, err := be.Reference(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		progs, trs := sampleFromEverySketch(t, f, opt, rng, 1)
		k := rng.IntN(len(progs))
		cands = append(cands, backend.Candidate{Func: progs[k]})
		refs = append(refs, ref)
		traces = append(traces, trs[k])
	}
	built := be.BuildBatch(ctx, cands)
	for i, b := range built {
		r := be.RunBatch(ctx, []backend.Built{b}, refs[i])[0]
		if !r.OK() {
			t.Errorf("%s: %s: %s\n%s\n%s", names[i], r.Status, r.Message, traces[i], schedule.Print(cands[i].Func))
		}
	}
}

// BenchmarkSampledCandidatesFullSize builds and runs sampled candidates of every full-size
// built-in task and reports how many were correct (correct/op must equal candidates/op) and
// their median GFLOP/s. It takes minutes (the LM head's double-precision reference alone about
// one): run it alone, e.g.
// go test ./core -run XXX -bench SampledCandidatesFullSize -benchtime 1x.
func BenchmarkSampledCandidatesFullSize(b *testing.B) {
	be := testBackend(b)
	ctx := context.Background()
	opt := schedule.DefaultSpaceOptions(be.Target().Cores)
	names, tasks := builtinTasks(workloads.Builtin())
	for i := 0; i < b.N; i++ {
		rng := rand.New(rand.NewPCG(uint64(i), 5))
		for _, name := range names {
			b.Run(name, func(b *testing.B) {
				task := tasks[name]
				f := task.Func()
				ref, err := be.Reference(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				progs, _ := sampleFromEverySketch(b, f, opt, rng, 1)
				if len(progs) > 3 {
					progs = progs[:3]
				}
				var cands []backend.Candidate
				for _, p := range progs {
					cands = append(cands, backend.Candidate{Func: p})
				}
				correct := 0
				var gflops []float64
				for _, r := range be.RunBatch(ctx, be.BuildBatch(ctx, cands), ref) {
					if r.OK() {
						correct++
						gflops = append(gflops, float64(task.FLOPs)/r.MedianS/1e9)
					} else {
						b.Errorf("%s: %s: %s", name, r.Status, r.Message)
					}
				}
				sort.Float64s(gflops)
				b.ReportMetric(float64(len(cands)), "candidates/op")
				b.ReportMetric(float64(correct), "correct/op")
				if len(gflops) > 0 {
					b.ReportMetric(gflops[len(gflops)/2], "median-GFLOP/s")
				}
			})
		}
	}
}

// TestThePlainSketchOnlyParallelizesVectorizesUnrolls checks the sketch that keeps every
// search at least as fast as the unscheduled program: every built-in task with a tiled block
// has it; its candidates keep the program's loops (no split, reorder, cache or compute-at),
// run their outer loop in parallel, and compile, run and match the reference for real.
func TestThePlainSketchOnlyParallelizesVectorizesUnrolls(t *testing.T) {
	be := testBackend(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(31, 32))
	opt := schedule.DefaultSpaceOptions(be.Target().Cores)
	names, tasks := builtinTasks(workloads.BuiltinSmall(24))
	allowed := map[string]bool{schedule.KindGetBlock: true, schedule.KindAnnotate: true, schedule.KindSampleCategorical: true}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f := tasks[name].Func()
			sketches, err := schedule.DesignSpace(f, opt)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(sketches, func(s schedule.Sketch) bool { return s.Name == schedule.PlainSketch })
			if i < 0 {
				t.Fatalf("no %q sketch among %d", schedule.PlainSketch, len(sketches))
			}
			tr, err := schedule.SampleCandidate(f, sketches[i].Trace, rng)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range tr.Insts {
				if !allowed[in.Kind] {
					t.Errorf("the plain sketch has a %s instruction:\n%s", in.Kind, tr)
				}
			}
			prog, err := schedule.Build(f, tr, opt)
			if err != nil {
				t.Fatal(err)
			}
			parallel := false
			schedule.WalkStmt(prog.Root.Body, func(s schedule.Stmt) bool {
				if l, ok := s.(*schedule.Loop); ok && l.Kind == schedule.Parallel {
					parallel = true
				}
				return true
			})
			if !parallel {
				t.Errorf("no parallel loop:\n%s", schedule.Print(prog))
			}
			ref, err := be.Reference(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if r := be.MeasureCandidate(ctx, backend.Candidate{Func: prog}, ref); !r.OK() {
				t.Errorf("%s: %s\n%s", r.Status, r.Message, schedule.Print(prog))
			}
		})
	}
}
