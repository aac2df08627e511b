package core

import (
	"context"
	"errors"
	"math"
	"slices"

	"colt/schedule"
)

// Evolutionary is TVM MetaSchedule's evolutionary search. For every batch it starts a
// population from the best measured candidates (InitMeasuredRatio of it) plus random samples,
// evolves it for Generations rounds — each child a mutation of a parent (MutationProb,
// schedule.Mutate) or a copy, parents drawn in proportion to their score — and keeps every
// unmeasured candidate it meets, deduplicated by structural hash. The batch is the best-scored
// of those, with an EpsGreedy share of random samples. The Scorer ranks candidates.
type Evolutionary struct {
	cfg    EvolutionaryConfig
	scorer Scorer
	p      *Problem

	measured []Measured // successfully measured candidates, earlier runs included
	proposed map[string]bool
}

// NewEvolutionary returns the evolutionary strategy ranking candidates with scorer.
func NewEvolutionary(cfg EvolutionaryConfig, scorer Scorer) *Evolutionary {
	return &Evolutionary{cfg: cfg, scorer: scorer, proposed: map[string]bool{}}
}

// Name implements Strategy.
func (e *Evolutionary) Name() string { return "evolutionary" }

// Init implements Strategy: earlier records seed the scorer and the initial populations.
func (e *Evolutionary) Init(_ context.Context, p *Problem, prior []Measured) error {
	e.p = p
	e.Observe(prior)
	return nil
}

// Observe implements Strategy.
func (e *Evolutionary) Observe(results []Measured) {
	e.scorer.Observe(results)
	for _, m := range results {
		if m.OK() && m.Candidate != nil && m.Candidate.Trace != nil {
			e.measured = append(e.measured, m)
		}
	}
}

// Propose implements Strategy.
func (e *Evolutionary) Propose(ctx context.Context, n int) (out []*Candidate, err error) {
	e.p.work(func() { out = e.propose(ctx, n) })
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return out, nil
}

func (e *Evolutionary) propose(ctx context.Context, n int) []*Candidate {
	pop, randoms := e.initPopulation()
	if len(pop) == 0 {
		return nil
	}
	// Every unmeasured candidate met in any generation, in the order first met.
	var pool []*Candidate
	inPool := map[string]bool{}
	for gen := 0; ; gen++ {
		for _, c := range pop {
			if !e.fresh(c) || inPool[c.Hash] {
				continue
			}
			inPool[c.Hash] = true
			pool = append(pool, c)
		}
		if gen >= e.cfg.Generations || ctx.Err() != nil {
			break
		}
		pop = e.evolve(pop)
	}
	byScore(pool, e.scorer.Predict(pool))
	nRand := int(math.Round(e.cfg.EpsGreedy * float64(n)))
	var out []*Candidate
	taken := map[string]bool{}
	take := func(c *Candidate, limit int) {
		if len(out) < limit && !taken[c.Hash] && e.fresh(c) {
			taken[c.Hash] = true
			out = append(out, c)
		}
	}
	for _, c := range pool {
		take(c, n-nRand)
	}
	for _, c := range randoms {
		take(c, n)
	}
	for _, c := range pool { // too few random samples: fill up with predicted ones
		take(c, n)
	}
	for _, c := range out {
		e.proposed[c.Hash] = true
		if c.Proposer == "" {
			c.Proposer = e.Name()
		}
	}
	return out
}

// fresh reports whether a candidate may still be proposed: valid, not known, not proposed.
func (e *Evolutionary) fresh(c *Candidate) bool {
	return c.Valid() && !e.p.Known(c.Hash) && !e.proposed[c.Hash]
}

// initPopulation is the best measured candidates (InitMeasuredRatio of the population, fastest
// first) plus random samples up to the population size, deduplicated. It also returns the
// random samples that are still fresh, the pool of the eps-greedy share.
func (e *Evolutionary) initPopulation() (pop, randoms []*Candidate) {
	size := max(e.cfg.Population, 1)
	seen := map[string]bool{}
	// The best measured candidates, ranked by the scorer (for measured candidates it reports
	// their measured throughput), fastest first.
	best := make([]*Candidate, len(e.measured))
	for i, m := range e.measured {
		best[i] = m.Candidate
	}
	byScore(best, e.scorer.Predict(best))
	want := int(math.Round(e.cfg.InitMeasuredRatio * float64(size)))
	for _, c := range best {
		if len(pop) >= want {
			break
		}
		if seen[c.Hash] {
			continue
		}
		seen[c.Hash] = true
		pop = append(pop, c)
	}
	for tries := 0; len(pop) < size && tries < 2*size+64; tries++ {
		c := e.p.Sample()
		if c == nil {
			break
		}
		if !c.Valid() || seen[c.Hash] {
			continue
		}
		seen[c.Hash] = true
		c.Proposer = e.Name() + "/sample"
		pop = append(pop, c)
		if e.fresh(c) {
			randoms = append(randoms, c)
		}
	}
	return pop, randoms
}

// evolve makes the next generation: children of parents drawn in proportion to their scores,
// each a mutation (with MutationProb) or a copy of its parent, deduplicated. When no child can
// be made, the population stays as it is.
func (e *Evolutionary) evolve(pop []*Candidate) []*Candidate {
	scores := e.scorer.Predict(pop)
	cum := make([]float64, len(pop))
	total := 0.0
	for i, s := range scores {
		if math.IsNaN(s) || s < 0 {
			s = 0
		}
		total += s + 1e-3 // a floor, so a failed or unknown parent can still be drawn rarely
		cum[i] = total
	}
	size := max(e.cfg.Population, 1)
	var next []*Candidate
	seen := map[string]bool{}
	for tries := 0; len(next) < size && tries < 3*size; tries++ {
		x := e.p.Rand.Float64() * total
		i, _ := slices.BinarySearch(cum, x)
		parent := pop[min(i, len(pop)-1)]
		child := parent
		if e.p.Rand.Float64() < e.cfg.MutationProb {
			t, name, err := schedule.Mutate(e.p.Func, parent.Trace, e.p.Space, e.p.Rand)
			if err != nil || t == nil {
				continue
			}
			child = e.p.Prepare(t)
			if !child.Valid() {
				continue
			}
			child.Proposer = e.Name() + "/mutate"
			child.Mutator = name
			child.Parent = parent.Hash
		}
		if seen[child.Hash] {
			continue
		}
		seen[child.Hash] = true
		next = append(next, child)
	}
	if len(next) == 0 {
		return pop
	}
	return next
}

// candidateFromRecord turns a record of an earlier run into a candidate (trace and hash; the
// program is not rebuilt). A trace that no longer parses gives a candidate without a trace.
func candidateFromRecord(r Record) *Candidate {
	c := &Candidate{Hash: r.CandidateHash, Proposer: r.Proposer, prepared: true}
	if len(r.Trace) > 0 && string(r.Trace) != "null" {
		if t, err := schedule.ParseTrace(r.Trace); err == nil {
			c.Trace = t
		}
	}
	if r.Status == StatusInvalid {
		c.Err = errInvalidRecord
	}
	return c
}

// errInvalidRecord marks a candidate whose record says it did not build.
var errInvalidRecord = errors.New("recorded as invalid by an earlier run")

// byScore sorts candidates by descending score, keeping the order of equal scores.
func byScore(cands []*Candidate, scores []float64) {
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	sorted := make([]*Candidate, len(cands))
	for i, j := range idx {
		sorted[i] = cands[j]
	}
	copy(cands, sorted)
}
