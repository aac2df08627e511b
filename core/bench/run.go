package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"colt/core"
)

// Options say what a bench runs and where it writes.
type Options struct {
	// Config is the loaded configuration; its work dir is not used (every cell has its own).
	Config core.Config
	// Out is the bench's directory: the cells' work dirs, the shared caches and the outputs.
	Out  string
	Grid Grid
	// Getenv reads API keys (nil: os.Getenv).
	Getenv func(string) string
	// Progress, when set, receives the bench's progress, one call at a time (from the bench's
	// goroutines): it must return quickly.
	Progress func(Progress)
}

// Progress is where a bench stands.
type Progress struct {
	// Cells is the grid's size; Done the cells finished, Resumed those of them found finished
	// on disk when the bench started.
	Cells, Done, Resumed int
	// Cell is the cell running (nil once the bench has ended); Samples how far it is.
	Cell    *Cell
	Samples int
	// Elapsed is the bench's time so far; ETA the estimated time left (0: unknown yet).
	Elapsed, ETA time.Duration
}

// Run runs every cell of the grid that has not finished yet, in order, and returns every
// cell's result. A cell that fails is kept with its error and the bench goes on; when ctx
// ends, the cell under way is abandoned (its directory is cleared when the bench resumes) and
// Run returns the results so far with an error wrapping core.ErrInterrupted.
func Run(ctx context.Context, opt Options) ([]*CellResult, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	cells := opt.Grid.Cells()
	results := make([]*CellResult, len(cells))
	p := Progress{Cells: len(cells)}
	for i, c := range cells {
		res, ok, err := readCell(c.dir(opt.Out))
		if err != nil {
			return nil, err
		}
		if ok {
			results[i] = res
			p.Done++
			p.Resumed++
		}
	}
	start := time.Now()
	ranSamples := 0 // measured by the cells this bench ran, for the ETA
	var mu sync.Mutex
	// report changes the bench's state under its lock (the running cell's samples arrive from
	// the tuner's goroutines) and passes the progress on.
	report := func(update func(*Progress)) {
		mu.Lock()
		update(&p)
		p.Elapsed = time.Since(start)
		p.ETA = eta(p.Elapsed, ranSamples+p.Samples, cells, results, p.Samples)
		if opt.Progress != nil {
			opt.Progress(p)
		}
		mu.Unlock()
	}
	for i, c := range cells {
		if results[i] != nil {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		report(func(p *Progress) { p.Cell, p.Samples = &cells[i], 0 })
		res, err := runCell(ctx, opt, c, func(samples int) { report(func(p *Progress) { p.Samples = samples }) })
		if err != nil {
			if errors.Is(err, core.ErrInterrupted) || ctx.Err() != nil {
				break
			}
			return results, err
		}
		report(func(p *Progress) {
			results[i] = res
			ranSamples += res.Samples
			p.Done++
			p.Cell, p.Samples = nil, 0
		})
	}
	report(func(p *Progress) { p.Cell = nil })
	if ctx.Err() != nil {
		return results, fmt.Errorf("bench %w: %d of %d cells finished; run the same command to continue: %v", core.ErrInterrupted, p.Done, p.Cells, ctx.Err())
	}
	return results, nil
}

// eta estimates the time left from the pace of the samples this bench has measured: the
// budgets of the cells not finished, less what the running one has measured.
func eta(elapsed time.Duration, measured int, cells []Cell, results []*CellResult, runningSamples int) time.Duration {
	if measured == 0 {
		return 0
	}
	left := -runningSamples
	for i, c := range cells {
		if results[i] == nil {
			left += c.Budget
		}
	}
	return elapsed / time.Duration(measured) * time.Duration(max(left, 0))
}

// check validates the options before anything runs: the grid, the configurations' models,
// and that the catalog knows every workload.
func (opt Options) check() error {
	if opt.Out == "" {
		return errors.New("bench: no output directory")
	}
	if err := opt.Grid.Check(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	known := map[string]bool{}
	var names []string
	for _, m := range opt.Config.Models {
		known[m.Name] = true
		names = append(names, m.Name)
	}
	for _, c := range opt.Grid.Configs {
		for _, m := range c.Models {
			if !known[m] {
				return fmt.Errorf("bench: configuration %s: no model %q in the configuration's [[models]] (%s)", c.Label, m, strings.Join(names, ", "))
			}
		}
		if c.Strategy == "mcts" && len(c.Models) > 1 {
			return fmt.Errorf("bench: configuration %s: mcts expands with one model, found %d", c.Label, len(c.Models))
		}
		if len(c.Models) > 0 && c.Strategy != "colt" && c.Strategy != "mcts" {
			return fmt.Errorf("bench: configuration %s: the %s strategy uses no models", c.Label, c.Strategy)
		}
	}
	cat, err := opt.Config.Catalog()
	if err != nil {
		return err
	}
	for _, name := range opt.Grid.Workloads {
		if _, err := cat.Get(name); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}

// runCell runs one cell in a fresh work dir that shares the workload's baselines, references
// and vendor figures (and the build cache) with the bench's other cells.
func runCell(ctx context.Context, opt Options, c Cell, onSample func(int)) (*CellResult, error) {
	dir := c.dir(opt.Out)
	// What an abandoned run left would warm-start this one: start afresh.
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	shared := filepath.Join(opt.Out, "shared", c.Workload)
	for _, sub := range []string{core.BaselinesDir, "cache"} {
		target, err := filepath.Abs(filepath.Join(shared, sub))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Symlink(target, filepath.Join(dir, sub)); err != nil {
			return nil, err
		}
	}
	cfg := opt.Config
	cfg.WorkDir = dir
	seed := c.Seed
	sopt := core.SessionOptions{Config: cfg, Workload: c.Workload, Strategy: c.Config.Strategy, Budget: c.Budget, Seed: &seed,
		TaskOrder: c.Config.TaskOrder, ProgressEvery: -1, Getenv: opt.Getenv}
	if len(c.Config.Models) > 0 {
		sopt.Models = c.Config.Models
	}
	sess, err := core.NewSession(sopt)
	if err != nil {
		return nil, fmt.Errorf("bench: %s %s: %w", c.Workload, c.Config.Label, err)
	}
	start, measured := time.Now(), 0
	rep, runErr := sess.Run(ctx, func(e core.Event) {
		if e.Kind == core.EventSample {
			measured++ // over all of a model's tasks
			onSample(measured)
		}
	})
	wall := time.Since(start)
	if cerr := sess.Close(); cerr != nil && runErr == nil {
		runErr = cerr
	}
	if errors.Is(runErr, core.ErrInterrupted) || ctx.Err() != nil {
		return nil, fmt.Errorf("%w", core.ErrInterrupted)
	}
	res := &CellResult{Workload: c.Workload, Config: c.Config.Label, Strategy: c.Config.Strategy, Models: c.Config.Models, Budget: c.Budget, Seed: c.Seed}
	if rep != nil && len(rep.Tasks) > 0 {
		if rep.Single {
			res = cellResult(c, rep.Tasks[0])
		} else {
			res = modelCellResult(c, rep, wall)
		}
		if err := rep.WriteJSON(filepath.Join(dir, "report.json")); err != nil {
			return nil, err
		}
	}
	if runErr != nil {
		res.Error = runErr.Error()
	} else if res.BaselineS == 0 {
		res.Error = "the run ended without a report"
	}
	if err := writeCell(dir, res); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", dir, err)
	}
	return res, nil
}
