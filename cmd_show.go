package main

import (
	"context"
	"fmt"
	"io"

	"colt/core"
)

func runShow(_ context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("show", "--workload NAME [--trace FILE] [--emit tir|c]", errOut)
	common.register(fs)
	name := fs.String("workload", "", "workload to print (see 'colt workloads'); MODEL:TASK names one task of a model")
	emit := fs.String("emit", "tir", "what to print: tir (TVMScript-like program) or c (the generated C kernel)")
	trace := fs.String("trace", "", "print the program this schedule trace (JSON, e.g. an exported trace.json) builds\nfrom the workload, instead of the unscheduled program")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if *name == "" {
		return fail(errOut, exitUsage, "show: --workload is required (see 'colt workloads')")
	}
	if *emit != "tir" && *emit != "c" {
		return fail(errOut, exitUsage, "show: unknown --emit format %q: want tir or c", *emit)
	}
	cfg, err := common.config()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	text, err := core.ShowProgram(cfg, *name, *trace, *emit)
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	fmt.Fprint(out, text)
	return exitOK
}
