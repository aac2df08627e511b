package scoring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Dataset holds training rows grouped by candidate: a candidate's predicted score is the sum of
// its rows' predictions (TVM's "pack-sum"), so a label belongs to a candidate, not to a row.
type Dataset struct {
	Rows    [][]float64 // feature rows, all the same length
	Group   []int       // Group[i] is the candidate index of Rows[i]; candidates 0..n-1, rows of a candidate contiguous
	Labels  []float64   // one per candidate
	Weights []float64   // one per candidate; nil means 1 each
}

// TrainOptions sets the gradient-boosting hyper-parameters of Train. Start from
// DefaultTrainOptions; a zero Rounds, MaxDepth, LearningRate, Bins or EarlyStop means its default,
// while zero MinChildWeight, Lambda and ValidFraction mean zero (ValidFraction 0 disables the
// validation split and so early stopping).
type TrainOptions struct {
	Rounds         int     // most boosting rounds (default 300)
	MaxDepth       int     // deepest split level of a tree; 6 allows 64 leaves (default 6; TVM uses 10)
	LearningRate   float64 // shrinkage applied to every leaf value (default 0.1)
	MinChildWeight float64 // least sum of hessians in a leaf (default 2, one row of weight 1; a row's hessian is 2 × its candidate's weight)
	Lambda         float64 // L2 regularisation of leaf values (default 1)
	Bins           int     // histogram bins per feature, 2..256 (default 64)
	ValidFraction  float64 // share of candidates held out for early stopping, in [0, 1) (default 0.2); no split below 10 candidates
	EarlyStop      int     // stop after this many rounds without validation improvement (default 30)
	Seed           uint64  // all randomness (the validation split) comes from this

	gate Gate // held around each round when set (CostModel's background training)
}

// DefaultTrainOptions returns the options the cost model trains with unless told otherwise:
// shallower and slower than TVM's (depth 10, eta 0.2), which ranked held-out candidates of
// llama3-8b-attn and flux-conv best in colt costmodel eval over depths 3–10.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{
		Rounds:         300,
		MaxDepth:       6,
		LearningRate:   0.1,
		MinChildWeight: 2,
		Lambda:         1,
		Bins:           64,
		ValidFraction:  0.2,
		EarlyStop:      30,
	}
}

// TrainResult describes a finished training run.
type TrainResult struct {
	Rounds          int     // trees in the returned model (the best round under early stopping)
	TrainLoss       float64 // weighted mean squared error of the pack-sum on the training candidates
	ValidLoss       float64 // the same on the held-out candidates; 0 when ValidCandidates is 0
	Candidates      int     // training candidates (held-out ones excluded)
	ValidCandidates int     // held-out candidates used for early stopping
	Rows            int     // training rows (held-out candidates' rows excluded)
}

// minValidCandidates is the fewest candidates with which Train holds some out for early stopping.
const minValidCandidates = 10

// Train fits the ensemble and returns it as LightGBM text (header "version=v3"), which LoadModel
// reads back. The objective is squared error on the pack-sum: each candidate's prediction is the
// sum of its rows' predictions. Training is deterministic: the same data and options give the same
// bytes.
func Train(ds Dataset, opt TrainOptions) ([]byte, TrainResult, error) {
	ens, res, err := train(ds, opt)
	if err != nil {
		return nil, res, err
	}
	return ens.lightGBMText(), res, nil
}

// ensemble is the in-memory model Train builds; its text form is what gets served.
type ensemble struct {
	trees        []*tree
	nFeatures    int
	featureInfos []string // LightGBM "feature_infos" entries: "[min:max]" or "none"
	opt          TrainOptions
}

// predict sums the trees' outputs for one row in the order leaves does (tests only).
func (e *ensemble) predict(row []float64) float64 {
	s := 0.0
	for _, t := range e.trees {
		s += t.predict(row)
	}
	return s
}

func (o TrainOptions) withDefaults() (TrainOptions, error) {
	d := DefaultTrainOptions()
	if o.Rounds == 0 {
		o.Rounds = d.Rounds
	}
	if o.MaxDepth == 0 {
		o.MaxDepth = d.MaxDepth
	}
	if o.LearningRate == 0 {
		o.LearningRate = d.LearningRate
	}
	if o.Bins == 0 {
		o.Bins = d.Bins
	}
	if o.EarlyStop == 0 {
		o.EarlyStop = d.EarlyStop
	}
	switch {
	case o.Rounds < 1:
		return o, fmt.Errorf("scoring: train: Rounds %d < 1", o.Rounds)
	case o.MaxDepth < 1 || o.MaxDepth > 30:
		return o, fmt.Errorf("scoring: train: MaxDepth %d outside 1..30", o.MaxDepth)
	case !(o.LearningRate > 0) || math.IsInf(o.LearningRate, 0):
		return o, fmt.Errorf("scoring: train: LearningRate %v must be positive", o.LearningRate)
	case !(o.MinChildWeight >= 0) || math.IsInf(o.MinChildWeight, 0):
		return o, fmt.Errorf("scoring: train: MinChildWeight %v must be >= 0", o.MinChildWeight)
	case !(o.Lambda >= 0) || math.IsInf(o.Lambda, 0):
		return o, fmt.Errorf("scoring: train: Lambda %v must be >= 0", o.Lambda)
	case o.Bins < 2 || o.Bins > 256:
		return o, fmt.Errorf("scoring: train: Bins %d outside 2..256", o.Bins)
	case !(o.ValidFraction >= 0 && o.ValidFraction < 1):
		return o, fmt.Errorf("scoring: train: ValidFraction %v outside [0, 1)", o.ValidFraction)
	case o.EarlyStop < 1:
		return o, fmt.Errorf("scoring: train: EarlyStop %d < 1", o.EarlyStop)
	}
	return o, nil
}

// checkDataset validates ds and returns the number of features and each candidate's row span.
func checkDataset(ds Dataset) (nFeat int, start, end []int, err error) {
	if len(ds.Rows) == 0 {
		return 0, nil, nil, errors.New("scoring: train: empty dataset (no rows)")
	}
	if len(ds.Labels) == 0 {
		return 0, nil, nil, errors.New("scoring: train: no labels")
	}
	if len(ds.Group) != len(ds.Rows) {
		return 0, nil, nil, fmt.Errorf("scoring: train: %d group entries for %d rows", len(ds.Group), len(ds.Rows))
	}
	if ds.Weights != nil && len(ds.Weights) != len(ds.Labels) {
		return 0, nil, nil, fmt.Errorf("scoring: train: %d weights for %d labels", len(ds.Weights), len(ds.Labels))
	}
	nFeat = len(ds.Rows[0])
	if nFeat == 0 {
		return 0, nil, nil, errors.New("scoring: train: rows have no features")
	}
	for i, row := range ds.Rows {
		if len(row) != nFeat {
			return 0, nil, nil, fmt.Errorf("scoring: train: row %d has %d features, row 0 has %d", i, len(row), nFeat)
		}
		for j, x := range row {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return 0, nil, nil, fmt.Errorf("scoring: train: row %d feature %d is %v (sanitise features first)", i, j, x)
			}
		}
	}
	nCand := len(ds.Labels)
	for c, y := range ds.Labels {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			return 0, nil, nil, fmt.Errorf("scoring: train: label of candidate %d is %v", c, y)
		}
	}
	wsum := 0.0
	for c, w := range ds.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return 0, nil, nil, fmt.Errorf("scoring: train: weight of candidate %d is %v (want finite, >= 0)", c, w)
		}
		wsum += w
	}
	if ds.Weights != nil && !(wsum > 0) {
		return 0, nil, nil, errors.New("scoring: train: all weights are zero")
	}
	start = make([]int, nCand)
	end = make([]int, nCand)
	for c := range start {
		start[c] = -1
	}
	for i, c := range ds.Group {
		if c < 0 || c >= nCand {
			return 0, nil, nil, fmt.Errorf("scoring: train: row %d belongs to candidate %d, want 0..%d", i, c, nCand-1)
		}
		if i > 0 && ds.Group[i-1] == c {
			end[c] = i + 1
			continue
		}
		if start[c] >= 0 {
			return 0, nil, nil, fmt.Errorf("scoring: train: rows of candidate %d are not contiguous (row %d)", c, i)
		}
		start[c], end[c] = i, i+1
	}
	for c := range start {
		if start[c] < 0 {
			return 0, nil, nil, fmt.Errorf("scoring: train: candidate %d has no rows", c)
		}
	}
	return nFeat, start, end, nil
}

// candSet is a set of candidates with their rows copied into one contiguous order.
type candSet struct {
	rows     [][]float64
	start    []int // candidate k's rows are rows[start[k]:start[k+1]]
	labels   []float64
	weights  []float64
	wsum     float64
	scores   []float64 // per row: the sum of the trees so far
	residual []float64 // per candidate: prediction − label
}

func newCandSet(ds Dataset, cands []int, start, end []int) *candSet {
	s := &candSet{start: make([]int, 0, len(cands)+1)}
	for _, c := range cands {
		s.start = append(s.start, len(s.rows))
		s.rows = append(s.rows, ds.Rows[start[c]:end[c]]...)
		s.labels = append(s.labels, ds.Labels[c])
		w := 1.0
		if ds.Weights != nil {
			w = ds.Weights[c]
		}
		s.weights = append(s.weights, w)
		s.wsum += w
	}
	s.start = append(s.start, len(s.rows))
	s.scores = make([]float64, len(s.rows))
	s.residual = make([]float64, len(cands))
	return s
}

// loss updates the residuals and returns the weighted mean squared error of the pack-sum (the
// unweighted one if every weight is zero).
func (s *candSet) loss() float64 {
	num, den := 0.0, 0.0
	for k := range s.labels {
		p := 0.0
		for _, v := range s.scores[s.start[k]:s.start[k+1]] {
			p += v
		}
		r := p - s.labels[k]
		s.residual[k] = r
		w := s.weights[k]
		if s.wsum == 0 {
			w = 1
		}
		num += w * r * r
		den += w
	}
	if den == 0 {
		return 0
	}
	return num / den
}

func train(ds Dataset, opt TrainOptions) (*ensemble, TrainResult, error) {
	var res TrainResult
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, res, err
	}
	nFeat, start, end, err := checkDataset(ds)
	if err != nil {
		return nil, res, err
	}

	// Hold out candidates (never rows) for early stopping.
	nCand := len(ds.Labels)
	all := make([]int, nCand)
	for i := range all {
		all[i] = i
	}
	trainC, validC := all, []int(nil)
	if opt.ValidFraction > 0 && nCand >= minValidCandidates {
		nValid := min(max(int(math.Round(opt.ValidFraction*float64(nCand))), 1), nCand-1)
		rng := rand.New(rand.NewPCG(opt.Seed, 0x636f6c742d676264))
		perm := rng.Perm(nCand)
		validC = slices.Clone(perm[:nValid])
		trainC = slices.Clone(perm[nValid:])
		slices.Sort(validC)
		slices.Sort(trainC)
	}
	tr := newCandSet(ds, trainC, start, end)
	if !(tr.wsum > 0) {
		return nil, res, errors.New("scoring: train: every training candidate has weight zero")
	}
	var va *candSet
	if len(validC) > 0 {
		va = newCandSet(ds, validC, start, end)
	}
	res.Candidates, res.Rows, res.ValidCandidates = len(trainC), len(tr.rows), len(validC)

	bd := binRows(tr.rows, nFeat, opt.Bins)
	ens := &ensemble{nFeatures: nFeat, featureInfos: featureInfos(tr.rows, nFeat), opt: opt}

	// The least-squares constant per row, b = Σ w n y / Σ w n², starts the boosting; it is folded
	// into the first tree's leaf values so that the LightGBM file reproduces it.
	num, den := 0.0, 0.0
	for k, y := range tr.labels {
		n := float64(tr.start[k+1] - tr.start[k])
		num += tr.weights[k] * n * y
		den += tr.weights[k] * n * n
	}
	base := 0.0
	if den > 0 {
		base = num / den
	}
	for i := range tr.scores {
		tr.scores[i] = base
	}

	b := newBuilder(bd, opt)
	grad, hess := b.grad, b.hess
	bestRound, bestLoss := -1, math.Inf(1)
	var bestTrain float64
	// step makes one boosting round; it reports when early stopping ends the training.
	step := func(round int) (stop bool, err error) {
		trainLoss := tr.loss()
		if round > 0 && va != nil {
			// trainLoss/validation loss here describe the model of `round` trees.
			vl := va.loss()
			if vl < bestLoss || bestRound < 0 {
				bestRound, bestLoss, bestTrain = round, vl, trainLoss
			} else if round-bestRound >= opt.EarlyStop {
				return true, nil
			}
		}
		for k := range tr.labels {
			w2 := 2 * tr.weights[k]
			g := w2 * tr.residual[k]
			for r := tr.start[k]; r < tr.start[k+1]; r++ {
				grad[r], hess[r] = g, w2
			}
		}
		t := b.build()
		if round == 0 {
			for i := range t.leafValue {
				t.leafValue[i] += base
			}
			for i := range t.internalValue {
				t.internalValue[i] += base
			}
			clear(tr.scores)
		}
		for i, v := range t.leafValue {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return true, fmt.Errorf("scoring: train: diverged at round %d (leaf %d value %v)", round, i, v)
			}
		}
		b.addLeafValues(t, tr.scores)
		if va != nil {
			for r, row := range va.rows {
				va.scores[r] += t.predict(row)
			}
		}
		ens.trees = append(ens.trees, t)
		return false, nil
	}
	for round := 0; round < opt.Rounds; round++ {
		if opt.gate != nil {
			opt.gate.RLock()
		}
		stop, err := step(round)
		if opt.gate != nil {
			opt.gate.RUnlock()
		}
		if err != nil {
			return nil, res, err
		}
		if stop {
			break
		}
	}
	trainLoss := tr.loss()
	if va != nil {
		if vl := va.loss(); vl < bestLoss || bestRound < 0 {
			bestRound, bestLoss, bestTrain = len(ens.trees), vl, trainLoss
		}
		ens.trees = ens.trees[:bestRound]
		res.Rounds, res.TrainLoss, res.ValidLoss = bestRound, bestTrain, bestLoss
	} else {
		res.Rounds, res.TrainLoss = len(ens.trees), trainLoss
	}
	return ens, res, nil
}
