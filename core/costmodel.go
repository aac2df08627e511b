package core

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"path/filepath"

	"colt/backend"
	"colt/schedule"
	"colt/scoring"
	"colt/workloads"
)

// HardwareFor describes a target to the cost model's analytic estimate.
func HardwareFor(t backend.Target) scoring.Hardware {
	hw := scoring.Hardware{Cores: max(t.Cores, 1), VectorBytes: max(t.VectorBytes, 16)}
	if g := t.GPU; g != nil {
		gpu := scoring.GPUHardware{SMs: g.SMs}
		if g.MemoryClockKHz > 0 && g.BusWidthBits > 0 {
			// Double data rate: two transfers per clock.
			gpu.MemGBps = 2 * float64(g.MemoryClockKHz) * 1e3 * float64(g.BusWidthBits) / 8 / 1e9
		}
		hw.GPU = &gpu
	}
	for _, c := range t.Caches {
		switch {
		case c.Level == 1 && c.Type != "Instruction":
			hw.L1 = c.Bytes
		case c.Level == 2:
			hw.L2 = c.Bytes
		case c.Level == 3:
			hw.L3 = c.Bytes
		}
	}
	return hw
}

// CostModelPath is where a work dir keeps the learned cost model of a target: one model per
// target, shared by every workload tuned there.
func CostModelPath(workDir, target string) string {
	sum := sha256.Sum256([]byte(target))
	return filepath.Join(workDir, "costmodel", hex.EncodeToString(sum[:6])+".lgb.txt")
}

// CostModelOptions are the scoring options of a configuration for a target and work dir.
func CostModelOptions(cfg CostModelConfig, t backend.Target, workDir string, logf func(string, ...any)) scoring.Options {
	opt := scoring.DefaultOptions(HardwareFor(t))
	opt.MinSamples = cfg.MinSamples
	opt.RetrainGrowth = cfg.RetrainGrowth
	opt.FailureWeight = cfg.FailureWeight
	if workDir != "" {
		opt.Path = CostModelPath(workDir, t.String())
	}
	opt.Logf = logf
	return opt
}

// Example is a measured candidate rebuilt from its record, with its features: the cost
// model's training and evaluation data.
type Example struct {
	Workload     string // workload name as recorded
	WorkloadHash string
	Hash         string // candidate hash
	Func         *schedule.Func
	Rows         [][]float64
	LatencyS     float64 // 0 when the candidate failed
}

// Sample is the example as the cost model learns it.
func (e Example) Sample() scoring.Sample {
	return scoring.Sample{Workload: e.WorkloadHash, Rows: e.Rows, LatencyS: e.LatencyS}
}

// Examples rebuilds the records of one target into examples. Records of workloads the catalog
// no longer has (or defines differently), records without a trace, traces that no longer build
// and programs whose features cannot be extracted are skipped and counted.
func Examples(records []Record, target string, cat *workloads.Catalog, space schedule.SpaceOptions) (out []Example, skipped int) {
	type task struct {
		f    *schedule.Func
		hash string
	}
	tasks := map[string]*task{}
	for _, r := range records {
		if r.Target != target {
			continue
		}
		t, ok := tasks[r.Workload]
		if !ok {
			t = nil
			if w, err := cat.Get(r.Workload); err == nil && w.IsSingle() {
				f := w.Tasks[0].Func()
				t = &task{f: f, hash: schedule.StructuralHash(f)}
			}
			tasks[r.Workload] = t
		}
		if t == nil || t.hash != r.WorkloadHash || len(r.Trace) == 0 || string(r.Trace) == "null" {
			skipped++
			continue
		}
		tr, err := schedule.ParseTrace(r.Trace)
		if err != nil {
			skipped++
			continue
		}
		p, err := schedule.Build(t.f, tr, space)
		if err != nil {
			skipped++
			continue
		}
		rows, err := scoring.Extract(p)
		if err != nil || len(rows) == 0 {
			skipped++
			continue
		}
		lat := 0.0
		if r.Status == StatusOK && r.LatencyS > 0 {
			lat = r.LatencyS
		}
		out = append(out, Example{Workload: r.Workload, WorkloadHash: r.WorkloadHash, Hash: r.CandidateHash, Func: p, Rows: rows, LatencyS: lat})
	}
	return out, skipped
}

// CostModelScorer ranks candidates with the cost model: a measured candidate scores its
// measured throughput relative to the best of the run, any other the model's prediction (the
// analytic estimate until the model has data). The tuner trains the model on every measurement
// (a measure callback); the scorer only remembers what was measured.
type CostModelScorer struct {
	model        *scoring.CostModel
	workloadHash string
	latency      map[string]float64 // measured candidates: hash → latency (0 = failed)
	best         float64            // lowest measured latency
	// estimateRef scales analytic estimates into scores before anything is measured: the
	// lowest estimate of the first call, fixed so that scores stay comparable across calls.
	estimateRef float64
}

// NewCostModelScorer ranks candidates of one workload (by structural hash) with model.
func NewCostModelScorer(model *scoring.CostModel, workloadHash string) *CostModelScorer {
	return &CostModelScorer{model: model, workloadHash: workloadHash, latency: map[string]float64{}}
}

// Name implements Scorer.
func (s *CostModelScorer) Name() string { return s.model.Source() }

// Observe implements Scorer.
func (s *CostModelScorer) Observe(results []Measured) {
	for _, m := range results {
		if m.Candidate == nil || m.Candidate.Hash == "" {
			continue
		}
		if _, seen := s.latency[m.Candidate.Hash]; seen {
			continue
		}
		lat := 0.0
		if m.OK() {
			lat = m.LatencyS
			if s.best == 0 || lat < s.best {
				s.best = lat
			}
		}
		s.latency[m.Candidate.Hash] = lat
	}
}

// costModelSample is a measured candidate as the cost model learns it (false when it has no
// program or no features).
func costModelSample(workloadHash string, m Measured) (scoring.Sample, bool) {
	if m.Candidate == nil || m.Candidate.Func == nil {
		return scoring.Sample{}, false
	}
	rows, err := scoring.Extract(m.Candidate.Func)
	if err != nil || len(rows) == 0 {
		return scoring.Sample{}, false
	}
	lat := 0.0
	if m.OK() {
		lat = m.LatencyS
	}
	return scoring.Sample{Workload: workloadHash, Rows: rows, LatencyS: lat}, true
}

// Predict implements Scorer.
func (s *CostModelScorer) Predict(cands []*Candidate) []float64 {
	out := make([]float64, len(cands))
	var rest []*Candidate
	var at []int
	for i, c := range cands {
		if c == nil {
			continue
		}
		if lat, ok := s.latency[c.Hash]; ok {
			if lat > 0 && s.best > 0 {
				out[i] = s.best / lat
			}
			continue
		}
		rest = append(rest, c)
		at = append(at, i)
	}
	for k, v := range s.Rewards(rest) {
		out[at[k]] = v
	}
	return out
}

// Rewards scores candidates by the cost model's prediction alone, never by their measurements:
// the tree search's rewards, which must not depend on timing noise (so that a run with a given
// seed is reproducible while the model is in its analytic phase, or loaded from a file).
func (s *CostModelScorer) Rewards(cands []*Candidate) []float64 {
	out := make([]float64, len(cands))
	var progs []*schedule.Func
	var at []int
	for i, c := range cands {
		if c != nil && c.Func != nil {
			progs = append(progs, c.Func)
			at = append(at, i)
		}
	}
	if len(progs) == 0 {
		return out
	}
	if s.model.Trained() {
		for k, v := range s.model.Predict(progs) {
			out[at[k]] = v
		}
		return out
	}
	// The analytic estimate as a throughput relative to a fixed reference (the lowest estimate
	// of the first call), so that scores from different calls compare: the tree search compares
	// a child's score with its parent's.
	est := s.model.Estimates(progs)
	if s.estimateRef == 0 {
		for _, e := range est {
			if e > 0 && (s.estimateRef == 0 || e < s.estimateRef) {
				s.estimateRef = e
			}
		}
	}
	for k, e := range est {
		if e > 0 {
			out[at[k]] = s.estimateRef / e
		}
	}
	return out
}

// OpenCostModel prepares a target's cost model for a run in a work dir: it loads the model saved
// there (a warm start) and hands it the records the work dir holds for the target, which
// starts a training in the background when there are enough. Records that cannot be rebuilt
// are skipped and logged.
func OpenCostModel(cfg Config, t backend.Target, cat *workloads.Catalog, logf func(string, ...any)) *scoring.CostModel {
	return openCostModel(cfg, t, cat, logf, nil)
}

// openCostModel is OpenCostModel with the CPU gate its background trainings hold.
func openCostModel(cfg Config, t backend.Target, cat *workloads.Catalog, logf func(string, ...any), gate *CPUGate) *scoring.CostModel {
	opt := CostModelOptions(cfg.CostModel, t, cfg.WorkDir, logf)
	if gate != nil {
		opt.Gate = gate
	}
	model := scoring.New(opt)
	records, err := ReadRecords(cfg.WorkDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logf("cost model: cannot read the records (%v); starting without them", err)
		}
		return model
	}
	examples, skipped := Examples(records, t.String(), cat, SpaceOptionsFor(t))
	if skipped > 0 {
		logf("cost model: %d records of this target could not be rebuilt (unknown or changed workloads, stale traces); they are left out", skipped)
	}
	samples := make([]scoring.Sample, len(examples))
	for i, e := range examples {
		samples[i] = e.Sample()
	}
	model.Add(samples...)
	return model
}
