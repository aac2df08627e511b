package schedule

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Schedule transforms a working copy of a program with schedule primitives and records every
// primitive in a trace, so the same program can be rebuilt later by replaying the trace on the
// unscheduled program. Blocks, loops and sampled integers are referred to by handles (random
// variables, in TVM's words) that the primitives return.
//
// Every primitive checks its inputs and the legality of the transformation and returns an error
// without changing the program when either fails; no input makes it panic.
type Schedule struct {
	fn    *Func
	trace *Trace
	rng   *rand.Rand
	rvs   []rvEntry
	// replay, when non-nil, supplies the decisions of sampling instructions being replayed.
	replay *replayState
}

// BlockRV is a handle to a block of the program being scheduled.
type BlockRV struct{ id int }

// LoopRV is a handle to a loop of the program being scheduled, or to the root (the position
// outside every loop) as returned by SampleComputeLocation.
type LoopRV struct{ id int }

// IntRV is an integer: a value sampled by an instruction or a literal written into the trace.
type IntRV struct {
	id  int // -1 for a literal
	lit int
}

// RV is any handle a primitive can annotate: a BlockRV or a LoopRV.
type RV interface{ rvID() int }

func (b BlockRV) rvID() int { return b.id }
func (l LoopRV) rvID() int  { return l.id }

// Lit returns a literal integer for primitives that take IntRVs.
func Lit(v int) IntRV { return IntRV{id: -1, lit: v} }

type rvKind byte

const (
	rvBlock rvKind = 'b'
	rvLoop  rvKind = 'l'
	rvInt   rvKind = 'v'
	rvRoot  rvKind = 'r' // the root position: a LoopRV that is not a loop
)

type rvEntry struct {
	kind  rvKind
	block *Block
	loop  *Loop
	value int
}

// New starts scheduling a copy of f (f itself is never modified). Sampling instructions draw
// from rng; a nil rng makes sampling an error, which is what replaying a fully decided trace
// wants.
func New(f *Func, rng *rand.Rand) *Schedule {
	return &Schedule{fn: CloneFunc(f), trace: &Trace{}, rng: rng}
}

// Func is the program as scheduled so far. It belongs to the schedule: later primitives change it.
func (s *Schedule) Func() *Func { return s.fn }

// Trace is the record of the primitives applied so far, with the decisions of every sampling
// instruction.
func (s *Schedule) Trace() *Trace { return s.trace }

// Copy returns an independent schedule in the same state: the program, the trace and the
// handles are copied, the random source is shared.
func (s *Schedule) Copy() *Schedule {
	c := &cloner{vars: map[*Var]*Var{}, bufs: map[*Buffer]*Buffer{}, stmts: map[Stmt]Stmt{}}
	fn := c.function(s.fn)
	out := &Schedule{fn: fn, trace: s.trace.Copy(), rng: s.rng, rvs: make([]rvEntry, len(s.rvs))}
	for i, e := range s.rvs {
		if e.block != nil {
			e.block, _ = c.stmts[e.block].(*Block)
		}
		if e.loop != nil {
			e.loop, _ = c.stmts[e.loop].(*Loop)
		}
		out.rvs[i] = e
	}
	return out
}

// IntValue is the value of an integer handle.
func (s *Schedule) IntValue(v IntRV) (int, error) {
	if v.id < 0 {
		return v.lit, nil
	}
	if v.id >= len(s.rvs) || s.rvs[v.id].kind != rvInt {
		return 0, fmt.Errorf("v%d is not an integer of this schedule", v.id)
	}
	return s.rvs[v.id].value, nil
}

// BlockOf returns the block a handle refers to, if it is still part of the program.
func (s *Schedule) BlockOf(b BlockRV) (*Block, error) {
	if b.id < 0 || b.id >= len(s.rvs) || s.rvs[b.id].kind != rvBlock {
		return nil, fmt.Errorf("b%d is not a block of this schedule", b.id)
	}
	blk := s.rvs[b.id].block
	if !s.contains(blk) {
		return nil, fmt.Errorf("block %q (b%d) is no longer in the program", blk.Name, b.id)
	}
	return blk, nil
}

// LoopOf returns the loop a handle refers to, if it is still part of the program; nil with no
// error for the root position.
func (s *Schedule) LoopOf(l LoopRV) (*Loop, error) {
	if l.id < 0 || l.id >= len(s.rvs) || (s.rvs[l.id].kind != rvLoop && s.rvs[l.id].kind != rvRoot) {
		return nil, fmt.Errorf("l%d is not a loop of this schedule", l.id)
	}
	if s.rvs[l.id].kind == rvRoot {
		return nil, nil
	}
	lp := s.rvs[l.id].loop
	if !s.contains(lp) {
		return nil, fmt.Errorf("loop %s (l%d) is no longer in the program; an earlier split, fuse or inline removed it", lp.Var.Name, l.id)
	}
	return lp, nil
}

// loopOf is LoopOf for primitives that need a real loop.
func (s *Schedule) loopOf(l LoopRV) (*Loop, error) {
	lp, err := s.LoopOf(l)
	if err == nil && lp == nil {
		err = fmt.Errorf("l%d is the root position, not a loop", l.id)
	}
	return lp, err
}

func (s *Schedule) contains(target Stmt) bool {
	return s.pathTo(target) != nil
}

func (s *Schedule) newBlockRV(b *Block) BlockRV {
	s.rvs = append(s.rvs, rvEntry{kind: rvBlock, block: b})
	return BlockRV{id: len(s.rvs) - 1}
}

func (s *Schedule) newLoopRV(l *Loop) LoopRV {
	if l == nil {
		s.rvs = append(s.rvs, rvEntry{kind: rvRoot})
	} else {
		s.rvs = append(s.rvs, rvEntry{kind: rvLoop, loop: l})
	}
	return LoopRV{id: len(s.rvs) - 1}
}

func (s *Schedule) newIntRV(v int) IntRV {
	s.rvs = append(s.rvs, rvEntry{kind: rvInt, value: v})
	return IntRV{id: len(s.rvs) - 1}
}

// rvName is the handle's name in the trace: b3, l7, v2, or a literal's decimal value.
func (s *Schedule) rvName(id int) string {
	return string(s.rvs[id].kind) + strconv.Itoa(id)
}

func (s *Schedule) intName(v IntRV) string {
	if v.id < 0 {
		return strconv.Itoa(v.lit)
	}
	return s.rvName(v.id)
}

// names returns the trace names of handles.
func (s *Schedule) names(ids ...int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = s.rvName(id)
	}
	return out
}

// record appends an instruction to the trace, with its inputs already named and its outputs
// named by handle.
func (s *Schedule) record(in Inst, inputs []string, outputs []int) {
	in.Inputs = inputs
	for _, id := range outputs {
		in.Outputs = append(in.Outputs, s.rvName(id))
	}
	s.trace.Insts = append(s.trace.Insts, in)
}

// pathTo returns the statements from the root block down to target (inclusive), or nil when
// target is not in the program.
func (s *Schedule) pathTo(target Stmt) []Stmt {
	if target == nil {
		return nil
	}
	var path []Stmt
	var found bool
	var walk func(st Stmt) bool
	walk = func(st Stmt) bool {
		if st == nil {
			return false
		}
		path = append(path, st)
		if st == target {
			found = true
			return true
		}
		switch st := st.(type) {
		case *Seq:
			for _, c := range st.Stmts {
				if walk(c) {
					return true
				}
			}
		case *Loop:
			if walk(st.Body) {
				return true
			}
		case *Block:
			if walk(st.Body) {
				return true
			}
		}
		path = path[:len(path)-1]
		return false
	}
	walk(s.fn.Root)
	if !found {
		return nil
	}
	return path
}

// replaceChild puts repl where old is inside parent (a Seq, Loop or Block body). A nil repl
// removes old; a Seq left with one statement is kept as a Seq (normalizeSeqs tidies up).
func replaceChild(parent, old, repl Stmt) bool {
	switch p := parent.(type) {
	case *Seq:
		for i, c := range p.Stmts {
			if c == old {
				if repl == nil {
					p.Stmts = append(p.Stmts[:i:i], p.Stmts[i+1:]...)
				} else {
					p.Stmts[i] = repl
				}
				return true
			}
		}
	case *Loop:
		if p.Body == old {
			p.Body = repl
			return true
		}
	case *Block:
		if p.Body == old {
			p.Body = repl
			return true
		}
	}
	return false
}

// normalizeSeqs flattens nested sequences and unwraps sequences of one statement everywhere in
// the program, so the printed program and its hash do not depend on how a primitive built it.
func normalizeSeqs(s Stmt) Stmt {
	switch st := s.(type) {
	case *Seq:
		var flat []Stmt
		for _, c := range st.Stmts {
			c = normalizeSeqs(c)
			if inner, ok := c.(*Seq); ok {
				flat = append(flat, inner.Stmts...)
			} else if c != nil {
				flat = append(flat, c)
			}
		}
		if len(flat) == 1 {
			return flat[0]
		}
		st.Stmts = flat
		return st
	case *Loop:
		st.Body = normalizeSeqs(st.Body)
	case *Block:
		st.Body = normalizeSeqs(st.Body)
		if st.Init != nil {
			st.Init = normalizeSeqs(st.Init)
		}
	}
	return s
}

// loopsAbove returns the loops enclosing target, outermost first, stopping at the nearest
// enclosing block (the scope target lives in).
func loopsAbove(path []Stmt) []*Loop {
	var loops []*Loop
	for i := len(path) - 2; i >= 0; i-- {
		switch st := path[i].(type) {
		case *Loop:
			loops = append(loops, st)
		case *Block:
			i = -1
		}
	}
	for i, j := 0, len(loops)-1; i < j; i, j = i+1, j-1 {
		loops[i], loops[j] = loops[j], loops[i]
	}
	return loops
}

// Substitute replaces variables in e by expressions and simplifies the result.
func Substitute(e Expr, m map[*Var]Expr) Expr {
	if e == nil {
		return nil
	}
	return Simplify(substitute(e, m))
}

func substitute(e Expr, m map[*Var]Expr) Expr {
	switch e := e.(type) {
	case *Var:
		if r, ok := m[e]; ok {
			return r
		}
		return e
	case *Binary:
		return Bin(e.Op, substitute(e.A, m), substitute(e.B, m))
	case *Not:
		return &Not{X: substitute(e.X, m)}
	case *Call:
		args := make([]Expr, len(e.Args))
		for i, a := range e.Args {
			args[i] = substitute(a, m)
		}
		return &Call{Fn: e.Fn, Args: args}
	case *Load:
		idx := make([]Expr, len(e.Indices))
		for i, x := range e.Indices {
			idx[i] = substitute(x, m)
		}
		return &Load{Buffer: e.Buffer, Indices: idx}
	case *Select:
		return &Select{Cond: substitute(e.Cond, m), Then: substitute(e.Then, m), Else: substitute(e.Else, m)}
	case *Cast:
		return &Cast{To: e.To, X: substitute(e.X, m)}
	}
	return e
}

// substituteBindings replaces loop variables in the bindings and predicates of every block
// under s (the loop variables of block iterators never appear elsewhere).
func substituteBindings(s Stmt, m map[*Var]Expr) {
	WalkStmt(s, func(st Stmt) bool {
		if b, ok := st.(*Block); ok {
			for i, e := range b.Bindings {
				b.Bindings[i] = Substitute(e, m)
			}
			if b.Predicate != nil {
				b.Predicate = Substitute(b.Predicate, m)
			}
		}
		return true
	})
}
