package core

import "sync"

// cpuGate keeps CPU-bound work off the cores while a candidate is timed, so a timing is never
// disturbed on a small machine: builds, cost-model predictions and training, sim models and
// rendering hold it shared (several at once), a timed run holds it alone. Network waits hold
// nothing, so model calls overlap timed runs. Nothing holds it while waiting for anything else,
// and nobody takes it twice: that keeps it free of deadlocks.
type cpuGate struct{ mu sync.RWMutex }

// work runs CPU-bound work that may share the cores with other work but not with a timed run.
func (g *cpuGate) work(f func()) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	f()
}

// timed runs f alone: no CPU-bound work of the process runs meanwhile.
func (g *cpuGate) timed(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f()
}

// RLock and RUnlock let the cost model's training hold the gate around each boosting round.
func (g *cpuGate) RLock()   { g.mu.RLock() }
func (g *cpuGate) RUnlock() { g.mu.RUnlock() }
