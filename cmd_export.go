package main

import (
	"context"
	"fmt"
	"io"
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
	*name = common.defaultWorkload(*name)
	if *name == "" {
		return fail(errOut, exitUsage, "export: --workload is required (see 'colt workloads')")
	}
	if *outDir == "" {
		return fail(errOut, exitUsage, "export: --out is required: the directory to write the kernel, trace and program into")
	}
	cfg, err := common.config()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	res, err := core.ExportWorkload(cfg, *name, *outDir, func(note string) { fmt.Fprintln(errOut, "colt: "+note) })
	if err != nil {
		return failWith(errOut, err)
	}
	fmt.Fprintf(out, "exported the best schedule of %s: %s, %.3f GFLOP/s (candidate %s, sample %d of a %s run)\n",
		res.Workload, seconds(res.LatencyS), res.GFLOPS, res.CandidateHash, res.Sample, res.Strategy)
	if res.Skipped > 0 {
		fmt.Fprintf(out, "note: %d faster record(s) skipped: their traces no longer build the program that was measured\n", res.Skipped)
	}
	fmt.Fprintf(out, "wrote %s\n", strings.Join(res.Files, ", "))
	return exitOK
}
