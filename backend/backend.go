package backend

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"colt/schedule"
)

// Config configures a Backend. Zero (or negative) durations, counts and paths take the
// DefaultConfig value; Seed and MinRepeatMs are taken as they are (0 is a valid seed, and
// MinRepeatMs 0 means no minimum: every repeat is a single call), negative MinRepeatMs means
// the default.
type Config struct {
	CC           string        // C compiler command; empty: $CC, else cc, gcc, clang on PATH
	CFlags       []string      // candidate flags; empty: DefaultCFlags
	BuildWorkers int           // parallel compilations; default: the number of cores
	BuildTimeout time.Duration // per compilation; default 60s
	RunTimeout   time.Duration // per candidate run; default 120s (the reference gets 5×)
	Repeat       int           // timed repeats per candidate; default 3
	MinRepeatMs  int           // minimum duration of one repeat in ms; DefaultConfig: 100
	Seed         uint64        // seed of the input values; DefaultConfig: 1
	Threads      int           // OMP_NUM_THREADS for runs; default Target.Cores
	CacheDir     string        // build and reference caches; default ".colt/cache"
	Target       *Target       // nil: DetectCPU()
	NVCC         string        // nvcc for a CUDA target; empty: FindNVCC's search
	FlushL2      bool          // CUDA: flush the GPU's L2 cache before every timed call
	// MaxUnrolledStatements bounds a generated CPU kernel's size once unrolled
	// (UnrolledStatements); a larger candidate is invalid without being compiled. Default
	// DefaultMaxUnrolledStatements.
	MaxUnrolledStatements int64
}

// DefaultConfig is the configuration colt uses unless colt.toml says otherwise.
func DefaultConfig() Config {
	return Config{
		CFlags:       DefaultCFlags(),
		BuildWorkers: runtime.NumCPU(),
		BuildTimeout: 60 * time.Second,
		RunTimeout:   120 * time.Second,
		Repeat:       3,
		MinRepeatMs:  100,
		Seed:         1,
		CacheDir:     ".colt/cache",

		MaxUnrolledStatements: DefaultMaxUnrolledStatements,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BuildWorkers <= 0 {
		c.BuildWorkers = d.BuildWorkers
	}
	if c.BuildTimeout <= 0 {
		c.BuildTimeout = d.BuildTimeout
	}
	if c.RunTimeout <= 0 {
		c.RunTimeout = d.RunTimeout
	}
	if c.Repeat <= 0 {
		c.Repeat = d.Repeat
	}
	if c.MinRepeatMs < 0 {
		c.MinRepeatMs = d.MinRepeatMs
	}
	if c.CacheDir == "" {
		c.CacheDir = d.CacheDir
	}
	if c.MaxUnrolledStatements <= 0 {
		c.MaxUnrolledStatements = d.MaxUnrolledStatements
	}
	return c
}

// Backend lowers, builds, runs and checks candidates on the local CPU. It is safe for
// concurrent use; builds share a phase lock that timed runs take exclusively, so timing never
// overlaps with compilation inside one Backend.
type Backend struct {
	cfg           Config
	target        Target
	builder       *Builder
	nvcc          *Builder // builds CUDA candidates on a cuda target; nil on the CPU
	phase         sync.RWMutex
	runs          atomic.Int64
	referenceRuns atomic.Int64
	cpuLibs       []cpuLibrary // the CPU vendor libraries; nil: defaultCPULibraries (tests override)
}

// New detects the target (unless cfg.Target is set), finds the C compiler and prepares the
// cache directory. A missing compiler is an error that says how to fix it.
func New(cfg Config) (*Backend, error) {
	cfg = cfg.withDefaults()
	abs, err := filepath.Abs(cfg.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("cache directory %q: %w", cfg.CacheDir, err)
	}
	cfg.CacheDir = abs
	if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	bld, err := NewBuilder(cfg)
	if err != nil {
		return nil, err
	}
	t := DetectCPU()
	if cfg.Target != nil {
		t = *cfg.Target
	}
	be := &Backend{cfg: cfg, target: t, builder: bld}
	if t.Kind == KindCUDA {
		if t.GPU == nil {
			return nil, fmt.Errorf("cuda target without a GPU description")
		}
		path, _, err := FindNVCC(cfg.NVCC)
		if err != nil {
			return nil, err
		}
		if be.nvcc, err = NewNVCCBuilder(cfg, path, t.GPU.Arch); err != nil {
			return nil, err
		}
	}
	return be, nil
}

// Target is the machine candidates run on.
func (b *Backend) Target() Target { return b.target }

// Compiler is the display name of the compiler candidates are built with, e.g.
// "gcc 12.2.0 (/usr/bin/cc)" (nvcc's on a cuda target).
func (b *Backend) Compiler() string {
	if b.nvcc != nil {
		return b.nvcc.Compiler()
	}
	return b.builder.Compiler()
}

// CompileFlags are the flags candidates are compiled with (nvcc's on a cuda target).
func (b *Backend) CompileFlags() []string {
	if b.nvcc != nil {
		return b.nvcc.Flags()
	}
	return b.builder.Flags()
}

// Config is the configuration in effect, defaults filled in.
func (b *Backend) Config() Config { return b.cfg }

func (b *Backend) threads() int {
	if b.cfg.Threads > 0 {
		return b.cfg.Threads
	}
	return max(b.target.Cores, 1)
}

// Stats counts the work a Backend has done.
type Stats struct {
	Compiles      int64 // compiler invocations
	CacheHits     int64 // builds answered from the build cache
	Runs          int64 // candidate runs
	ReferenceRuns int64 // reference computations (cache misses of Reference)
}

// Stats reports the counters so far.
func (b *Backend) Stats() Stats {
	return Stats{
		Compiles: b.builder.compiles.Load(), CacheHits: b.builder.hits.Load(),
		Runs: b.runs.Load(), ReferenceRuns: b.referenceRuns.Load(),
	}
}

// Status classifies a measurement.
type Status string

// The measurement outcomes. Every status but StatusOK is a failed candidate.
const (
	StatusOK          Status = "ok"
	StatusInvalid     Status = "invalid"      // the program cannot be lowered (or does not match the reference)
	StatusBuildError  Status = "build_error"  // the compiler rejected it or timed out
	StatusTimeout     Status = "timeout"      // still running at RunTimeout (or cancelled); killed
	StatusCrash       Status = "crash"        // killed by a signal, non-zero exit, bad output
	StatusWrongResult Status = "wrong_result" // outputs differ from the reference beyond Tolerance
)

// Result is the outcome of measuring one candidate.
type Result struct {
	Status     Status
	Message    string    // one line: what happened
	Detail     string    // more lines when useful (the compiler's first stderr lines)
	LatenciesS []float64 // seconds per call, one per repeat
	MedianS    float64   // the latency: median of LatenciesS
	MinS, MaxS float64
	Number     int     // calls per repeat
	MaxRelErr  float64 // largest relative error against the reference
	WorstIndex string  // the element with that error, e.g. "C[3, 17]"
	BuildS     float64 // compile seconds (0 when the build cache answered)
	RunS       float64 // wall seconds of the run process
	Source     string  // the C kernel (without the harness)
}

// OK reports whether the candidate built, ran and produced correct results.
func (r Result) OK() bool { return r.Status == StatusOK }

// Measure lowers f to C, builds it with the harness, runs it and checks its outputs against
// ref (nil: no check). It never returns an error: every failure is a Result status.
func (b *Backend) Measure(ctx context.Context, f *schedule.Func, ref *Reference) Result {
	return b.MeasureCandidate(ctx, Candidate{Func: f}, ref)
}

// MeasureSource measures a hand-written C kernel for f's signature (see Prototype): the
// harness for f is appended to kernelC, and the result is checked against ref like a lowered
// candidate.
func (b *Backend) MeasureSource(ctx context.Context, f *schedule.Func, kernelC string, ref *Reference) Result {
	return b.MeasureCandidate(ctx, Candidate{Func: f, KernelC: kernelC}, ref)
}

// MeasureCandidate builds, runs and checks one candidate.
func (b *Backend) MeasureCandidate(ctx context.Context, c Candidate, ref *Reference) Result {
	return b.RunBatch(ctx, b.BuildBatch(ctx, []Candidate{c}), ref)[0]
}

// Candidate is one program to build: a (scheduled) function, or a hand-written kernel for its
// signature.
type Candidate struct {
	Func    *schedule.Func
	KernelC string // optional C kernel; empty: LowerC(Func)
	// RunTimeout bounds the whole run (warm-up, check and every timed repeat); 0 means
	// Config.RunTimeout.
	RunTimeout time.Duration
}

// Built is a candidate after the build phase, ready for RunBatch.
type Built struct {
	Func   *schedule.Func
	Source string // the C kernel
	Binary string // the executable; empty when lowering or building failed
	BuildS float64
	Cached bool

	runTimeout time.Duration
	failed     *Result
	env        []string // KEY=VALUE settings for its run, beyond OMP_NUM_THREADS (a vendor library's)
}

// BuildBatch lowers and compiles candidates in parallel (at most Config.BuildWorkers compilers
// at a time). Failures are carried in the Built values and reported by RunBatch. Call
// BuildBatch and RunBatch alternately: timing never overlaps compilation.
func (b *Backend) BuildBatch(ctx context.Context, cands []Candidate) []Built {
	b.phase.RLock()
	defer b.phase.RUnlock()
	out := make([]Built, len(cands))
	var sources []string
	var which []int
	for i, c := range cands {
		out[i].Func = c.Func
		out[i].runTimeout = c.RunTimeout
		src := c.KernelC
		if src == "" && b.nvcc == nil {
			if err := checkUnrolledSize(c.Func, b.cfg.MaxUnrolledStatements); err != nil {
				out[i].failed = &Result{Status: StatusInvalid, Message: oneLine(err.Error())}
				continue
			}
		}
		if src == "" {
			var err error
			src, err = b.lower(c.Func)
			if err != nil {
				out[i].failed = &Result{Status: StatusInvalid, Message: oneLine(err.Error())}
				continue
			}
		} else if err := checkIR(c.Func); err != nil {
			out[i].failed = &Result{Status: StatusInvalid, Message: oneLine("kernel signature: " + err.Error()), Source: src}
			continue
		}
		out[i].Source = src
		if b.nvcc != nil {
			sources = append(sources, src+CUDAHarness(c.Func))
		} else {
			sources = append(sources, src+Harness(c.Func, schedule.Float32))
		}
		which = append(which, i)
	}
	builder := b.builder
	if b.nvcc != nil {
		builder = b.nvcc
	}
	for k, r := range builder.BuildAll(ctx, sources) {
		i := which[k]
		out[i].BuildS, out[i].Cached, out[i].Binary = r.Seconds, r.Cached, r.Binary
		if r.Err != nil {
			res := &Result{Status: StatusBuildError, Message: oneLine(r.Err.Error()), BuildS: r.Seconds, Source: out[i].Source}
			if be, ok := r.Err.(*BuildError); ok {
				res.Detail = be.Detail()
			}
			out[i].failed = res
		}
	}
	return out
}

// RunBatch runs built candidates one after another (never in parallel, and never while this
// Backend builds), times them with Config.Repeat repeats of at least Config.MinRepeatMs, and
// checks their outputs against ref (nil: no check). One Result per Built, in order.
func (b *Backend) RunBatch(ctx context.Context, built []Built, ref *Reference) []Result {
	b.phase.Lock()
	defer b.phase.Unlock()
	results := make([]Result, len(built))
	for i, bt := range built {
		results[i] = b.runOne(ctx, bt, ref)
	}
	return results
}

func (b *Backend) runOne(ctx context.Context, bt Built, ref *Reference) Result {
	if bt.failed != nil {
		return *bt.failed
	}
	res := Result{Source: bt.Source, BuildS: bt.BuildS}
	if bt.Binary == "" || bt.Func == nil {
		res.Status, res.Message = StatusInvalid, "nothing was built"
		return res
	}
	if err := ctx.Err(); err != nil {
		res.Status, res.Message = StatusTimeout, fmt.Sprintf("cancelled (%v) before it ran", err)
		return res
	}
	tmp, err := os.CreateTemp("", "colt-out-*.bin")
	if err != nil {
		res.Status, res.Message = StatusCrash, "cannot create the output file: "+err.Error()
		return res
	}
	outPath := tmp.Name()
	tmp.Close()
	defer os.Remove(outPath)
	b.runs.Add(1)
	timeout := b.cfg.RunTimeout
	if bt.runTimeout > 0 {
		timeout = bt.runTimeout
	}
	spec := runSpec{
		binary: bt.Binary, outPath: outPath, seed: b.cfg.Seed, repeat: b.cfg.Repeat,
		minRepeatMs: b.cfg.MinRepeatMs, threads: b.threads(), timeout: timeout, env: bt.env,
	}
	if b.nvcc != nil {
		spec.extraArgs = []string{"0"}
		if b.cfg.FlushL2 {
			spec.extraArgs[0] = "1"
		}
	}
	out := runBinary(ctx, spec)
	res.RunS = out.seconds
	if out.status != "" {
		res.Status, res.Message = out.status, oneLine(out.message)
		return res
	}
	res.Number, res.LatenciesS = out.number, out.latencies
	sorted := slices.Sorted(slices.Values(out.latencies))
	res.MinS, res.MaxS = sorted[0], sorted[len(sorted)-1]
	if n := len(sorted); n%2 == 1 {
		res.MedianS = sorted[n/2]
	} else {
		res.MedianS = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		res.Status, res.Message = StatusCrash, "cannot read the outputs: "+err.Error()
		return res
	}
	vals, err := decodeOutputs(raw, bt.Func.OutputParams(), schedule.Float32)
	if err != nil {
		res.Status, res.Message = StatusCrash, err.Error()
		return res
	}
	timing := fmt.Sprintf("median %s over %d repeats of %d calls", formatSeconds(res.MedianS), len(res.LatenciesS), res.Number)
	if ref == nil {
		res.Status, res.Message = StatusOK, timing+"; outputs not checked (no reference)"
		return res
	}
	cmp := Compare(ref, vals)
	res.MaxRelErr, res.WorstIndex = cmp.MaxRelErr, cmp.Worst
	if !cmp.OK {
		res.Status, res.Message = StatusWrongResult, "wrong result: "+cmp.Message
		return res
	}
	res.Status, res.Message = StatusOK, timing+"; "+cmp.Message
	return res
}

// formatSeconds prints a duration in a readable unit: "12.3 µs", "4.56 ms", "1.2 s".
func formatSeconds(s float64) string {
	switch {
	case s < 1e-6:
		return fmt.Sprintf("%.3g ns", s*1e9)
	case s < 1e-3:
		return fmt.Sprintf("%.3g µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.3g ms", s*1e3)
	}
	return fmt.Sprintf("%.3g s", s)
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// lower is the kernel source of a candidate for the target: C on the CPU, CUDA on a GPU.
func (b *Backend) lower(f *schedule.Func) (string, error) {
	if b.target.Kind == KindCUDA {
		arch := ""
		if b.target.GPU != nil {
			arch = b.target.GPU.Arch
		}
		return LowerCUDA(f, CUDAOptions{Arch: arch})
	}
	return LowerC(f, LowerOptions{Precision: schedule.Float32})
}
