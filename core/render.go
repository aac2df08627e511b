package core

import (
	"sync"

	"colt/schedule"
	"colt/workloads"
)

// renderCacheSize bounds the programs a renderer keeps.
const renderCacheSize = 256

// renderer turns traces of one task into displayable programs (TIR and C), keeping the most
// recent ones by hash. It is safe for concurrent use; rendering holds the CPU gate.
type renderer struct {
	task  *workloads.Task
	space schedule.SpaceOptions
	gate  *CPUGate

	mu    sync.Mutex
	cache map[string]*Program
	order []string // hashes, oldest first
}

func newRenderer(task *workloads.Task, space schedule.SpaceOptions, gate *CPUGate) *renderer {
	return &renderer{task: task, space: space, gate: gate, cache: map[string]*Program{}}
}

// program renders the program a trace builds (the unscheduled one for an empty trace); nil
// for a nil trace.
func (r *renderer) program(hash string, t *schedule.Trace) *Program {
	if t == nil {
		return nil
	}
	key := hash
	if key == "" {
		key = "unscheduled"
	}
	r.mu.Lock()
	p := r.cache[key]
	r.mu.Unlock()
	if p != nil {
		return p
	}
	p = &Program{Hash: hash}
	r.gate.Work(func() {
		var err error
		if p.TIR, err = EmitTrace(r.task, t, r.space, "tir"); err == nil {
			p.C, err = EmitTrace(r.task, t, r.space, "c")
		}
		if err != nil {
			p.Err = err.Error()
		}
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cache[key]; !ok {
		if len(r.order) >= renderCacheSize {
			delete(r.cache, r.order[0])
			r.order = r.order[1:]
		}
		r.cache[key] = p
		r.order = append(r.order, key)
	}
	return p
}
