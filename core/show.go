package core

import (
	"fmt"
	"strings"

	"colt/backend"
)

// ShowProgram renders a workload's program as colt show prints it: as TVMScript-like text
// (format "tir", the default when empty) or as the C the backend compiles ("c"). A model
// renders every task, each under a comment naming it and its weight. With a trace file, the
// program is the one the trace builds from the (single-task) workload in the design space of
// the detected CPU, as tune and export build it on this machine. Every error is an InputError
// phrased for the command line.
func ShowProgram(cfg Config, name, traceFile, format string) (string, error) {
	if format == "" {
		format = "tir"
	}
	if format != "tir" && format != "c" {
		return "", inputErrorf("show: unknown --emit format %q: want tir or c", format)
	}
	w, err := resolveWorkload(cfg, name)
	if err != nil {
		return "", err
	}
	if traceFile != "" {
		if !w.IsSingle() {
			return "", inputErrorf("show: --trace needs a single task; %s is a model of %d tasks (name one as %s:%s)", w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
		}
		t, err := ReadTrace(traceFile)
		if err != nil {
			return "", inputErrorf("show: --trace %w", err)
		}
		text, err := EmitTrace(w.Tasks[0], t, SpaceOptionsFor(backend.DetectCPU()), format)
		if err != nil {
			return "", inputErrorf("show %s: --trace %s: %w", w.Name, traceFile, err)
		}
		return text, nil
	}
	comment := "#"
	if format == "c" {
		comment = "//"
	}
	var b strings.Builder
	for i, t := range w.Tasks {
		text, err := Emit(t, format)
		if err != nil {
			return "", inputErrorf("show %s: %w", w.Name, err)
		}
		if !w.IsSingle() {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "%s task %s:%s, %d occurrence(s) per forward step\n", comment, w.Name, t.Name, t.Weight)
		}
		b.WriteString(text)
	}
	return b.String(), nil
}
