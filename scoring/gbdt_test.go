package scoring

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// knownFunc is the target of the fitting tests: linear, quadratic and a step.
func knownFunc(x []float64) float64 {
	y := 3*x[0] - 2*x[1]*x[1]
	if x[2] > 0.3 {
		y += 1
	}
	return y
}

func randRows(rng *rand.Rand, n, nFeat int) [][]float64 {
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, nFeat)
		for j := range rows[i] {
			rows[i][j] = rng.Float64()*2 - 1
		}
	}
	return rows
}

// oneRowPerCandidate labels each row with f.
func oneRowPerCandidate(rows [][]float64, f func([]float64) float64) Dataset {
	ds := Dataset{Rows: rows, Group: make([]int, len(rows)), Labels: make([]float64, len(rows))}
	for i, r := range rows {
		ds.Group[i] = i
		ds.Labels[i] = f(r)
	}
	return ds
}

func rSquared(pred, truth []float64) float64 {
	mean := 0.0
	for _, y := range truth {
		mean += y
	}
	mean /= float64(len(truth))
	ssRes, ssTot := 0.0, 0.0
	for i, y := range truth {
		ssRes += (pred[i] - y) * (pred[i] - y)
		ssTot += (y - mean) * (y - mean)
	}
	return 1 - ssRes/ssTot
}

func trainAndLoad(t *testing.T, ds Dataset, opt TrainOptions) (*Model, TrainResult, []byte) {
	t.Helper()
	text, res, err := Train(ds, opt)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	m, err := LoadModel(text)
	if err != nil {
		t.Fatalf("LoadModel: %v\n%s", err, firstLines(text, 30))
	}
	return m, res, text
}

func firstLines(text []byte, n int) string {
	lines := strings.SplitN(string(text), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func TestTrainFitsKnownFunction(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ds := oneRowPerCandidate(randRows(rng, 2000, 4), knownFunc) // feature 3 is noise
	m, res, _ := trainAndLoad(t, ds, DefaultTrainOptions())
	if res.Candidates+res.ValidCandidates != 2000 || res.ValidCandidates != 400 || res.Rows != 1600 {
		t.Errorf("split: %+v", res)
	}
	if res.Rounds < 10 || res.Rounds > 300 || m.NumTrees() != res.Rounds {
		t.Errorf("rounds %d, model has %d trees", res.Rounds, m.NumTrees())
	}
	test := randRows(rng, 1000, 4)
	truth := make([]float64, len(test))
	for i, r := range test {
		truth[i] = knownFunc(r)
	}
	pred, err := m.PredictRows(test)
	if err != nil {
		t.Fatal(err)
	}
	r2 := rSquared(pred, truth)
	t.Logf("held-out R² %.4f, %+v", r2, res)
	if r2 < 0.95 {
		t.Errorf("held-out R² %.4f < 0.95", r2)
	}
	if res.ValidLoss <= 0 || res.ValidLoss > 0.1 || res.TrainLoss > res.ValidLoss*1.5+0.05 {
		t.Errorf("losses: %+v", res)
	}
}

func TestTrainLossDecreasesWithRounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ds := oneRowPerCandidate(randRows(rng, 2000, 3), knownFunc)
	opt := DefaultTrainOptions()
	opt.ValidFraction = 0
	prev := math.Inf(1)
	for _, rounds := range []int{1, 5, 20, 80} {
		opt.Rounds = rounds
		_, res, err := Train(ds, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("rounds %d: train loss %.5f", rounds, res.TrainLoss)
		if res.Rounds != rounds || res.ValidCandidates != 0 || res.ValidLoss != 0 {
			t.Errorf("rounds %d: %+v", rounds, res)
		}
		if !(res.TrainLoss < prev) {
			t.Errorf("rounds %d: train loss %v did not drop below %v", rounds, res.TrainLoss, prev)
		}
		prev = res.TrainLoss
	}
	if prev > 0.01 {
		t.Errorf("train loss after 80 rounds %v > 0.01", prev)
	}
}

// packSumDataset builds candidates of 1–4 rows labelled with the sum of rowFunc over their rows.
func packSumDataset(rng *rand.Rand, nCand int, rowFunc func([]float64) float64) (Dataset, [][][]float64) {
	var ds Dataset
	groups := make([][][]float64, nCand)
	for c := 0; c < nCand; c++ {
		rows := randRows(rng, 1+rng.IntN(4), 3)
		groups[c] = rows
		y := 0.0
		for _, r := range rows {
			ds.Rows = append(ds.Rows, r)
			ds.Group = append(ds.Group, c)
			y += rowFunc(r)
		}
		ds.Labels = append(ds.Labels, y)
	}
	return ds, groups
}

func TestTrainPackSum(t *testing.T) {
	rowFunc := func(x []float64) float64 { return 1 + x[0] + 0.5*x[1]*x[1] }
	rng := rand.New(rand.NewPCG(5, 6))
	ds, _ := packSumDataset(rng, 1500, rowFunc)
	m, res, _ := trainAndLoad(t, ds, DefaultTrainOptions())
	test, groups := packSumDataset(rng, 500, rowFunc)
	pred, err := m.PredictGroups(groups)
	if err != nil {
		t.Fatal(err)
	}
	r2 := rSquared(pred, test.Labels)
	t.Logf("pack-sum held-out R² %.4f, %+v", r2, res)
	if r2 < 0.95 {
		t.Errorf("pack-sum held-out R² %.4f < 0.95", r2)
	}
	// The per-row function itself is learnt, not just the totals: a single row predicts f(row).
	rows := randRows(rng, 300, 3)
	single, err := m.PredictRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	truth := make([]float64, len(rows))
	for i, r := range rows {
		truth[i] = rowFunc(r)
	}
	if r2 := rSquared(single, truth); r2 < 0.8 {
		t.Errorf("per-row R² %.4f < 0.8", r2)
	}
	// PredictGroups is the sum of PredictRows over each candidate.
	for c, g := range groups[:20] {
		p, err := m.PredictRows(g)
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for _, v := range p {
			s += v
		}
		if s != pred[c] {
			t.Errorf("candidate %d: PredictGroups %v, sum of PredictRows %v", c, pred[c], s)
		}
	}
}

func TestTrainWeights(t *testing.T) {
	// Two identical feature rows with different labels: the weighted mean wins.
	ds := Dataset{
		Rows:    [][]float64{{0}, {0}, {1}, {1}},
		Group:   []int{0, 1, 2, 3},
		Labels:  []float64{1, 0, 5, 5},
		Weights: []float64{3, 1, 1, 1},
	}
	opt := DefaultTrainOptions()
	opt.Lambda, opt.LearningRate, opt.Rounds = 0, 1, 3
	m, _, _ := trainAndLoad(t, ds, opt)
	if m.NumFeatures() != 1 {
		t.Errorf("NumFeatures %d, want 1", m.NumFeatures())
	}
	p, err := m.PredictRows([][]float64{{0}, {1}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(p[0]-0.75) > 1e-9 || math.Abs(p[1]-5) > 1e-9 {
		t.Errorf("predictions %v, want [0.75 5]", p)
	}
}

// TestTrainTextMatchesTrees checks that leaves, reading the written text, predicts exactly what
// the in-memory trees predict, on random rows and on rows sitting exactly on thresholds.
func TestTrainTextMatchesTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ds, _ := packSumDataset(rng, 800, func(x []float64) float64 { return math.Sin(3*x[0]) + x[1]*x[2] })
	// Some duplicated and integral values so thresholds fall between few distinct values too.
	for i := range ds.Rows {
		if i%3 == 0 {
			ds.Rows[i][2] = math.Round(ds.Rows[i][2] * 4)
		}
	}
	opt := DefaultTrainOptions()
	opt.Rounds = 60
	ens, _, err := train(ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(ens.lightGBMText())
	if err != nil {
		t.Fatal(err)
	}
	rows := randRows(rng, 500, 3)
	rows = append(rows, []float64{1e300, -1e300, 0}, []float64{math.Inf(1), math.Inf(-1), math.Copysign(0, -1)})
	for i, tr := range ens.trees {
		if i%6 != 0 {
			continue // every sixth tree's thresholds suffice
		}
		for k, f := range tr.splitFeature {
			for _, x := range []float64{tr.threshold[k], math.Nextafter(tr.threshold[k], math.Inf(1)), math.Nextafter(tr.threshold[k], math.Inf(-1))} {
				row := randRows(rng, 1, 3)[0]
				row[f] = x
				rows = append(rows, row)
			}
		}
	}
	got, err := m.PredictRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		if want := ens.predict(row); got[i] != want {
			t.Fatalf("row %d %v: leaves %v, in-memory %v", i, row, got[i], want)
		}
	}
	t.Logf("%d rows identical over %d trees", len(rows), len(ens.trees))
}

func TestTrainSingleLeafTrees(t *testing.T) {
	// Constant features: no split exists, every tree is one leaf.
	ds := Dataset{Group: []int{0, 1, 1, 2}, Labels: []float64{1, 4, 2.5}}
	for range 4 {
		ds.Rows = append(ds.Rows, []float64{7, 7})
	}
	opt := DefaultTrainOptions()
	opt.Rounds = 5
	m, res, text := trainAndLoad(t, ds, opt)
	if !bytes.Contains(text, []byte("\nnum_leaves=1\n")) || res.Rounds != 5 {
		t.Fatalf("want 5 one-leaf trees, got %+v\n%s", res, firstLines(text, 40))
	}
	ens, _, err := train(ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.PredictRows([][]float64{{7, 7}, {0, 100}})
	if err != nil {
		t.Fatal(err)
	}
	// b = Σ n y / Σ n² = (1 + 8 + 2.5) / 6 per row.
	if want := ens.predict([]float64{7, 7}); p[0] != want || p[1] != want || math.Abs(want-11.5/6) > 0.05 {
		t.Errorf("predictions %v, in-memory %v, want about %v", p, want, 11.5/6)
	}
}

func TestTrainDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	ds, _ := packSumDataset(rng, 600, func(x []float64) float64 { return x[0] - x[1] })
	opt := DefaultTrainOptions()
	opt.Seed = 42
	a, ra, err := Train(ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, rb, err := Train(ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || ra != rb {
		t.Fatal("same data and seed gave different models")
	}
	opt.Seed = 43
	c, _, err := Train(ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Error("another seed (another validation split) gave the same model")
	}
}

func TestTrainBadInput(t *testing.T) {
	good := func() Dataset {
		return Dataset{Rows: [][]float64{{1, 2}, {3, 4}, {5, 6}}, Group: []int{0, 0, 1}, Labels: []float64{1, 2}}
	}
	cases := []struct {
		name string
		edit func(*Dataset)
		opt  func(*TrainOptions)
		want string
	}{
		{"empty", func(d *Dataset) { *d = Dataset{} }, nil, "empty dataset"},
		{"no labels", func(d *Dataset) { d.Labels = nil }, nil, "no labels"},
		{"no features", func(d *Dataset) { d.Rows = [][]float64{{}, {}, {}} }, nil, "no features"},
		{"ragged rows", func(d *Dataset) { d.Rows[2] = []float64{1} }, nil, "row 2 has 1 features"},
		{"group length", func(d *Dataset) { d.Group = d.Group[:2] }, nil, "2 group entries for 3 rows"},
		{"group range", func(d *Dataset) { d.Group[2] = 2 }, nil, "row 2 belongs to candidate 2"},
		{"negative group", func(d *Dataset) { d.Group[0] = -1 }, nil, "row 0 belongs to candidate -1"},
		{"candidate without rows", func(d *Dataset) { d.Labels = append(d.Labels, 3) }, nil, "candidate 2 has no rows"},
		{"not contiguous", func(d *Dataset) { d.Group = []int{0, 1, 0} }, nil, "not contiguous"},
		{"weights length", func(d *Dataset) { d.Weights = []float64{1} }, nil, "1 weights for 2 labels"},
		{"NaN feature", func(d *Dataset) { d.Rows[1][1] = math.NaN() }, nil, "row 1 feature 1 is NaN"},
		{"Inf feature", func(d *Dataset) { d.Rows[2][0] = math.Inf(-1) }, nil, "row 2 feature 0 is -Inf"},
		{"NaN label", func(d *Dataset) { d.Labels[1] = math.NaN() }, nil, "label of candidate 1 is NaN"},
		{"Inf label", func(d *Dataset) { d.Labels[0] = math.Inf(1) }, nil, "label of candidate 0 is +Inf"},
		{"NaN weight", func(d *Dataset) { d.Weights = []float64{1, math.NaN()} }, nil, "weight of candidate 1"},
		{"negative weight", func(d *Dataset) { d.Weights = []float64{-1, 1} }, nil, "weight of candidate 0"},
		{"zero weights", func(d *Dataset) { d.Weights = []float64{0, 0} }, nil, "all weights are zero"},
		{"bad rounds", nil, func(o *TrainOptions) { o.Rounds = -1 }, "Rounds"},
		{"bad bins", nil, func(o *TrainOptions) { o.Bins = 300 }, "Bins"},
		{"bad lambda", nil, func(o *TrainOptions) { o.Lambda = math.NaN() }, "Lambda"},
		{"bad valid fraction", nil, func(o *TrainOptions) { o.ValidFraction = 1 }, "ValidFraction"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := good()
			if tc.edit != nil {
				tc.edit(&ds)
			}
			opt := DefaultTrainOptions()
			if tc.opt != nil {
				tc.opt(&opt)
			}
			text, _, err := Train(ds, opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || text != nil {
				t.Errorf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	// The good dataset itself trains (with zero options meaning the defaults).
	if _, _, err := Train(good(), TrainOptions{}); err != nil {
		t.Errorf("good dataset: %v", err)
	}
}

func TestTrainExtremeValues(t *testing.T) {
	// Finite but extreme labels, weights and features: an error or a model, never a panic.
	rng := rand.New(rand.NewPCG(15, 16))
	for _, scale := range []float64{1e-300, 1e150, 1e300} {
		ds := oneRowPerCandidate(randRows(rng, 40, 2), func(x []float64) float64 { return x[0] * scale })
		for _, r := range ds.Rows {
			r[1] *= scale
		}
		ds.Weights = make([]float64, len(ds.Labels))
		for i := range ds.Weights {
			ds.Weights[i] = scale
		}
		opt := DefaultTrainOptions()
		opt.Rounds = 20
		text, res, err := Train(ds, opt)
		if err != nil {
			t.Logf("scale %g: %v", scale, err)
			continue
		}
		m, err := LoadModel(text)
		if err != nil {
			t.Errorf("scale %g: trained model does not load: %v", scale, err)
			continue
		}
		if _, err := m.PredictRows(ds.Rows); err != nil {
			t.Errorf("scale %g: %v", scale, err)
		}
		t.Logf("scale %g: %+v", scale, res)
	}
}

func TestTrainEarlyStopKeepsBestRound(t *testing.T) {
	// Pure noise labels: validation stops improving almost at once, and the model keeps the best
	// round, not the last.
	rng := rand.New(rand.NewPCG(11, 12))
	ds := oneRowPerCandidate(randRows(rng, 500, 5), func([]float64) float64 { return rng.NormFloat64() })
	opt := DefaultTrainOptions()
	opt.EarlyStop = 5
	m, res, _ := trainAndLoad(t, ds, opt)
	t.Logf("%+v", res)
	if res.Rounds >= 100 || m.NumTrees() != res.Rounds {
		t.Errorf("noise trained %d rounds (model %d trees)", res.Rounds, m.NumTrees())
	}
}

// BenchmarkTrain trains on 5,000 rows × 100 features (about 2,000 candidates of 1–4 rows).
// Run with: go test ./scoring/ -run '^$' -bench Train -benchtime 3x
func BenchmarkTrain(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	var ds Dataset
	for c := 0; len(ds.Rows) < 5000; c++ {
		n := 1 + rng.IntN(4)
		y := 0.0
		for range n {
			row := randRows(rng, 1, 100)[0]
			for j := 50; j < 100; j++ {
				row[j] = math.Round(row[j] * 3) // some low-cardinality features
			}
			ds.Rows = append(ds.Rows, row)
			ds.Group = append(ds.Group, c)
			y += knownFunc(row) + 0.3*row[10]*row[60]
		}
		ds.Labels = append(ds.Labels, y)
	}
	b.ResetTimer()
	var res TrainResult
	for b.Loop() {
		var err error
		if _, res, err = Train(ds, DefaultTrainOptions()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Rounds), "rounds")
}
