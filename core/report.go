package core

import (
	"encoding/json"
	"fmt"
	"os"
)

// Report is the outcome of a tuning run, as `colt tune --json-out` writes it.
type Report struct {
	// Models are the per-model statistics of the colt and mcts strategies (the paper's calls,
	// hit rate, errors and course alterations, plus share of calls, tokens, latency and cost).
	Models []ModelStat `json:"models,omitempty"`

	Workload     string `json:"workload"`
	WorkloadHash string `json:"workload_hash"`
	Target       string `json:"target"`
	Strategy     string `json:"strategy"`
	Seed         uint64 `json:"seed"`
	// Budget is the number of new candidates the run could measure; Samples the number it
	// measured (failures included); PreviousSamples the records of the same workload and
	// target that earlier runs left in the work dir (not measured again, not counted).
	Budget          int `json:"budget"`
	Samples         int `json:"samples"`
	PreviousSamples int `json:"previous_samples"`
	// FLOPs is the floating-point work of one run of the program.
	FLOPs int64 `json:"flops"`

	// BaselineLatencyS is the unscheduled program's latency; BaselineCached says it came from
	// the work dir's cache rather than a measurement in this run.
	BaselineLatencyS float64 `json:"baseline_latency_s"`
	BaselineCached   bool    `json:"baseline_cached"`
	// CandidateTimeoutS is the run timeout each candidate got.
	CandidateTimeoutS float64 `json:"candidate_timeout_s"`

	// BestLatencyS is the best latency known for the workload on the target, earlier runs
	// included (null when no candidate succeeded); BestGFLOPS its throughput, Speedup
	// BaselineLatencyS/BestLatencyS, BestHash its candidate, BestSample its index in this run's
	// history (0 when it comes from an earlier run).
	BestLatencyS *float64 `json:"best_latency_s"`
	BestGFLOPS   *float64 `json:"best_gflops"`
	Speedup      *float64 `json:"speedup"`
	BestHash     string   `json:"best_candidate_hash,omitempty"`
	BestSample   int      `json:"best_sample"`

	// Vendor is the first of Vendors (the library the console and status line compare with);
	// absent when the target has none for this workload.
	Vendor *VendorFigure `json:"vendor,omitempty"`
	// Vendors are the vendor libraries measured on the same shapes (or cached from an earlier
	// run), with the figures of the confirmation rounds when there were any.
	Vendors []VendorFigure `json:"vendors,omitempty"`
	// Confirmed is the end-of-run confirmation: the best candidates and the vendor libraries
	// timed again in interleaved rounds (absent when the run did not end normally or
	// confirmation is off).
	Confirmed *Confirmation `json:"confirmed,omitempty"`

	// Failures counts this run's failed candidates by kind: invalid, build_error, timeout,
	// crash, wrong_result (every kind present, 0 when none).
	Failures map[Status]int `json:"failures"`
	// StopReason is why the run ended.
	StopReason StopReason `json:"stop_reason"`
	// WallS is the run's wall time in seconds, baseline and reference included.
	WallS float64 `json:"wall_s"`
	// Records is the records file the candidates were appended to.
	Records string `json:"records"`
	// History has one entry per candidate measured in this run, in order.
	History []HistoryEntry `json:"history"`
}

// WriteJSON writes the report as indented JSON to path.
func (r *Report) WriteJSON(path string) error { return writeJSONFile(path, r) }

// writeJSONFile writes v as indented JSON to path, with a final newline.
func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// newReport is the report of a run from its counters.
func newReport(st Stats) *Report {
	r := &Report{Budget: st.Budget, Samples: st.Samples, PreviousSamples: st.Previous, FLOPs: st.FLOPs,
		BaselineLatencyS: st.BaselineS, BestHash: st.BestHash, BestSample: st.BestSample,
		Failures: st.value().Failures, History: st.History}
	if r.History == nil {
		r.History = []HistoryEntry{}
	}
	if st.BestS > 0 {
		r.BestLatencyS = floatPtr(st.BestS)
		r.BestGFLOPS = floatPtr(st.BestGFLOPS())
		r.Speedup = floatPtr(st.Speedup())
	}
	for _, v := range st.Vendors {
		fig := VendorFigure{Library: v.Library, LatencyS: v.LatencyS, GFLOPS: GFLOPS(st.FLOPs, v.LatencyS)}
		if st.BestS > 0 && v.LatencyS > 0 {
			fig.Ratio = floatPtr(v.LatencyS / st.BestS)
		}
		r.Vendors = append(r.Vendors, fig)
	}
	r.leadVendor()
	return r
}

// confirmed puts a confirmation into the report: the vendor figures and their ratios become
// those of the confirmation rounds, where the library and the best candidate were timed side
// by side.
func (r *Report) confirmed(c *Confirmation) {
	r.Confirmed = c
	best := c.Best()
	for i := range r.Vendors {
		v := &r.Vendors[i]
		cv := c.Vendor(v.Library)
		if cv == nil {
			continue
		}
		v.LatencyS, v.GFLOPS, v.Confirmed = cv.LatencyS, GFLOPS(r.FLOPs, cv.LatencyS), true
		v.Ratio = nil
		if best != nil {
			v.Ratio = floatPtr(cv.LatencyS / best.LatencyS)
		}
	}
}

// leadVendor sets Vendor to the first of Vendors.
func (r *Report) leadVendor() {
	r.Vendor = nil
	if len(r.Vendors) > 0 {
		v := r.Vendors[0]
		r.Vendor = &v
	}
}

// VendorFigure is a vendor library's latency next to the tuned kernel's.
type VendorFigure struct {
	Library  string  `json:"library"`
	LatencyS float64 `json:"latency_s"`
	GFLOPS   float64 `json:"gflops"`
	// Ratio is the library's latency over the best latency: above 1 the tuned kernel is
	// faster (null without a best). With Confirmed, both are medians of the confirmation
	// rounds, where they were timed side by side.
	Ratio *float64 `json:"ratio"`
	// Confirmed says the figures come from the confirmation rounds rather than the one
	// measurement at the start of the run (or of an earlier run).
	Confirmed bool `json:"confirmed,omitempty"`
}
