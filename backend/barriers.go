package backend

import (
	"fmt"
	"sort"
	"strings"

	"colt/schedule"
)

// A GPU block's threads share its shared-memory buffers, so a statement that reads a shared
// buffer another statement wrote (or writes one another statement read or wrote) must be
// separated from it by __syncthreads(). Barriers are keyed by the statement they precede,
// which is a child of a sequence or a loop's body.

// sharedAccess is what one block does to shared memory.
type sharedAccess struct {
	reads, writes []*schedule.Buffer
}

func sharedAccessOf(b *schedule.Block) sharedAccess {
	var a sharedAccess
	for _, st := range []schedule.Stmt{b.Init, b.Body} {
		schedule.WalkStmt(st, func(x schedule.Stmt) bool {
			if s, ok := x.(*schedule.Store); ok && s.Buffer != nil && s.Buffer.Scope == schedule.Shared {
				a.writes = append(a.writes, s.Buffer)
			}
			schedule.StmtExprs(x, func(e schedule.Expr) {
				schedule.WalkExpr(e, func(y schedule.Expr) bool {
					if ld, ok := y.(*schedule.Load); ok && ld.Buffer != nil && ld.Buffer.Scope == schedule.Shared {
						a.reads = append(a.reads, ld.Buffer)
					}
					return true
				})
			})
			return true
		})
	}
	return a
}

// barrierState is what happened to shared memory since the last barrier: the block that last
// read and last wrote each buffer.
type barrierState struct {
	readBy, writtenBy map[*schedule.Buffer]*schedule.Block
}

func newBarrierState() barrierState {
	return barrierState{readBy: map[*schedule.Buffer]*schedule.Block{}, writtenBy: map[*schedule.Buffer]*schedule.Block{}}
}

func (s *barrierState) sync() {
	clear(s.readBy)
	clear(s.writtenBy)
}

// conflict says why block b may not run after what the state holds without a barrier, or "".
func (s *barrierState) conflict(b *schedule.Block, a sharedAccess) string {
	for _, buf := range a.reads {
		if w := s.writtenBy[buf]; w != nil && w != b {
			return fmt.Sprintf("block %s reads shared buffer %s that block %s wrote", b.Name, buf.Name, w.Name)
		}
	}
	for _, buf := range a.writes {
		if r := s.readBy[buf]; r != nil && r != b {
			return fmt.Sprintf("block %s overwrites shared buffer %s that block %s read", b.Name, buf.Name, r.Name)
		}
		if w := s.writtenBy[buf]; w != nil && w != b {
			return fmt.Sprintf("block %s writes shared buffer %s that block %s wrote", b.Name, buf.Name, w.Name)
		}
	}
	return ""
}

func (s *barrierState) record(b *schedule.Block, a sharedAccess) {
	for _, buf := range a.reads {
		s.readBy[buf] = b
	}
	for _, buf := range a.writes {
		s.writtenBy[buf] = b
	}
}

// blocksOf lists the blocks under a statement with their shared accesses.
func blocksOf(st schedule.Stmt) []*schedule.Block {
	var out []*schedule.Block
	schedule.WalkStmt(st, func(x schedule.Stmt) bool {
		if b, ok := x.(*schedule.Block); ok {
			out = append(out, b)
		}
		return true
	})
	return out
}

// PlanBarriers adds to barriers the __syncthreads() one kernel (a nest of the root) needs:
// before a statement of a sequence that conflicts with what ran since the last barrier, and
// at the start of a loop body whose next iteration would conflict with the previous one. A
// barrier is only placed where every thread of the block reaches it; one needed inside a
// thread loop shorter than the block, or inside a guarded block, is an error.
func PlanBarriers(kernel schedule.Stmt, barriers map[schedule.Stmt]bool) error {
	dims := threadExtents(kernel)
	st := newBarrierState()
	return planIn(kernel, true, dims, &st, barriers)
}

// planIn plans the statements of a body (a sequence or one statement).
func planIn(body schedule.Stmt, uniform bool, dims map[string]int, st *barrierState, barriers map[schedule.Stmt]bool) error {
	for _, c := range bodyStmtsOf(body) {
		if barriers[c] {
			st.sync()
		} else {
			for _, b := range blocksOf(c) {
				if why := st.conflict(b, sharedAccessOf(b)); why != "" {
					if !uniform {
						return fmt.Errorf("%s: a __syncthreads() is needed where not every thread of the block arrives, want shared-memory copies outside guarded or partial thread loops", why)
					}
					barriers[c] = true
					st.sync()
					break
				}
			}
		}
		if err := planStmt(c, uniform, dims, st, barriers); err != nil {
			return err
		}
	}
	return nil
}

func planStmt(c schedule.Stmt, uniform bool, dims map[string]int, st *barrierState, barriers map[schedule.Stmt]bool) error {
	switch c := c.(type) {
	case *schedule.Block:
		if c.Predicate != nil {
			uniform = false
		}
		a := sharedAccessOf(c)
		st.record(c, a)
		return nil
	case *schedule.Loop:
		inner := uniform
		if c.Kind == schedule.ThreadBound && strings.HasPrefix(c.Thread, "threadIdx") && c.Extent < dims[c.Thread] {
			inner = false
		}
		if err := planIn(c.Body, inner, dims, st, barriers); err != nil {
			return err
		}
		if c.Extent < 2 || (c.Kind == schedule.ThreadBound && !strings.HasPrefix(c.Thread, "vthread")) {
			return nil // a bound block or thread index does not repeat within a thread
		}
		// The next iteration runs the body's statements up to its first barrier again.
		first := bodyStmtsOf(c.Body)
		if len(first) == 0 || barriers[first[0]] {
			return nil
		}
		for _, s := range first {
			if barriers[s] {
				break
			}
			for _, b := range blocksOf(s) {
				if why := st.conflict(b, sharedAccessOf(b)); why != "" {
					if !inner {
						return fmt.Errorf("%s in the next iteration of loop %s: a __syncthreads() is needed where not every thread of the block arrives", why, c.Var.Name)
					}
					barriers[first[0]] = true
					// Replan the body with the barrier at its start.
					st.sync()
					return planIn(c.Body, inner, dims, st, barriers)
				}
			}
		}
	}
	return nil
}

// CheckBarriers simulates one kernel's statements in program order, each loop body twice, and
// reports every shared buffer written by one block and read by another (or overwritten after
// another read it) with no barrier between them. It is the static check that keeps a CUDA
// lowering from missing a __syncthreads().
func CheckBarriers(kernel schedule.Stmt, barriers map[schedule.Stmt]bool) error {
	st := newBarrierState()
	problems := map[string]bool{}
	checkIn(kernel, &st, barriers, problems)
	if len(problems) == 0 {
		return nil
	}
	list := make([]string, 0, len(problems))
	for p := range problems {
		list = append(list, p)
	}
	sort.Strings(list)
	return fmt.Errorf("missing __syncthreads(): %s", strings.Join(list, "; "))
}

func checkIn(body schedule.Stmt, st *barrierState, barriers map[schedule.Stmt]bool, problems map[string]bool) {
	for _, c := range bodyStmtsOf(body) {
		if barriers[c] {
			st.sync()
		}
		switch c := c.(type) {
		case *schedule.Block:
			a := sharedAccessOf(c)
			if why := st.conflict(c, a); why != "" {
				problems[why] = true
			}
			st.record(c, a)
		case *schedule.Loop:
			checkIn(c.Body, st, barriers, problems)
			if c.Extent > 1 && (c.Kind != schedule.ThreadBound || strings.HasPrefix(c.Thread, "vthread")) {
				checkIn(c.Body, st, barriers, problems)
			}
		}
	}
}

// threadExtents is the block size of a kernel: the largest extent bound to each threadIdx axis.
func threadExtents(kernel schedule.Stmt) map[string]int {
	dims := map[string]int{}
	schedule.WalkStmt(kernel, func(x schedule.Stmt) bool {
		if lp, ok := x.(*schedule.Loop); ok && lp.Kind == schedule.ThreadBound && strings.HasPrefix(lp.Thread, "threadIdx") {
			dims[lp.Thread] = max(dims[lp.Thread], lp.Extent)
		}
		return true
	})
	return dims
}
