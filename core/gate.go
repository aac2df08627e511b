package core

import "sync"

// CPUGate keeps CPU-bound work off the cores while a candidate is timed, so a timing is never
// disturbed on a small machine: builds, cost-model predictions and training, sim models and
// rendering hold it shared (several at once), a timed run holds it alone. Network waits hold
// nothing, so model calls overlap timed runs. Nothing holds it while waiting for anything else,
// and nobody takes it twice: that keeps it free of deadlocks.
//
// A session has its own gate unless it is given one: the sessions and the measurement worker
// of one `colt serve` process share theirs. The zero value is ready to use.
type CPUGate struct {
	mu sync.RWMutex
	// machine, when set, is also held around every timed run: the lock that serializes timed
	// runs between the processes of one machine.
	machine sync.Locker
}

// NewCPUGate returns a gate whose timed runs also hold machine (nil: none), the lock shared
// by every colt process of the machine that times candidates.
func NewCPUGate(machine sync.Locker) *CPUGate { return &CPUGate{machine: machine} }

// Work runs CPU-bound work that may share the cores with other work but not with a timed run.
func (g *CPUGate) Work(f func()) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	f()
}

// Timed runs f alone: no CPU-bound work of the process runs meanwhile, and no timed run of
// another process that holds the same machine lock.
func (g *CPUGate) Timed(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.machine != nil {
		g.machine.Lock()
		defer g.machine.Unlock()
	}
	f()
}

// RLock and RUnlock let the cost model's training hold the gate around each boosting round.
func (g *CPUGate) RLock()   { g.mu.RLock() }
func (g *CPUGate) RUnlock() { g.mu.RUnlock() }
