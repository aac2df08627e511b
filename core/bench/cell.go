package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"colt/core"
)

// CellFile is the name of a finished cell's result in its directory; its presence marks the
// cell done.
const CellFile = "cell.json"

// CellResult is what a bench keeps of one tuning run.
type CellResult struct {
	Workload string   `json:"workload"`
	Config   string   `json:"config"`
	Strategy string   `json:"strategy"`
	Models   []string `json:"models,omitempty"`
	Budget   int      `json:"budget"`
	Seed     uint64   `json:"seed"`
	// Error is why the run failed ("" for a run that ended normally).
	Error string `json:"error,omitempty"`

	// Tasks is the number of a model's tasks tuned (0 for a single task); a model's latencies
	// and FLOPs are end-to-end: Σ weight × each task's figure.
	Tasks int `json:"tasks,omitempty"`

	FLOPs     int64   `json:"flops"`
	BaselineS float64 `json:"baseline_s"`
	// BestS is the best sample's latency; ConfirmedS the median of its confirmation rounds
	// (0 when there were none). Best reports ConfirmedS when there is one.
	BestS      float64 `json:"best_s"`
	ConfirmedS float64 `json:"confirmed_s"`
	// Vendor is the first vendor library's figure (nil when none was measured).
	Vendor *core.VendorFigure `json:"vendor,omitempty"`
	// Curve is the best latency known after each sample (0 before the first success).
	Curve   []float64        `json:"curve"`
	Samples int              `json:"samples"`
	WallS   float64          `json:"wall_s"`
	Stats   []core.ModelStat `json:"model_stats,omitempty"`
}

// Best is the run's best latency: the confirmed median when there is one (0: none).
func (c *CellResult) Best() float64 {
	if c.ConfirmedS > 0 {
		return c.ConfirmedS
	}
	return c.BestS
}

// cellResult makes a cell's result from its tuning report.
func cellResult(cell Cell, r *core.Report) *CellResult {
	res := &CellResult{Workload: cell.Workload, Config: cell.Config.Label, Strategy: cell.Config.Strategy, Models: cell.Config.Models,
		Budget: cell.Budget, Seed: cell.Seed, FLOPs: r.FLOPs, BaselineS: r.BaselineLatencyS, Samples: r.Samples, WallS: r.WallS,
		Stats: r.Models, Vendor: r.Vendor}
	if r.BestLatencyS != nil {
		res.BestS = *r.BestLatencyS
	}
	if b := r.Confirmed.Best(); b != nil {
		res.ConfirmedS = b.LatencyS
	}
	for _, h := range r.History {
		res.Curve = append(res.Curve, h.BestSoFarS)
	}
	return res
}

// modelCellResult makes a model's cell result from its session report: every latency is the
// end-to-end estimate Σ weight × the task's latency, a task without a success counting with its
// unscheduled latency, and the curve follows the samples in the order they were measured.
func modelCellResult(cell Cell, rep *core.SessionReport, wall time.Duration) *CellResult {
	res := &CellResult{Workload: cell.Workload, Config: cell.Config.Label, Strategy: cell.Config.Strategy, Models: cell.Config.Models,
		Budget: cell.Budget, Seed: cell.Seed, Tasks: len(rep.Tasks), BaselineS: rep.BaselineS, BestS: rep.EndToEndS,
		WallS: wall.Seconds(), Curve: modelCurve(rep)}
	allConfirmed := true
	vendorS, library, allVendor := 0.0, "", true
	stats := map[string]int{} // model name → index in res.Stats
	for _, t := range rep.Tasks {
		w := float64(rep.Weights[t.Workload])
		res.FLOPs += int64(rep.Weights[t.Workload]) * t.FLOPs
		res.Samples += t.Samples
		switch b := t.Confirmed.Best(); {
		case b != nil:
			res.ConfirmedS += w * b.LatencyS
		default:
			allConfirmed = false
		}
		if t.Vendor == nil || (library != "" && t.Vendor.Library != library) {
			allVendor = false
		} else {
			library = t.Vendor.Library
			vendorS += w * t.Vendor.LatencyS
		}
		for _, m := range t.Models {
			i, ok := stats[m.Name]
			if !ok {
				stats[m.Name] = len(res.Stats)
				res.Stats = append(res.Stats, core.ModelStat{Name: m.Name, Kind: m.Kind, ParamsB: m.ParamsB, Simulated: m.Simulated})
				i = len(res.Stats) - 1
			}
			s := &res.Stats[i]
			s.Calls += m.Calls
			s.Hits += m.Hits
			s.Errors += m.Errors
			s.Failures += m.Failures
			s.Cancelled += m.Cancelled
			s.Altered += m.Altered
			s.Escalations += m.Escalations
			s.Tokens += m.Tokens
			s.CostUSD += m.CostUSD
		}
	}
	if !allConfirmed {
		res.ConfirmedS = 0 // a sum of confirmed and unconfirmed figures is neither
	}
	if allVendor && vendorS > 0 {
		v := &core.VendorFigure{Library: library, LatencyS: vendorS}
		if best := res.Best(); best > 0 {
			ratio := vendorS / best
			v.Ratio = &ratio
			v.GFLOPS = float64(res.FLOPs) / vendorS / 1e9
		}
		res.Vendor = v
	}
	return res
}

// modelCurve is a model's end-to-end estimate after each sample, the samples taken in the
// order the task scheduler's rounds measured them (the tasks in order for the sequential
// order).
func modelCurve(rep *core.SessionReport) []float64 {
	type step struct {
		task    string
		samples int
	}
	var steps []step
	for _, r := range rep.Rounds {
		steps = append(steps, step{r.Task, r.Samples})
	}
	if len(steps) == 0 {
		for _, t := range rep.Tasks {
			steps = append(steps, step{t.Workload, len(t.History)})
		}
	}
	tasks := map[string]*core.Report{}
	latency := map[string]float64{} // each task's best so far, its unscheduled latency before
	next := map[string]int{}        // each task's next history entry
	total := 0.0
	for _, t := range rep.Tasks {
		tasks[t.Workload], latency[t.Workload] = t, t.BaselineLatencyS
		total += float64(rep.Weights[t.Workload]) * t.BaselineLatencyS
	}
	var curve []float64
	for _, s := range steps {
		t := tasks[s.task]
		if t == nil {
			continue
		}
		for range s.samples {
			i := next[s.task]
			if i >= len(t.History) {
				break
			}
			next[s.task]++
			if b := t.History[i].BestSoFarS; b > 0 && b != latency[s.task] {
				total += float64(rep.Weights[s.task]) * (b - latency[s.task])
				latency[s.task] = b
			}
			curve = append(curve, total)
		}
	}
	return curve
}

// dir is the cell's work dir under the bench's output directory.
func (c Cell) dir(out string) string {
	return filepath.Join(out, "cells", c.Workload, c.Config.Label, "b"+strconv.Itoa(c.Budget)+"-s"+strconv.FormatUint(c.Seed, 10))
}

// readCell reads a finished cell's result (false when the cell has not finished).
func readCell(dir string) (*CellResult, bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, CellFile))
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var res CellResult
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, false, fmt.Errorf("%s: %w (delete the file to run the cell again)", filepath.Join(dir, CellFile), err)
	}
	return &res, true, nil
}

// writeCell writes a cell's result atomically: a bench killed while writing leaves the cell
// unfinished, never half-written.
func writeCell(dir string, res *CellResult) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, CellFile+".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, CellFile))
}
