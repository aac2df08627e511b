package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"colt/core"
)

func runShow(_ context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("show", "--workload NAME [--trace FILE] [--emit tir|c|cuda] [--target cuda --arch sm_XX]", errOut)
	common.register(fs)
	name := fs.String("workload", "", "workload to print (see 'colt workloads'); MODEL:TASK names one task of a model")
	emit := fs.String("emit", "tir", "what to print: tir (TVMScript-like program), c (the generated C kernel) or cuda\n(the CUDA kernels and launcher; needs a GPU target)")
	trace := fs.String("trace", "", "print the program this schedule trace (JSON, e.g. an exported trace.json) builds\nfrom the workload, instead of the unscheduled program")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	*name = common.defaultWorkload(*name)
	if *name == "" {
		return fail(errOut, exitUsage, "show: --workload is required (see 'colt workloads')")
	}
	if !slices.Contains(core.EmitFormats(), *emit) {
		return fail(errOut, exitUsage, "show: unknown --emit format %q: want one of %s", *emit, strings.Join(core.EmitFormats(), ", "))
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
