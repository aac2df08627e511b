package core

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReportVendorFigure: the report carries each vendor library's latency, throughput and the
// ratio to the best (library over best: above 1 the tuned kernel wins), the first as "vendor",
// and no vendor key when there is none.
func TestReportVendorFigure(t *testing.T) {
	st := newStats(8, 0, 2e9)
	st.BestS = 1e-3
	st.Vendors = []VendorLatency{{"oneDNN", 2e-3}, {"OpenBLAS", 4e-3}}
	data, err := json.Marshal(newReport(st))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"vendor":{"library":"oneDNN","latency_s":0.002,"gflops":1000,"ratio":2}`,
		`"vendors":[{"library":"oneDNN","latency_s":0.002,"gflops":1000,"ratio":2},{"library":"OpenBLAS","latency_s":0.004,"gflops":500,"ratio":4}]`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report JSON %s, want %s", data, want)
		}
	}
	st.Vendors = nil
	data, _ = json.Marshal(newReport(st))
	if strings.Contains(string(data), `"vendor`) {
		t.Errorf("report without a vendor figure has a vendor key: %s", data)
	}
}

// TestRunConfirmsTheBestWithTheVendorLibraries: a run that ends normally times its best
// candidates again, interleaved with the vendor libraries, and the report's vendor ratios are
// those of the confirmation rounds.
func TestRunConfirmsTheBestWithTheVendorLibraries(t *testing.T) {
	w := ttWorkload(t)
	search := ttSearch()
	search.ConfirmTop, search.ConfirmRounds = 2, 3
	dir := t.TempDir()
	rep, events, recs := ttTune(t, w, ttRun{workDir: dir, cacheDir: filepath.Join(dir, "cache"), budget: 6, seed: 3, search: &search})
	c := rep.Confirmed
	if c == nil {
		t.Fatalf("no confirmation in the report")
	}
	if c.Rounds != 3 || len(c.Candidates) != 2 {
		t.Fatalf("confirmation of %d candidates over %d rounds, want 2 over 3", len(c.Candidates), c.Rounds)
	}
	var best []float64
	for _, r := range recs {
		if r.Status == StatusOK {
			best = append(best, r.LatencyS)
		}
	}
	slices.Sort(best)
	for i, fig := range c.Candidates {
		if fig.Failed != "" || len(fig.RoundsS) != 3 || fig.MinS > fig.LatencyS || fig.LatencyS > fig.MaxS {
			t.Errorf("candidate %d: %+v", i, fig)
		}
		if i > 0 && fig.LatencyS < c.Candidates[i-1].LatencyS {
			t.Errorf("candidates not fastest first: %+v", c.Candidates)
		}
	}
	// The confirmed ones are the two best records, in some order.
	for _, fig := range c.Candidates {
		i := slices.IndexFunc(recs, func(r Record) bool { return r.CandidateHash == fig.Hash })
		if i < 0 || recs[i].LatencyS > best[1] {
			t.Errorf("confirmed %s is not one of the two best records", fig.Hash)
		}
	}
	if len(rep.Vendors) == 0 {
		t.Fatalf("no vendor library measured; notes: %v", notes(events))
	}
	for _, v := range rep.Vendors {
		cv := c.Vendor(v.Library)
		if cv == nil || !v.Confirmed || v.Ratio == nil || *v.Ratio != cv.LatencyS/c.Best().LatencyS {
			t.Errorf("%s: figure %+v, confirmation %+v", v.Library, v, cv)
		}
	}
	if rep.Vendor == nil || rep.Vendor.Library != rep.Vendors[0].Library {
		t.Errorf("vendor %+v, want the first of %+v", rep.Vendor, rep.Vendors)
	}
}

// notes are the messages of a run's note events.
func notes(events []Event) []string {
	var out []string
	for _, e := range events {
		if e.Kind == EventNote {
			out = append(out, e.Message)
		}
	}
	return out
}
