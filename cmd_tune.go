package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
	var strat core.Strategy
	if *strategy != "colt" && *strategy != "mcts" {
		if strat, err = core.NewStrategy(*strategy, cfg.Search, nil); err != nil {
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
	if !w.IsSingle() {
		return fail(errOut, exitUsage, "tune: %s is a model of %d tasks; tune one task at a time (e.g. --workload %s:%s); whole-model tuning lands in a later release",
			w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
	}
	var sketches []schedule.Sketch
	if *sketch != "" {
		t, err := readTrace(*sketch)
		if err != nil {
			return fail(errOut, exitUsage, "tune: --sketch %v", err)
		}
		sketches = []schedule.Sketch{{Name: filepath.Base(*sketch), Trace: t}}
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
	var model *scoring.CostModel
	tree := *strategy == "colt" || *strategy == "mcts"
	if (*costModel && *strategy == "evolutionary") || tree {
		// The tree searches always score rollouts with the cost model.
		f := w.Tasks[0].Func()
		model = core.OpenCostModel(cfg, be.Target(), cat, func(format string, args ...any) {
			fmt.Fprintf(errOut, "colt: "+format+"\n", args...)
		})
		scorer := core.NewCostModelScorer(model, schedule.StructuralHash(f))
		if tree {
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
			strat, err = core.NewColtStrategy(*strategy, cfg, cfg.Colt.MCTSModel, scorer, os.Getenv)
		} else {
			strat, err = core.NewStrategy(*strategy, cfg.Search, scorer)
		}
		if err != nil {
			return fail(errOut, exitUsage, "tune: %v", err)
		}
	}
	opts := core.TuneOptions{
		Workload: w, Backend: be, Store: store, WorkDir: cfg.WorkDir, Strategy: strat,
		Budget: *budget, Seed: *seed, Search: cfg.Search, Sketches: sketches,
		OnEvent: headlessPrinter(errOut),
	}
	var rep *core.Report
	if console {
		rep, err = tui.Run(ctx, tui.RunOptions{Tune: opts, In: os.Stdin, Out: out, NoColor: os.Getenv("NO_COLOR") != ""})
	} else {
		var tuner *core.Tuner
		if tuner, err = core.NewTuner(opts); err != nil {
			return fail(errOut, exitUsage, "tune: %v", err)
		}
		rep, err = tuner.Run(ctx)
	}
	if model != nil {
		// A training started by the last batch finishes and is saved for the next run.
		if werr := model.Wait(); werr != nil {
			fmt.Fprintf(errOut, "colt: cost model: the last training failed: %v\n", werr)
		}
	}
	code := exitOK
	if rep != nil {
		printTuneSummary(out, rep, w.Description, cfg.WorkDir)
		if *jsonOut != "" {
			if werr := rep.WriteJSON(*jsonOut); werr != nil {
				fmt.Fprintf(errOut, "colt: tune: %v\n", werr)
				code = exitFailure
			}
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
