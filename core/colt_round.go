package core

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"colt/providers"
	"colt/schedule"
)

// expansion is one expansion of a round: the leaf, the model that expands it and, once the
// call is back, its answer.
type expansion struct {
	leaf  *Node
	model string // "" for a random expansion (no model)
	// alteration marks the largest model's re-expansion of a parent after a course alteration.
	alteration bool
	prov       providers.Provider
	req        providers.Request
	started    time.Time

	resp providers.Response
	err  error
}

// round is one round of up to k expansions: it selects the leaves one after another (pending
// course alterations first), each selection adding a virtual loss to its path so that the next
// takes another; calls their models concurrently; and applies the answers in selection order.
// Everything that draws randomness or changes the tree happens in that fixed order, so with
// sim models a round gives the same tree however the calls interleave. It returns ctx's error
// when the run ended; the round's answers are then dropped and its calls counted as cancelled.
func (c *Colt) round(ctx context.Context, k int) error {
	var jobs []*expansion
	c.p.work(func() { jobs = c.selectRound(k) })
	c.call(ctx, jobs)
	c.p.work(func() {
		for _, n := range c.applyRound(ctx, jobs) {
			c.track(n)
		}
	})
	if c.progress != nil {
		c.progress()
	}
	return ctx.Err()
}

// selectRound chooses the round's expansions, counting each call as it is chosen, and
// prepares their requests.
func (c *Colt) selectRound(k int) []*expansion {
	var jobs []*expansion
	for len(jobs) < k && len(c.alterations) > 0 {
		parent := c.alterations[0]
		c.alterations = c.alterations[1:]
		jobs = append(jobs, &expansion{leaf: parent, model: c.largest, alteration: true})
		reserve(parent)
		if c.models[c.largest] != nil {
			c.mu.Lock()
			c.stats[c.largest].Calls++
			c.stats[c.largest].Altered++
			c.mu.Unlock()
		}
	}
	params := UCTParams{Lambda: c.opt.Lambda, Exploration: c.opt.Exploration}
	for len(jobs) < k {
		leaf := SelectLeaf(c.root, c.opt.Branching, c.sizes, params)
		jobs = append(jobs, &expansion{leaf: leaf, model: c.modelFor(leaf, true)})
		reserve(leaf)
	}
	for _, j := range jobs {
		j.prov = c.models[j.model]
		if j.prov == nil {
			j.model = ""
			continue
		}
		// Each call draws from a source of its own, seeded in selection order, so concurrent
		// sim models stay reproducible.
		rng := rand.New(rand.NewPCG(c.p.Rand.Uint64(), c.p.Rand.Uint64()))
		j.req = c.request(j.leaf, rng)
	}
	return jobs
}

// call makes the round's model calls concurrently and waits for all of them. Simulated models
// compute on this machine, so they hold the CPU gate; real ones only wait on the network.
func (c *Colt) call(ctx context.Context, jobs []*expansion) {
	var wg sync.WaitGroup
	for _, j := range jobs {
		if j.prov == nil {
			continue
		}
		wg.Add(1)
		c.mu.Lock()
		j.started = time.Now()
		c.inFlight[j] = j.model
		c.mu.Unlock()
		go func() {
			defer wg.Done()
			defer func() {
				c.mu.Lock()
				delete(c.inFlight, j)
				c.mu.Unlock()
			}()
			defer catchPanic("call to model "+j.model, func(err error) { j.err = err })
			cctx, cancel := context.WithTimeout(ctx, c.callTimeout())
			defer cancel()
			if j.prov.Simulated() {
				c.p.work(func() { j.resp, j.err = j.prov.Propose(cctx, j.req) })
			} else {
				j.resp, j.err = j.prov.Propose(cctx, j.req)
			}
		}()
	}
	wg.Wait()
}

// applyRound applies the answers in selection order and returns the new nodes that count as
// expansions (a child pruned by a course alteration does not; its parent's re-expansion by the
// largest model joins the next round). When ctx has ended nothing is applied.
func (c *Colt) applyRound(ctx context.Context, jobs []*expansion) []*Node {
	for _, j := range jobs {
		release(j.leaf)
	}
	if ctx.Err() != nil {
		for _, j := range jobs {
			if j.prov != nil {
				c.account(j, true)
			}
		}
		return nil
	}
	var kids []*Node
	for _, j := range jobs {
		if j.prov != nil {
			c.account(j, false)
		}
		child := c.expand(j)
		if child == nil {
			continue
		}
		// A pin means every expansion uses the pinned model, so no course alteration while
		// pinned; one decided before the pin still runs.
		if !j.alteration && c.pinnedModel() == "" && child.ProposedBy != "" && child.ProposedBy != c.largest && c.largest != "" &&
			NeedsCourseAlteration(child, c.largest) {
			Prune(child)
			c.alterations = append(c.alterations, j.leaf)
			continue
		}
		Backpropagate(child, c.rollout(child))
		kids = append(kids, child)
	}
	return kids
}

// account adds a finished (or, when cancelled, abandoned) call to its model's statistics.
func (c *Colt) account(j *expansion, cancelled bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats[j.model]
	st.LatencyS += j.resp.Latency.Seconds()
	st.Tokens += j.resp.PromptTokens + j.resp.CompletionTokens
	st.CostUSD += j.resp.CostUSD
	switch {
	case cancelled && (j.err != nil && errors.Is(j.err, context.Canceled) || j.err == nil):
		// An abandoned call is not the model's error; an answer that came back is simply not
		// used.
		st.Calls--
		st.Cancelled++
		if j.alteration {
			st.Altered--
		}
	case j.err != nil:
		st.Errors++
		st.Failures++
		f := c.failed[j.model]
		if f == nil {
			f = &callFailures{}
			c.failed[j.model] = f
		}
		f.n, f.last = f.n+1, j.err
	default:
		st.Errors += j.resp.InvalidTransformations
		if j.resp.InvalidNextModel {
			st.Errors++
		}
	}
}

// expand makes the child of an expansion: the answer's transformations applied to the leaf's
// program (a random mutation when there is no model, the call failed, or no step applied), its
// predicted score and the model that will expand it. It returns nil when nothing valid came of
// it.
func (c *Colt) expand(j *expansion) *Node {
	leaf, model := j.leaf, j.model
	var transforms []string
	next := ""
	if j.prov != nil && j.err == nil {
		transforms, next = j.resp.Transformations, j.resp.NextModel
	}
	t, applied := c.apply(leaf.Trace, transforms, c.p.Rand)
	if len(applied) == 0 {
		out, name, err := schedule.Mutate(c.p.Func, leaf.Trace, c.p.Space, c.p.Rand)
		if err != nil {
			return nil
		}
		t, applied = out, []string{name}
	}
	cand := c.p.Prepare(t)
	if !cand.Valid() {
		return nil
	}
	child := c.newNode(leaf, cand.Trace, cand.Func, model, applied)
	child.Hash = cand.Hash
	child.Altered = j.alteration
	child.Score = c.predict(cand)
	if model != "" && child.Score > leaf.Score {
		c.mu.Lock()
		c.stats[model].Hits++
		c.mu.Unlock()
	}
	if c.models[next] != nil {
		child.Model = next
	} else {
		child.Model = c.preferredModel()
	}
	return child
}

// request builds the prompt context of an expansion (the paper's appendix B); rng is the call's
// own random source.
func (c *Colt) request(leaf *Node, rng *rand.Rand) providers.Request {
	info := func(n *Node) providers.NodeInfo {
		if n == nil {
			return providers.NodeInfo{}
		}
		var hist []string
		if n.Trace != nil {
			for _, in := range n.Trace.Insts {
				hist = append(hist, in.String())
			}
		}
		return providers.NodeInfo{Present: true, Program: schedule.Print(n.Func), History: hist, Score: n.Score, Model: n.ProposedBy}
	}
	ctx := providers.Context{Current: info(leaf), Depth: leaf.Depth, SamplesUsed: c.measured, Budget: c.p.Budget}
	if leaf.Parent != nil {
		ctx.Parent = info(leaf.Parent)
		if leaf.Parent.Parent != nil {
			ctx.Grandparent = info(leaf.Parent.Parent)
		}
	}
	for _, s := range c.ModelStats() {
		ctx.ModelStats = append(ctx.ModelStats, providers.ModelStat{Name: s.Name, ParamsB: s.ParamsB, Calls: s.Calls,
			HitRate: s.HitRate, Errors: s.Errors, CourseAlterations: s.Altered})
	}
	var vocab []string
	for _, m := range schedule.MutatorsFor(c.p.Space) {
		vocab = append(vocab, m.Name)
	}
	base := leaf.Trace
	return providers.Request{
		Context: ctx, Transformations: vocab, Target: TargetSummary(c.p.Space), Models: append([]string(nil), c.names...), Rand: rng,
		Evaluate: func(names []string) (float64, bool) {
			t, applied := c.apply(base, names, rng)
			if len(applied) == 0 {
				return 0, false
			}
			cand := c.p.Prepare(t)
			if !cand.Valid() {
				return 0, false
			}
			return c.predict(cand), true
		},
	}
}
