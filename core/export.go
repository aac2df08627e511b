package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"colt/backend"
	"colt/schedule"
	"colt/workloads"
)

// ExportOptions say what to export and where.
type ExportOptions struct {
	// Workload is the single-task workload whose best record is exported.
	Workload *workloads.Workload
	// Store holds the records.
	Store *Store
	// WorkDir holds the baseline cache (for the speedup in the header); may be empty.
	WorkDir string
	// Target is the machine the records were measured on (the records' target key).
	Target backend.Target
	// Compiler and CFlags are written into the C file's header.
	Compiler string
	CFlags   []string
	// OutDir is the directory the files are written to; created when missing.
	OutDir string
}

// ExportResult says what Export wrote.
type ExportResult struct {
	// Record is the exported record: the fastest successful one whose trace still builds the
	// program that was measured.
	Record Record
	// Files are the paths written: the kernel (C, or CUDA and its host harness on a GPU), the
	// trace JSON and the TIR program.
	Files []string
	// Skipped counts faster records whose traces no longer build the measured program (the
	// schedule rules changed since they were measured).
	Skipped int
}

// The files Export writes into its output directory.
const (
	ExportKernelFile  = "kernel.c"
	ExportTraceFile   = "trace.json"
	ExportProgramFile = "program.tir"
	// On a GPU: the CUDA kernels and launcher, and a main that includes them with the
	// measurement harness (nvcc -O3 -arch=sm_XX -o kernel main.cu).
	ExportCUDAKernelFile = "kernel.cu"
	ExportCUDAMainFile   = "main.cu"
)

// Export writes the best measured schedule of a workload: the C kernel (what was timed, with a
// header comment giving the workload, target, compiler, flags, latency, throughput and the
// schedule trace), the trace as JSON (for colt show --trace) and the scheduled TIR program.
func Export(opt ExportOptions) (*ExportResult, error) {
	w := opt.Workload
	if w == nil || opt.Store == nil {
		return nil, fmt.Errorf("export: workload and store are required")
	}
	if !w.IsSingle() {
		return nil, fmt.Errorf("%s is a model of %d tasks; export one task at a time (e.g. --workload %s:%s)", w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
	}
	task := w.Tasks[0]
	f := task.Func()
	workloadHash := schedule.StructuralHash(f)
	target := opt.Target.String()
	recs := opt.Store.Records(workloadHash, target)
	var ok []Record
	for _, r := range recs {
		if usableLatency(r) {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return nil, fmt.Errorf("no successful record of %s on this target in %s (%d records of it, none ok); run colt tune --workload %s with this work dir first",
			w.Name, opt.Store.Path(), len(recs), w.Name)
	}
	slices.SortStableFunc(ok, func(a, b Record) int {
		switch {
		case a.LatencyS < b.LatencyS:
			return -1
		case a.LatencyS > b.LatencyS:
			return 1
		}
		return 0
	})
	space := SpaceOptionsFor(opt.Target)
	res := &ExportResult{}
	var (
		built *schedule.Func
		trace *schedule.Trace
	)
	for _, r := range ok {
		t, err := schedule.ParseTrace(r.Trace)
		if err != nil {
			res.Skipped++
			continue
		}
		g, err := schedule.Build(f, t, space)
		if err != nil || schedule.StructuralHash(g) != r.CandidateHash {
			res.Skipped++
			continue
		}
		res.Record, built, trace = r, g, t
		break
	}
	if built == nil {
		return nil, fmt.Errorf("none of the %d successful records of %s rebuilds the program that was measured (the schedule rules changed since); tune again", len(ok), w.Name)
	}
	kernelFile := ExportKernelFile
	var kernel string
	var err error
	if space.GPU != nil {
		kernelFile = ExportCUDAKernelFile
		arch := ""
		if opt.Target.GPU != nil {
			arch = opt.Target.GPU.Arch
		}
		kernel, err = backend.LowerCUDA(built, backend.CUDAOptions{Arch: arch})
	} else {
		kernel, err = backend.LowerC(built, backend.LowerOptions{Precision: schedule.Float32})
	}
	if err != nil {
		return nil, fmt.Errorf("lower the best schedule of %s: %w", w.Name, err)
	}
	traceJSON, err := trace.MarshalIndent()
	if err != nil {
		return nil, fmt.Errorf("encode the trace: %w", err)
	}
	var base *Baseline
	var vendors []Baseline
	if opt.WorkDir != "" {
		if b, ok := LoadBaseline(opt.WorkDir, workloadHash, target); ok {
			base = &b
		}
		vendors = LoadVendorBaselines(opt.WorkDir, workloadHash, target)
	}
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if len(opt.CFlags) == 0 {
		opt.CFlags = backend.DefaultCFlags()
	}
	files := []struct {
		name string
		data string
	}{
		{kernelFile, exportHeader(w, task, res.Record, trace, base, vendors, opt) + kernel},
		{ExportTraceFile, string(traceJSON) + "\n"},
		{ExportProgramFile, schedule.Print(built)},
	}
	if space.GPU != nil {
		files = append(files, struct {
			name string
			data string
		}{ExportCUDAMainFile, cudaMain(built)})
	}
	for _, file := range files {
		path := filepath.Join(opt.OutDir, file.name)
		if err := os.WriteFile(path, []byte(file.data), 0o644); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		res.Files = append(res.Files, path)
	}
	return res, nil
}

// cudaMain is the exported CUDA kernel's host program: kernel.cu and the measurement harness
// colt timed it with.
func cudaMain(f *schedule.Func) string {
	return "/*\n" +
		" * Host program for kernel.cu: the harness colt measured it with. Build and run:\n" +
		" *   nvcc -O3 -arch=sm_XX -o kernel main.cu\n" +
		" *   ./kernel OUTPUT_FILE SEED REPEAT MIN_REPEAT_MS [FLUSH_L2]\n" +
		" * It fills the inputs from SEED (splitmix64, uniform in [-1, 1)), copies them to the GPU,\n" +
		" * launches the kernels, checks every CUDA call (exit 4 on an error, 5 without a device),\n" +
		" * writes the outputs to OUTPUT_FILE (raw float32, for comparison with another run or colt's\n" +
		" * reference) and prints the median-of-repeats timing line.\n" +
		" */\n#include \"" + ExportCUDAKernelFile + "\"\n" + backend.CUDAHarness(f)
}

// exportHeader is the comment at the top of an exported kernel.
func exportHeader(w *workloads.Workload, task *workloads.Task, r Record, t *schedule.Trace, base *Baseline, vendors []Baseline, opt ExportOptions) string {
	var b strings.Builder
	line := func(format string, args ...any) {
		text := strings.ReplaceAll(fmt.Sprintf(format, args...), "*/", "* /")
		b.WriteString(strings.TrimRight(" * "+text, " ") + "\n")
	}
	b.WriteString("/*\n")
	line("colt export: the fastest measured schedule of workload %q", w.Name)
	if w.Description != "" {
		line("  %s", w.Description)
	}
	line("")
	line("target:    %s", r.Target)
	line("compiler:  %s %s", opt.Compiler, strings.Join(opt.CFlags, " "))
	perf := fmt.Sprintf("latency:   %s median", FormatSeconds(r.LatencyS))
	if len(r.LatenciesS) > 0 {
		perf += fmt.Sprintf(" of %d repeats", len(r.LatenciesS))
	}
	perf += fmt.Sprintf(", %.3f GFLOP/s (%.4g GFLOP per call)", GFLOPS(task.FLOPs, r.LatencyS), float64(task.FLOPs)/1e9)
	line("%s", perf)
	if base != nil {
		line("baseline:  %s unscheduled, %.2f× speedup", FormatSeconds(base.LatencyS), base.LatencyS/r.LatencyS)
	}
	for _, v := range vendors {
		line("%-10s %s on the same shapes (measured %s): this kernel is %.2f× %s", v.Library+":", FormatSeconds(v.LatencyS), v.Time.UTC().Format(time.RFC3339), v.LatencyS/r.LatencyS, v.Library)
	}
	when := ""
	if !r.Time.IsZero() {
		when = r.Time.UTC().Format(time.RFC3339) + ", "
	}
	line("measured:  %ssample %d of a %s run (seed %d), candidate %s", when, r.Sample, r.Strategy, r.Seed, r.CandidateHash)
	if r.MaxRelErr > 0 {
		line("check:     max relative error %.2g against the double-precision reference", r.MaxRelErr)
	}
	line("")
	line("schedule trace (TVM-style; %s holds it as JSON for colt show --trace):", ExportTraceFile)
	text := strings.TrimRight(t.String(), "\n")
	if text == "" {
		text = "(empty: the unscheduled program)"
	}
	for _, l := range strings.Split(text, "\n") {
		line("  %s", l)
	}
	b.WriteString(" */\n")
	return b.String()
}

// FormatSeconds prints a latency in the unit that keeps it readable: "12.30 µs", "4.560 ms",
// "1.200 s"; "-" when there is none.
func FormatSeconds(s float64) string {
	switch {
	case s <= 0:
		return "-"
	case s < 1e-3:
		return fmt.Sprintf("%.2f µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.3f ms", s*1e3)
	}
	return fmt.Sprintf("%.3f s", s)
}

// EmitTrace builds the program a trace makes of a task's unscheduled program (replay,
// postprocessors, verifier) and renders it as TIR ("tir") or C ("c"). A trace that does not
// apply is an error saying why.
func EmitTrace(t *workloads.Task, tr *schedule.Trace, space schedule.SpaceOptions, format string) (string, error) {
	if format != "tir" && format != "c" && format != "cuda" && format != "" {
		return "", fmt.Errorf("unknown --emit format %q: want tir, c or cuda", format)
	}
	if format == "cuda" && space.GPU == nil {
		return "", fmt.Errorf("--emit cuda needs a GPU target (--target cuda, and --arch sm_XX without a GPU)")
	}
	g, err := schedule.Build(t.Func(), tr, space)
	if err != nil {
		return "", fmt.Errorf("the trace does not apply to the program: %w", err)
	}
	switch {
	case format == "cuda":
		return backend.LowerCUDA(g, backend.CUDAOptions{})
	case format == "c" && space.GPU != nil:
		return backend.LowerGPUEmulation(g)
	case format == "c":
		return backend.LowerC(g, backend.LowerOptions{Precision: schedule.Float32})
	}
	return schedule.Print(g), nil
}

// ExportSummary says what ExportWorkload wrote, for the CLI to print.
type ExportSummary struct {
	// Workload is the exported workload's name.
	Workload string
	// LatencyS and GFLOPS are the exported record's median latency and throughput.
	LatencyS float64
	GFLOPS   float64
	// CandidateHash, Sample and Strategy identify the exported record: its candidate, and its
	// place in the run that measured it.
	CandidateHash string
	Sample        int
	Strategy      string
	// Skipped counts faster records whose traces no longer build the measured program.
	Skipped int
	// Files are the paths written.
	Files []string
}

// ExportWorkload is colt export: it resolves a single-task workload of the configuration's
// catalog, opens the backend and the work dir's record store, and writes the workload's best
// measured schedule into outDir (see Export). note, when set, receives a line to show the
// user, such as the store's report of a repaired records file. A request that cannot be
// served (unknown or multi-task workload, no compiler) is an InputError; a work dir without
// records and a failed export are plain errors naming the workload.
func ExportWorkload(cfg Config, name, outDir string, note func(string)) (*ExportSummary, error) {
	w, err := resolveWorkload(cfg, name)
	if err != nil {
		return nil, err
	}
	if !w.IsSingle() {
		return nil, inputErrorf("export: %s is a model of %d tasks; export one task at a time (e.g. --workload %s:%s)", w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
	}
	if _, err := os.Stat(filepath.Join(cfg.WorkDir, RecordsFile)); err != nil {
		return nil, fmt.Errorf("export %s: no successful record of %s: the work dir %s has no %s (%w); run colt tune --workload %s with this work dir first",
			w.Name, w.Name, cfg.WorkDir, RecordsFile, errors.Unwrap(err), w.Name)
	}
	be, err := OpenBackend(cfg)
	if err != nil {
		return nil, inputError(err)
	}
	store, err := OpenStore(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer store.Close()
	if msg := store.Repaired(); msg != "" && note != nil {
		note(msg)
	}
	res, err := Export(ExportOptions{
		Workload: w, Store: store, WorkDir: cfg.WorkDir, Target: be.Target(),
		Compiler: be.Compiler(), CFlags: be.CompileFlags(), OutDir: outDir,
	})
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", w.Name, err)
	}
	r := res.Record
	return &ExportSummary{
		Workload: w.Name, LatencyS: r.LatencyS, GFLOPS: GFLOPS(w.Tasks[0].FLOPs, r.LatencyS),
		CandidateHash: r.CandidateHash, Sample: r.Sample, Strategy: r.Strategy,
		Skipped: res.Skipped, Files: res.Files,
	}, nil
}
