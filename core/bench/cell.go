package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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
