package schedule

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// replayState carries the decision of the sampling instruction being replayed.
type replayState struct {
	decision []int
	// repaired is set by a sampling primitive that had to replace a stale decision.
	repaired bool
}

// ReplayResult says how a replay went beyond success or failure.
type ReplayResult struct {
	// Repaired counts decisions that no longer fit the program and were replaced.
	Repaired int
	// Sampled counts sampling instructions that had no decision and drew a fresh one.
	Sampled int
}

// Replay applies a trace to a copy of f and returns the schedule, whose own trace is the
// replayed one with every decision filled in. Decisions in the trace are used as they are;
// a stale one (a tile that no longer multiplies to the loop's extent, a compute location that
// no longer exists) is repaired as TVM does; a sampling instruction without a decision draws
// one from rng (an error when rng is nil). Any other failure makes the candidate invalid:
// the error names the instruction and the problem. No trace makes it panic; on an error the
// schedule is nil.
func Replay(f *Func, t *Trace, rng *rand.Rand) (_ *Schedule, _ ReplayResult, err error) {
	defer guardInput("Replay", &err)
	if err := checkInputs(f, t); err != nil {
		return nil, ReplayResult{}, err
	}
	s, res, _, err := replay(f, t, rng)
	if err != nil {
		return nil, ReplayResult{}, err
	}
	return s, res, nil
}

// checkInputs rejects the missing program or trace an entry point cannot work on.
func checkInputs(f *Func, t *Trace) error {
	if f == nil {
		return errors.New("no program (nil *Func)")
	}
	if f.Root == nil {
		return fmt.Errorf("program %s has no root block", f.Name)
	}
	if t == nil {
		return errors.New("no trace (nil *Trace)")
	}
	return nil
}

// replay is Replay that also returns which handle each of the trace's names became.
func replay(f *Func, t *Trace, rng *rand.Rand) (*Schedule, ReplayResult, map[string]int, error) {
	s := New(f, rng)
	var res ReplayResult
	env := map[string]int{}
	table := instTable()
	for i, in := range t.Insts {
		info, ok := table[in.Kind]
		if !ok {
			return nil, res, nil, fmt.Errorf("instruction %d: unknown kind %q", i, in.Kind)
		}
		args := make([]rvArg, len(in.Inputs))
		for j, name := range in.Inputs {
			a, err := resolveArg(name, env)
			if err != nil {
				return nil, res, nil, fmt.Errorf("instruction %d (%s): %w", i, in.Kind, err)
			}
			args[j] = a
		}
		s.replay = &replayState{decision: in.Decision}
		outs, err := info.apply(s, in, args)
		rs := s.replay
		s.replay = nil
		if err != nil {
			return nil, res, nil, fmt.Errorf("instruction %d (%s): %w", i, in.Kind, err)
		}
		if in.IsSampling() {
			if in.Decision == nil {
				res.Sampled++
			} else if rs.repaired {
				res.Repaired++
			}
		}
		if len(in.Outputs) != 0 && len(in.Outputs) != len(outs) {
			return nil, res, nil, fmt.Errorf("instruction %d (%s): the trace names %d results, the primitive made %d", i, in.Kind, len(in.Outputs), len(outs))
		}
		for j, name := range in.Outputs {
			env[name] = outs[j]
		}
	}
	return s, res, env, nil
}

// rvArg is a resolved instruction input: a handle in the schedule being built, or a literal.
type rvArg struct {
	id    int
	lit   int
	isLit bool
}

func resolveArg(name string, env map[string]int) (rvArg, error) {
	if v, err := strconv.Atoi(name); err == nil {
		return rvArg{lit: v, isLit: true}, nil
	}
	id, ok := env[name]
	if !ok {
		return rvArg{}, fmt.Errorf("input %s is not defined by an earlier instruction", name)
	}
	return rvArg{id: id}, nil
}

func (a rvArg) block() BlockRV { return BlockRV{id: a.idOr(-1)} }
func (a rvArg) loop() LoopRV   { return LoopRV{id: a.idOr(-1)} }
func (a rvArg) int() IntRV {
	if a.isLit {
		return Lit(a.lit)
	}
	return IntRV{id: a.id}
}

func (a rvArg) idOr(bad int) int {
	if a.isLit {
		return bad
	}
	return a.id
}

func (a rvArg) rv() RV {
	return anyRV{id: a.idOr(-1)}
}

// anyRV is a handle whose kind the primitive checks.
type anyRV struct{ id int }

func (a anyRV) rvID() int { return a.id }

// wantArgs checks an instruction's input count.
func wantArgs(args []rvArg, n int, variadic bool) error {
	if len(args) < n || (!variadic && len(args) != n) {
		more := ""
		if variadic {
			more = " or more"
		}
		return fmt.Errorf("found %d inputs, want %d%s", len(args), n, more)
	}
	return nil
}

func blockIDs(bs []BlockRV) []int {
	out := make([]int, len(bs))
	for i, b := range bs {
		out[i] = b.id
	}
	return out
}

func loopIDs(ls []LoopRV) []int {
	out := make([]int, len(ls))
	for i, l := range ls {
		out[i] = l.id
	}
	return out
}

func intIDs(vs []IntRV) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.id
	}
	return out
}
