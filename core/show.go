package core

import (
	"fmt"
	"slices"
	"strings"

	"colt/backend"
	"colt/schedule"
	"colt/workloads"
)

// ShowProgram renders a workload's program as colt show prints it: as TVMScript-like text
// (format "tir", the default when empty), as the C the backend compiles ("c"), or as CUDA
// ("cuda": the configuration's target must be a GPU, detected or named by backend.cuda_arch;
// without a trace the program is the GPU design space's sketch with its built-in decisions,
// an untuned but valid GPU schedule). A model
// renders every task, each under a comment naming it and its weight. With a trace file, the
// program is the one the trace builds from the (single-task) workload in the design space of
// the detected CPU, as tune and export build it on this machine. Every error is an InputError
// phrased for the command line.
func ShowProgram(cfg Config, name, traceFile, format string) (string, error) {
	if format == "" {
		format = "tir"
	}
	if !slices.Contains(EmitFormats(), format) {
		return "", inputErrorf("show: unknown --emit format %q: want one of %s", format, strings.Join(EmitFormats(), ", "))
	}
	w, err := resolveWorkload(cfg, name)
	if err != nil {
		return "", err
	}
	space := SpaceOptionsFor(backend.DetectCPU())
	if format == "cuda" || cfg.Target == TargetCUDA {
		if cfg.Target == TargetCPU {
			return "", inputErrorf("show: --emit cuda needs a GPU target, not --target cpu")
		}
		cfg.Target = TargetCUDA
		t, err := ResolveTarget(cfg, true)
		if err != nil {
			return "", err
		}
		space = SpaceOptionsFor(t)
	}
	if traceFile != "" {
		if !w.IsSingle() {
			return "", inputErrorf("show: --trace needs a single task; %s is a model of %d tasks (name one as %s:%s)", w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
		}
		t, err := ReadTrace(traceFile)
		if err != nil {
			return "", inputErrorf("show: --trace %w", err)
		}
		text, err := EmitTrace(w.Tasks[0], t, space, format)
		if err != nil {
			return "", inputErrorf("show %s: --trace %s: %w", w.Name, traceFile, err)
		}
		return text, nil
	}
	comment := "#"
	if format != "tir" {
		comment = "//"
	}
	var b strings.Builder
	for i, t := range w.Tasks {
		var text string
		var err error
		if space.GPU != nil && format == "cuda" {
			text, err = emitDefaultGPU(t, space)
		} else {
			text, err = Emit(t, format)
		}
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

// EmitFormats lists what colt show can print.
func EmitFormats() []string { return []string{"tir", "c", "cuda"} }

// emitDefaultGPU lowers a task's default GPU schedule (its sketch's own decisions) to CUDA.
func emitDefaultGPU(t *workloads.Task, space schedule.SpaceOptions) (string, error) {
	f := t.Func()
	sketches, err := schedule.DesignSpace(f, space)
	if err != nil {
		return "", err
	}
	if len(sketches) == 0 {
		return "", fmt.Errorf("the GPU design space of %s is empty", t.Name)
	}
	return EmitTrace(t, sketches[0].Trace, space, "cuda")
}
