package core

import (
	"encoding/json"
	"fmt"
	"math"
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

	// Failures counts this run's failed candidates by kind: invalid, build_error, timeout,
	// crash, wrong_result (every kind present, 0 when none).
	Failures map[string]int `json:"failures"`
	// StopReason is why the run ended: "budget" (all samples measured), "exhausted" (no new
	// candidate in search.max_empty_batches batches in a row), "stopped" (the operator
	// stopped it) or "interrupted".
	StopReason string `json:"stop_reason"`
	// WallS is the run's wall time in seconds, baseline and reference included.
	WallS float64 `json:"wall_s"`
	// Records is the records file the candidates were appended to.
	Records string `json:"records"`
	// History has one entry per candidate measured in this run, in order.
	History []HistoryEntry `json:"history"`
}

// HistoryEntry is one measured candidate of a run.
type HistoryEntry struct {
	Sample     int      `json:"sample"`
	Status     string   `json:"status"`
	LatencyS   *float64 `json:"latency_s"`
	BestSoFarS *float64 `json:"best_so_far_s"`
	Hash       string   `json:"candidate_hash"`
	Proposer   string   `json:"proposer,omitempty"`
	Mutator    string   `json:"mutator,omitempty"`
	Message    string   `json:"message,omitempty"`
}

// FailureKinds are the statuses of failed candidates, in the order reports list them.
func FailureKinds() []string {
	return []string{"invalid", "build_error", "timeout", "crash", "wrong_result"}
}

// WriteJSON writes the report as indented JSON to path.
func (r *Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// floatPtr returns a pointer to v, or nil when v is not a positive finite number (JSON null).
func floatPtr(v float64) *float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// GFLOPS is the throughput of a program of flops floating-point operations running in s seconds.
func GFLOPS(flops int64, s float64) float64 {
	if !(s > 0) {
		return 0
	}
	return float64(flops) / s / 1e9
}
