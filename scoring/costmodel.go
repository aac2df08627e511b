package scoring

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"

	"colt/schedule"
)

// Sample is one measured candidate the cost model learns from.
type Sample struct {
	// Workload identifies the program the candidate schedules (its structural hash): labels
	// are normalised within a workload.
	Workload string
	// Rows are the candidate's feature rows (Extract).
	Rows [][]float64
	// LatencyS is the measured latency; 0 for a candidate that failed.
	LatencyS float64
}

// Options configures the online cost model.
type Options struct {
	// MinSamples is how many successfully measured candidates the first training needs;
	// until then the analytic estimate ranks candidates.
	MinSamples int
	// RetrainGrowth retrains when the training set has grown by this fraction since the last
	// training (TVM retrains at 20%).
	RetrainGrowth float64
	// FailureWeight is the sample weight of a failed candidate (label 0), so failures teach the
	// model what to avoid without dominating it.
	FailureWeight float64
	// Train configures each training.
	Train TrainOptions
	// Hardware describes the machine to the analytic estimate.
	Hardware Hardware
	// Path is where the trained model is saved and loaded (empty: not saved).
	Path string
	// Logf receives one line per training, fallback and load problem (nil: discarded).
	Logf func(format string, args ...any)
	// Gate, when set, is held (shared) around each boosting round of a background training,
	// so that the caller can keep training off the cores while it times a kernel.
	Gate Gate
}

// Gate is what a background training holds, shared, while it computes; a *sync.RWMutex is
// one.
type Gate interface {
	RLock()
	RUnlock()
}

// DefaultOptions are the cost model's defaults for a machine.
func DefaultOptions(hw Hardware) Options {
	return Options{MinSamples: 32, RetrainGrowth: 0.2, FailureWeight: 0.2, Train: DefaultTrainOptions(), Hardware: hw}
}

// CostModel ranks scheduled programs by predicted speed: with a model trained on measured
// candidates when it has one, with the analytic estimate before. It retrains in the background
// as measurements arrive, never stalling its callers, and is safe for concurrent use.
type CostModel struct {
	opt Options

	mu        sync.Mutex
	samples   []Sample
	okCount   int
	trainedOn int    // len(samples) when the current model was trained
	model     *Model // nil until trained or loaded
	training  bool
	trainDone *sync.Cond
	lastErr   error
}

// New returns a cost model that loads opt.Path when it holds a model (a warm start); a
// missing file is normal, an unreadable or corrupt one is logged and ignored.
func New(opt Options) *CostModel {
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if opt.RetrainGrowth <= 0 {
		opt.RetrainGrowth = 0.2
	}
	c := &CostModel{opt: opt}
	c.trainDone = sync.NewCond(&c.mu)
	if opt.Path != "" {
		m, err := LoadModelFile(opt.Path)
		switch {
		case err == nil:
			c.model = m
			opt.Logf("cost model: loaded %s", opt.Path)
		case errors.Is(err, os.ErrNotExist):
		default:
			opt.Logf("cost model: ignoring %s (%v); the analytic estimate ranks candidates until the model is retrained", opt.Path, err)
		}
	}
	return c
}

// Trained reports whether predictions come from a learned model.
func (c *CostModel) Trained() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.model != nil
}

// Source says what ranks candidates now, for logs and reports.
func (c *CostModel) Source() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.model != nil {
		return fmt.Sprintf("learned cost model (GBDT, %d samples)", c.trainedOn)
	}
	return "analytic estimate"
}

// Add records measured candidates and starts a background retraining when the set has grown
// enough.
func (c *CostModel) Add(samples ...Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range samples {
		if len(s.Rows) == 0 {
			continue
		}
		c.samples = append(c.samples, s)
		if s.LatencyS > 0 {
			c.okCount++
		}
	}
	c.maybeTrainLocked()
}

// maybeTrainLocked starts a background training when the data calls for one and none runs.
func (c *CostModel) maybeTrainLocked() {
	if c.training || !c.needsTrainingLocked(len(c.samples), c.okCount) {
		return
	}
	c.training = true
	data := append([]Sample(nil), c.samples...)
	go c.train(data)
}

// NeedsTraining reports whether Add would retrain for a set of n samples: the rule of
// RetrainGrowth, exposed for tests and reports.
func (c *CostModel) NeedsTraining(n, ok int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.needsTrainingLocked(n, ok)
}

func (c *CostModel) needsTrainingLocked(n, ok int) bool {
	if ok < c.opt.MinSamples || n <= c.trainedOn {
		return false
	}
	return c.model == nil || c.trainedOn == 0 || float64(n) >= float64(c.trainedOn)*(1+c.opt.RetrainGrowth)
}

// Wait blocks until no training is running, and returns the error of the last one.
func (c *CostModel) Wait() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.training {
		c.trainDone.Wait()
	}
	return c.lastErr
}

func (c *CostModel) train(data []Sample) {
	opt := c.opt.Train
	opt.gate = c.opt.Gate
	text, res, err := TrainSamples(data, c.opt.FailureWeight, opt)
	var m *Model
	if err == nil {
		m, err = LoadModel(text)
	}
	if err == nil && c.opt.Path != "" {
		err = saveAtomically(c.opt.Path, text)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.training = false
	c.lastErr = err
	defer c.trainDone.Broadcast()
	if err != nil {
		c.opt.Logf("cost model: training on %d samples failed: %v; keeping the previous ranking", len(data), err)
		return
	}
	c.model = m
	c.trainedOn = len(data)
	c.opt.Logf("cost model: trained on %d samples (%d rows, %d rounds, validation loss %.4g)", len(data), res.Rows, res.Rounds, res.ValidLoss)
	// Measurements that arrived during the training may already call for the next one.
	c.maybeTrainLocked()
}

// TrainSamples trains on measured candidates with TVM's label: the best latency of the
// candidate's workload divided by its latency (1 for the best, 0 for a failure), weighted by
// the label, failures by failureWeight. It returns the LightGBM text model.
func TrainSamples(samples []Sample, failureWeight float64, opt TrainOptions) ([]byte, TrainResult, error) {
	ds, err := Labelled(samples, failureWeight)
	if err != nil {
		return nil, TrainResult{}, err
	}
	return Train(ds, opt)
}

// Labelled turns samples into a training set: rows grouped by candidate, labels normalised per
// workload. Non-finite feature values become 0.
func Labelled(samples []Sample, failureWeight float64) (Dataset, error) {
	best := map[string]float64{}
	for _, s := range samples {
		if s.LatencyS > 0 && !math.IsInf(s.LatencyS, 0) && (best[s.Workload] == 0 || s.LatencyS < best[s.Workload]) {
			best[s.Workload] = s.LatencyS
		}
	}
	var ds Dataset
	for _, s := range samples {
		if len(s.Rows) == 0 || (s.LatencyS > 0 && best[s.Workload] == 0) {
			continue
		}
		label, weight := 0.0, failureWeight
		if s.LatencyS > 0 && !math.IsInf(s.LatencyS, 0) && !math.IsNaN(s.LatencyS) {
			label = best[s.Workload] / s.LatencyS
			weight = label
		}
		if weight <= 0 {
			continue
		}
		g := len(ds.Labels)
		for _, r := range s.Rows {
			ds.Rows = append(ds.Rows, finiteRow(r))
			ds.Group = append(ds.Group, g)
		}
		ds.Labels = append(ds.Labels, label)
		ds.Weights = append(ds.Weights, weight)
	}
	if len(ds.Labels) == 0 {
		return ds, errors.New("no usable samples: every candidate failed or had no features")
	}
	return ds, nil
}

// finiteRow copies a row with NaN and ±Inf replaced by 0.
func finiteRow(r []float64) []float64 {
	out := make([]float64, len(r))
	for i, v := range r {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[i] = v
		}
	}
	return out
}

// Predict scores programs, higher is faster: with the learned model, its predicted relative
// throughput; otherwise the analytic estimate turned into a relative throughput (the fastest
// estimate in the call scores 1). A program whose features or estimate cannot be computed
// scores 0. It never blocks on training.
func (c *CostModel) Predict(progs []*schedule.Func) []float64 {
	c.mu.Lock()
	m := c.model
	c.mu.Unlock()
	if m != nil {
		scores, err := c.predictLearned(m, progs)
		if err == nil {
			return scores
		}
		c.opt.Logf("cost model: prediction failed (%v); falling back to the analytic estimate", err)
	}
	return c.PredictAnalytic(progs)
}

func (c *CostModel) predictLearned(m *Model, progs []*schedule.Func) ([]float64, error) {
	groups := make([][][]float64, len(progs))
	for i, p := range progs {
		rows, err := Extract(p)
		if err != nil {
			rows = nil
		}
		for j := range rows {
			rows[j] = finiteRow(rows[j])
		}
		groups[i] = rows
	}
	scores, err := m.PredictGroups(groups)
	if err != nil {
		return nil, err
	}
	for i := range scores {
		if len(groups[i]) == 0 || math.IsNaN(scores[i]) || math.IsInf(scores[i], 0) {
			scores[i] = 0
		}
	}
	return scores, nil
}

// Estimates are the analytic estimate's latencies of programs in seconds (0 where it cannot
// estimate one), for callers that scale them against a reference of their own.
func (c *CostModel) Estimates(progs []*schedule.Func) []float64 {
	out := make([]float64, len(progs))
	for i, p := range progs {
		if e, err := Estimate(p, c.opt.Hardware); err == nil && e > 0 && !math.IsInf(e, 0) {
			out[i] = e
		}
	}
	return out
}

// PredictAnalytic scores programs with the analytic estimate alone: the fastest estimate in
// the call scores 1, the others the ratio of their estimate to it.
func (c *CostModel) PredictAnalytic(progs []*schedule.Func) []float64 {
	est := make([]float64, len(progs))
	fastest := math.Inf(1)
	for i, p := range progs {
		e, err := Estimate(p, c.opt.Hardware)
		if err != nil || !(e > 0) || math.IsInf(e, 0) {
			continue
		}
		est[i] = e
		fastest = min(fastest, e)
	}
	scores := make([]float64, len(progs))
	for i, e := range est {
		if e > 0 {
			scores[i] = fastest / e
		}
	}
	return scores
}

// saveAtomically writes data to path through a temporary file and a rename, so a crash never
// leaves a half-written model.
func saveAtomically(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save cost model: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".model-*")
	if err != nil {
		return fmt.Errorf("save cost model: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save cost model: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save cost model: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save cost model: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save cost model: %w", err)
	}
	return nil
}
