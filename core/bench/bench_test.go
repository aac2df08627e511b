package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"colt/core"
)

func TestParseConfigurations(t *testing.T) {
	cases := []struct {
		spec string
		want []Configuration
		err  string
	}{
		{"evolutionary, random", []Configuration{{Label: "evolutionary", Strategy: "evolutionary"}, {Label: "random", Strategy: "random"}}, ""},
		{"colt:a+b", []Configuration{{Label: "colt(2)", Strategy: "colt", Models: []string{"a", "b"}}}, ""},
		{"mcts:big", []Configuration{{Label: "mcts(big)", Strategy: "mcts", Models: []string{"big"}}}, ""},
		{"duo=colt:a+b", []Configuration{{Label: "duo", Strategy: "colt", Models: []string{"a", "b"}}}, ""},
		{"evolutionary@sequential, colt@gradient:a+b", []Configuration{
			{Label: "evolutionary-sequential", Strategy: "evolutionary", TaskOrder: core.TaskOrderSequential},
			{Label: "colt(2)-gradient", Strategy: "colt", Models: []string{"a", "b"}, TaskOrder: core.TaskOrderGradient}}, ""},
		{"annealing", nil, `unknown strategy "annealing"`},
		{"random@shuffled", nil, `unknown task order "shuffled"`},
		{" , ", nil, "no configuration"},
	}
	for _, tc := range cases {
		got, err := ParseConfigurations(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.EqualFunc(got, tc.want, sameConfig) {
			t.Errorf("%q: %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}

func sameConfig(a, b Configuration) bool {
	return a.Label == b.Label && a.Strategy == b.Strategy && slices.Equal(a.Models, b.Models) && a.TaskOrder == b.TaskOrder
}

// TestPaperPreset: the model sets grow in the configured order; the single-model baselines
// are the largest model and the smaller of the first two.
func TestPaperPreset(t *testing.T) {
	p, err := LookupPreset("paper")
	if err != nil {
		t.Fatal(err)
	}
	models := []Model{{"large", 300}, {"mini", 20}, {"r1-32b", 32}, {"llama-8b", 8}}
	workloads, configs, err := p.Grid(models)
	if err != nil {
		t.Fatal(err)
	}
	want := []Configuration{
		{Label: "colt(2)", Strategy: "colt", Models: []string{"large", "mini"}},
		{Label: "colt(4)", Strategy: "colt", Models: []string{"large", "mini", "r1-32b", "llama-8b"}},
		{Label: "single-large", Strategy: "mcts", Models: []string{"large"}},
		{Label: "single-small", Strategy: "mcts", Models: []string{"mini"}},
	}
	if len(workloads) != 5 || !slices.EqualFunc(configs, want, sameConfig) || !slices.Equal(p.Budgets, []int{1000}) {
		t.Errorf("workloads %v, configs %+v, budgets %v", workloads, configs, p.Budgets)
	}
	if _, _, err := p.Grid(models[:1]); err == nil {
		t.Error("one model: want an error")
	}
	if _, err := LookupPreset("nope"); err == nil || !strings.Contains(err.Error(), "want paper") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestSamplesTo90(t *testing.T) {
	for _, tc := range []struct {
		curve []float64
		want  int
	}{
		{nil, 0},
		{[]float64{0, 0}, 0},
		{[]float64{0, 10, 5, 4.6, 4.5}, 3}, // 4.5/5 = 0.9
		{[]float64{1}, 1},
	} {
		if got := samplesTo90(tc.curve); got != tc.want {
			t.Errorf("samplesTo90(%v) = %d, want %d", tc.curve, got, tc.want)
		}
	}
}

// TestSummarize: a row's figures over its seeds.
func TestSummarize(t *testing.T) {
	ratio := func(x float64) *float64 { return &x }
	cells := []*CellResult{
		{Workload: "w", Config: "c", Budget: 4, Seed: 1, FLOPs: 2e9, BaselineS: 4, BestS: 1, ConfirmedS: 1.1, Curve: []float64{2, 1.1, 1, 1},
			Vendor: &core.VendorFigure{Library: "oneDNN", LatencyS: 1.1, Ratio: ratio(1)},
			Stats:  []core.ModelStat{{Name: "big", ParamsB: 300, Calls: 2, Altered: 1}, {Name: "small", ParamsB: 8, Calls: 6, Simulated: true}}},
		{Workload: "w", Config: "c", Budget: 4, Seed: 2, FLOPs: 2e9, BaselineS: 4, BestS: 2, Curve: []float64{0, 2, 2, 2},
			Vendor: &core.VendorFigure{Library: "oneDNN", LatencyS: 1, Ratio: ratio(0.5)},
			Stats:  []core.ModelStat{{Name: "big", ParamsB: 300, Calls: 2}, {Name: "small", ParamsB: 8, Calls: 6, Simulated: true}}},
		{Workload: "w", Config: "c", Budget: 4, Seed: 3, Error: "boom"},
		nil, // not run yet
	}
	g := Grid{Workloads: []string{"w"}, Configs: []Configuration{{Label: "c", Strategy: "colt"}}, Budgets: []int{4}, Seeds: []uint64{1, 2, 3, 4}}
	rows := Summarize(g, cells)
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	checks := []struct {
		name      string
		got, want float64
	}{
		{"runs", float64(len(r.Runs)), 2}, {"failed", float64(r.Failed), 1},
		{"median best (confirmed where there is one)", r.MedianS, 1.55}, {"min", r.MinS, 1.1}, {"max", r.MaxS, 2},
		{"vendor ratio", r.VendorRatio, 0.75}, {"samples to 90%", r.SamplesTo90, 2},
		{"largest model's share", r.LargestShare, 0.25}, {"course alterations", r.AlterationRate, 1.0 / 16},
		{"big's calls per run", r.Models[0].Calls, 2},
	}
	for _, c := range checks {
		if diff := c.got - c.want; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### w, budget 4", "| c | 2 (1 failed: boom) |", "0.75× oneDNN", "small (sim) 6", "simulated"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("%q not in the table:\n%s", want, md.String())
		}
	}
}

// tinyConfig is a configuration with a small matmul, quick timing and no confirmation.
func tinyConfig(t *testing.T) core.Config {
	t.Helper()
	return tinyConfigWith(t, "")
}

// tinyConfigWith is tinyConfig with more of the configuration file.
func tinyConfigWith(t *testing.T, extra string) core.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "colt.toml")
	body := `[search]
batch_size = 2
confirm_top = 0

[backend]
repeat = 1
min_repeat_ms = 0

[workloads.mm]
description = "a 8x8x8 matmul"
sizes = { M = 8, N = 8, K = 8 }
inputs = ["A[M, K]", "B[K, N]"]
stages = ["O[m, n] += A[m, k] * B[k, n]"]
` + extra
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := core.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestBenchResumes: a bench cut short after two cells keeps them; run again, it runs only the
// other cells (the one abandoned mid-run from a clean work dir) and writes the table, the CSV
// and the plots of all of them.
func TestBenchResumes(t *testing.T) {
	cfg := tinyConfig(t)
	out := t.TempDir()
	g := Grid{Workloads: []string{"mm"}, Configs: []Configuration{{Label: "random", Strategy: "random"}, {Label: "evolutionary", Strategy: "evolutionary"}},
		Budgets: []int{4}, Seeds: []uint64{1, 2}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The first bench stops during the third cell's second sample.
	_, err := Run(ctx, Options{Config: cfg, Out: out, Grid: g, Progress: func(p Progress) {
		if p.Done == 2 && p.Samples == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, core.ErrInterrupted) {
		t.Fatalf("cut short: %v, want ErrInterrupted", err)
	}
	cells := g.Cells()
	first, err := os.ReadFile(filepath.Join(cells[0].dir(out), CellFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cells[2].dir(out), CellFile)); !os.IsNotExist(err) {
		t.Fatalf("the cell cut short has a result: %v", err)
	}
	var last Progress
	results, err := Run(context.Background(), Options{Config: cfg, Out: out, Grid: g, Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if last.Resumed != 2 || last.Done != 4 {
		t.Errorf("second bench: %d resumed, %d done, want 2 and 4", last.Resumed, last.Done)
	}
	again, _ := os.ReadFile(filepath.Join(cells[0].dir(out), CellFile))
	if !bytes.Equal(first, again) {
		t.Error("a finished cell was run again")
	}
	for i, r := range results {
		if r == nil || r.Error != "" || r.Samples != 4 || len(r.Curve) != 4 || r.BaselineS <= 0 {
			t.Fatalf("cell %d: %+v", i, r)
		}
		// The cell abandoned mid-run started afresh: its records are this run's four.
		recs, err := os.ReadFile(filepath.Join(cells[i].dir(out), core.RecordsFile))
		if err != nil || bytes.Count(recs, []byte("\n")) != 4 {
			t.Errorf("cell %d: %d records (%v), want 4", i, bytes.Count(recs, []byte("\n")), err)
		}
	}
	rows := Summarize(g, results)
	var csvOut bytes.Buffer
	if err := WriteCSV(&csvOut, rows); err != nil {
		t.Fatal(err)
	}
	lines, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil || len(lines) != 3 || lines[1][2] != "random" || lines[1][3] != "2" {
		t.Errorf("csv: %v\n%v", err, lines)
	}
	paths, err := WritePlots(filepath.Join(out, "plots"), rows)
	if err != nil || len(paths) != 2 {
		t.Fatalf("plots %v: %v", paths, err)
	}
	png, _ := os.ReadFile(paths[0])
	svg, _ := os.ReadFile(paths[1])
	if !bytes.HasPrefix(png, []byte("\x89PNG")) || !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("evolutionary")) {
		t.Errorf("plots: %s (%d bytes), %s (%d bytes)", paths[0], len(png), paths[1], len(svg))
	}
}

func TestGridCheck(t *testing.T) {
	ok := Grid{Workloads: []string{"w"}, Configs: []Configuration{{Label: "a", Strategy: "random"}}, Budgets: []int{1}, Seeds: []uint64{1}}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	bad := ok
	bad.Configs = []Configuration{{Label: "a/b", Strategy: "random"}, {Label: "a/b", Strategy: "random"}}
	bad.Budgets = []int{0}
	err := bad.Check()
	for _, want := range []string{"budget 0", "appears twice", "use letters"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want %q", err, want)
		}
	}
}

// TestBenchChecksBeforeRunning: mistakes in the grid are found before any cell runs.
func TestBenchChecksBeforeRunning(t *testing.T) {
	cfg := tinyConfig(t)
	for _, tc := range []struct {
		name string
		grid Grid
		want string
	}{
		{"unknown model", Grid{Workloads: []string{"mm"}, Configs: []Configuration{{Label: "x", Strategy: "colt", Models: []string{"gpt-9"}}}}, `no model "gpt-9"`},
		{"mcts with two models", Grid{Workloads: []string{"mm"}, Configs: []Configuration{{Label: "x", Strategy: "mcts", Models: []string{"sim-gpt-5.2", "sim-gpt-5-mini"}}}}, "one model"},
		{"unknown workload", Grid{Workloads: []string{"nope"}, Configs: []Configuration{{Label: "r", Strategy: "random"}}}, `unknown workload "nope"`},
	} {
		tc.grid.Budgets, tc.grid.Seeds = []int{2}, []uint64{1}
		out := t.TempDir()
		_, err := Run(context.Background(), Options{Config: cfg, Out: out, Grid: tc.grid})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if entries, _ := os.ReadDir(out); len(entries) > 0 {
			t.Errorf("%s: the bench wrote %d entries before failing", tc.name, len(entries))
		}
	}
}

// pairModel is a model of two matmuls, the first three times per run.
const pairModel = `
[workloads.mm2]
description = "a 4x6x5 matmul"
sizes = { M = 4, N = 6, K = 5 }
inputs = ["A[M, K]", "B[K, N]"]
stages = ["O[m, n] += A[m, k] * B[k, n]"]

[workloads.pair]
description = "two matmuls"
tasks = [{ name = "a", workload = "mm", weight = 3 }, { name = "b", workload = "mm2", weight = 1 }]
`

// TestBenchTunesAModel: a model's cell is the whole model under the configuration's task
// order, its figures end-to-end (Σ weight × each task's), its curve the estimate after each of
// the budget's samples, ending at the run's estimate.
func TestBenchTunesAModel(t *testing.T) {
	cfg := tinyConfigWith(t, pairModel)
	out := t.TempDir()
	configs, err := ParseConfigurations("random@gradient,random@sequential")
	if err != nil {
		t.Fatal(err)
	}
	g := Grid{Workloads: []string{"pair"}, Configs: configs, Budgets: []int{8}, Seeds: []uint64{1}}
	results, err := Run(context.Background(), Options{Config: cfg, Out: out, Grid: g})
	if err != nil {
		t.Fatal(err)
	}
	const flops = 3*2*8*8*8 + 2*4*6*5
	for i, r := range results {
		if r == nil || r.Error != "" {
			t.Fatalf("cell %d: %+v", i, r)
		}
		if r.Tasks != 2 || r.Samples != 8 || len(r.Curve) != 8 || r.FLOPs != flops {
			t.Errorf("%s: %d tasks, %d samples, curve of %d, %d FLOPs; want 2, 8, 8, %d", r.Config, r.Tasks, r.Samples, len(r.Curve), r.FLOPs, flops)
		}
		var rep core.SessionReport
		data, err := os.ReadFile(filepath.Join(g.Cells()[i].dir(out), "report.json"))
		if err != nil || json.Unmarshal(data, &rep) != nil {
			t.Fatalf("%s: report: %v", r.Config, err)
		}
		if string(rep.TaskOrder) != strings.TrimPrefix(r.Config, "random-") {
			t.Errorf("%s ran with the %s task order", r.Config, rep.TaskOrder)
		}
		last := r.Curve[len(r.Curve)-1]
		if r.BestS != rep.EndToEndS || r.BaselineS != rep.BaselineS || math.Abs(last-r.BestS) > 1e-9*r.BestS {
			t.Errorf("%s: best %g, baseline %g, curve ends at %g; the report's estimate is %g of %g",
				r.Config, r.BestS, r.BaselineS, last, rep.EndToEndS, rep.BaselineS)
		}
	}
	rows := Summarize(g, results)
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "A model of 2 tasks") || !strings.Contains(md.String(), "| random-sequential | 1 |") {
		t.Errorf("table:\n%s", md.String())
	}
}
