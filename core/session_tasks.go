package core

import (
	"fmt"
	"strings"

	"colt/schedule"
	"colt/workloads"
)

// sessionTask is one task a session tunes, with what the task scheduler needs to know of it.
type sessionTask struct {
	ref  TaskRef
	hash string // the program's structural hash (its records' workload hash)
	// group names the kind of program (programKind): tasks of one group learn from each
	// other's throughput.
	group string
	flops int64
}

// sessionTasks are the tasks of a workload in its order, those with the same program merged
// into the first (their weights summed).
func sessionTasks(w *workloads.Workload) []sessionTask {
	if w.IsSingle() {
		t := w.Tasks[0]
		return []sessionTask{{ref: TaskRef{Name: w.Name, Weight: 1}, hash: schedule.StructuralHash(t.Func()),
			group: programKind(t.Stages), flops: t.FLOPs}}
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
			group: programKind(t.Stages), flops: t.FLOPs})
	}
	return out
}

// programKind is a program's stages in the workload language with its tensors renamed in order
// of appearance (T0, T1, …): the programs of one operator at other sizes, or over other
// weights, are of one kind.
func programKind(stages []string) string {
	names := map[string]string{}
	var b strings.Builder
	for i, st := range stages {
		if i > 0 {
			b.WriteString("; ")
		}
		for j := 0; j < len(st); {
			k := j
			for k < len(st) && (st[k] == '_' || st[k] >= 'a' && st[k] <= 'z' || st[k] >= 'A' && st[k] <= 'Z' || k > j && st[k] >= '0' && st[k] <= '9') {
				k++
			}
			if k == j {
				b.WriteByte(st[j])
				j++
				continue
			}
			word := st[j:k]
			if k < len(st) && st[k] == '[' {
				if names[word] == "" {
					names[word] = fmt.Sprintf("T%d", len(names))
				}
				word = names[word]
			}
			b.WriteString(word)
			j = k
		}
	}
	return b.String()
}
