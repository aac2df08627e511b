package core

import (
	"strings"

	"colt/schedule"
	"colt/workloads"
)

// sessionTask is one task a session tunes, with what the task scheduler needs to know of it.
type sessionTask struct {
	ref  TaskRef
	hash string // the program's structural hash (its records' workload hash)
	// group names the kind of program (its stages in the workload language, whatever the
	// sizes): tasks of one group learn from each other's throughput.
	group string
	flops int64
}

// sessionTasks are the tasks of a workload in its order, those with the same program merged
// into the first (their weights summed).
func sessionTasks(w *workloads.Workload) []sessionTask {
	if w.IsSingle() {
		t := w.Tasks[0]
		return []sessionTask{{ref: TaskRef{Name: w.Name, Weight: 1}, hash: schedule.StructuralHash(t.Func()),
			group: strings.Join(t.Stages, "; "), flops: t.FLOPs}}
	}
	var out []sessionTask
	byHash := map[string]int{}
	for _, t := range w.Tasks {
		name := w.Name + ":" + t.Name
		hash := schedule.StructuralHash(t.Func())
		if i, ok := byHash[hash]; ok {
			out[i].ref.Weight += t.Weight
			out[i].ref.Also = append(out[i].ref.Also, name)
			continue
		}
		byHash[hash] = len(out)
		out = append(out, sessionTask{ref: TaskRef{Name: name, Weight: t.Weight}, hash: hash,
			group: strings.Join(t.Stages, "; "), flops: t.FLOPs})
	}
	return out
}
