package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"colt/core"
	"colt/core/bench"
)

// defaultBenchConfigs is --configs' default: every strategy with the configured models.
func defaultBenchConfigs() string { return strings.Join(core.StrategyNames(), ",") }

func runBench(ctx context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("bench", "[--preset P] [--workloads A,B] [--configs C,…] [--budgets N,…] [--seeds S,…] [--out DIR]", errOut)
	common.register(fs)
	preset := fs.String("preset", "", "a preset grid of workloads and configurations:\n"+presetHelp())
	workloadList := fs.String("workloads", "", "comma-separated workloads: tasks, or models tuned whole (default: the preset's)")
	configs := fs.String("configs", "", "comma-separated configurations, each [LABEL=]STRATEGY[@TASK_ORDER][:MODEL+MODEL…], e.g.\nevolutionary,colt(2)=colt:sim-gpt-5.2+sim-gpt-5-mini,mcts:sim-gpt-5.2,evolutionary@sequential\n(default: the preset's, else "+defaultBenchConfigs()+")")
	budgets := fs.String("budgets", "", "comma-separated budgets (default: the preset's, else search.budget)")
	seeds := fs.String("seeds", "1", "comma-separated seeds")
	outDir := fs.String("out", "", "the bench's directory: cell work dirs, shared caches, bench.md, bench.csv,\nplots/ (default: WORK_DIR/bench)")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	cfg, err := common.config()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	grid, err := benchGrid(cfg, *preset, *workloadList, *configs, *budgets, *seeds)
	if err != nil {
		return fail(errOut, exitUsage, "bench: %v", err)
	}
	dir := *outDir
	if dir == "" {
		dir = filepath.Join(cfg.WorkDir, "bench")
	}
	progress := newBenchProgress(errOut, isTerminal(errOut))
	cells, runErr := bench.Run(ctx, bench.Options{Config: cfg, Out: dir, Grid: grid, Progress: progress.update})
	progress.finish()
	if cells == nil && runErr != nil {
		return fail(errOut, exitUsage, "%v", runErr)
	}
	rows := bench.Summarize(grid, cells)
	paths, werr := writeBenchOutputs(dir, rows)
	if err := bench.WriteMarkdown(out, rows); err != nil && werr == nil {
		werr = err
	}
	fmt.Fprintf(out, "\nbench: %s\n", strings.Join(paths, ", "))
	switch {
	case runErr != nil && errors.Is(runErr, core.ErrInterrupted):
		return fail(errOut, exitFailure, "%v", runErr)
	case runErr != nil:
		return fail(errOut, exitFailure, "bench: %v (the finished cells are kept: run the same command to continue)", runErr)
	case werr != nil:
		return fail(errOut, exitFailure, "bench: %v", werr)
	}
	return exitOK
}

// benchGrid builds the grid from the preset and the flags (flags win over the preset).
func benchGrid(cfg core.Config, preset, workloadList, configs, budgets, seeds string) (bench.Grid, error) {
	var g bench.Grid
	if preset != "" {
		p, err := bench.LookupPreset(preset)
		if err != nil {
			return g, err
		}
		var models []bench.Model
		for _, m := range cfg.Models {
			if len(cfg.Colt.Models) == 0 || slices.Contains(cfg.Colt.Models, m.Name) {
				models = append(models, bench.Model{Name: m.Name, ParamsB: m.ParamsB})
			}
		}
		if g.Workloads, g.Configs, err = p.Grid(models); err != nil {
			return g, err
		}
		g.Budgets = p.Budgets
	}
	if workloadList != "" {
		g.Workloads = splitList(workloadList)
	}
	if len(g.Workloads) == 0 {
		return g, errors.New("--workloads is required without --preset (see 'colt workloads')")
	}
	if configs == "" && len(g.Configs) == 0 {
		configs = defaultBenchConfigs()
	}
	if configs != "" {
		var err error
		if g.Configs, err = bench.ParseConfigurations(configs); err != nil {
			return g, fmt.Errorf("--configs: %w", err)
		}
	}
	if budgets != "" {
		g.Budgets = nil
		for _, s := range splitList(budgets) {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return g, fmt.Errorf("--budgets: %q is not a budget (a whole number ≥ 1)", s)
			}
			g.Budgets = append(g.Budgets, n)
		}
	}
	if len(g.Budgets) == 0 {
		g.Budgets = []int{cfg.Search.Budget}
	}
	for _, s := range splitList(seeds) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return g, fmt.Errorf("--seeds: %q is not a seed (a whole number ≥ 0)", s)
		}
		g.Seeds = append(g.Seeds, n)
	}
	return g, g.Check()
}

// presetHelp lists the presets, one per line, for --preset's help.
func presetHelp() string {
	var lines []string
	for _, p := range bench.Presets() {
		lines = append(lines, fmt.Sprintf("  %-8s %s", p.Name, p.Description))
	}
	return strings.Join(lines, "\n")
}

// writeBenchOutputs writes bench.md, bench.csv and the plots into dir and returns their paths.
func writeBenchOutputs(dir string, rows []bench.Row) ([]string, error) {
	var paths []string
	for _, f := range []struct {
		name  string
		write func(io.Writer, []bench.Row) error
	}{{"bench.md", bench.WriteMarkdown}, {"bench.csv", bench.WriteCSV}} {
		path := filepath.Join(dir, f.name)
		file, err := os.Create(path)
		if err != nil {
			return paths, err
		}
		werr := f.write(file, rows)
		if cerr := file.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return paths, fmt.Errorf("%s: %w", path, werr)
		}
		paths = append(paths, path)
	}
	plots, err := bench.WritePlots(filepath.Join(dir, "plots"), rows)
	return append(paths, plots...), err
}

// benchProgress prints a bench's progress on errOut: on a terminal a bar redrawn in place at
// most 4 times a second, else a line when a cell starts and when it ends.
type benchProgress struct {
	out      io.Writer
	terminal bool
	last     time.Time
	cell     *bench.Cell
	drawn    bool
}

func newBenchProgress(out io.Writer, terminal bool) *benchProgress {
	return &benchProgress{out: out, terminal: terminal}
}

func (b *benchProgress) update(p bench.Progress) {
	if !b.terminal {
		switch {
		case p.Cell != nil && p.Cell != b.cell:
			fmt.Fprintf(b.out, "colt: bench %d/%d: %s%s\n", p.Done+1, p.Cells, cellName(p.Cell), etaText(p))
		case p.Cell == nil && b.cell != nil:
			fmt.Fprintf(b.out, "colt: bench %d/%d done (elapsed %s)\n", p.Done, p.Cells, p.Elapsed.Round(time.Second))
		}
		b.cell = p.Cell
		return
	}
	if time.Since(b.last) < 250*time.Millisecond && p.Cell == b.cell && p.Cell != nil {
		return
	}
	b.last, b.cell = time.Now(), p.Cell
	const width = 24
	filled := 0
	if p.Cells > 0 {
		filled = width * p.Done / p.Cells
	}
	line := fmt.Sprintf("bench [%s%s] %d/%d cells  elapsed %s%s", strings.Repeat("█", filled), strings.Repeat("░", width-filled),
		p.Done, p.Cells, p.Elapsed.Round(time.Second), etaText(p))
	if p.Cell != nil {
		line += fmt.Sprintf("  %s %d/%d", cellName(p.Cell), p.Samples, p.Cell.Budget)
	}
	fmt.Fprintf(b.out, "\r\x1b[K%s", line)
	b.drawn = true
}

// finish ends the bar's line.
func (b *benchProgress) finish() {
	if b.drawn {
		fmt.Fprintln(b.out)
	}
}

func cellName(c *bench.Cell) string {
	return fmt.Sprintf("%s %s budget %d seed %d", c.Workload, c.Config.Label, c.Budget, c.Seed)
}

func etaText(p bench.Progress) string {
	if p.ETA <= 0 {
		return ""
	}
	return "  eta " + p.ETA.Round(time.Second).String()
}
