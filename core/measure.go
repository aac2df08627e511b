package core

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"colt/backend"
	"colt/schedule"
	"colt/workloads"
)

// OpenBackend starts the backend the configuration describes: it detects the target (see
// ResolveTarget) and finds the compilers, so a missing GPU or compiler is reported before any
// work starts.
func OpenBackend(cfg Config) (*backend.Backend, error) {
	t, err := ResolveTarget(cfg, false)
	if err != nil {
		return nil, err
	}
	settings := cfg.BackendSettings()
	settings.Target = &t
	be, err := backend.New(settings)
	if err != nil && t.Kind == backend.KindCUDA {
		return nil, inputErrorf("%v", err)
	}
	return be, err
}

// TaskMeasurement is the measured latency and correctness of one task's program.
type TaskMeasurement struct {
	Workload   string    `json:"workload"`
	Task       string    `json:"task,omitempty"`
	Weight     int       `json:"weight"`
	Target     string    `json:"target"`
	FLOPs      int64     `json:"flops"`
	Bytes      int64     `json:"bytes"`
	Status     string    `json:"status"`
	Correct    bool      `json:"correct"`
	Message    string    `json:"message,omitempty"`
	MedianS    float64   `json:"latency_median_s"`
	MinS       float64   `json:"latency_min_s"`
	MaxS       float64   `json:"latency_max_s"`
	SpreadPct  float64   `json:"spread_pct"`
	LatencyS   []float64 `json:"latencies_s"`
	Number     int       `json:"number"`
	GFLOPS     float64   `json:"gflops"`
	MaxRelErr  float64   `json:"max_rel_err"`
	Tolerance  float64   `json:"tolerance"`
	WorstIndex string    `json:"worst_index,omitempty"`
	BuildS     float64   `json:"build_s"`
	RunS       float64   `json:"run_s"`
	// Vendors are the vendor libraries timed on the same shapes, in the same way, right after
	// the program (none when the target has no library for these shapes).
	Vendors []VendorMeasurement `json:"vendors,omitempty"`
}

// VendorMeasurement is a vendor library timed on a task's shapes by colt measure.
type VendorMeasurement struct {
	Library  string  `json:"library"`
	Status   string  `json:"status"`
	Message  string  `json:"message,omitempty"`
	LatencyS float64 `json:"latency_median_s,omitempty"`
	GFLOPS   float64 `json:"gflops,omitempty"`
	// Ratio is the library's latency over the program's: above 1 the program is faster.
	Ratio float64 `json:"ratio,omitempty"`
}

// MeasureOptions adjust a measurement.
type MeasureOptions struct {
	// SourceFile, when set, is a C file that replaces the generated kernel (for example an
	// exported kernel edited by hand); it must define the kernel function the workload's
	// generated C declares.
	SourceFile string
	// RunTimeout bounds one run of the program (warm-up, check and every timed repeat). Zero
	// means the larger of the configured backend.run_timeout_s and the time the run would take
	// at SlowestGFLOPS, since an unscheduled program of a large layer can legitimately run for
	// minutes.
	RunTimeout time.Duration
	// Progress, when set, receives one line per step of long work.
	Progress func(string)
}

// SlowestGFLOPS is the throughput below which a run is taken to be hung when no explicit
// timeout is given: several times slower than the naive loop nests of the built-in workloads.
const SlowestGFLOPS = 0.05

// runTimeout is the time allowed for one run of a task: warm-up plus the timed repeats.
func runTimeout(be *backend.Backend, t *workloads.Task, explicit time.Duration) time.Duration {
	if explicit > 0 {
		return explicit
	}
	cfg := be.Config()
	calls := float64(cfg.Repeat + 1)
	expected := time.Duration(calls * float64(t.FLOPs) / (SlowestGFLOPS * 1e9) * float64(time.Second))
	return max(cfg.RunTimeout, expected)
}

// Measure builds, checks and times the unscheduled program of every task of a workload. A
// candidate that fails (build error, crash, timeout, wrong result) is a measurement with that
// status, not an error; the error is for problems that stop the measurement itself, such as a
// reference that cannot be computed or an unreadable source file.
func Measure(ctx context.Context, be *backend.Backend, w *workloads.Workload, opt MeasureOptions) ([]TaskMeasurement, error) {
	progress := opt.Progress
	if progress == nil {
		progress = func(string) {}
	}
	var source string
	if opt.SourceFile != "" {
		data, err := os.ReadFile(opt.SourceFile)
		if err != nil {
			return nil, fmt.Errorf("read kernel source: %w", err)
		}
		if !w.IsSingle() {
			return nil, fmt.Errorf("--source needs a single-task workload; %s has %d tasks (name one as %s:%s)", w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
		}
		source = string(data)
	}
	var out []TaskMeasurement
	for i, t := range w.Tasks {
		label := w.Name
		if !w.IsSingle() {
			label = fmt.Sprintf("%s:%s (task %d/%d)", w.Name, t.Name, i+1, len(w.Tasks))
		}
		f := t.Func()
		if err := schedule.Verify(f); err != nil {
			return out, fmt.Errorf("%s: %w", label, err)
		}
		progress(label + ": computing the double-precision reference (cached after the first run)")
		ref, err := be.Reference(ctx, f)
		if err != nil {
			return out, fmt.Errorf("%s: reference: %w", label, err)
		}
		limit := runTimeout(be, t, opt.RunTimeout)
		progress(fmt.Sprintf("%s: building, checking and timing (a run may take up to %s)", label, limit.Round(time.Second)))
		run, err := runnableProgram(f, be.Target())
		if err != nil {
			return out, fmt.Errorf("%s: %w", label, err)
		}
		r := be.MeasureCandidate(ctx, backend.Candidate{Func: run, KernelC: source, RunTimeout: limit}, ref)
		if err := ctx.Err(); err != nil {
			return out, err
		}
		m := taskMeasurement(be, w, t, f, r)
		for _, lib := range be.VendorLibraries(f) {
			progress(fmt.Sprintf("%s: timing %s on the same shapes", label, lib))
			v, _ := be.MeasureVendor(ctx, f, lib, ref, limit)
			if err := ctx.Err(); err != nil {
				return out, err
			}
			vm := VendorMeasurement{Library: lib, Status: string(v.Result.Status), LatencyS: v.Result.MedianS}
			if !v.Result.OK() {
				vm.Message, vm.LatencyS = v.Result.Message, 0
			} else {
				vm.GFLOPS = GFLOPS(t.FLOPs, vm.LatencyS)
				if m.MedianS > 0 {
					vm.Ratio = vm.LatencyS / m.MedianS
				}
			}
			m.Vendors = append(m.Vendors, vm)
		}
		out = append(out, m)
	}
	return out, nil
}

func taskMeasurement(be *backend.Backend, w *workloads.Workload, t *workloads.Task, f *schedule.Func, r backend.Result) TaskMeasurement {
	m := TaskMeasurement{
		Workload: w.Name, Weight: t.Weight, Target: be.Target().String(),
		FLOPs: t.FLOPs, Bytes: t.MinBytes,
		Status: string(r.Status), Correct: r.OK(), Message: r.Message,
		MedianS: r.MedianS, MinS: r.MinS, MaxS: r.MaxS, LatencyS: r.LatenciesS, Number: r.Number,
		MaxRelErr: r.MaxRelErr, WorstIndex: r.WorstIndex, BuildS: r.BuildS, RunS: r.RunS,
		Tolerance: backend.Tolerance(outputType(f)),
	}
	if !w.IsSingle() {
		m.Task = t.Name
	}
	if m.MedianS > 0 {
		m.GFLOPS = float64(t.FLOPs) / m.MedianS / 1e9
		m.SpreadPct = 100 * (m.MaxS - m.MinS) / m.MedianS
	}
	if math.IsNaN(m.MaxRelErr) || math.IsInf(m.MaxRelErr, 0) {
		m.MaxRelErr = -1 // JSON has no NaN; the status already says the result is wrong
	}
	return m
}

func outputType(f *schedule.Func) schedule.DType {
	if outs := f.OutputParams(); len(outs) > 0 {
		return outs[0].DType
	}
	return schedule.Float32
}

// Emit renders a task's unscheduled program as TVMScript-like text ("tir") or as the C the
// backend compiles ("c").
func Emit(t *workloads.Task, format string) (string, error) {
	f := t.Func()
	switch format {
	case "tir", "":
		return schedule.Print(f), nil
	case "c":
		return backend.LowerC(f, backend.LowerOptions{Precision: schedule.Float32})
	}
	return "", fmt.Errorf("unknown --emit format %q: want tir or c", format)
}

// WorkloadMeasurement is what MeasureWorkload found: the workload measured, the compiler and
// flags its kernels were built with, and one measurement per task.
type WorkloadMeasurement struct {
	// Workload, Description and Source identify the workload as the catalog lists it.
	Workload    string
	Description string
	Source      string
	// Compiler and CFlags are what the backend built the kernels with.
	Compiler string
	CFlags   []string
	// Tasks holds one measurement per task, in the workload's order.
	Tasks []TaskMeasurement
}

// MeasureWorkload is colt measure: it resolves a workload of the configuration's catalog
// (MODEL:TASK names one task of a model), opens the backend and measures the unscheduled
// program of every task (see Measure). An unknown workload, an invalid catalog or a backend
// that cannot start is an InputError; a failed measurement is an error naming the workload.
func MeasureWorkload(ctx context.Context, cfg Config, name string, opt MeasureOptions) (*WorkloadMeasurement, error) {
	w, err := resolveWorkload(cfg, name)
	if err != nil {
		return nil, err
	}
	be, err := OpenBackend(cfg)
	if err != nil {
		return nil, inputError(err)
	}
	ms, err := Measure(ctx, be, w, opt)
	if err != nil {
		return nil, fmt.Errorf("measure %s: %w", w.Name, err)
	}
	return &WorkloadMeasurement{
		Workload: w.Name, Description: w.Description, Source: w.Source,
		Compiler: be.Compiler(), CFlags: be.Config().CFlags, Tasks: ms,
	}, nil
}

// runnableProgram is an unscheduled program as the target runs it: as it is on the CPU, bound
// to blocks and threads on a GPU (schedule.GPUProgram).
func runnableProgram(f *schedule.Func, t backend.Target) (*schedule.Func, error) {
	space := SpaceOptionsFor(t)
	if space.GPU == nil {
		return f, nil
	}
	return schedule.GPUProgram(f, *space.GPU)
}
