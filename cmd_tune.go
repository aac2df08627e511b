package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"colt/core"
	"colt/schedule"
	"colt/scoring"
	"colt/tui"
)

func runTune(ctx context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("tune", "--workload NAME [--headless] [--strategy S] [--budget N] [--seed S] [--json-out FILE]", errOut)
	common.register(fs)
	name := fs.String("workload", "", "workload to tune (see 'colt workloads'); one task of a model as MODEL:TASK")
	strategy := fs.String("strategy", "", "search strategy: "+strings.Join(core.StrategyNames(), " or ")+" (default: search.strategy, evolutionary)")
	budget := fs.Int("budget", 0, "NEW candidates to measure in this run, failures included; candidates already\nin the work dir's records are skipped and not counted (default: search.budget, 64)")
	seed := fs.Uint64("seed", 0, "seed of the search's random choices (default: seed from the config, 1);\nkernel inputs always use the config seed")
	headless := fs.Bool("headless", false, "print progress lines instead of opening the console (colt runs headless anyway,\nwith a note, when standard output is not a terminal)")
	jsonOut := fs.String("json-out", "", "write the run's report (summary and per-sample history) as JSON to this file")
	models := fs.String("models", "", "colt: comma-separated [[models]] to use (default: colt.models, or all);\nmcts: the one model that expands every node (default: colt.mcts_model; none = random expansions)")
	costModel := fs.Bool("cost-model", true, "rank the evolutionary search's candidates with the learned cost model (the analytic\nestimate until it has data); false: the inherited-throughput estimate (default: costmodel.enabled)")
	sketch := fs.String("sketch", "", "search the decisions of this trace JSON file (e.g. an exported trace.json)\ninstead of the built-in design space")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *name == "" {
		return fail(errOut, exitUsage, "tune: --workload is required (see 'colt workloads')")
	}
	cfg, cat, err := common.load()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	if !set["strategy"] {
		*strategy = cfg.Search.Strategy
	}
	if !set["budget"] {
		*budget = cfg.Search.Budget
	}
	if !set["seed"] {
		*seed = cfg.Seed
	}
	if !set["cost-model"] {
		*costModel = cfg.CostModel.Enabled
	}
	if *budget < 1 {
		return fail(errOut, exitUsage, "tune: --budget is %d, want at least 1 (the number of new candidates to measure)", *budget)
	}
	if *strategy != "colt" && *strategy != "mcts" {
		if _, err := core.NewStrategy(*strategy, cfg.Search, nil); err != nil {
			return fail(errOut, exitUsage, "tune: --strategy: %v", err)
		}
	}
	if *jsonOut != "" {
		if st, err := os.Stat(filepath.Dir(*jsonOut)); err != nil || !st.IsDir() {
			return fail(errOut, exitUsage, "tune: --json-out %s: the directory %s does not exist", *jsonOut, filepath.Dir(*jsonOut))
		}
	}
	w, err := cat.Get(*name)
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	// A model's tasks are tuned one after another, each with the whole budget.
	tasks := []tui.Task{{Name: w.Name, Weight: 1}}
	if !w.IsSingle() {
		tasks = nil
		for _, t := range w.Tasks {
			tasks = append(tasks, tui.Task{Name: w.Name + ":" + t.Name, Weight: t.Weight})
		}
	}
	var sketches []schedule.Sketch
	if *sketch != "" {
		if !w.IsSingle() {
			return fail(errOut, exitUsage, "tune: --sketch is a trace of one program; %s is a model of %d tasks (tune one as --workload %s)", w.Name, len(w.Tasks), tasks[0].Name)
		}
		t, err := readTrace(*sketch)
		if err != nil {
			return fail(errOut, exitUsage, "tune: --sketch %v", err)
		}
		sketches = []schedule.Sketch{{Name: filepath.Base(*sketch), Trace: t}}
	}
	if set["models"] {
		names := splitList(*models)
		if *strategy == "mcts" && len(names) > 1 {
			return fail(errOut, exitUsage, "tune: --models: mcts expands with one model, found %d", len(names))
		}
		if *strategy == "colt" {
			cfg.Colt.Models = names
		} else if len(names) == 1 {
			cfg.Colt.MCTSModel = names[0]
		}
	}
	console := !*headless && isTerminal(out) && isTerminal(os.Stdin)
	if !*headless && !console {
		fmt.Fprintln(errOut, "colt: standard output is not a terminal, so the console cannot open; running headless (pass --headless to say so and silence this note)")
	}
	be, err := core.OpenBackend(cfg)
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	store, err := core.OpenStore(cfg.WorkDir)
	if err != nil {
		return fail(errOut, exitFailure, "tune: %v", err)
	}
	defer store.Close()
	if msg := store.Repaired(); msg != "" {
		fmt.Fprintln(errOut, "colt: "+msg)
	}
	var model *scoring.CostModel // one for the run, shared by its tasks
	// Log lines (the cost model's) go to stderr, except while the console owns the terminal:
	// then they are kept and printed when it closes, so they cannot tear its screen.
	var held heldLines
	logf := func(format string, args ...any) { fmt.Fprintf(errOut, "colt: "+format+"\n", args...) }
	if console {
		logf = held.add
	}
	options := func(name string) (core.TuneOptions, error) {
		tw, err := cat.Get(name)
		if err != nil {
			return core.TuneOptions{}, err
		}
		tree := *strategy == "colt" || *strategy == "mcts"
		var scorer core.Scorer
		if (*costModel && *strategy == "evolutionary") || tree {
			// The tree searches always score rollouts with the cost model.
			if model == nil {
				model = core.OpenCostModel(cfg, be.Target(), cat, logf)
			}
			scorer = core.NewCostModelScorer(model, schedule.StructuralHash(tw.Tasks[0].Func()))
		}
		var strat core.Strategy
		if tree {
			strat, err = core.NewColtStrategy(*strategy, cfg, cfg.Colt.MCTSModel, scorer, os.Getenv)
		} else {
			strat, err = core.NewStrategy(*strategy, cfg.Search, scorer)
		}
		if err != nil {
			return core.TuneOptions{}, err
		}
		return core.TuneOptions{
			Workload: tw, Backend: be, Store: store, WorkDir: cfg.WorkDir, Strategy: strat,
			Budget: *budget, Seed: *seed, Search: cfg.Search, Sketches: sketches,
			OnEvent: headlessPrinter(errOut),
		}, nil
	}
	// Configuration mistakes (an unknown model, a bad key setting) show before anything runs.
	if _, err := options(tasks[0].Name); err != nil {
		return fail(errOut, exitUsage, "tune: %v", err)
	}
	var reps []*core.Report
	if console {
		reps, err = tui.Run(ctx, tui.RunOptions{Tasks: tasks, Options: options, In: os.Stdin, Out: out, NoColor: os.Getenv("NO_COLOR") != ""})
		held.flush(errOut)
	} else {
		reps, err = runHeadless(ctx, tasks, options)
	}
	if model != nil {
		// A training started by the last batch finishes and is saved for the next run.
		if werr := model.Wait(); werr != nil {
			fmt.Fprintf(errOut, "colt: cost model: the last training failed: %v\n", werr)
		}
	}
	code := exitOK
	for i, rep := range reps {
		if i > 0 {
			fmt.Fprintln(out)
		}
		desc := w.Description
		if tw, err := cat.Get(rep.Workload); err == nil {
			desc = tw.Description
		}
		printTuneSummary(out, rep, desc, cfg.WorkDir)
	}
	if !w.IsSingle() && len(reps) > 0 {
		est := endToEnd(tasks, reps)
		fmt.Fprintf(out, "\nmodel %s: %d of %d tasks tuned; end-to-end estimate (Σ weight × best latency) %s, unscheduled %s\n",
			w.Name, len(reps), len(tasks), core.FormatSeconds(est.bestS), core.FormatSeconds(est.baselineS))
	}
	if *jsonOut != "" && len(reps) > 0 {
		var werr error
		if w.IsSingle() {
			werr = reps[0].WriteJSON(*jsonOut)
		} else {
			werr = writeModelReport(*jsonOut, w.Name, tasks, reps)
		}
		if werr != nil {
			fmt.Fprintf(errOut, "colt: tune: %v\n", werr)
			code = exitFailure
		}
	}
	if err != nil {
		if errors.Is(err, core.ErrInterrupted) {
			return fail(errOut, exitFailure, "tune %s: %v; every measured candidate is recorded: rerun the same command to resume", w.Name, err)
		}
		return fail(errOut, exitFailure, "tune %s: %v", w.Name, err)
	}
	return code
}

// runHeadless tunes the tasks one after another with progress lines, stopping at the first
// error or when the operator stops a task.
func runHeadless(ctx context.Context, tasks []tui.Task, options func(string) (core.TuneOptions, error)) ([]*core.Report, error) {
	var reps []*core.Report
	for _, t := range tasks {
		opts, err := options(t.Name)
		if err != nil {
			return reps, err
		}
		tuner, err := core.NewTuner(opts)
		if err != nil {
			return reps, err
		}
		rep, err := tuner.Run(ctx)
		if rep != nil {
			reps = append(reps, rep)
		}
		if err != nil || rep.StopReason == "stopped" {
			return reps, err
		}
	}
	return reps, nil
}

// modelEstimate is a model's end-to-end latency: Σ weight × latency over its tuned tasks.
type modelEstimate struct{ bestS, baselineS float64 }

func endToEnd(tasks []tui.Task, reps []*core.Report) modelEstimate {
	weight := map[string]int{}
	for _, t := range tasks {
		weight[t.Name] = t.Weight
	}
	var e modelEstimate
	for _, r := range reps {
		best := r.BaselineLatencyS
		if r.BestLatencyS != nil {
			best = *r.BestLatencyS
		}
		e.bestS += float64(weight[r.Workload]) * best
		e.baselineS += float64(weight[r.Workload]) * r.BaselineLatencyS
	}
	return e
}

// writeModelReport writes the reports of a model's tasks as one JSON document.
func writeModelReport(path, model string, tasks []tui.Task, reps []*core.Report) error {
	est := endToEnd(tasks, reps)
	doc := struct {
		Workload   string         `json:"workload"`
		Tasks      []*core.Report `json:"tasks"`
		Weights    map[string]int `json:"weights"`
		EndToEndS  float64        `json:"estimated_end_to_end_s"`
		BaselineS  float64        `json:"baseline_end_to_end_s"`
		TasksTuned int            `json:"tasks_tuned"`
	}{Workload: model, Tasks: reps, Weights: map[string]int{}, EndToEndS: est.bestS, BaselineS: est.baselineS, TasksTuned: len(reps)}
	for _, t := range tasks {
		doc.Weights[t.Name] = t.Weight
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// readTrace reads and parses a trace JSON file.
func readTrace(path string) (*schedule.Trace, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %v", path, pe.Err)
		}
		return nil, err
	}
	t, err := schedule.ParseTrace(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v (want a trace JSON file such as colt export writes: {\"insts\": [...]})", path, err)
	}
	return t, nil
}

// headlessPrinter prints one progress line per sample and every note on errOut.
func headlessPrinter(errOut io.Writer) func(core.Event) {
	return func(e core.Event) {
		switch e.Kind {
		case core.EventNote:
			fmt.Fprintf(errOut, "colt: %s: %s\n", e.Workload, e.Message)
		case core.EventStart:
			fmt.Fprintf(errOut, "colt: %s: tuning with %s search, budget %d new candidates; baseline %s (%.3f GFLOP/s)\n",
				e.Workload, e.Strategy, e.Budget, seconds(e.BaselineS), e.BaselineGFLOPS)
		case core.EventSample:
			width := len(fmt.Sprint(e.Budget))
			lat := seconds(e.LatencyS)
			best := "best -"
			if e.BestS > 0 {
				best = fmt.Sprintf("best %s %.2f GFLOP/s %.2f×", seconds(e.BestS), e.BestGFLOPS, e.Speedup)
			}
			line := fmt.Sprintf("colt: [%*d/%d] %-12s %10s  %s  elapsed %s  eta %s",
				width, e.Sample, e.Budget, e.Status, lat, best, duration(e.Elapsed), duration(e.ETA))
			if e.Status != core.StatusOK && e.Message != "" {
				line += "  (" + clip(e.Message, 100) + ")"
			}
			fmt.Fprintln(errOut, line)
		}
	}
}

// duration prints a duration rounded for a progress line.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// printTuneSummary prints the end-of-run summary.
func printTuneSummary(out io.Writer, r *core.Report, desc, workDir string) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\t%s: %s\n", r.Workload, desc)
	fmt.Fprintf(tw, "target\t%s\n", r.Target)
	fmt.Fprintf(tw, "strategy\t%s, seed %d\n", r.Strategy, r.Seed)
	samples := fmt.Sprintf("%d measured in this run (budget %d)", r.Samples, r.Budget)
	if r.PreviousSamples > 0 {
		samples += fmt.Sprintf(", %d from earlier runs", r.PreviousSamples)
	}
	fmt.Fprintf(tw, "samples\t%s\n", samples)
	cached := ""
	if r.BaselineCached {
		cached = ", cached"
	}
	fmt.Fprintf(tw, "baseline\t%s unscheduled (%.3f GFLOP/s%s)\n", seconds(r.BaselineLatencyS), core.GFLOPS(r.FLOPs, r.BaselineLatencyS), cached)
	if r.BestLatencyS != nil {
		best := fmt.Sprintf("%s, %.3f GFLOP/s, %.2f× the baseline", seconds(*r.BestLatencyS), *r.BestGFLOPS, *r.Speedup)
		if r.BestSample > 0 {
			best += fmt.Sprintf(" (sample %d)", r.BestSample)
		} else {
			best += " (from an earlier run)"
		}
		fmt.Fprintf(tw, "best\t%s\n", best)
	} else if r.Samples+r.PreviousSamples == 0 {
		fmt.Fprintf(tw, "best\tnone: no candidate was measured\n")
	} else {
		fmt.Fprintf(tw, "best\tnone: no candidate succeeded\n")
	}
	var fails []string
	for _, k := range core.FailureKinds() {
		fails = append(fails, fmt.Sprintf("%s %d", k, r.Failures[k]))
	}
	fmt.Fprintf(tw, "failures\t%s\n", strings.Join(fails, ", "))
	stop := map[string]string{
		"budget":      "budget spent",
		"exhausted":   "the design space yields no new candidate",
		"interrupted": "interrupted",
		"stopped":     "stopped by the operator",
	}[r.StopReason]
	fmt.Fprintf(tw, "stopped\t%s\n", stop)
	fmt.Fprintf(tw, "wall time\t%s\n", duration(time.Duration(r.WallS*float64(time.Second))))
	fmt.Fprintf(tw, "records\t%s\n", r.Records)
	if r.BestLatencyS != nil {
		fmt.Fprintf(tw, "next\tcolt export --workload %s --work-dir %s --out DIR\n", r.Workload, workDir)
	}
	tw.Flush()
	if len(r.Models) > 0 {
		fmt.Fprintln(out)
		mt := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(mt, "MODEL	KIND	PARAMS	CALLS	SHARE	REGULAR	HIT RATE	ERRORS	COURSE ALT.	TOKENS	COST")
		for _, m := range r.Models {
			kind := m.Kind
			if m.Simulated {
				kind = "sim (simulated)"
			}
			fmt.Fprintf(mt, "%s\t%s\t%.0fB\t%d\t%.1f%%\t%.1f%%\t%.3f\t%d\t%d\t%d\t$%.4f\n", m.Name, kind, m.ParamsB, m.Calls, 100*m.Share, 100*m.RegularShare, m.HitRate, m.Errors, m.Altered, m.Tokens, m.CostUSD)
		}
		mt.Flush()
		fmt.Fprintln(out, "SHARE counts every call; REGULAR leaves out the largest model's course-alteration calls (the paper's invocation rate).")
	}
}

// splitList splits a comma-separated list, dropping empty items and spaces.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// isTerminal reports whether a stream is a terminal (a character device), where the console
// can open.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// heldLines keeps log lines while the console owns the terminal; the cost model logs from its
// training goroutine, hence the lock.
type heldLines struct {
	mu    sync.Mutex
	lines []string
	out   io.Writer // set by flush: lines from then on are printed at once
}

func (h *heldLines) add(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	line := "colt: " + fmt.Sprintf(format, args...)
	if h.out != nil {
		fmt.Fprintln(h.out, line)
		return
	}
	h.lines = append(h.lines, line)
}

// flush prints the kept lines, and prints later ones at once.
func (h *heldLines) flush(w io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.lines {
		fmt.Fprintln(w, l)
	}
	h.lines, h.out = nil, w
}
