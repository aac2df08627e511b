package core

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"

	"colt/schedule"
	"colt/scoring"
)

// RankingQuality is how well one predictor orders held-out candidates of one workload by
// measured speed.
type RankingQuality struct {
	// PairwiseAccuracy is the fraction of candidate pairs with different measured latencies
	// that the predictor orders the same way (a tie in prediction counts half).
	PairwiseAccuracy float64 `json:"pairwise_accuracy"`
	// Spearman is the rank correlation of predictions with measured throughput.
	Spearman float64 `json:"spearman"`
	// TopKRecall is the share of the K fastest candidates that are among the K best predicted.
	TopKRecall float64 `json:"top_k_recall"`
	K          int     `json:"k"`
	Pairs      int     `json:"pairs"`
}

// WorkloadEval is the evaluation of the cost model on one workload's held-out candidates.
type WorkloadEval struct {
	Workload string         `json:"workload"`
	Train    int            `json:"train_candidates"`
	Test     int            `json:"test_candidates"`
	Learned  RankingQuality `json:"learned"`
	Analytic RankingQuality `json:"analytic"`
}

// CostModelEval is the report of colt costmodel eval.
type CostModelEval struct {
	WorkDir   string         `json:"work_dir"`
	Target    string         `json:"target"`
	Records   int            `json:"records"`
	Examples  int            `json:"examples"`
	Skipped   int            `json:"skipped"`
	TestShare float64        `json:"test_share"`
	Seed      uint64         `json:"seed"`
	Rounds    int            `json:"rounds"`
	Workloads []WorkloadEval `json:"workloads"`
}

// EvaluateCostModel splits the examples of every workload into a training and a held-out part
// (testShare of the successfully measured candidates, chosen with seed), trains the cost model
// on the training parts of all workloads together, and reports how well it and the analytic
// estimate rank each workload's held-out candidates.
func EvaluateCostModel(examples []Example, opt scoring.Options, testShare float64, seed uint64) (*CostModelEval, error) {
	if len(examples) == 0 {
		return nil, errors.New("no records to evaluate on: run colt tune in this work dir first")
	}
	rng := rand.New(rand.NewPCG(seed, 0x65766c)) // "evl"
	byWorkload := map[string][]Example{}
	var names []string
	for _, e := range examples {
		if _, ok := byWorkload[e.Workload]; !ok {
			names = append(names, e.Workload)
		}
		byWorkload[e.Workload] = append(byWorkload[e.Workload], e)
	}
	sort.Strings(names)
	var train []scoring.Sample
	tests := map[string][]Example{}
	trainCount := map[string]int{}
	for _, name := range names {
		ex := byWorkload[name]
		perm := rng.Perm(len(ex))
		nTest := int(math.Round(testShare * float64(len(ex))))
		for k, i := range perm {
			if k < nTest && ex[i].LatencyS > 0 {
				tests[name] = append(tests[name], ex[i])
			} else {
				train = append(train, ex[i].Sample())
				trainCount[name]++
			}
		}
	}
	text, res, err := scoring.TrainSamples(train, opt.FailureWeight, opt.Train)
	if err != nil {
		return nil, fmt.Errorf("train on %d candidates: %w", len(train), err)
	}
	model, err := scoring.LoadModel(text)
	if err != nil {
		return nil, fmt.Errorf("load the trained model: %w", err)
	}
	report := &CostModelEval{Examples: len(examples), TestShare: testShare, Seed: seed, Rounds: res.Rounds}
	analytic := scoring.New(scoring.Options{Hardware: opt.Hardware})
	for _, name := range names {
		test := tests[name]
		if len(test) < 2 {
			continue
		}
		groups := make([][][]float64, len(test))
		lat := make([]float64, len(test))
		for i, e := range test {
			groups[i] = e.Rows
			lat[i] = e.LatencyS
		}
		learned, err := model.PredictGroups(groups)
		if err != nil {
			return nil, fmt.Errorf("predict %s: %w", name, err)
		}
		est := analytic.PredictAnalytic(funcsOf(test))
		report.Workloads = append(report.Workloads, WorkloadEval{
			Workload: name, Train: trainCount[name], Test: len(test),
			Learned: rankingQuality(learned, lat), Analytic: rankingQuality(est, lat),
		})
	}
	return report, nil
}

func funcsOf(ex []Example) []*schedule.Func {
	out := make([]*schedule.Func, len(ex))
	for i, e := range ex {
		out[i] = e.Func
	}
	return out
}

// rankingQuality compares scores (higher = predicted faster) with measured latencies.
func rankingQuality(score, latency []float64) RankingQuality {
	n := len(score)
	var q RankingQuality
	agree := 0.0
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if latency[i] == latency[j] {
				continue
			}
			q.Pairs++
			fasterI := latency[i] < latency[j]
			switch {
			case score[i] == score[j]:
				agree += 0.5
			case (score[i] > score[j]) == fasterI:
				agree++
			}
		}
	}
	if q.Pairs > 0 {
		q.PairwiseAccuracy = agree / float64(q.Pairs)
	}
	throughput := make([]float64, n)
	for i, l := range latency {
		throughput[i] = 1 / l
	}
	q.Spearman = spearman(score, throughput)
	q.K = min(10, max(1, n/4))
	truth := topK(throughput, q.K)
	pred := topK(score, q.K)
	hit := 0
	for i := range truth {
		if pred[i] {
			hit++
		}
	}
	q.TopKRecall = float64(hit) / float64(q.K)
	return q
}

// topK marks the indices of the k largest values.
func topK(v []float64, k int) map[int]bool {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	out := map[int]bool{}
	for _, i := range idx[:min(k, len(idx))] {
		out[i] = true
	}
	return out
}

// spearman is the Pearson correlation of the ranks (ties get their mean rank).
func spearman(a, b []float64) float64 {
	ra, rb := ranks(a), ranks(b)
	n := float64(len(a))
	if n < 2 {
		return 0
	}
	var ma, mb float64
	for i := range ra {
		ma += ra[i]
		mb += rb[i]
	}
	ma /= n
	mb /= n
	var cov, va, vb float64
	for i := range ra {
		cov += (ra[i] - ma) * (rb[i] - mb)
		va += (ra[i] - ma) * (ra[i] - ma)
		vb += (rb[i] - mb) * (rb[i] - mb)
	}
	if va == 0 || vb == 0 {
		return 0
	}
	return cov / math.Sqrt(va*vb)
}

func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		mean := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = mean
		}
		i = j + 1
	}
	return r
}

// ExportDataset writes the examples as a CSV training set for the LightGBM and XGBoost command
// line tools: one row per feature row, the label (the candidate's best-in-workload ÷ its
// latency, 0 for a failure) in the first column and no header; alongside, PATH.weight (one
// weight per row) and PATH.query (rows per candidate, in order), which LightGBM reads by
// those names, and PATH.names (the column names). It returns the rows and candidates written.
func ExportDataset(examples []Example, failureWeight float64, path string) (rows, candidates int, err error) {
	samples := make([]scoring.Sample, len(examples))
	for i, e := range examples {
		samples[i] = e.Sample()
	}
	ds, err := scoring.Labelled(samples, failureWeight)
	if err != nil {
		return 0, 0, err
	}
	var data, weights, query, names []byte
	counts := make([]int, len(ds.Labels))
	for i, row := range ds.Rows {
		g := ds.Group[i]
		counts[g]++
		data = strconv.AppendFloat(data, ds.Labels[g], 'g', -1, 64)
		for _, v := range row {
			data = append(data, ',')
			data = strconv.AppendFloat(data, v, 'g', -1, 64)
		}
		data = append(data, '\n')
		weights = strconv.AppendFloat(weights, ds.Weights[g], 'g', -1, 64)
		weights = append(weights, '\n')
	}
	for _, c := range counts {
		query = strconv.AppendInt(query, int64(c), 10)
		query = append(query, '\n')
	}
	names = append(names, "label\n"...)
	for _, n := range scoring.FeatureNames() {
		names = append(names, n...)
		names = append(names, '\n')
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{path, data}, {path + ".weight", weights}, {path + ".query", query}, {path + ".names", names}} {
		if err := writeDatasetFile(f.path, f.data); err != nil {
			return 0, 0, err
		}
	}
	return len(ds.Rows), len(ds.Labels), nil
}

func writeDatasetFile(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("export dataset: %w", err)
	}
	w := bufio.NewWriter(f)
	if _, err := w.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("export dataset: %w", err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("export dataset: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export dataset: %w", err)
	}
	return nil
}
