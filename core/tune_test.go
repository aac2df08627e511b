package core

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"colt/backend"
	"colt/schedule"
	"colt/scoring"
	"colt/workloads"
)

// ttWorkload is the tuning tests' workload: a 16×16×16 matmul with a ReLU epilogue.
func ttWorkload(t testing.TB) *workloads.Workload {
	t.Helper()
	w, err := workloads.Parse("tt16", workloads.Spec{
		Description: "16x16x16 matmul with a relu epilogue",
		Sizes:       map[string]any{"M": 16, "N": 16, "K": 16},
		Inputs:      []string{"A[M, K]", "B[K, N]"},
		Stages:      []string{"C[m, n] += A[m, k] * B[k, n]", "O[m, n] = relu(C[m, n])"},
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// ttSketch is a hand-made design space for the tests, independent of the design-space rules:
// the matmul's loops tiled in 4, 4 and 2 (6125 distinct candidates).
func ttSketch(t testing.TB, w *workloads.Workload) []schedule.Sketch {
	t.Helper()
	s := schedule.New(w.Tasks[0].Func(), rand.New(rand.NewPCG(1, 2)))
	b, err := s.GetBlock("C")
	if err != nil {
		t.Fatal(err)
	}
	loops, err := s.GetLoops(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{4, 4, 2} {
		tiles, err := s.SamplePerfectTile(loops[i], n, 64)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Split(loops[i], tiles); err != nil {
			t.Fatal(err)
		}
	}
	return []schedule.Sketch{{Name: "tiles", Trace: s.Trace()}}
}

// ttBackend is a backend that times with one repeat of one call, so a candidate runs in
// milliseconds; cacheDir may be shared by the runs of one test.
func ttBackend(t testing.TB, cacheDir string) *backend.Backend {
	t.Helper()
	be, err := backend.New(backend.Config{CacheDir: cacheDir, Repeat: 1, MinRepeatMs: 0, RunTimeout: 30 * time.Second, BuildWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return be
}

// ttSearch is the search configuration of the tests: small batches and populations.
func ttSearch() SearchConfig {
	s := DefaultSearchConfig()
	s.BatchSize = 3
	s.Evolutionary.Population = 16
	s.Evolutionary.Generations = 2
	s.ConfirmTop = 0 // the confirmation has its own test
	return s
}

// ttRun is one tuning run of the tests.
type ttRun struct {
	workDir, cacheDir string
	strategy          Strategy
	budget            int
	seed              uint64
	sketches          []schedule.Sketch // nil: the test sketch; use noSketches for the design space
	search            *SearchConfig
}

// noSketches asks ttTune for the built-in design space.
var noSketches = []schedule.Sketch{}

// ttTune runs the tuner and returns its report, the events it sent and the store's records.
func ttTune(t *testing.T, w *workloads.Workload, r ttRun) (*Report, []Event, []Record) {
	t.Helper()
	if r.cacheDir == "" {
		r.cacheDir = filepath.Join(r.workDir, "cache")
	}
	if r.strategy == nil {
		r.strategy = NewRandom()
	}
	sketches := r.sketches
	switch {
	case sketches == nil:
		sketches = ttSketch(t, w)
	case len(sketches) == 0:
		sketches = nil
	}
	search := ttSearch()
	if r.search != nil {
		search = *r.search
	}
	store, err := OpenStore(r.workDir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var events []Event
	tuner, err := NewTuner(TuneOptions{
		Workload: w, Backend: ttBackend(t, r.cacheDir), Store: store, WorkDir: r.workDir,
		Strategy: r.strategy, Budget: r.budget, Seed: r.seed, Search: search, Sketches: sketches,
		OnEvent: func(e Event) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tuner.Run(context.Background())
	if err != nil {
		t.Fatalf("tune: %v", err)
	}
	f := w.Tasks[0].Func()
	return rep, events, store.Records(schedule.StructuralHash(f), ttBackend(t, r.cacheDir).Target().String())
}

// checkUnique fails when two records share a candidate hash.
func checkUnique(t *testing.T, recs []Record) {
	t.Helper()
	seen := map[string]int{}
	for i, r := range recs {
		if j, dup := seen[r.CandidateHash]; dup {
			t.Errorf("records %d and %d are the same candidate %s", j+1, i+1, r.CandidateHash)
		}
		seen[r.CandidateHash] = i
	}
}

func historyHashes(rep *Report) []string {
	var out []string
	for _, h := range rep.History {
		out = append(out, h.Hash)
	}
	return out
}

// TestTuneRecordsEveryCandidate: a random run with budget 8 in batches of 3 measures exactly 8
// distinct candidates with the real backend, appends each to the store (whose traces rebuild
// the recorded programs), sends one event per sample and writes a report of the documented
// shape.
func TestTuneRecordsEveryCandidate(t *testing.T) {
	w := ttWorkload(t)
	dir := t.TempDir()
	rep, events, recs := ttTune(t, w, ttRun{workDir: dir, budget: 8, seed: 3})

	if rep.Samples != 8 || len(rep.History) != 8 || len(recs) != 8 || rep.StopReason != "budget" {
		t.Fatalf("samples %d, history %d, records %d, stop %q; want 8, 8, 8, budget", rep.Samples, len(rep.History), len(recs), rep.StopReason)
	}
	checkUnique(t, recs)
	f := w.Tasks[0].Func()
	space := SpaceOptionsFor(ttBackend(t, t.TempDir()).Target())
	for i, r := range recs {
		if r.Status != StatusOK || r.LatencyS <= 0 || r.Sample != i+1 || r.Strategy != "random" || r.Seed != 3 || r.Workload != "tt16" {
			t.Errorf("record %d: %+v", i+1, r)
		}
		tr, err := schedule.ParseTrace(r.Trace)
		if err != nil {
			t.Fatalf("record %d: trace: %v", i+1, err)
		}
		g, err := schedule.Build(f, tr, space)
		if err != nil || schedule.StructuralHash(g) != r.CandidateHash {
			t.Errorf("record %d: its trace does not rebuild candidate %s (%v)", i+1, r.CandidateHash, err)
		}
		if rep.History[i].Hash != r.CandidateHash {
			t.Errorf("history %d is %s, record %s", i+1, rep.History[i].Hash, r.CandidateHash)
		}
	}
	// Events: notes, one start, one sample per candidate, done last with the report.
	var kinds []EventKind
	samples := 0
	for _, e := range events {
		kinds = append(kinds, e.Kind)
		if e.Kind == EventSample {
			samples++
			if e.Sample.Sample != samples || e.Samples != samples || e.Budget != 8 || e.Sample.Status == "" || e.BestS <= 0 || e.BaselineS <= 0 {
				t.Errorf("sample event %d: %+v", samples, e)
			}
		}
	}
	if samples != 8 || !slices.Contains(kinds, EventStart) || kinds[len(kinds)-1] != EventDone || events[len(events)-1].Report != rep {
		t.Errorf("events %v: want 8 samples, a start, and done last with the report", kinds)
	}
	// The baseline is cached in the work dir.
	if _, ok := LoadBaseline(dir, rep.WorkloadHash, rep.Target); !ok || rep.BaselineCached {
		t.Errorf("baseline cached %v (report says cached=%v), want a fresh measurement now cached", ok, rep.BaselineCached)
	}
	// The JSON document.
	path := filepath.Join(t.TempDir(), "out.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"workload", "target", "strategy", "seed", "budget", "samples", "baseline_latency_s",
		"best_latency_s", "best_gflops", "speedup", "failures", "wall_s", "history", "stop_reason", "previous_samples"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("the JSON report lacks %q", k)
		}
	}
	fails, _ := doc["failures"].(map[string]any)
	for _, k := range FailureKinds() {
		if _, ok := fails[string(k)]; !ok {
			t.Errorf("failures lacks %q: %v", k, fails)
		}
	}
	hist, _ := doc["history"].([]any)
	if len(hist) != 8 {
		t.Fatalf("history has %d entries, want 8", len(hist))
	}
	first, _ := hist[0].(map[string]any)
	for _, k := range []string{"sample", "latency_s", "status", "best_so_far_s", "candidate_hash", "proposer"} {
		if _, ok := first[k]; !ok {
			t.Errorf("history entry lacks %q: %v", k, first)
		}
	}
	best := *rep.BestLatencyS
	for _, h := range rep.History {
		best = min(best, h.LatencyS)
	}
	if best != *rep.BestLatencyS || *rep.Speedup != rep.BaselineLatencyS/best {
		t.Errorf("best %g, speedup %g; want the minimum %g and baseline/best", *rep.BestLatencyS, *rep.Speedup, best)
	}
}

// scripted is a fake strategy that proposes fixed batches of traces, unprepared.
type scripted struct {
	batches  [][]*schedule.Trace
	observed []Measured
}

func (s *scripted) Name() string                                     { return "scripted" }
func (s *scripted) Init(context.Context, *Problem, []Measured) error { return nil }
func (s *scripted) Observe(res []Measured)                           { s.observed = append(s.observed, res...) }
func (s *scripted) Propose(_ context.Context, n int) ([]*Candidate, error) {
	if len(s.batches) == 0 {
		return nil, nil
	}
	var out []*Candidate
	for _, tr := range s.batches[0] {
		out = append(out, &Candidate{Trace: tr, Proposer: "scripted"})
	}
	s.batches = s.batches[1:]
	return out, nil
}

// splitTrace is the trace that splits loop `loop` of block C by factors.
func splitTrace(t *testing.T, w *workloads.Workload, loop int, factors ...int) *schedule.Trace {
	t.Helper()
	s := schedule.New(w.Tasks[0].Func(), nil)
	b, err := s.GetBlock("C")
	if err != nil {
		t.Fatal(err)
	}
	loops, err := s.GetLoops(b)
	if err != nil {
		t.Fatal(err)
	}
	var fs []schedule.IntRV
	for _, f := range factors {
		fs = append(fs, schedule.Lit(f))
	}
	if _, err := s.Split(loops[loop], fs); err != nil {
		t.Fatal(err)
	}
	return s.Trace()
}

// TestTuneDeduplicatesAndClassifiesInvalid: a strategy that repeats itself gets every
// candidate measured once; a trace that does not build is recorded as "invalid" with the
// reason, counted, and never tried again; the run stops once proposals bring nothing new.
func TestTuneDeduplicatesAndClassifiesInvalid(t *testing.T) {
	w := ttWorkload(t)
	a, b, c := splitTrace(t, w, 0, 2, 8), splitTrace(t, w, 0, 4, 4), splitTrace(t, w, 1, 2, 8)
	bad := &schedule.Trace{Insts: []schedule.Inst{{Kind: schedule.KindGetBlock, Name: "no_such_block", Outputs: []string{"b0"}}}}
	strat := &scripted{batches: [][]*schedule.Trace{
		{a, a, b},   // a twice in one batch
		{a, b, bad}, // a and b again, an invalid trace
		{bad, c},    // the invalid trace again, a new one
	}}
	search := ttSearch()
	search.MaxEmptyBatches = 2
	rep, _, recs := ttTune(t, w, ttRun{workDir: t.TempDir(), strategy: strat, budget: 20, search: &search})

	var statuses []Status
	for _, r := range recs {
		statuses = append(statuses, r.Status)
	}
	if want := []Status{"ok", "ok", "invalid", "ok"}; !slices.Equal(statuses, want) {
		t.Fatalf("record statuses %v, want %v", statuses, want)
	}
	checkUnique(t, recs)
	if rep.Samples != 4 || rep.StopReason != "exhausted" || rep.Failures["invalid"] != 1 {
		t.Errorf("samples %d, stop %q, failures %v; want 4, exhausted, one invalid", rep.Samples, rep.StopReason, rep.Failures)
	}
	if inv := recs[2]; !strings.Contains(inv.Message, "no_such_block") || !strings.HasPrefix(inv.CandidateHash, "invalid-") {
		t.Errorf("invalid record: hash %q, message %q; want the reason naming the block", inv.CandidateHash, inv.Message)
	}
	if h := rep.History[2]; h.Status != "invalid" || h.LatencyS != 0 {
		t.Errorf("history of the invalid candidate: %+v", h)
	}
	if len(strat.observed) != 4 {
		t.Errorf("the strategy observed %d results, want 4", len(strat.observed))
	}
}

// TestTuneResumes: a second run in the same work dir skips what the first measured, measures
// its own budget of new candidates and reuses the cached baseline; no candidate is measured
// twice across the store, whatever the strategy.
func TestTuneResumes(t *testing.T) {
	w := ttWorkload(t)
	dir := t.TempDir()
	first, _, _ := ttTune(t, w, ttRun{workDir: dir, budget: 5, seed: 1})
	second, _, recs := ttTune(t, w, ttRun{workDir: dir, budget: 5, seed: 1})
	if first.Samples != 5 || second.Samples != 5 || second.PreviousSamples != 5 || len(recs) != 10 {
		t.Fatalf("samples %d then %d (previous %d), records %d; want 5, 5 (5), 10", first.Samples, second.Samples, second.PreviousSamples, len(recs))
	}
	if !second.BaselineCached || second.BaselineLatencyS != first.BaselineLatencyS {
		t.Errorf("the second run measured the baseline again (%g vs %g, cached %v)", second.BaselineLatencyS, first.BaselineLatencyS, second.BaselineCached)
	}
	evo := NewEvolutionary(ttSearch().Evolutionary, NewInheritScorer(0.9))
	third, _, recs := ttTune(t, w, ttRun{workDir: dir, budget: 4, seed: 1, strategy: evo})
	if third.Samples != 4 || third.PreviousSamples != 10 || len(recs) != 14 {
		t.Fatalf("evolutionary resume: samples %d, previous %d, records %d; want 4, 10, 14", third.Samples, third.PreviousSamples, len(recs))
	}
	checkUnique(t, recs)
	if third.BestLatencyS == nil || *third.BestLatencyS > *second.BestLatencyS {
		t.Errorf("the best latency went from %v to %v: a resumed run starts from the best known", *second.BestLatencyS, third.BestLatencyS)
	}
}

// hashScorer is a deterministic stand-in for a cost model: it scores candidates by their hash,
// so a run's choices depend on the seed only, not on timing noise.
type hashScorer struct{}

func (hashScorer) Name() string       { return "hash" }
func (hashScorer) Observe([]Measured) {}
func (hashScorer) Predict(cs []*Candidate) []float64 {
	out := make([]float64, len(cs))
	for i, c := range cs {
		if len(c.Hash) > 2 {
			out[i] = float64(c.Hash[0]) / 255
		}
	}
	return out
}

// TestTuneSameSeedSameCandidates: two runs in separate work dirs with the same seed measure the
// same candidates in the same order, for random search and for evolutionary search (with a
// deterministic scorer over several batches, and with the default estimate over one batch,
// where no measurement has fed back yet); another seed gives other candidates.
func TestTuneSameSeedSameCandidates(t *testing.T) {
	w := ttWorkload(t)
	cache := t.TempDir()
	cases := []struct {
		name     string
		strategy func() Strategy
		budget   int
	}{
		{"random", func() Strategy { return NewRandom() }, 6},
		{"evolutionary", func() Strategy { return NewEvolutionary(ttSearch().Evolutionary, hashScorer{}) }, 7},
		{"evolutionary default scorer", func() Strategy { return NewEvolutionary(ttSearch().Evolutionary, NewInheritScorer(0.9)) }, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(seed uint64) []string {
				rep, _, _ := ttTune(t, w, ttRun{workDir: t.TempDir(), cacheDir: cache, strategy: c.strategy(), budget: c.budget, seed: seed})
				if rep.Samples != c.budget {
					t.Fatalf("seed %d: %d samples, want %d", seed, rep.Samples, c.budget)
				}
				return historyHashes(rep)
			}
			one, two, other := run(11), run(11), run(12)
			if !slices.Equal(one, two) {
				t.Errorf("same seed, different candidates:\n%v\n%v", one, two)
			}
			if slices.Equal(one, other) {
				t.Errorf("seeds 11 and 12 measured the same candidates %v", one)
			}
		})
	}
}

// TestTuneBuiltinDesignSpace runs both strategies on the design space the schedule package
// provides (whatever state its rules are in): the budget bounds the samples, every sample is
// recorded once, and a space with nothing new ends the run as exhausted rather than hanging.
func TestTuneBuiltinDesignSpace(t *testing.T) {
	w := ttWorkload(t)
	cache := t.TempDir()
	for _, name := range StrategyNames() {
		t.Run(name, func(t *testing.T) {
			model := scoring.New(scoring.DefaultOptions(scoring.Hardware{Cores: 2}))
			cfg := DefaultConfig()
			cfg.Search = ttSearch()
			strat, err := NewStrategy(name, cfg, NewCostModelScorer(model, "w"), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			rep, _, recs := ttTune(t, w, ttRun{workDir: t.TempDir(), cacheDir: cache, strategy: strat, budget: 4, seed: 5, sketches: noSketches})
			if rep.Samples > 4 || len(recs) != rep.Samples || (rep.StopReason != "budget" && rep.StopReason != "exhausted") {
				t.Fatalf("samples %d, records %d, stop %q", rep.Samples, len(recs), rep.StopReason)
			}
			checkUnique(t, recs)
			for _, r := range recs {
				if r.Status != StatusOK {
					t.Errorf("candidate %s of the built-in space: %s: %s", r.CandidateHash, r.Status, r.Message)
				}
			}
		})
	}
}

func TestTuneRejectsBadOptions(t *testing.T) {
	w := ttWorkload(t)
	be := ttBackend(t, t.TempDir())
	store, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	model := &workloads.Workload{Name: "m", Tasks: []*workloads.Task{w.Tasks[0], w.Tasks[0]}}
	for _, c := range []struct {
		opt  TuneOptions
		want string
	}{
		{TuneOptions{Workload: w, Backend: be, Store: store, Strategy: NewRandom(), Budget: 0}, "budget is 0"},
		{TuneOptions{Workload: model, Backend: be, Store: store, Strategy: NewRandom(), Budget: 1}, "model of 2 tasks"},
		{TuneOptions{Workload: w, Backend: be, Store: store, Budget: 1}, "required"},
	} {
		if _, err := NewTuner(c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewTuner: %v, want an error containing %q", err, c.want)
		}
	}
	if _, err := NewStrategy("annealing", DefaultConfig(), nil, nil); err == nil || !strings.Contains(err.Error(), "want colt, mcts, evolutionary, random") {
		t.Errorf("unknown strategy: %v", err)
	}
}

// TestTuneInterrupted: a cancelled context ends the run with ErrInterrupted, records nothing
// half-done, and a rerun completes the budget.
func TestTuneInterrupted(t *testing.T) {
	w := ttWorkload(t)
	dir := t.TempDir()
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tuner, err := NewTuner(TuneOptions{
		Workload: w, Backend: ttBackend(t, filepath.Join(dir, "cache")), Store: store, WorkDir: dir,
		Strategy: NewRandom(), Budget: 9, Seed: 1, Search: ttSearch(), Sketches: ttSketch(t, w),
		OnEvent: func(e Event) {
			if e.Kind == EventSample && e.Sample.Sample == 2 {
				cancel()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tuner.Run(ctx)
	store.Close()
	if err == nil || !strings.Contains(err.Error(), "interrupted") || rep == nil || rep.StopReason != "interrupted" || rep.Samples != 2 {
		t.Fatalf("run: %v, report %+v; want interrupted after 2 samples", err, rep)
	}
	_, _, recs := ttTune(t, w, ttRun{workDir: dir, budget: 7, seed: 1})
	if len(recs) != 9 {
		t.Errorf("%d records after the rerun, want 9", len(recs))
	}
	checkUnique(t, recs)
}

func TestCandidateRunTimeout(t *testing.T) {
	cfg := backend.Config{RunTimeout: 120 * time.Second, Repeat: 3, MinRepeatMs: 100}
	for _, c := range []struct {
		baseline float64
		want     time.Duration
	}{
		{0.001, MinCandidateTimeout}, // fast program: the floor
		{2, 16 * time.Second},        // 2 × (3+1) × 2 s
		{30, 120 * time.Second},      // a slow unscheduled layer: the configured cap
	} {
		if got := CandidateRunTimeout(cfg, c.baseline, 2); got != c.want {
			t.Errorf("baseline %gs: %v, want %v", c.baseline, got, c.want)
		}
	}
}

func TestInheritScorer(t *testing.T) {
	s := NewInheritScorer(0.5)
	fast := &Candidate{Hash: "fast", Func: &schedule.Func{}}
	slow := &Candidate{Hash: "slow", Func: &schedule.Func{}}
	broken := &Candidate{Hash: "broken", Func: &schedule.Func{}}
	if got := s.Predict([]*Candidate{{Hash: "x", Func: &schedule.Func{}}}); got[0] != 0.5 {
		t.Errorf("before any measurement: %v, want the neutral 0.5", got)
	}
	s.Observe([]Measured{{Candidate: fast, Status: StatusOK, LatencyS: 1}, {Candidate: slow, Status: StatusOK, LatencyS: 4}, {Candidate: broken, Status: "crash"}})
	child := &Candidate{Hash: "child", Parent: "slow", Func: &schedule.Func{}}
	grandchild := &Candidate{Hash: "grandchild", Parent: "child", Func: &schedule.Func{}}
	orphan := &Candidate{Hash: "orphan", Func: &schedule.Func{}}
	got := s.Predict([]*Candidate{fast, slow, broken, child, grandchild, orphan})
	want := []float64{1, 0.25, 0, 0.125, 0.0625, (1 + 0.25) / 2}
	if !slices.Equal(got, want) {
		t.Errorf("scores %v, want %v", got, want)
	}
}

func TestChannelSinkNeverBlocks(t *testing.T) {
	ch := make(chan Event, 2)
	sink := ChannelSink(ch)
	for i := 1; i <= 5; i++ {
		sink(Event{Kind: EventSample, Sample: HistoryEntry{Sample: i}})
	}
	sink(Event{Kind: EventDone})
	a, b := <-ch, <-ch
	if a.Sample.Sample != 5 || b.Kind != EventDone {
		t.Errorf("queued %+v, %+v; want the latest sample and done", a, b)
	}
}

func TestShippedConfigSearchMatchesDefaults(t *testing.T) {
	cfg, err := LoadConfig("../colt.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Search != DefaultSearchConfig() {
		t.Errorf("colt.toml [search] documents %+v, but the defaults are %+v", cfg.Search, DefaultSearchConfig())
	}
	for body, want := range map[string]string{
		"[search]\nstrategy = \"annealing\"\n":         "search.strategy",
		"[search]\nbudget = 0\n":                       "search.budget is 0",
		"[search.evolutionary]\nmutation_prob = 1.5\n": "mutation_prob is 1.5",
		"[search]\nbatch = 3\n":                        "unknown key search.batch",
	} {
		if _, err := LoadConfig(writeFile(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", body, err, want)
		}
	}
}

func TestExport(t *testing.T) {
	w := ttWorkload(t)
	dir := t.TempDir()
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	be := ttBackend(t, filepath.Join(dir, "cache"))
	opt := ExportOptions{Workload: w, Store: store, WorkDir: dir, Target: be.Target(), Compiler: be.Compiler(), CFlags: be.Config().CFlags, OutDir: filepath.Join(dir, "out")}
	if _, err := Export(opt); err == nil || !strings.Contains(err.Error(), "no successful record") {
		t.Errorf("export from an empty store: %v", err)
	}
	store.Close()
	rep, _, _ := ttTune(t, w, ttRun{workDir: dir, budget: 4, seed: 2})
	if store, err = OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	opt.Store = store
	res, err := Export(opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.CandidateHash != rep.BestHash || len(res.Files) != 3 {
		t.Errorf("exported %s (%d files), want the best %s and 3 files", res.Record.CandidateHash, len(res.Files), rep.BestHash)
	}
	kernel, _ := os.ReadFile(filepath.Join(opt.OutDir, ExportKernelFile))
	for _, want := range []string{`workload "tt16"`, "GFLOP/s", "sch.split", "target:", "compiler:", "-O3", "void tt16("} {
		if !strings.Contains(string(kernel), want) {
			t.Errorf("kernel.c lacks %q:\n%s", want, kernel)
		}
	}
	data, _ := os.ReadFile(filepath.Join(opt.OutDir, ExportTraceFile))
	tr, err := schedule.ParseTrace(data)
	if err != nil {
		t.Fatal(err)
	}
	text, err := EmitTrace(w.Tasks[0], tr, SpaceOptionsFor(be.Target()), "tir")
	prog, _ := os.ReadFile(filepath.Join(opt.OutDir, ExportProgramFile))
	if err != nil || text != string(prog) {
		t.Errorf("program.tir differs from the program trace.json builds (%v)", err)
	}
}

// ttSteered runs the tuner with a command channel and a snapshot on every event; onEvent sees
// every event and may send commands. It returns the report.
func ttSteered(t *testing.T, w *workloads.Workload, strat Strategy, budget int, seed uint64, sketches []schedule.Sketch,
	onEvent func(e Event, cmds chan<- Command)) (*Report, string) {
	t.Helper()
	dir := t.TempDir()
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cmds := make(chan Command, 8)
	tuner, err := NewTuner(TuneOptions{
		Workload: w, Backend: ttBackend(t, filepath.Join(dir, "cache")), Store: store, WorkDir: dir,
		Strategy: strat, Budget: budget, Seed: seed, Search: ttSearch(), Sketches: sketches, Commands: cmds,
		OnEvent: func(e Event) { onEvent(e, cmds) }, SnapshotEvery: time.Nanosecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tuner.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep, dir
}

func TestTuneAppliesOperatorCommands(t *testing.T) {
	w := ttWorkload(t)
	var controls []Event
	rep, dir := ttSteered(t, w, NewRandom(), 9, 1, ttSketch(t, w), func(e Event, cmds chan<- Command) {
		switch {
		case e.Kind == EventSample && e.Sample.Sample == 1:
			cmds <- Command{Kind: CmdPause}
			cmds <- Command{Kind: CmdExport}
			cmds <- Command{Kind: CmdPin, Model: "gpt-5.2"}
		case e.Kind == EventControl:
			controls = append(controls, e)
			if strings.HasPrefix(e.Message, "error: pin") {
				cmds <- Command{Kind: CmdResume} // the run stays paused until here
			}
		case e.Kind == EventSample && e.Sample.Sample == 3:
			cmds <- Command{Kind: CmdStop}
		}
	})
	if rep.StopReason != "stopped" || rep.Samples != 3 {
		t.Fatalf("stop reason %q after %d samples, want stopped after 3", rep.StopReason, rep.Samples)
	}
	want := []struct{ msg, state string }{
		{"paused", "paused"},
		{"exported the best schedule to", "paused"},
		{"error: pin: the random strategy has no models to steer", "paused"},
		{"resumed", "running"},
		{"stopping", "running"},
	}
	if len(controls) != len(want) {
		t.Fatalf("%d control events, want %d: %+v", len(controls), len(want), controls)
	}
	for i, w := range want {
		if !strings.HasPrefix(controls[i].Message, w.msg) || controls[i].State != w.state {
			t.Errorf("control %d: %q (state %s), want %q (state %s)", i, controls[i].Message, controls[i].State, w.msg, w.state)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "export", w.Name, ExportKernelFile)); err != nil {
		t.Errorf("the export command wrote no kernel: %v", err)
	}
}

// coltRun tunes the test workload with the colt strategy and the default sim models, eight
// model calls in flight at once, the cost model in its analytic phase, and returns the report
// and the search tree.
func coltRun(t *testing.T, seed uint64) (*Report, *Node) {
	t.Helper()
	w := ttWorkload(t)
	model := scoring.New(scoring.DefaultOptions(scoring.Hardware{Cores: 2}))
	cfg := DefaultConfig()
	cfg.Colt.ParallelCalls = 8
	strat, err := NewColtStrategy("colt", cfg, NewCostModelScorer(model, "w"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	rep, _, _ := ttTune(t, w, ttRun{workDir: t.TempDir(), strategy: strat, budget: 10, seed: seed, sketches: noSketches})
	return rep, strat.Tree()
}

// treeShape describes every node: its place, who made it, how, and who expands it.
func treeShape(n *Node) []string {
	var out []string
	var walk func(n *Node)
	walk = func(n *Node) {
		parent := -1
		if n.Parent != nil {
			parent = n.Parent.ID
		}
		out = append(out, fmt.Sprintf("%d<-%d %s %v %s %.6g pruned=%v", n.ID, parent, n.ProposedBy, n.Transformations, n.Model, n.Score, n.Pruned))
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(n)
	return out
}

func TestColtSameSeedSameRun(t *testing.T) {
	a, treeA := coltRun(t, 3)
	b, treeB := coltRun(t, 3)
	if fmt.Sprint(historyHashes(a)) != fmt.Sprint(historyHashes(b)) {
		t.Fatalf("two runs with seed 3 measured different candidates:\n%v\n%v", historyHashes(a), historyHashes(b))
	}
	for i := range a.History {
		if a.History[i].Proposer != b.History[i].Proposer {
			t.Fatalf("sample %d proposed by %s and %s", i+1, a.History[i].Proposer, b.History[i].Proposer)
		}
	}
	sa, sb := treeShape(treeA), treeShape(treeB)
	if strings.Join(sa, "\n") != strings.Join(sb, "\n") {
		t.Fatalf("the trees differ:\n%s\n---\n%s", strings.Join(sa, "\n"), strings.Join(sb, "\n"))
	}
	if len(a.Models) != 4 {
		t.Fatalf("report lists %d models, want the 4 default sim models", len(a.Models))
	}
	calls, largest := 0, 0
	for _, m := range a.Models {
		calls += m.Calls
		if m.Name == "sim-gpt-5.2" {
			largest = m.Calls
		}
		if !m.Simulated {
			t.Errorf("model %s is not labelled simulated", m.Name)
		}
	}
	if calls == 0 || float64(largest) < 0.2*float64(calls)-1 {
		t.Errorf("the largest model made %d of %d calls, want at least 20%%", largest, calls)
	}
}
