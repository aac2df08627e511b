package scoring

import (
	"bufio"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"testing"

	"colt/schedule"
	"colt/workloads"
)

// testHardware is the machine the records of COLT_RECORDS were measured on: a 2-core AMD EPYC
// with AVX-512, 32 KiB L1d, 1 MiB L2 and 32 MiB L3.
var testHardware = Hardware{Cores: 2, VectorBytes: 64, L1: 32 << 10, L2: 1 << 20, L3: 32 << 20}

func builtinFunc(t testing.TB, name string) *schedule.Func {
	t.Helper()
	cat, err := workloads.NewCatalog(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	w, err := cat.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return w.Tasks[0].Func()
}

// goodLlamaSchedule is the llama3-8b-attn matmul O[b, m, n] += X[b, m, k]·Wq[k, n] tiled by
// hand: n split 64 × 4 × 16 with the outer part parallel and the inner 16 vectorized, k split
// 512 × 8, every row of m inside the k tile so each Wq tile is read once, the init decomposed.
func goodLlamaSchedule(t testing.TB) *schedule.Func {
	t.Helper()
	s := schedule.New(builtinFunc(t, "llama3-8b-attn"), nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.GetBlock("O")
	must(err)
	loops, err := s.GetLoops(b) // b, m, n, k
	must(err)
	ns, err := s.Split(loops[2], []schedule.IntRV{schedule.Lit(64), schedule.Lit(4), schedule.Lit(16)})
	must(err)
	ks, err := s.Split(loops[3], []schedule.IntRV{schedule.Lit(512), schedule.Lit(8)})
	must(err)
	must(s.Reorder(ns[0], ks[0], loops[1], ks[1], ns[1], ns[2]))
	must(s.Parallel(ns[0]))
	must(s.Vectorize(ns[2]))
	_, err = s.DecomposeReduction(b, ks[0])
	must(err)
	must(schedule.Verify(s.Func()))
	return s.Func()
}

func TestAnalyticRanksAGoodScheduleFirst(t *testing.T) {
	plain := builtinFunc(t, "llama3-8b-attn")
	good := goodLlamaSchedule(t)
	ep, err := Estimate(plain, testHardware)
	if err != nil {
		t.Fatal(err)
	}
	eg, err := Estimate(good, testHardware)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("unscheduled %.4g s, hand-tiled %.4g s", ep, eg)
	if !(eg < ep/4) {
		t.Errorf("the hand-tiled schedule (%.4g s) is not clearly faster than the unscheduled program (%.4g s)", eg, ep)
	}
	// Sampled candidates: the hand-tiled one beats most of them, and every one beats the
	// unscheduled program's k-innermost column walk of Wq.
	progs := sampleTraces(t, plain, rand.New(rand.NewPCG(1, 2)), 8)
	better := 0
	for _, p := range progs {
		e, err := Estimate(p, testHardware)
		if err != nil {
			t.Fatal(err)
		}
		if e <= 0 || math.IsNaN(e) {
			t.Fatalf("estimate %v", e)
		}
		if eg <= e {
			better++
		}
	}
	if better*2 < len(progs) {
		t.Errorf("the hand-tiled schedule beats only %d of %d sampled candidates", better, len(progs))
	}
}

func TestAnalyticOnEveryBuiltinCandidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, w := range workloads.BuiltinSmall(16) {
		for _, task := range w.Tasks {
			f := task.Func()
			for _, p := range append(sampleTraces(t, f, rng, 1), f) {
				e, err := Estimate(p, testHardware)
				if err != nil {
					t.Fatalf("%s:%s: %v", w.Name, task.Name, err)
				}
				if !(e > 0) || math.IsInf(e, 0) {
					t.Fatalf("%s:%s: estimate %v", w.Name, task.Name, e)
				}
			}
		}
	}
}

func TestAnalyticHardwareDefaults(t *testing.T) {
	hw := Hardware{}.withDefaults()
	if hw.Cores != 1 || hw.VectorBytes != 32 || hw.L1 <= 0 || hw.GFLOPSPerCore <= 0 || hw.MemGBps <= 0 {
		t.Errorf("defaults %+v", hw)
	}
	f := goodLlamaSchedule(t)
	one, _ := Estimate(f, Hardware{Cores: 1, VectorBytes: 64})
	many, _ := Estimate(f, Hardware{Cores: 16, VectorBytes: 64})
	if !(many < one) {
		t.Errorf("16 cores (%.4g s) not faster than 1 (%.4g s) on a parallel schedule", many, one)
	}
}

// record is the part of a tuning record the accuracy check reads.
type record struct {
	Workload string          `json:"workload"`
	Hash     string          `json:"candidate_hash"`
	Trace    json.RawMessage `json:"trace"`
	Status   string          `json:"status"`
	LatencyS float64         `json:"latency_s"`
}

// pairwiseAccuracy is the fraction of pairs with different measured latencies that the
// predictions order the same way (ties in the predictions count half).
func pairwiseAccuracy(pred, meas []float64) float64 {
	var good, all float64
	for i := range meas {
		for j := i + 1; j < len(meas); j++ {
			if meas[i] == meas[j] {
				continue
			}
			all++
			switch {
			case pred[i] == pred[j]:
				good += 0.5
			case (pred[i] < pred[j]) == (meas[i] < meas[j]):
				good++
			}
		}
	}
	if all == 0 {
		return 0
	}
	return good / all
}

// TestAnalyticPairwiseOnRecords reports the pairwise ranking accuracy of Estimate against the
// latencies measured in a colt records file, per workload. It runs only when COLT_RECORDS
// names such a file (JSON lines written by colt tune); COLT_MIN_ACCURACY, when set, is the
// accuracy each workload must reach.
func TestAnalyticPairwiseOnRecords(t *testing.T) {
	path := os.Getenv("COLT_RECORDS")
	if path == "" {
		t.Skip("COLT_RECORDS is not set")
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Skip(err)
	}
	defer fh.Close()
	byWorkload := map[string][]record{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var r record
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Status != "ok" || !(r.LatencyS > 0) || r.LatencyS >= 1e9 {
			continue
		}
		if seen[r.Workload+r.Hash] {
			continue
		}
		seen[r.Workload+r.Hash] = true
		byWorkload[r.Workload] = append(byWorkload[r.Workload], r)
	}
	cat, err := workloads.NewCatalog(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	minAcc := 0.0
	if s := os.Getenv("COLT_MIN_ACCURACY"); s != "" {
		if err := json.Unmarshal([]byte(s), &minAcc); err != nil {
			t.Fatal(err)
		}
	}
	names := make([]string, 0, len(byWorkload))
	for n := range byWorkload {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		w, err := cat.Get(name)
		if err != nil {
			t.Logf("%s: %v", name, err)
			continue
		}
		task := w.Tasks[0]
		var pred, meas []float64
		for _, r := range byWorkload[name] {
			tr, err := schedule.ParseTrace(r.Trace)
			if err != nil {
				continue
			}
			f, err := schedule.Build(task.Func(), tr, schedule.DefaultSpaceOptions(2))
			if err != nil {
				continue
			}
			e, err := Estimate(f, testHardware)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			pred = append(pred, e)
			meas = append(meas, r.LatencyS)
		}
		acc := pairwiseAccuracy(pred, meas)
		t.Logf("%s: pairwise accuracy %.3f over %d candidates", name, acc, len(meas))
		if os.Getenv("COLT_DUMP") != "" {
			for i := range pred {
				t.Logf("  measured %.4g s  estimated %.4g s", meas[i], pred[i])
			}
		}
		if acc < minAcc {
			t.Errorf("%s: pairwise accuracy %.3f < %.3f", name, acc, minAcc)
		}
	}
}

func BenchmarkEstimate(b *testing.B) {
	for _, name := range []string{"llama3-8b-attn", "flux-attn"} {
		b.Run(name, func(b *testing.B) {
			f := benchCandidate(b, name)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Estimate(f, testHardware); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "candidates/s")
		})
	}
}
