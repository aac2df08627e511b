package core

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"colt/backend"
	"colt/schedule"
)

// Confirmation is the end-of-run check of the figures a report leads with: the best few
// candidates timed again in several rounds, interleaved with the vendor libraries, so the
// best's latency is a median with its spread rather than one lucky sample, and the ratio to a
// library compares figures taken minutes, not a run, apart.
type Confirmation struct {
	// Rounds is how many times each was timed (each time the full timing protocol).
	Rounds int `json:"rounds"`
	// Candidates are the best candidates of the workload on the target, fastest first by
	// their median over the rounds.
	Candidates []ConfirmedFigure `json:"candidates"`
	// Vendors are the vendor libraries timed in the same rounds.
	Vendors []ConfirmedFigure `json:"vendors,omitempty"`
}

// ConfirmedFigure is one program's latency over the confirmation rounds.
type ConfirmedFigure struct {
	// Hash is a candidate's hash; Library a vendor library's name.
	Hash    string `json:"candidate_hash,omitempty"`
	Library string `json:"library,omitempty"`
	// LatencyS is the median of the rounds' latencies; MinS and MaxS their range, SpreadPct
	// that range as a percentage of the median.
	LatencyS  float64   `json:"latency_s"`
	MinS      float64   `json:"min_s"`
	MaxS      float64   `json:"max_s"`
	SpreadPct float64   `json:"spread_pct"`
	RoundsS   []float64 `json:"rounds_s"`
	// Failed says why it could not be timed in some round (it then has no latency).
	Failed string `json:"failed,omitempty"`
}

// Best is the fastest confirmed candidate, or nil.
func (c *Confirmation) Best() *ConfirmedFigure {
	if c == nil || len(c.Candidates) == 0 || c.Candidates[0].Failed != "" {
		return nil
	}
	return &c.Candidates[0]
}

// Vendor is the confirmed figure of a library, or nil.
func (c *Confirmation) Vendor(library string) *ConfirmedFigure {
	if c == nil {
		return nil
	}
	for i := range c.Vendors {
		if c.Vendors[i].Library == library && c.Vendors[i].Failed == "" {
			return &c.Vendors[i]
		}
	}
	return nil
}

// confirmEntry is one program of the confirmation: a built candidate or a vendor library.
type confirmEntry struct {
	figure ConfirmedFigure
	built  []backend.Built // a candidate's build; nil for a vendor library
}

// confirm times the top candidates of the run's workload (earlier runs' included) again,
// rounds times, interleaved with the vendor libraries that have a figure, each round in a
// rotated order so that no program always runs first. It returns nil when there is nothing
// to confirm or the run ends meanwhile.
func (m *measurer) confirm(top, rounds int, libraries []string) *Confirmation {
	r := m.r
	if top < 1 || rounds < 1 || m.ref == nil {
		return nil
	}
	ctx, be := r.ctx, r.opt.Backend
	var recs []Record
	for _, rec := range r.opt.Store.Records(r.workloadHash, r.target) {
		if usableLatency(rec) {
			recs = append(recs, rec)
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].LatencyS < recs[j].LatencyS })
	var entries []*confirmEntry
	var cands []backend.Candidate
	for _, rec := range recs {
		if len(cands) == top {
			break
		}
		c := candidateFromRecord(rec)
		if c.Trace == nil {
			continue
		}
		f, err := schedule.Build(r.task.Func(), c.Trace, r.space)
		if err != nil {
			continue
		}
		cands = append(cands, backend.Candidate{Func: f, RunTimeout: m.timeout})
		entries = append(entries, &confirmEntry{figure: ConfirmedFigure{Hash: rec.CandidateHash}})
	}
	if len(cands) == 0 {
		return nil
	}
	names := append([]string(nil), libraries...)
	r.note(fmt.Sprintf("confirming the figures: the %d best candidate(s)%s, %d interleaved rounds", len(cands), withLibraries(names), rounds))
	m.activity(fmt.Sprintf("building the %d best candidate(s) to confirm them", len(cands)))
	var built []backend.Built
	r.gate.Work(func() { built = be.BuildBatch(ctx, cands) })
	for i := range entries {
		entries[i].built = built[i : i+1]
	}
	for _, lib := range names {
		entries = append(entries, &confirmEntry{figure: ConfirmedFigure{Library: lib}})
	}
	f := r.task.Func()
	for round := 0; round < rounds; round++ {
		for k := range entries {
			e := entries[(k+round)%len(entries)]
			if e.figure.Failed != "" {
				continue
			}
			if err := r.ctl.waitRunning(ctx); err != nil {
				return nil
			}
			m.activity(fmt.Sprintf("confirming: round %d of %d", round+1, rounds))
			var res backend.Result
			r.gate.Timed(func() {
				if e.built != nil {
					res = be.RunBatch(ctx, e.built, m.ref)[0]
					return
				}
				var v backend.Vendor
				v, _ = be.MeasureVendor(ctx, f, e.figure.Library, m.ref, m.timeout)
				res = v.Result
			})
			if ctx.Err() != nil {
				return nil
			}
			if !res.OK() {
				e.figure.Failed = fmt.Sprintf("round %d: %s: %s", round+1, res.Status, res.Message)
				continue
			}
			e.figure.RoundsS = append(e.figure.RoundsS, res.MedianS)
		}
	}
	conf := &Confirmation{Rounds: rounds}
	for _, e := range entries {
		fig := e.figure
		if fig.Failed == "" && len(fig.RoundsS) > 0 {
			sorted := slices.Sorted(slices.Values(fig.RoundsS))
			fig.LatencyS, fig.MinS, fig.MaxS = median(sorted), sorted[0], sorted[len(sorted)-1]
			fig.SpreadPct = 100 * (fig.MaxS - fig.MinS) / fig.LatencyS
		}
		if e.built != nil {
			conf.Candidates = append(conf.Candidates, fig)
		} else {
			conf.Vendors = append(conf.Vendors, fig)
		}
	}
	sort.SliceStable(conf.Candidates, func(i, j int) bool {
		a, b := conf.Candidates[i], conf.Candidates[j]
		if (a.Failed == "") != (b.Failed == "") {
			return a.Failed == ""
		}
		return a.LatencyS < b.LatencyS
	})
	return conf
}

// withLibraries is ", interleaved with A and B" or "".
func withLibraries(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " with " + strings.Join(names, " and ")
}

// median of sorted, non-empty values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
