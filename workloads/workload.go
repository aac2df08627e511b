package workloads

import (
	"fmt"
	"strings"

	"colt/schedule"
)

// Workload is something colt can tune: a single program (one task) or a model made of
// several weighted tasks, as listed in the catalog.
type Workload struct {
	// Name identifies the workload in the catalog and on the command line.
	Name string
	// Description says in a line what the workload computes.
	Description string
	// Source is "built-in" or the path of the config file that defined the workload.
	Source string
	// Tasks are the programs the workload consists of; exactly one for a single workload.
	Tasks []*Task
}

// Task is one program of a workload, with how often it occurs and its cost.
type Task struct {
	// Name identifies the task within its workload (for a single workload, the workload's name).
	Name string
	// Weight is how many times the task occurs in one run of its workload.
	Weight int
	// Stages is the task's program in the tensor-expression language, one stage per entry.
	Stages []string
	// FLOPs is the floating-point work of one run of the task (a matmul is 2·M·N·K).
	FLOPs int64
	// MinBytes is the total size of the task's inputs and outputs: the least memory traffic.
	MinBytes int64

	desc     string
	funcName string
	prog     *program
}

// BuiltinSource is the Source of every built-in workload.
const BuiltinSource = "built-in"

// Func returns the task's unscheduled program: a fresh copy on every call, with its own
// variables and buffers, so the caller may transform it freely.
func (t *Task) Func() *schedule.Func {
	f := schedule.CloneFunc(t.prog.fn)
	f.Name = t.funcName
	return f
}

// IsSingle reports whether the workload is one program rather than a model of several tasks.
func (w *Workload) IsSingle() bool { return len(w.Tasks) == 1 }

// FLOPs is the floating-point work of one run of the whole workload: each task's FLOPs times
// its weight, summed.
func (w *Workload) FLOPs() int64 {
	var total int64
	for _, t := range w.Tasks {
		total = satAdd(total, satMul(t.FLOPs, int64(max(t.Weight, 0))))
	}
	return total
}

// Parse checks a user workload spec and builds the workload; source is the config file path
// shown in the catalog. A spec with tasks may refer to built-in workloads only (use
// NewCatalog to refer to other user workloads). Every error is one line starting with
// `workload "NAME": ` and naming the part of the spec at fault.
func Parse(name string, spec Spec, source string) (*Workload, error) {
	var builtins map[string]*Workload // built only when a task refers to one
	return parseWith(name, spec, source, true, func(ref string) (*Task, error) {
		if builtins == nil {
			builtins = map[string]*Workload{}
			for _, w := range Builtin() {
				builtins[w.Name] = w
			}
		}
		return resolveTask(ref, func(n string) (*Workload, error) {
			if w, ok := builtins[n]; ok {
				return w, nil
			}
			return nil, fmt.Errorf("unknown workload %q%s", n, suggest(n, sortedKeys(builtins)))
		})
	})
}

// parseWith parses a spec, resolving task references with resolve; verify as in compile.
func parseWith(name string, spec Spec, source string, verify bool, resolve func(string) (*Task, error)) (*Workload, error) {
	w, err := parseSpec(name, spec, source, verify, resolve)
	if err != nil {
		return nil, fmt.Errorf("workload %q: %w", name, err)
	}
	return w, nil
}

func parseSpec(name string, spec Spec, source string, verify bool, resolve func(string) (*Task, error)) (*Workload, error) {
	if err := checkName("a workload name", name); err != nil {
		return nil, err
	}
	w := &Workload{Name: name, Description: spec.Description, Source: source}
	if len(spec.Tasks) > 0 {
		return w, parseModel(w, spec, resolve)
	}
	prog, err := compile(funcName(name), spec, verify)
	if err != nil {
		return nil, err
	}
	w.Tasks = []*Task{{
		Name:     name,
		Weight:   1,
		Stages:   append([]string(nil), spec.Stages...),
		FLOPs:    prog.flops,
		MinBytes: prog.minBytes,
		desc:     spec.Description,
		funcName: funcName(name),
		prog:     prog,
	}}
	return w, nil
}

// parseModel fills a model workload's tasks from its task references.
func parseModel(w *Workload, spec Spec, resolve func(string) (*Task, error)) error {
	if len(spec.Sizes)+len(spec.Inputs)+len(spec.Tensors)+len(spec.Stages)+len(spec.Outputs) > 0 || spec.DType != "" {
		return fmt.Errorf("a workload with tasks has no dtype, sizes, inputs, tensors, stages or outputs of its own; define those in the workloads its tasks refer to")
	}
	seen := map[string]bool{}
	for i, ref := range spec.Tasks {
		name := ref.Name
		if name == "" {
			name = ref.Workload[strings.LastIndex(ref.Workload, ":")+1:]
		}
		label := fmt.Sprintf("task %d (%s)", i+1, name)
		switch {
		case ref.Workload == "":
			return fmt.Errorf("%s: workload is missing; say which workload the task runs", label)
		case ref.Weight < 1:
			return fmt.Errorf("%s: weight %d must be at least 1 (how many times the task occurs)", label, ref.Weight)
		case seen[name]:
			return fmt.Errorf("%s: task name %s is used twice; give the tasks distinct names", label, name)
		}
		if err := checkName("a task name", name); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		seen[name] = true
		t, err := resolve(ref.Workload)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		w.Tasks = append(w.Tasks, &Task{
			Name:     name,
			Weight:   ref.Weight,
			Stages:   append([]string(nil), t.Stages...),
			FLOPs:    t.FLOPs,
			MinBytes: t.MinBytes,
			desc:     t.desc,
			funcName: funcName(w.Name) + "_" + funcName(name),
			prog:     t.prog,
		})
	}
	return nil
}

// resolveTask finds the task a reference names: a single-task workload, or "model:task".
func resolveTask(ref string, get func(string) (*Workload, error)) (*Task, error) {
	model, task, isPair := strings.Cut(ref, ":")
	w, err := get(model)
	if err != nil {
		return nil, err
	}
	if isPair {
		return findTask(w, task)
	}
	if !w.IsSingle() {
		return nil, fmt.Errorf("workload %q is a model with %d tasks; refer to one of them as %q", ref, len(w.Tasks), ref+":"+w.Tasks[0].Name)
	}
	return w.Tasks[0], nil
}

// findTask returns the named task of a workload.
func findTask(w *Workload, name string) (*Task, error) {
	var names []string
	for _, t := range w.Tasks {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return nil, fmt.Errorf("workload %q has no task %q%s; its tasks: %s", w.Name, name, suggest(name, names), strings.Join(names, ", "))
}

// checkName checks a workload or task name: letters, digits, '-', '_' and '.'.
func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s cannot be empty", what)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isLetter(c) && !isDigit(c) && c != '-' && c != '.' {
			return fmt.Errorf("%s may only contain letters, digits, '-', '_' and '.'", what)
		}
	}
	return nil
}

// funcName turns a workload or task name into an identifier for the program's name.
func funcName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !isLetter(c) && !isDigit(c) {
			b[i] = '_'
		}
	}
	if len(b) == 0 || isDigit(b[0]) {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}
