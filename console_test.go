package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"colt/core"
	"colt/schedule"
	"colt/tui"
)

// consoleRun is what the console tests drive: a colt search of the tiny workload with the
// shipped sim models, in a work dir of its own.
type consoleRun struct {
	cfg  core.Config
	opts core.TuneOptions
}

func newConsoleRun(t *testing.T, workDir string, budget int) *consoleRun {
	t.Helper()
	path := writeConfig(t, tinyConfig)
	cfg, err := core.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if workDir != "" {
		cfg.WorkDir = workDir
	}
	cfg.Search.BatchSize = 3
	cat, err := cfg.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	w, err := cat.Get("tiny")
	if err != nil {
		t.Fatal(err)
	}
	be, err := core.OpenBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, err := core.OpenStore(cfg.WorkDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	model := core.OpenCostModel(cfg, be.Target(), cat, func(string, ...any) {})
	scorer := core.NewCostModelScorer(model, schedule.StructuralHash(w.Tasks[0].Func()))
	strat, err := core.NewColtStrategy("colt", cfg, "", scorer, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return &consoleRun{cfg: cfg, opts: core.TuneOptions{Workload: w, Backend: be, Store: store, WorkDir: cfg.WorkDir,
		Strategy: strat, Budget: budget, Seed: 1, Search: cfg.Search}}
}

// waitFor waits until the console's output contains text.
func waitFor(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(text)) },
		teatest.WithDuration(90*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
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
	r := newConsoleRun(t, "", 12)
	eng, err := tui.Start(context.Background(), r.opts)
	if err != nil {
		t.Fatal(err)
	}
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
	rep, err := eng.Result()
	if err != nil || rep == nil || rep.Samples != 12 {
		t.Fatalf("the run: %v, %+v", err, rep)
	}
	for _, f := range []string{core.ExportKernelFile, core.ExportProgramFile} {
		if _, err := os.Stat(filepath.Join(r.cfg.WorkDir, "export", "tiny", f)); err != nil {
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
	r := newConsoleRun(t, dir, 200)
	eng, err := tui.Start(context.Background(), r.opts)
	if err != nil {
		t.Fatal(err)
	}
	tm := teatest.NewTestModel(t, tui.NewModel(eng, tui.NewStyles(tui.PlainRenderer()), tui.DefaultKeyMap()),
		teatest.WithInitialTermSize(80, 24))
	waitFor(t, tm, "GFLOP/s")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(60*time.Second))
	first, _ := eng.Result()
	if first == nil || first.Samples == 0 || first.Samples >= 200 {
		t.Fatalf("quitting mid-run: %+v", first)
	}
	r.opts.Store.Close()
	again := newConsoleRun(t, dir, 3)
	tuner, err := core.NewTuner(again.opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := tuner.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second.PreviousSamples != first.Samples {
		t.Errorf("the rerun found %d earlier samples, the console's run measured %d", second.PreviousSamples, first.Samples)
	}
}

// TestTheConsoleNeverBlocksTheSearch: an engine whose events nobody reads still runs to the
// end of its budget.
func TestTheConsoleNeverBlocksTheSearch(t *testing.T) {
	r := newConsoleRun(t, "", 9)
	eng, err := tui.Start(context.Background(), r.opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var rep *core.Report
	go func() { rep, err = eng.Result(); close(done) }()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		eng.Stop()
		t.Fatal("the run did not finish while nobody read its events")
	}
	if err != nil || rep.Samples != 9 {
		t.Fatalf("run: %v, %d samples", err, rep.Samples)
	}
}
