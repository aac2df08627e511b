package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"colt/backend"
	"colt/workloads"
)

// BaselinesDir is the directory under the work dir that caches the unscheduled programs'
// latencies, one JSON file per (workload hash, target).
const BaselinesDir = "baselines"

// Baseline is a reference latency of a task on a target: its unscheduled program's (what
// speedups are relative to, and what a candidate's run timeout is derived from) or, with
// Library set, a vendor library's on the same shapes (what the tuned kernel is compared with).
type Baseline struct {
	Workload     string    `json:"workload"`
	WorkloadHash string    `json:"workload_hash"`
	Target       string    `json:"target"`
	Library      string    `json:"library,omitempty"`
	LatencyS     float64   `json:"latency_s"`
	LatenciesS   []float64 `json:"latencies_s"`
	GFLOPS       float64   `json:"gflops"`
	Time         time.Time `json:"time"`
	// Cached says the baseline was read from the work dir rather than measured now.
	Cached bool `json:"-"`
}

// baselinePath is the cache file of a (workload hash, target) pair, or of its vendor library's
// figure when library is not "".
func baselinePath(workDir, workloadHash, target, library string) string {
	sum := sha256.Sum256([]byte(target))
	name := workloadHash + "-" + hex.EncodeToString(sum[:6])
	if library != "" {
		name += "-" + library
	}
	return filepath.Join(workDir, BaselinesDir, name+".json")
}

// LoadBaseline reads the cached baseline of a workload on a target; false when there is none
// (or the file is unreadable, in which case the caller measures again and overwrites it).
func LoadBaseline(workDir, workloadHash, target string) (Baseline, bool) {
	return loadReference(workDir, workloadHash, target, "")
}

// LoadVendorBaselines reads the cached vendor library figures of a workload on a target, in
// library name order (none when no run has measured them).
func LoadVendorBaselines(workDir, workloadHash, target string) []Baseline {
	prefix := strings.TrimSuffix(baselinePath(workDir, workloadHash, target, ""), ".json") + "-"
	paths, _ := filepath.Glob(prefix + "*.json")
	sort.Strings(paths)
	var out []Baseline
	for _, p := range paths {
		library := strings.TrimSuffix(strings.TrimPrefix(p, prefix), ".json")
		if b, ok := loadReference(workDir, workloadHash, target, library); ok {
			out = append(out, b)
		}
	}
	return out
}

func loadReference(workDir, workloadHash, target, library string) (Baseline, bool) {
	data, err := os.ReadFile(baselinePath(workDir, workloadHash, target, library))
	if err != nil {
		return Baseline{}, false
	}
	var b Baseline
	if json.Unmarshal(data, &b) != nil || b.WorkloadHash != workloadHash || b.Target != target || b.Library != library || !(b.LatencyS > 0) {
		return Baseline{}, false
	}
	b.Cached = true
	return b, true
}

// baseline returns the cached baseline of a task or measures it (with the generous run timeout
// of `colt measure`, since an unscheduled program can take seconds per call, and alone on the
// CPU gate) and caches it. A failing unscheduled program is an error: there is nothing to tune
// against.
func baseline(ctx context.Context, be *backend.Backend, t *workloads.Task, name, workloadHash, workDir string, ref *backend.Reference, note func(string), gate *CPUGate) (Baseline, error) {
	target := be.Target().String()
	if b, ok := LoadBaseline(workDir, workloadHash, target); ok {
		return b, nil
	}
	limit := runTimeout(be, t, 0)
	note(fmt.Sprintf("measuring the unscheduled baseline once (cached in %s; a run may take up to %s)",
		filepath.Join(workDir, BaselinesDir), limit.Round(time.Second)))
	f, err := runnableProgram(t.Func(), be.Target())
	if err != nil {
		return Baseline{}, fmt.Errorf("the unscheduled program cannot run on %s: %w", target, err)
	}
	var r backend.Result
	gate.Timed(func() { r = be.MeasureCandidate(ctx, backend.Candidate{Func: f, RunTimeout: limit}, ref) })
	if err := ctx.Err(); err != nil {
		return Baseline{}, err
	}
	if !r.OK() {
		return Baseline{}, fmt.Errorf("the unscheduled program fails (%s: %s); check it with colt measure --workload %s", r.Status, r.Message, name)
	}
	b := Baseline{
		Workload: name, WorkloadHash: workloadHash, Target: target,
		LatencyS: r.MedianS, LatenciesS: r.LatenciesS, GFLOPS: GFLOPS(t.FLOPs, r.MedianS), Time: time.Now().UTC(),
	}
	if err := writeFileAtomic(baselinePath(workDir, workloadHash, target, ""), b); err != nil {
		return b, fmt.Errorf("cache the baseline: %w", err)
	}
	return b, nil
}

// vendorBaselines returns the cached figures of the backend's vendor libraries on a task's
// shapes, measuring (alone on the CPU gate) and caching those it has not measured yet, in the
// backend's order of preference. A library that is missing or fails is said through note and
// left out: the run goes on without it.
func vendorBaselines(ctx context.Context, be *backend.Backend, t *workloads.Task, name, workloadHash, workDir string, ref *backend.Reference, note func(string), gate *CPUGate) []Baseline {
	f := t.Func()
	target := be.Target().String()
	var out []Baseline
	for _, library := range be.VendorLibraries(f) {
		if b, ok := loadReference(workDir, workloadHash, target, library); ok {
			out = append(out, b)
			continue
		}
		note(fmt.Sprintf("measuring %s on the same shapes once (cached in %s)", library, filepath.Join(workDir, BaselinesDir)))
		var v backend.Vendor
		gate.Timed(func() { v, _ = be.MeasureVendor(ctx, f, library, ref, runTimeout(be, t, 0)) })
		if ctx.Err() != nil {
			return out
		}
		if !v.Result.OK() {
			note(fmt.Sprintf("%s on %s: %s; going on without it", library, name, v.Result.Message))
			continue
		}
		b := Baseline{
			Workload: name, WorkloadHash: workloadHash, Target: target, Library: library,
			LatencyS: v.Result.MedianS, LatenciesS: v.Result.LatenciesS, GFLOPS: GFLOPS(t.FLOPs, v.Result.MedianS), Time: time.Now().UTC(),
		}
		if err := writeFileAtomic(baselinePath(workDir, workloadHash, target, library), b); err != nil {
			note("cannot cache the vendor figure: " + err.Error())
		}
		out = append(out, b)
	}
	return out
}

// writeFileAtomic writes v as indented JSON to path through a temporary file and a rename, so
// a crash never leaves half a file.
func writeFileAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// MinCandidateTimeout is the least time a candidate run gets: process start, input generation
// and the timing protocol's calibration of a fast kernel take their own time.
const MinCandidateTimeout = 10 * time.Second

// CandidateRunTimeout is the run timeout of one candidate, from the baseline latency L: a
// candidate's run is a warm-up call plus repeat timed repeats of at least min_repeat_ms each,
// so a candidate as slow as the unscheduled program needs about (repeat+1) × max(L,
// min_repeat_ms). A candidate slower than the baseline is useless, so factor (2 by default)
// times that is enough; the result is at least MinCandidateTimeout and at most the configured
// backend run timeout.
func CandidateRunTimeout(cfg backend.Config, baselineS, factor float64) time.Duration {
	per := max(baselineS, float64(cfg.MinRepeatMs)/1000)
	t := time.Duration(factor * float64(cfg.Repeat+1) * per * float64(time.Second))
	return min(max(t, MinCandidateTimeout), max(cfg.RunTimeout, MinCandidateTimeout))
}
