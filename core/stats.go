package core

import (
	"encoding/json"
	"maps"
	"math"
)

// Stats are the counters of one task's run: samples, the baseline, the best program, failures
// by class and the per-sample history. The measuring side keeps the one copy; the report, every
// event and the console read values of it.
type Stats struct {
	// Budget is how many new candidates the run may measure; Samples how many it has measured
	// (failures included); Previous the records of the same workload and target that earlier
	// runs left in the work dir (not measured again, not counted).
	Budget, Samples, Previous int
	// FLOPs is the floating-point work of one run of the program.
	FLOPs int64
	// BaselineS is the unscheduled program's latency (0 until known).
	BaselineS float64
	// Vendors are the vendor libraries' latencies on the same shapes, in the backend's order
	// of preference (none when the target has no library for these shapes or none could be
	// measured); VendorS and VendorLibrary repeat the first's.
	Vendors       []VendorLatency
	VendorS       float64
	VendorLibrary string
	// BestS is the best latency known, earlier runs included (0 = none yet); BestHash its
	// candidate; BestSample its index in this run's history (0 when it comes from an earlier
	// run).
	BestS      float64
	BestHash   string
	BestSample int
	// Failures counts this run's failed candidates by status.
	Failures map[Status]int
	// History has one entry per candidate measured in this run, in order. The slice is shared
	// between values of Stats: read it, never change or append to it.
	History []HistoryEntry
}

// newStats are the counters of a run before anything is measured: every failure class at 0.
func newStats(budget, previous int, flops int64) Stats {
	s := Stats{Budget: budget, Previous: previous, FLOPs: flops, Failures: map[Status]int{}}
	for _, k := range FailureKinds() {
		s.Failures[k] = 0
	}
	return s
}

// BestGFLOPS is the best program's throughput (0 without one).
func (s Stats) BestGFLOPS() float64 { return GFLOPS(s.FLOPs, s.BestS) }

// BaselineGFLOPS is the unscheduled program's throughput (0 until measured).
func (s Stats) BaselineGFLOPS() float64 { return GFLOPS(s.FLOPs, s.BaselineS) }

// Speedup is BaselineS / BestS (0 while either is unknown).
func (s Stats) Speedup() float64 {
	if !(s.BestS > 0) || !(s.BaselineS > 0) {
		return 0
	}
	return s.BaselineS / s.BestS
}

// VendorRatio is VendorS / BestS: above 1 the tuned kernel beats the vendor library (0 while
// either is unknown).
func (s Stats) VendorRatio() float64 {
	if !(s.BestS > 0) || !(s.VendorS > 0) {
		return 0
	}
	return s.VendorS / s.BestS
}

// VendorLatency is a vendor library's latency on a task's shapes.
type VendorLatency struct {
	Library  string
	LatencyS float64
}

// add counts one measured candidate: history, failures and the best program.
func (s *Stats) add(h HistoryEntry) {
	s.Samples = h.Sample
	if h.Status != StatusOK {
		s.Failures[h.Status]++
	} else if s.BestS == 0 || h.LatencyS < s.BestS {
		s.BestS, s.BestHash, s.BestSample = h.LatencyS, h.Hash, h.Sample
	}
	h.BestSoFarS = s.BestS
	s.History = append(s.History, h)
}

// value is a copy a reader may keep: its own failure map and a history it cannot append into.
func (s Stats) value() Stats {
	s.Failures = maps.Clone(s.Failures)
	s.History = s.History[:len(s.History):len(s.History)]
	return s
}

// HistoryEntry is one measured candidate of a run.
type HistoryEntry struct {
	// Sample is the 1-based index of the candidate in this run.
	Sample int
	Status Status
	// LatencyS is the measured latency (0 unless ok); BestSoFarS the best known after it.
	LatencyS, BestSoFarS float64
	// Hash is the candidate's structural hash; Proposer who proposed it (a strategy or a
	// model) and Mutator the transformations that made it from its parent.
	Hash, Proposer, Mutator string
	// Message says why a failed candidate failed.
	Message string
	// BuildS is the candidate's compile time in seconds (0 when the build cache answered).
	BuildS float64
}

// historyJSON is HistoryEntry as reports write it: latencies null when there are none.
type historyJSON struct {
	Sample     int      `json:"sample"`
	Status     Status   `json:"status"`
	LatencyS   *float64 `json:"latency_s"`
	BestSoFarS *float64 `json:"best_so_far_s"`
	Hash       string   `json:"candidate_hash"`
	Proposer   string   `json:"proposer,omitempty"`
	Mutator    string   `json:"mutator,omitempty"`
	Message    string   `json:"message,omitempty"`
	BuildS     float64  `json:"build_s,omitempty"`
}

// MarshalJSON writes the entry with null latencies where there are none.
func (h HistoryEntry) MarshalJSON() ([]byte, error) {
	return json.Marshal(historyJSON{Sample: h.Sample, Status: h.Status, LatencyS: floatPtr(h.LatencyS), BestSoFarS: floatPtr(h.BestSoFarS),
		Hash: h.Hash, Proposer: h.Proposer, Mutator: h.Mutator, Message: h.Message, BuildS: h.BuildS})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (h *HistoryEntry) UnmarshalJSON(data []byte) error {
	var j historyJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*h = HistoryEntry{Sample: j.Sample, Status: j.Status, Hash: j.Hash, Proposer: j.Proposer, Mutator: j.Mutator, Message: j.Message}
	if j.LatencyS != nil {
		h.LatencyS = *j.LatencyS
	}
	if j.BestSoFarS != nil {
		h.BestSoFarS = *j.BestSoFarS
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
