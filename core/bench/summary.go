package bench

import (
	"cmp"
	"slices"
	"sort"
)

// Row is one configuration on one workload at one budget, over its seeds.
type Row struct {
	Workload, Config string
	Budget           int
	// Tasks is the number of a model's tasks (0 for a single task): its latencies are
	// end-to-end estimates.
	Tasks int
	// Runs are the cells that finished without an error; Failed counts the others and Errors
	// holds their messages.
	Runs   []*CellResult
	Failed int
	Errors []string
	// BestS are the runs' best latencies (confirmed medians where there are); Median, Min
	// and Max summarise them (0 when no run found a best).
	BestS                        []float64
	MedianS, MinS, MaxS          float64
	GFLOPS, Speedup              float64 // at the median best
	VendorLibrary                string
	VendorRatio                  float64 // median of the runs' vendor latency / best (0: none)
	SamplesTo90                  float64 // median over runs of the first sample within 90% of the run's final best
	WallS                        float64 // median
	Models                       []ModelUse
	LargestShare, AlterationRate float64 // over all runs' calls (0 without model calls)
	Simulated                    bool    // a model of the configuration is simulated
}

// ModelUse is one model's calls over a row's runs, per run on average.
type ModelUse struct {
	Name          string
	ParamsB       float64
	Calls, Tokens float64
	CostUSD       float64
	Simulated     bool
}

// Summarize groups the cells into rows: by workload, budget and configuration in the grid's
// order. Cells not run yet (nil) are left out.
func Summarize(g Grid, cells []*CellResult) []Row {
	byKey := map[rowKey][]*CellResult{}
	for _, c := range cells {
		if c != nil {
			k := rowKey{c.Workload, c.Config, c.Budget}
			byKey[k] = append(byKey[k], c)
		}
	}
	var rows []Row
	for _, w := range g.Workloads {
		for _, b := range g.Budgets {
			for _, conf := range g.Configs {
				if runs := byKey[rowKey{w, conf.Label, b}]; len(runs) > 0 {
					rows = append(rows, summarize(w, conf.Label, b, runs))
				}
			}
		}
	}
	return rows
}

// rowKey identifies a row: workload, configuration label, budget.
type rowKey struct {
	workload, config string
	budget           int
}

// summarize is one row from its cells.
func summarize(w, conf string, budget int, cells []*CellResult) Row {
	r := Row{Workload: w, Config: conf, Budget: budget}
	var ratios, to90, walls []float64
	models := map[string]*ModelUse{}
	calls, altered := 0, 0
	for _, c := range cells {
		if c.Error != "" {
			r.Failed++
			r.Errors = append(r.Errors, c.Error)
			continue
		}
		r.Runs = append(r.Runs, c)
		walls = append(walls, c.WallS)
		if best := c.Best(); best > 0 {
			r.BestS = append(r.BestS, best)
			if c.Vendor != nil && c.Vendor.Ratio != nil {
				ratios = append(ratios, *c.Vendor.Ratio)
				r.VendorLibrary = c.Vendor.Library
			}
		}
		if n := samplesTo90(c.Curve); n > 0 {
			to90 = append(to90, float64(n))
		}
		for _, m := range c.Stats {
			u := models[m.Name]
			if u == nil {
				u = &ModelUse{Name: m.Name, ParamsB: m.ParamsB, Simulated: m.Simulated}
				models[m.Name] = u
			}
			u.Calls += float64(m.Calls)
			u.Tokens += float64(m.Tokens)
			u.CostUSD += m.CostUSD
			calls += m.Calls
			altered += m.Altered
			r.Simulated = r.Simulated || m.Simulated
		}
	}
	if len(r.BestS) > 0 {
		r.MedianS, r.MinS, r.MaxS = median(r.BestS), slices.Min(r.BestS), slices.Max(r.BestS)
		first := r.Runs[0]
		r.Tasks = first.Tasks
		if r.MedianS > 0 {
			r.GFLOPS = float64(first.FLOPs) / r.MedianS / 1e9
			r.Speedup = first.BaselineS / r.MedianS
		}
	}
	r.VendorRatio, r.SamplesTo90, r.WallS = median(ratios), median(to90), median(walls)
	if n := float64(len(r.Runs)); n > 0 {
		for _, u := range models {
			u.Calls, u.Tokens, u.CostUSD = u.Calls/n, u.Tokens/n, u.CostUSD/n
			r.Models = append(r.Models, *u)
		}
	}
	// Largest model first, then by name.
	slices.SortFunc(r.Models, func(a, b ModelUse) int {
		return cmp.Or(cmp.Compare(b.ParamsB, a.ParamsB), cmp.Compare(a.Name, b.Name))
	})
	if calls > 0 {
		r.LargestShare = r.Models[0].Calls * float64(len(r.Runs)) / float64(calls)
		r.AlterationRate = float64(altered) / float64(calls)
	}
	return r
}

// samplesTo90 is the first sample whose best-so-far latency is within 90% of the run's final
// best (throughput at least 0.9 × the final one); 0 without a best.
func samplesTo90(curve []float64) int {
	if len(curve) == 0 || curve[len(curve)-1] <= 0 {
		return 0
	}
	final := curve[len(curve)-1]
	for i, v := range curve {
		if v > 0 && final/v >= 0.9 {
			return i + 1
		}
	}
	return len(curve)
}

// median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
