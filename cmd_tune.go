package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"colt/core"
	"colt/core/remote"
	"colt/tui"
)

func runTune(ctx context.Context, args []string, out, errOut io.Writer) int {
	var common serverFlags
	fs := newFlagSet("tune", "--workload NAME [--headless | --detach] [--strategy S] [--budget N] [--seed S] [--json-out FILE]", errOut)
	common.register(fs)
	name := fs.String("workload", "", "workload to tune (see 'colt workloads'); one task of a model as MODEL:TASK")
	strategy := fs.String("strategy", "", "search strategy (default: search.strategy, evolutionary):\n"+strategyHelp())
	budget := fs.Int("budget", 0, "NEW candidates to measure in this run, failures included; candidates already\nin the work dir's records are skipped and not counted; for a model, the total over\nits tasks (default: search.budget, 64)")
	taskOrder := fs.String("task-order", "", "how a model's tasks share the budget (default: search.task_order, gradient):\n"+taskOrderHelp())
	seed := fs.Uint64("seed", 0, "seed of the search's random choices (default: seed from the config, 1);\nkernel inputs always use the config seed")
	headless := fs.Bool("headless", false, "print progress lines instead of opening the console (colt runs headless anyway,\nwith a note, when standard output is not a terminal)")
	jsonOut := fs.String("json-out", "", "write the run's report (summary and per-sample history) as JSON to this file")
	models := fs.String("models", "", "colt: comma-separated [[models]] to use (default: colt.models, or all);\nmcts: the one model that expands every node (default: colt.mcts_model; none = random expansions)")
	costModel := fs.Bool("cost-model", true, "rank the evolutionary search's candidates with the learned cost model (the analytic\nestimate until it has data); false: the inherited-throughput estimate (default: costmodel.enabled)")
	sketch := fs.String("sketch", "", "search the decisions of this trace JSON file (e.g. an exported trace.json)\ninstead of the built-in design space")
	detached := fs.Bool("detach", false, "run the search in colt serve (started in the background when none runs for the\nwork dir) and return; colt attach opens the console on it")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	*name = common.defaultWorkload(*name)
	if *name == "" {
		return fail(errOut, exitUsage, "tune: --workload is required (see 'colt workloads')")
	}
	cfg, err := common.config()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	if *jsonOut != "" {
		if st, err := os.Stat(filepath.Dir(*jsonOut)); err != nil || !st.IsDir() {
			return fail(errOut, exitUsage, "tune: --json-out %s: the directory %s does not exist", *jsonOut, filepath.Dir(*jsonOut))
		}
	}
	if set["budget"] && *budget < 1 {
		return fail(errOut, exitUsage, "tune: --budget is %d, want at least 1 (the number of new candidates to measure)", *budget)
	}
	// What to run, here or in colt serve: unset flags stay nil (the configuration decides).
	spec := remote.RunSpec{Workload: *name, Strategy: *strategy, Budget: *budget}
	if set["task-order"] {
		order, err := core.ParseTaskOrder(*taskOrder)
		if err != nil {
			return fail(errOut, exitUsage, "tune: --task-order: %v", err)
		}
		spec.TaskOrder = order
	}
	if set["seed"] {
		spec.Seed = seed
	}
	if set["cost-model"] {
		spec.CostModel = costModel
	}
	if set["models"] {
		spec.Models = splitList(*models)
	}
	if *detached {
		if *sketch != "" || *jsonOut != "" || *headless {
			return fail(errOut, exitUsage, "tune: --detach runs the search in colt serve: --sketch, --json-out and --headless do not apply (colt logs RUN prints the progress lines)")
		}
		return detach(&common, cfg, spec, out, errOut)
	}
	console := !*headless && isTerminal(out) && isTerminal(os.Stdin)
	if !*headless && !console {
		fmt.Fprintln(errOut, "colt: standard output is not a terminal, so the console cannot open; running headless (pass --headless to say so and silence this note)")
	}
	// Log lines (the cost model's) go to stderr, except while the console owns the terminal:
	// then they are kept and printed when it closes, so they cannot tear its screen.
	var held heldLines
	logf := func(format string, args ...any) { fmt.Fprintf(errOut, "colt: "+format+"\n", args...) }
	if console {
		logf = held.add
	}
	opt := core.SessionOptions{Config: cfg, Workload: spec.Workload, Strategy: spec.Strategy, Budget: spec.Budget, TaskOrder: spec.TaskOrder, Seed: spec.Seed,
		Models: spec.Models, CostModel: spec.CostModel, SketchFile: *sketch, Logf: logf}
	if console {
		opt.SnapshotEvery = tui.SnapshotEvery
	}
	sess, err := core.NewSession(opt)
	if err != nil {
		if core.IsInputError(err) {
			return fail(errOut, exitUsage, "tune: %v", err)
		}
		return fail(errOut, exitFailure, "tune: %v", err)
	}
	if msg := sess.RepairNote(); msg != "" {
		fmt.Fprintln(errOut, "colt: "+msg)
	}
	var rep *core.SessionReport
	if console {
		rep, err = tui.Run(ctx, tui.RunOptions{Session: sess, In: os.Stdin, Out: out, NoColor: os.Getenv("NO_COLOR") != ""})
		held.flush(errOut)
	} else {
		rep, err = sess.Run(ctx, headlessPrinter(errOut))
	}
	if cerr := sess.Close(); cerr != nil {
		fmt.Fprintf(errOut, "colt: %v\n", cerr)
	}
	code := exitOK
	if rep != nil {
		printSessionSummary(out, sess, rep)
		if *jsonOut != "" && len(rep.Tasks) > 0 {
			if werr := rep.WriteJSON(*jsonOut); werr != nil {
				fmt.Fprintf(errOut, "colt: tune: %v\n", werr)
				code = exitFailure
			}
		}
	}
	if err != nil {
		w := sess.Workload().Name
		if errors.Is(err, core.ErrInterrupted) {
			return fail(errOut, exitFailure, "tune %s: %v; every measured candidate is recorded: rerun the same command to resume", w, err)
		}
		return fail(errOut, exitFailure, "tune %s: %v", w, err)
	}
	return code
}

// strategyHelp lists the strategies of the table, one per line, for --strategy's help.
func strategyHelp() string {
	var lines []string
	for _, s := range core.Strategies() {
		lines = append(lines, fmt.Sprintf("  %-12s %s", s.Name, s.Description))
	}
	return strings.Join(lines, "\n")
}

// taskOrderHelp lists the task orders of the table, one per line, for --task-order's help.
func taskOrderHelp() string {
	var lines []string
	for _, o := range core.TaskOrders() {
		lines = append(lines, fmt.Sprintf("  %-12s %s", o.Order, o.Description))
	}
	return strings.Join(lines, "\n")
}

// printSessionSummary prints every task's summary and, for a model, the end-to-end estimate.
func printSessionSummary(out io.Writer, sess *core.Session, rep *core.SessionReport) {
	for i, r := range rep.Tasks {
		if i > 0 {
			fmt.Fprintln(out)
		}
		printTuneSummary(out, r, sess.Describe(r.Workload), sess.WorkDir())
	}
	if !rep.Single && len(rep.Tasks) > 0 {
		fmt.Fprintln(out)
		printAllocation(out, rep)
		fmt.Fprintf(out, "model %s: %d of %d tasks tuned; end-to-end estimate (Σ weight × best latency) %s, unscheduled %s\n",
			rep.Workload, rep.TasksTuned, rep.TaskCount, core.FormatSeconds(rep.EndToEndS), core.FormatSeconds(rep.BaselineS))
	}
}

// headlessPrinter prints one progress line per sample, every note, and a status line when the
// run has waited a while without a sample, on errOut.
func headlessPrinter(errOut io.Writer) func(core.Event) {
	return func(e core.Event) {
		if line, ok := progressLine(e); ok {
			fmt.Fprintln(errOut, line)
		}
	}
}

// progressLine is the headless progress line of an event (false: the event has none). colt
// serve keeps the same lines for colt logs.
func progressLine(e core.Event) (string, bool) {
	switch e.Kind {
	case core.EventNote:
		return fmt.Sprintf("colt: %s: %s", e.Workload, e.Message), true
	case core.EventStart:
		budget := fmt.Sprintf("budget %d new candidates", e.Budget)
		if a := e.Allocation; a != nil {
			budget = fmt.Sprintf("a first round of %d samples of the model's %d (task scheduler)", e.Budget, a.Budget)
		}
		return fmt.Sprintf("colt: %s: tuning with %s search, %s; baseline %s (%.3f GFLOP/s)",
			e.Workload, e.Strategy, budget, seconds(e.BaselineS), e.BaselineGFLOPS()), true
	case core.EventSample:
		line := fmt.Sprintf("%s %-12s %10s  %s  elapsed %s  eta %s",
			progressPrefix(e), e.Sample.Status, seconds(e.Sample.LatencyS), bestText(e), duration(e.Elapsed), duration(e.ETA))
		if e.Sample.Status != core.StatusOK && e.Sample.Message != "" {
			line += "  (" + clip(e.Sample.Message, 100) + ")"
		}
		return line, true
	case core.EventWaiting:
		return fmt.Sprintf("%s waiting %s: %s  %s  elapsed %s", progressPrefix(e), duration(e.Waiting.Since), e.Waiting.Describe(), bestText(e), duration(e.Elapsed)), true
	case core.EventControl:
		return fmt.Sprintf("colt: %s: %s (%s)", e.Workload, e.Message, e.State), e.Message != ""
	case core.EventRound:
		line := fmt.Sprintf("colt: %s: %s", e.Workload, e.Message)
		if a := e.Allocation; a != nil {
			line += fmt.Sprintf(" (round %d; %.0f%% of the budget so far; end-to-end ≈ %s over %d tasks)",
				a.Round+1, 100*a.Share(e.Workload), seconds(a.EndToEndS), a.Covered)
		}
		return line, true
	}
	return "", false
}

// progressPrefix is "colt: [ 3/16]", the start of a progress line.
func progressPrefix(e core.Event) string {
	width := len(fmt.Sprint(e.Budget))
	return fmt.Sprintf("colt: [%*d/%d]", width, e.Samples, e.Budget)
}

// bestText is the best-so-far part of a progress line.
func bestText(e core.Event) string {
	if e.BestS <= 0 {
		return "best -"
	}
	text := fmt.Sprintf("best %s %.2f GFLOP/s %.2f×", seconds(e.BestS), e.BestGFLOPS(), e.Speedup())
	if r := e.VendorRatio(); r > 0 {
		text += fmt.Sprintf(" (%.2f× %s)", r, e.VendorLibrary)
	}
	return text
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

// printTuneSummary prints the end-of-run summary of one task.
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
		if *r.Speedup < 1 {
			fmt.Fprintf(tw, "warning\tthe best candidate is SLOWER than the unscheduled program (%.2f×): use the unscheduled program, or search longer\n", *r.Speedup)
		}
		if b := r.Confirmed.Best(); b != nil {
			fmt.Fprintf(tw, "confirmed\t%s median of %d rounds (%s to %s, spread %.1f%%), %.3f GFLOP/s, candidate %.12s\n",
				seconds(b.LatencyS), len(b.RoundsS), seconds(b.MinS), seconds(b.MaxS), b.SpreadPct, core.GFLOPS(r.FLOPs, b.LatencyS), b.Hash)
		}
	} else if r.Samples+r.PreviousSamples == 0 {
		fmt.Fprintf(tw, "best\tnone: no candidate was measured\n")
	} else {
		fmt.Fprintf(tw, "best\tnone: no candidate succeeded\n")
	}
	for _, v := range r.Vendors {
		line := fmt.Sprintf("%s, %.3f GFLOP/s", seconds(v.LatencyS), v.GFLOPS)
		if v.Ratio != nil {
			line += fmt.Sprintf(": the best is %.2f× %s", *v.Ratio, v.Library)
		}
		if v.Confirmed {
			line += " (confirmation rounds, timed side by side)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", v.Library, line)
	}
	var fails []string
	for _, k := range core.FailureKinds() {
		fails = append(fails, fmt.Sprintf("%s %d", k, r.Failures[k]))
	}
	fmt.Fprintf(tw, "failures\t%s\n", strings.Join(fails, ", "))
	fmt.Fprintf(tw, "stopped\t%s\n", r.StopReason.Describe())
	fmt.Fprintf(tw, "wall time\t%s\n", duration(time.Duration(r.WallS*float64(time.Second))))
	fmt.Fprintf(tw, "records\t%s\n", r.Records)
	if r.BestLatencyS != nil {
		fmt.Fprintf(tw, "next\tcolt export --workload %s --work-dir %s --out DIR\n", r.Workload, workDir)
	}
	tw.Flush()
	if len(r.Models) > 0 {
		fmt.Fprintln(out)
		mt := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(mt, "MODEL	KIND	PARAMS	CALLS	SHARE	REGULAR	HIT RATE	ERRORS	COURSE ALT.	CANCELLED	TOKENS	COST")
		for _, m := range r.Models {
			kind := m.Kind
			if m.Simulated {
				kind = "sim (simulated)"
			}
			fmt.Fprintf(mt, "%s\t%s\t%.0fB\t%d\t%.1f%%\t%.1f%%\t%.3f\t%d\t%d\t%d\t%d\t$%.4f\n", m.Name, kind, m.ParamsB, m.Calls, 100*m.Share, 100*m.RegularShare, m.HitRate, m.Errors, m.Altered, m.Cancelled, m.Tokens, m.CostUSD)
		}
		mt.Flush()
		fmt.Fprintln(out, "SHARE counts every answered call; REGULAR leaves out the largest model's course-alteration calls (the paper's invocation rate); CANCELLED calls were abandoned when the run ended.")
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
