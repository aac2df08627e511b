package main

import (
	"context"
	"fmt"
	"io"

	"colt/backend"
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
	_, cat, err := common.load()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	w, err := cat.Get(*name)
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	if *trace != "" {
		if !w.IsSingle() {
			return fail(errOut, exitUsage, "show: --trace needs a single task; %s is a model of %d tasks (name one as %s:%s)", w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
		}
		t, err := readTrace(*trace)
		if err != nil {
			return fail(errOut, exitUsage, "show: --trace %v", err)
		}
		text, err := core.EmitTrace(w.Tasks[0], t, core.SpaceOptionsFor(backend.DetectCPU()), *emit)
		if err != nil {
			return fail(errOut, exitUsage, "show %s: --trace %s: %v", w.Name, *trace, err)
		}
		fmt.Fprint(out, text)
		return exitOK
	}
	for i, t := range w.Tasks {
		text, err := core.Emit(t, *emit)
		if err != nil {
			return fail(errOut, exitUsage, "show %s: %v", w.Name, err)
		}
		if !w.IsSingle() {
			if i > 0 {
				fmt.Fprintln(out)
			}
			comment := "#"
			if *emit == "c" {
				comment = "//"
			}
			fmt.Fprintf(out, "%s task %s:%s, %d occurrence(s) per forward step\n", comment, w.Name, t.Name, t.Weight)
		}
		fmt.Fprint(out, text)
	}
	return exitOK
}
