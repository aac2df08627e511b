package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"colt/core"
)

func runExport(_ context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("export", "--workload NAME --out DIR [--work-dir DIR]", errOut)
	common.register(fs)
	name := fs.String("workload", "", "workload whose best measured schedule to export (one task of a model as MODEL:TASK)")
	outDir := fs.String("out", "", "directory to write kernel.c, trace.json and program.tir into (created if missing)")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if *name == "" {
		return fail(errOut, exitUsage, "export: --workload is required (see 'colt workloads')")
	}
	if *outDir == "" {
		return fail(errOut, exitUsage, "export: --out is required: the directory to write the kernel, trace and program into")
	}
	cfg, cat, err := common.load()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	w, err := cat.Get(*name)
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	if !w.IsSingle() {
		return fail(errOut, exitUsage, "export: %s is a model of %d tasks; export one task at a time (e.g. --workload %s:%s)", w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
	}
	if _, err := os.Stat(filepath.Join(cfg.WorkDir, core.RecordsFile)); err != nil {
		return fail(errOut, exitFailure, "export %s: no successful record of %s: the work dir %s has no %s (%v); run colt tune --workload %s with this work dir first",
			w.Name, w.Name, cfg.WorkDir, core.RecordsFile, errors.Unwrap(err), w.Name)
	}
	be, err := core.OpenBackend(cfg)
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	store, err := core.OpenStore(cfg.WorkDir)
	if err != nil {
		return fail(errOut, exitFailure, "export: %v", err)
	}
	defer store.Close()
	if msg := store.Repaired(); msg != "" {
		fmt.Fprintln(errOut, "colt: "+msg)
	}
	res, err := core.Export(core.ExportOptions{
		Workload: w, Store: store, WorkDir: cfg.WorkDir, Target: be.Target(),
		Compiler: be.Compiler(), CFlags: be.Config().CFlags, OutDir: *outDir,
	})
	if err != nil {
		return fail(errOut, exitFailure, "export %s: %v", w.Name, err)
	}
	r := res.Record
	fmt.Fprintf(out, "exported the best schedule of %s: %s, %.3f GFLOP/s (candidate %s, sample %d of a %s run)\n",
		w.Name, seconds(r.LatencyS), core.GFLOPS(w.Tasks[0].FLOPs, r.LatencyS), r.CandidateHash, r.Sample, r.Strategy)
	if res.Skipped > 0 {
		fmt.Fprintf(out, "note: %d faster record(s) skipped: their traces no longer build the program that was measured\n", res.Skipped)
	}
	fmt.Fprintf(out, "wrote %s\n", strings.Join(res.Files, ", "))
	return exitOK
}
