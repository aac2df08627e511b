package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"colt/schedule"
)

// Reference holds the expected outputs of a program: the unscheduled program lowered in double
// precision, compiled with ReferenceCFlags and run once on the harness's seeded inputs.
type Reference struct {
	Key     string      // hex SHA-256 of (double-precision C, seed, harness version)
	Path    string      // the cache file under CacheDir/reference
	Outputs []RefOutput // one per output parameter, in f.OutputParams order
	Cached  bool        // loaded from the disk cache rather than computed
}

// RefOutput is the expected content of one output buffer.
type RefOutput struct {
	Name   string
	Shape  []int
	DType  schedule.DType
	Values []float64
	RMS    float64 // root mean square of the finite values, the scale errors are judged against
}

// referenceKey is the cache key of a reference: the canonical double-precision C, the seed and
// the harness version.
func referenceKey(doubleC string, seed uint64) string {
	h := sha256.New()
	fmt.Fprintf(h, "colt-reference\x00seed=%d\x00harness=%d\x00", seed, HarnessVersion)
	h.Write([]byte(doubleC))
	return hex.EncodeToString(h.Sum(nil))
}

// Reference returns the expected outputs of f (normally the unscheduled program) on the seeded
// inputs. The first call computes them — lower in double precision, compile with
// ReferenceCFlags, run with no timing — and stores them under CacheDir/reference/<key>.bin
// (the raw float64 outputs followed by their SHA-256, written to a temporary name, then
// renamed); later calls, in this process or another, load that file. A cache file of the
// wrong size or with a wrong checksum is recomputed and replaced.
func (b *Backend) Reference(ctx context.Context, f *schedule.Func) (*Reference, error) {
	src, err := LowerC(f, LowerOptions{Precision: schedule.Float64})
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	key := referenceKey(src, b.cfg.Seed)
	dir := filepath.Join(b.cfg.CacheDir, "reference")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("reference cache: %w", err)
	}
	removeStaleTemps(dir)
	path := filepath.Join(dir, key+".bin")
	outs := f.OutputParams()
	ref := &Reference{Key: key, Path: path}
	if raw, err := os.ReadFile(path); err == nil {
		if data, ok := verifyChecksum(raw); ok {
			if vals, err := decodeOutputs(data, outs, schedule.Float64); err == nil {
				ref.Cached = true
				ref.Outputs = refOutputs(outs, vals)
				return ref, nil
			}
		}
		// Wrong size or checksum: a corrupt or foreign file. Recompute; the rename replaces it.
	}
	b.phase.RLock() // an untimed run: it may overlap with builds, but not with timed runs
	defer b.phase.RUnlock()
	br := b.builder.BuildReference(ctx, src+Harness(f, schedule.Float64))
	if br.Err != nil {
		return nil, fmt.Errorf("reference for %s: %w", f.Name, br.Err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+key[:12]+"-*.bin")
	if err != nil {
		return nil, fmt.Errorf("reference cache: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	b.referenceRuns.Add(1)
	out := runBinary(ctx, runSpec{
		binary: br.Binary, outPath: tmpPath, seed: b.cfg.Seed, threads: b.threads(),
		timeout: b.referenceTimeout(),
	})
	if out.status != "" {
		return nil, fmt.Errorf("reference run of %s: %s: %s", f.Name, out.status, out.message)
	}
	raw, err := os.ReadFile(tmpPath)
	if err != nil {
		return nil, fmt.Errorf("reference run of %s: %w", f.Name, err)
	}
	vals, err := decodeOutputs(raw, outs, schedule.Float64)
	if err != nil {
		return nil, fmt.Errorf("reference run of %s: %w", f.Name, err)
	}
	sum := sha256.Sum256(raw)
	if err := os.WriteFile(tmpPath, append(raw, sum[:]...), 0o644); err != nil {
		return nil, fmt.Errorf("reference cache: %w", err)
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return nil, fmt.Errorf("reference cache: %w", err)
	}
	ref.Outputs = refOutputs(outs, vals)
	return ref, nil
}

// referenceTimeout is the reference run's time limit: the unscheduled double-precision program
// is much slower than a tuned candidate, so it gets five times the candidates' limit.
func (b *Backend) referenceTimeout() time.Duration { return 5 * b.cfg.RunTimeout }

func refOutputs(outs []*schedule.Buffer, vals [][]float64) []RefOutput {
	res := make([]RefOutput, len(outs))
	for i, o := range outs {
		res[i] = RefOutput{Name: o.Name, Shape: append([]int(nil), o.Shape...), DType: o.DType, Values: vals[i], RMS: rms(vals[i])}
	}
	return res
}

// verifyChecksum splits a cache file into its data and checks the SHA-256 trailer.
func verifyChecksum(raw []byte) ([]byte, bool) {
	if len(raw) < sha256.Size {
		return nil, false
	}
	data := raw[:len(raw)-sha256.Size]
	sum := sha256.Sum256(data)
	return data, string(sum[:]) == string(raw[len(data):])
}
