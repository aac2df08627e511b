package scoring

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"colt/schedule"
	"colt/schedule/scheduletest"
)

// synthetic makes n samples of one workload whose latency follows the first feature, so a
// model can learn to rank them.
func synthetic(n int) []Sample {
	var out []Sample
	for i := 0; i < n; i++ {
		row := make([]float64, 8)
		row[0] = float64(i % 17)
		row[1] = float64(i % 5)
		out = append(out, Sample{Workload: "w", Rows: [][]float64{row}, LatencyS: 1 + row[0] + 0.1*row[1]})
	}
	return out
}

type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(strings.ReplaceAll(format, "%", "")))
}

func (l *logBuffer) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestRetrainThresholds(t *testing.T) {
	opt := DefaultOptions(Hardware{Cores: 2})
	opt.MinSamples, opt.RetrainGrowth = 10, 0.5
	c := New(opt)
	tests := []struct {
		n, ok int
		want  bool
	}{
		{9, 9, false},  // too few successes for a first training
		{20, 9, false}, // many samples, but not enough successes
		{10, 10, true}, // the first training
	}
	for _, tt := range tests {
		if got := c.NeedsTraining(tt.n, tt.ok); got != tt.want {
			t.Errorf("before training, %d samples (%d ok): NeedsTraining = %v, want %v", tt.n, tt.ok, got, tt.want)
		}
	}
	c.Add(synthetic(20)...)
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if !c.Trained() {
		t.Fatal("20 samples with MinSamples 10 did not train a model")
	}
	for _, tt := range []struct {
		n    int
		want bool
	}{{25, false}, {29, false}, {30, true}, {40, true}} {
		if got := c.NeedsTraining(tt.n, tt.n); got != tt.want {
			t.Errorf("trained on 20, growth 0.5: %d samples: NeedsTraining = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestTrainedModelIsSavedAndLoadedWarm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "costmodel", "m.lgb.txt")
	opt := DefaultOptions(Hardware{Cores: 2})
	opt.MinSamples, opt.Path = 10, path
	c := New(opt)
	c.Add(synthetic(60)...)
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the trained model was not saved: %v", err)
	}
	if !strings.Contains(string(data), "version=v3") {
		t.Fatal("the saved model is not a LightGBM v3 text model")
	}
	warm := New(opt)
	if !warm.Trained() {
		t.Fatal("a new cost model over the same path did not load the saved model")
	}
}

func TestCorruptOrMissingModelFallsBackToTheEstimate(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage":   "this is not a model\n",
		"truncated": "tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nmax_feature_idx=3\nTree=0\nnum_leaves=3\n",
		"empty":     "",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".txt")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			var log logBuffer
			opt := DefaultOptions(Hardware{Cores: 2})
			opt.Path, opt.Logf = path, log.logf
			c := New(opt)
			if c.Trained() {
				t.Fatal("a corrupt model file was taken for a model")
			}
			if !strings.Contains(log.text(), "ignoring") {
				t.Fatalf("the corrupt file was not logged: %q", log.text())
			}
			scores := c.Predict([]*schedule.Func{scheduletest.Matmul(8, 8, 8, false)})
			if len(scores) != 1 || !(scores[0] > 0) {
				t.Fatalf("the analytic fallback scored %v, want a positive score", scores)
			}
		})
	}
	missing := New(Options{Path: filepath.Join(dir, "none.txt"), Hardware: Hardware{Cores: 2}})
	if missing.Trained() || missing.Source() != "analytic estimate" {
		t.Fatal("a missing model file should leave the analytic estimate in charge")
	}
}

func TestLabelledSanitisesAndRejectsEmptyData(t *testing.T) {
	if _, err := Labelled(nil, 0.2); err == nil {
		t.Fatal("an empty dataset gave no error")
	}
	if _, err := Labelled([]Sample{{Workload: "w", Rows: [][]float64{{1}}, LatencyS: 0}}, 0); err == nil {
		t.Fatal("a dataset of failures with weight 0 gave no error")
	}
	ds, err := Labelled([]Sample{
		{Workload: "w", Rows: [][]float64{{math.NaN(), math.Inf(1), 2}}, LatencyS: 2},
		{Workload: "w", Rows: [][]float64{{1, 1, 1}}, LatencyS: 1},
		{Workload: "w", Rows: [][]float64{{0, 0, 0}}, LatencyS: 0},
	}, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Rows[0][0] != 0 || ds.Rows[0][1] != 0 || ds.Rows[0][2] != 2 {
		t.Errorf("non-finite features not zeroed: %v", ds.Rows[0])
	}
	if want := []float64{0.5, 1, 0}; len(ds.Labels) != 3 || ds.Labels[0] != want[0] || ds.Labels[1] != want[1] || ds.Labels[2] != want[2] {
		t.Errorf("labels %v, want %v (best ÷ latency, 0 for the failure)", ds.Labels, want)
	}
	if ds.Weights[2] != 0.2 {
		t.Errorf("failure weight %v, want 0.2", ds.Weights[2])
	}
}

func TestMeasurementsDuringTrainingAreTrainedOnNext(t *testing.T) {
	opt := DefaultOptions(Hardware{Cores: 2})
	opt.MinSamples = 32
	var log logBuffer
	opt.Logf = log.logf
	c := New(opt)
	s := synthetic(64)
	for i := 0; i < 4; i++ {
		c.Add(s[i*16 : i*16+16]...) // no waiting: later batches arrive while a training runs
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if c.NeedsTraining(64, 64) {
		t.Fatalf("after Wait the model has not caught up with the 64 samples; log:\n%s", log.text())
	}
	if !strings.Contains(c.Source(), "64 samples") {
		t.Fatalf("source %q, want a model trained on all 64 samples", c.Source())
	}
}
