package core

import "context"

// Random is the random-search strategy: every candidate is a fresh sample of a sketch chosen
// uniformly from the design space, with every decision drawn at random. Samples that do not
// build, or whose program is already known or already proposed, are skipped.
type Random struct {
	p        *Problem
	proposed map[string]bool
}

// NewRandom returns the random-search strategy.
func NewRandom() *Random { return &Random{proposed: map[string]bool{}} }

// Name implements Strategy.
func (r *Random) Name() string { return "random" }

// Init implements Strategy; earlier records only matter through Problem.Known.
func (r *Random) Init(_ context.Context, p *Problem, _ []Measured) error {
	r.p = p
	return nil
}

// sampleTries bounds the samples drawn for n new candidates, so a small or failing design
// space ends in an empty batch rather than a hang.
func sampleTries(n int) int { return 16*n + 64 }

// Propose implements Strategy: up to n new samples, drawing at most sampleTries(n).
func (r *Random) Propose(ctx context.Context, n int) (out []*Candidate, err error) {
	r.p.work(func() { out = r.propose(ctx, n) })
	return out, ctx.Err()
}

func (r *Random) propose(ctx context.Context, n int) []*Candidate {
	var out []*Candidate
	for tries := 0; len(out) < n && tries < sampleTries(n) && ctx.Err() == nil; tries++ {
		c := r.p.Sample()
		if c == nil {
			break // no sketch at all
		}
		if !c.Valid() || r.p.Known(c.Hash) || r.proposed[c.Hash] {
			continue
		}
		r.proposed[c.Hash] = true
		c.Proposer = r.Name()
		out = append(out, c)
	}
	return out
}

// Observe implements Strategy; random search learns nothing.
func (r *Random) Observe([]Measured) {}
