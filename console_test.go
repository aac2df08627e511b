package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"colt/core"
	"colt/tui"
)

// newSession is a tuning session of the tests: the configuration (with its own work dir, or
// workDir), batches of 3, seed 1 and console snapshots. It is closed at the end of the test
// (closing it twice is harmless).
func newSession(t *testing.T, config, workDir, workload, strategy string, budget int) (*core.Session, core.Config) {
	t.Helper()
	cfg, err := core.LoadConfig(writeConfig(t, config))
	if err != nil {
		t.Fatal(err)
	}
	if workDir != "" {
		cfg.WorkDir = workDir
	}
	cfg.Search.BatchSize = 3
	seed := uint64(1)
	s, err := core.NewSession(core.SessionOptions{Config: cfg, Workload: workload, Strategy: strategy, Budget: budget,
		Seed: &seed, SnapshotEvery: tui.SnapshotEvery})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, cfg
}

// newConsoleRun is a colt search of the tiny workload with the shipped sim models.
func newConsoleRun(t *testing.T, workDir string, budget int) (*core.Session, core.Config) {
	t.Helper()
	return newSession(t, tinyConfig, workDir, "tiny", "colt", budget)
}

// waitFor waits until the console's new output contains every text (the renderer redraws
// only lines that changed, so a text already on screen is not seen again).
func waitFor(t *testing.T, tm *teatest.TestModel, texts ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, text := range texts {
			if !bytes.Contains(b, []byte(text)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(90*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

func press(tm *teatest.TestModel, keys ...string) {
	for _, k := range keys {
		switch k {
		case "enter":
			tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		case "down":
			tm.Send(tea.KeyMsg{Type: tea.KeyDown})
		default:
			tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		}
	}
}

// TestConsoleSmoke drives a short sim run in the console through pause, pin, escalate and
// export, lets it finish and quits; the exported files exist.
func TestConsoleSmoke(t *testing.T) {
	sess, cfg := newConsoleRun(t, "", 12)
	eng := tui.Start(context.Background(), sess)
	m := tui.NewModel(eng, tui.NewStyles(tui.PlainRenderer()), tui.DefaultKeyMap())
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	waitFor(t, tm, "GFLOP/s") // a first candidate has been measured
	press(tm, "p")
	waitFor(t, tm, "[paused]")
	press(tm, "m", "down", "enter")
	waitFor(t, tm, "pinned sim-gpt-5-mini")
	press(tm, "e")
	waitFor(t, tm, "escalation pending")
	press(tm, "x")
	waitFor(t, tm, "exported the best schedule to")
	press(tm, "p")
	waitFor(t, tm, "[finished]")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(30*time.Second))
	srep, err := eng.Result()
	if err != nil || srep == nil || len(srep.Tasks) != 1 || srep.Tasks[0].Samples != 12 {
		t.Fatalf("the run: %v, %+v", err, srep)
	}
	rep := srep.Tasks[0]
	for _, f := range []string{core.ExportKernelFile, core.ExportProgramFile} {
		if _, err := os.Stat(filepath.Join(cfg.WorkDir, "export", "tiny", f)); err != nil {
			t.Errorf("the export action wrote no %s: %v", f, err)
		}
	}
	var escalations int
	for _, s := range rep.Models {
		escalations += s.Escalations
	}
	if escalations != 1 {
		t.Errorf("%d escalations recorded, want 1", escalations)
	}
}

// TestConsoleQuitMidRunResumes: quitting the console mid-run keeps every measured candidate,
// and the same run started again resumes after them.
func TestConsoleQuitMidRunResumes(t *testing.T) {
	dir := t.TempDir()
	sess, _ := newConsoleRun(t, dir, 200)
	eng := tui.Start(context.Background(), sess)
	tm := teatest.NewTestModel(t, tui.NewModel(eng, tui.NewStyles(tui.PlainRenderer()), tui.DefaultKeyMap()),
		teatest.WithInitialTermSize(80, 24))
	waitFor(t, tm, "GFLOP/s")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(60*time.Second))
	srep, _ := eng.Result()
	if srep == nil || len(srep.Tasks) != 1 || srep.Tasks[0].Samples == 0 || srep.Tasks[0].Samples >= 200 {
		t.Fatalf("quitting mid-run: %+v", srep)
	}
	first := srep.Tasks[0]
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	again, _ := newConsoleRun(t, dir, 3)
	rerun, err := again.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if second := rerun.Tasks[0]; second.PreviousSamples != first.Samples {
		t.Errorf("the rerun found %d earlier samples, the console's run measured %d", second.PreviousSamples, first.Samples)
	}
}

// TestTheConsoleNeverBlocksTheSearch: an engine whose events nobody reads still runs to the
// end of its budget.
func TestTheConsoleNeverBlocksTheSearch(t *testing.T) {
	sess, _ := newConsoleRun(t, "", 9)
	eng := tui.Start(context.Background(), sess)
	done := make(chan struct{})
	var rep *core.SessionReport
	var err error
	go func() { rep, err = eng.Result(); close(done) }()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		eng.Stop()
		t.Fatal("the run did not finish while nobody read its events")
	}
	if err != nil || len(rep.Tasks) != 1 || rep.Tasks[0].Samples != 9 {
		t.Fatalf("run: %v, %+v", err, rep)
	}
}

// tinyModelConfig adds a model of two tiny tasks, weighted 3 and 1.
const tinyModelConfig = tinyConfig + `
[workloads.tiny2]
description = "a 4x6x5 matmul"
sizes = { M = 4, N = 6, K = 5 }
inputs = ["A[M, K]", "B[K, N]"]
stages = ["O[m, n] += A[m, k] * B[k, n]"]

[workloads.tinymodel]
description = "two tiny matmuls"
tasks = [{ name = "a", workload = "tiny", weight = 3 }, { name = "b", workload = "tiny2", weight = 1 }]
`

// TestTuneAModelHeadless: a model's budget is the total over its tasks, shared by the task
// scheduler or in order; the summary gives the allocation and the report the end-to-end
// estimate.
func TestTuneAModelHeadless(t *testing.T) {
	for _, tc := range []struct {
		order   string
		samples map[string]int // nil: any split of the budget
		summary []string
	}{
		{"gradient", nil, []string{"allocation (gradient task order, budget 6, 6 measured)", "rounds (round:task+samples→end-to-end estimate): 1:a+1→"}},
		{"sequential", map[string]int{"tinymodel:a": 3, "tinymodel:b": 3}, []string{"allocation (sequential task order, budget 6, 6 measured)"}},
	} {
		t.Run(tc.order, func(t *testing.T) {
			cfg := writeConfig(t, tinyModelConfig)
			out := filepath.Join(t.TempDir(), "model.json")
			code, stdout, stderr := cli(t, "tune", "--headless", "--workload", "tinymodel", "--strategy", "random", "--budget", "6",
				"--task-order", tc.order, "--config", cfg, "--json-out", out)
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			for _, want := range append(tc.summary, "tinymodel:a", "tinymodel:b", "model tinymodel: 2 of 2 tasks tuned; end-to-end estimate") {
				if !strings.Contains(stdout, want) {
					t.Errorf("%q not in the summary:\n%s", want, stdout)
				}
			}
			var doc struct {
				Tasks []struct {
					Workload     string   `json:"workload"`
					Samples      int      `json:"samples"`
					BestLatencyS *float64 `json:"best_latency_s"`
				} `json:"tasks"`
				Weights   map[string]int `json:"weights"`
				EndToEndS float64        `json:"estimated_end_to_end_s"`
				TaskOrder string         `json:"task_order"`
			}
			data, err := os.ReadFile(out)
			if err != nil || json.Unmarshal(data, &doc) != nil || len(doc.Tasks) != 2 || doc.TaskOrder != tc.order {
				t.Fatalf("the model report: %v\n%s", err, data)
			}
			want, total := 0.0, 0
			for _, task := range doc.Tasks {
				total += task.Samples
				if task.BestLatencyS == nil || (tc.samples != nil && task.Samples != tc.samples[task.Workload]) {
					t.Fatalf("task %s: %d samples, best %v", task.Workload, task.Samples, task.BestLatencyS)
				}
				want += float64(doc.Weights[task.Workload]) * *task.BestLatencyS
			}
			if total != 6 {
				t.Errorf("the tasks measured %d samples, want the budget, 6", total)
			}
			if doc.Weights["tinymodel:a"] != 3 || math.Abs(doc.EndToEndS-want) > 1e-12 {
				t.Errorf("end-to-end estimate %g, want Σ weight × best = %g (weights %v)", doc.EndToEndS, want, doc.Weights)
			}
		})
	}
}

// TestConsoleFollowsTheTasksOfAModel: the task list shows both tasks of a model and the
// end-to-end estimate; the panes follow the task being tuned, or the one the operator picks.
// (In order, so the last task tuned is known; the task scheduler's rounds in the task list are
// tui's TestTaskSchedulerRoundsInTheTaskList.)
func TestConsoleFollowsTheTasksOfAModel(t *testing.T) {
	config := strings.Replace(tinyModelConfig, "[search]\n", "[search]\ntask_order = \"sequential\"\n", 1)
	sess, _ := newSession(t, config, "", "tinymodel", "random", 4)
	eng := tui.Start(context.Background(), sess)
	tm := teatest.NewTestModel(t, tui.NewModel(eng, tui.NewStyles(tui.PlainRenderer()), tui.DefaultKeyMap()),
		teatest.WithInitialTermSize(140, 40))
	// The panes followed the second task; the task list has the end-to-end estimate.
	waitFor(t, tm, "end-to-end ≈", "(Σ weight × best, 2 of 2 tasks)", "tinymodel:b (task 2/2)", "[finished]")
	press(tm, "[")
	waitFor(t, tm, "tinymodel:a (task 1/2)")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(30*time.Second))
	rep, err := eng.Result()
	if err != nil || len(rep.Tasks) != 2 {
		t.Fatalf("%+v, %v", rep, err)
	}
}

// TestLogLinesWaitForTheConsole: lines logged while the console owns the terminal are kept,
// printed in order when it closes, and printed at once afterwards.
func TestLogLinesWaitForTheConsole(t *testing.T) {
	var h heldLines
	var out bytes.Buffer
	h.add("trained on %d samples", 32)
	h.add("saved %s", "model.txt")
	if out.Len() != 0 {
		t.Fatal("a line reached the terminal while the console owned it")
	}
	h.flush(&out)
	h.add("trained on %d samples", 48)
	want := "colt: trained on 32 samples\ncolt: saved model.txt\ncolt: trained on 48 samples\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

// TestBenchCommand: colt bench runs its grid and writes the table, the CSV and the plots.
func TestBenchCommand(t *testing.T) {
	cfg := writeConfig(t, tinyConfig)
	out := filepath.Join(t.TempDir(), "bench")
	code, stdout, stderr := cli(t, "bench", "--config", cfg, "--workloads", "tiny", "--configs", "random,evolutionary", "--budgets", "2",
		"--seeds", "1,2", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"### tiny, budget 2", "| random | 2 |", "| evolutionary | 2 |", "bench.csv", "tiny-b2.png"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("%q not in the output:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "colt: bench 4/4 done") {
		t.Errorf("no progress lines:\n%s", stderr)
	}
	for _, f := range []string{"bench.md", "bench.csv", "plots/tiny-b2.png", "plots/tiny-b2.svg"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
