package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"

	"colt/schedule"
)

// Candidate is one schedule a strategy proposes: a fully decided trace and, once prepared by
// Problem.Prepare, the program it builds and that program's structural hash.
type Candidate struct {
	// Trace is the decided trace; replaying it on the unscheduled program gives the schedule.
	Trace *schedule.Trace
	// Func is the built program (replay, postprocessors, verifier); nil when the trace is
	// invalid.
	Func *schedule.Func
	// Hash is schedule.StructuralHash(Func), the deduplication key; for an invalid trace it is
	// InvalidHash(Trace), so the same invalid trace is not tried twice either.
	Hash string
	// Err says why schedule.Build rejected the trace; non-nil means the candidate is invalid.
	Err error
	// Proposer names who proposed the candidate: a strategy, later a model.
	Proposer string
	// Mutator names the mutation that made the candidate from Parent ("" for a sample).
	Mutator string
	// Parent is the hash of the candidate this one was mutated from ("" for a sample).
	Parent string

	prepared bool
}

// Valid reports whether the candidate's trace built a program.
func (c *Candidate) Valid() bool { return c.Err == nil && c.Func != nil }

// InvalidHash is the key an invalid trace is remembered by: "invalid-" and 32 hex digits of the
// SHA-256 of its JSON.
func InvalidHash(t *schedule.Trace) string {
	data, _ := json.Marshal(t)
	sum := sha256.Sum256(data)
	return "invalid-" + hex.EncodeToString(sum[:16])
}

// Measured is a candidate with the outcome of its measurement.
type Measured struct {
	Candidate *Candidate
	// Status is ok or the failure class.
	Status Status
	// LatencyS is the median latency in seconds; only for status ok.
	LatencyS float64
	// Message says what happened, for failures.
	Message string
	// Sample is the 1-based index of the measurement in this run; 0 for a record of an earlier
	// run.
	Sample int
}

// OK reports whether the candidate built, ran and matched the reference.
func (m Measured) OK() bool { return m.Status == StatusOK && m.LatencyS > 0 }

// Noter is a strategy with things to tell the operator (a model endpoint that fails, say); the
// tuner shows its notes after every proposal.
type Noter interface {
	TakeNotes() []string
}

// Problem is what a strategy searches: one task's unscheduled program, its design space and
// the one random source of the run. It also answers whether a candidate is already known
// (measured in this run or an earlier one, failed, or waiting to be measured), so strategies
// never propose a candidate twice. Prepare may be called from several goroutines at once; the
// rest belongs to the goroutine that calls the strategy.
type Problem struct {
	// Workload names the task being tuned.
	Workload string
	// Func is the unscheduled program; read it, never change it (Build and Replay copy it).
	Func *schedule.Func
	// FLOPs is the floating-point work of one run of the program.
	FLOPs int64
	// Sketches are the designs of the space; strategies sample them uniformly.
	Sketches []schedule.Sketch
	// Space is the target description the rules, postprocessors and mutators use.
	Space schedule.SpaceOptions
	// Rand is the run's only random source, seeded by --seed.
	Rand *rand.Rand
	// Budget is the number of candidates this run measures (0 when unknown); strategies that
	// tell a model the trials progress report it.
	Budget int

	known func(hash string) bool
	gate  *CPUGate

	mu sync.Mutex
	// prepared counts the traces Prepare built; invalid those it rejected, lastInvalid the
	// error of the latest. The tuner reports them when a batch comes back empty.
	prepared, invalid int
	lastInvalid       error
}

// NewProblem describes a search problem; known reports whether a candidate hash is already
// measured, failed or waiting to be measured (nil: nothing is known).
func NewProblem(workload string, f *schedule.Func, flops int64, sketches []schedule.Sketch, space schedule.SpaceOptions, rng *rand.Rand, known func(string) bool) *Problem {
	if known == nil {
		known = func(string) bool { return false }
	}
	return &Problem{Workload: workload, Func: f, FLOPs: flops, Sketches: sketches, Space: space, Rand: rng, known: known, gate: &CPUGate{}}
}

// Known reports whether a candidate with this hash was measured (or failed) already, in this
// run or an earlier one in the same work dir, or is waiting to be measured. Such candidates are
// never measured again.
func (p *Problem) Known(hash string) bool { return p.known(hash) }

// work runs a strategy's CPU-bound work under the run's CPU gate, so it never overlaps a timed
// run; a strategy releases the gate while it waits for anything (a model call, say).
func (p *Problem) work(f func()) { p.gate.Work(f) }

// invalidCounts returns how many traces Prepare built and rejected so far, and the latest
// rejection.
func (p *Problem) invalidCounts() (prepared, invalid int, last error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.prepared, p.invalid, p.lastInvalid
}

// Prepare builds a decided trace into a candidate: schedule.Build (replay, postprocessors,
// verifier) and the structural hash. A trace that does not build gives an invalid candidate
// (Err set, Hash = InvalidHash); Prepare itself never fails.
func (p *Problem) Prepare(t *schedule.Trace) *Candidate {
	c := &Candidate{Trace: t, prepared: true}
	if t == nil {
		c.Trace = &schedule.Trace{}
		c.Err = fmt.Errorf("no trace")
	} else if f, err := schedule.Build(p.Func, t, p.Space); err != nil {
		c.Err = err
	} else {
		c.Func, c.Hash = f, schedule.StructuralHash(f)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prepared++
	if c.Err != nil {
		c.Func, c.Hash = nil, InvalidHash(c.Trace)
		p.invalid++
		p.lastInvalid = c.Err
	}
	return c
}

// prepare fills in the program and hash of a candidate a strategy did not prepare, keeping its
// proposer, mutator and parent.
func (p *Problem) prepare(c *Candidate) *Candidate {
	if c.prepared {
		return c
	}
	out := p.Prepare(c.Trace)
	out.Proposer, out.Mutator, out.Parent = c.Proposer, c.Mutator, c.Parent
	return out
}

// Sample draws a random candidate: a sketch chosen uniformly, its decisions sampled afresh
// (schedule.SampleCandidate), then prepared. It returns nil when the space has no sketch; a
// sample that fails is an invalid candidate.
func (p *Problem) Sample() *Candidate {
	if len(p.Sketches) == 0 {
		return nil
	}
	sk := p.Sketches[p.Rand.IntN(len(p.Sketches))]
	t, err := schedule.SampleCandidate(p.Func, sk.Trace, p.Rand)
	if err != nil {
		p.mu.Lock()
		p.invalid++
		p.lastInvalid = err
		p.mu.Unlock()
		return &Candidate{Trace: sk.Trace, Err: err, Hash: InvalidHash(sk.Trace), prepared: true}
	}
	return p.Prepare(t)
}

// Strategy is a search strategy: given the problem and what is already known, it proposes
// batches of candidates and learns from their results. The tuner measures every batch (builds
// it in parallel, then times its candidates one by one), records every result and hands the
// results back through Observe. A strategy whose table entry has a lookahead proposes up to that
// many batches ahead of the results (its proposals wait on model calls, which then overlap the
// measurements); the points where results are observed stay fixed, so a run is reproducible.
type Strategy interface {
	// Name is the strategy's name as --strategy spells it.
	Name() string
	// Init is called once, before the first Propose, with the problem and the records of
	// earlier runs for the same workload and target (warm start; Sample is 0 in them).
	Init(ctx context.Context, p *Problem, prior []Measured) error
	// Propose returns up to n new candidates, prepared with Problem.Prepare (or with only a
	// Trace, which the tuner then prepares). Fewer than n, or none, means the strategy found
	// no more new candidates this time; the run stops after search.max_empty_batches batches
	// in a row without a new one. Candidates already known are skipped by the tuner. An error
	// means ctx ended; the candidates are then dropped.
	Propose(ctx context.Context, n int) ([]*Candidate, error)
	// Observe receives the results of a batch, in order (a run interrupted mid-batch reports
	// nothing).
	Observe(results []Measured)
}
