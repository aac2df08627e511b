package main

import (
	"context"
	"fmt"
	"io"

	"colt/core"
)

func runShow(_ context.Context, args []string, out, errOut io.Writer) int {
	var common commonFlags
	fs := newFlagSet("show", "--workload NAME [--emit tir|c]", errOut)
	common.register(fs)
	name := fs.String("workload", "", "workload to print (see 'colt workloads'); MODEL:TASK names one task of a model")
	emit := fs.String("emit", "tir", "what to print: tir (TVMScript-like program) or c (the generated C kernel)")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if *name == "" {
		return fail(errOut, exitUsage, "show: --workload is required (see 'colt workloads')")
	}
	_, cat, err := common.load()
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
	}
	w, err := cat.Get(*name)
	if err != nil {
		return fail(errOut, exitUsage, "%v", err)
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
