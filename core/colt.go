package core

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"colt/providers"
	"colt/schedule"
)

// ColtOptions configure the shared-tree search behind the colt and mcts strategies.
type ColtOptions struct {
	// Models are the providers that expand nodes; empty means random expansions (pure MCTS).
	Models []providers.Provider
	// Lambda weighs the size preference in MA-UCT (paper: 0.5); Exploration is c (√2).
	Lambda, Exploration float64
	// Branching is B, the most children a node gets before the search descends (paper: 2).
	Branching int
	// RolloutDepth is the number of random mutations of a rollout, scored by the cost model.
	RolloutDepth int
	// LargestShare is the least share of model calls the largest model gets (paper: 0.20).
	LargestShare float64
	// CallTimeout bounds one provider call (the provider's own timeout and retries apply too).
	CallTimeout time.Duration
	// Name is the strategy's name: "colt", or "mcts" for a fixed single model or none.
	Name string
	// InitSamples is how many programs of each sketch are sampled for the root's children;
	// the best predicted is kept (default 1).
	InitSamples int
	// ExpansionsPerSample is how many expansions each measured sample costs (at least 1);
	// a batch measures the best-predicted unmeasured nodes of the tree plus a RandomShare of
	// random ones.
	ExpansionsPerSample float64
	RandomShare         float64
}

// ModelStat is one model's statistics as the paper defines them, plus usage.
type ModelStat struct {
	Name     string  `json:"name"`
	Kind     string  `json:"kind"` // "openai", or "sim" for simulated models
	ParamsB  float64 `json:"params_b"`
	Calls    int     `json:"calls"`
	Hits     int     `json:"hits"` // calls whose child scored above its parent
	HitRate  float64 `json:"hit_rate"`
	Errors   int     `json:"errors"` // +1 per invalid transformation, +1 per invalid next model, +1 per failed call
	Failures int     `json:"failed_calls"`
	Altered  int     `json:"course_alterations"`
	// Escalations counts expansions the operator forced onto this (the largest) model.
	Escalations int     `json:"escalations"`
	Tokens      int     `json:"tokens"`
	LatencyS    float64 `json:"latency_s"`
	CostUSD     float64 `json:"cost_usd"`
	Share       float64 `json:"share_of_calls"`
	// RegularShare is the share of calls excluding course-alteration calls, the paper's
	// "model invocation rate".
	RegularShare float64 `json:"regular_share_of_calls"`
	Simulated    bool    `json:"simulated"`
}

// Colt is the COLT search (and plain MCTS): one tree shared by every model, MA-UCT selection,
// expansion by the node's model through its provider (a joint action: transformations and the
// next model), cost-model rollouts, course alteration and a floor on the largest model's
// share of calls. Every new node is a candidate for measurement.
type Colt struct {
	opt    ColtOptions
	scorer Scorer
	p      *Problem

	models  map[string]providers.Provider
	names   []string // model names in configuration order
	sizes   ModelSizes
	largest string
	stats   map[string]*ModelStat

	root   *Node
	nodes  []*Node
	byHash map[string]*Node
	// pending are the tree's nodes with a new program that have not been measured yet.
	pending []*Node

	measured int // candidates measured in this run, the prompt's trials progress
	// failed counts, per model, the calls that failed since the last TakeNotes, with the
	// latest error, so a down endpoint is reported once a batch rather than once a call.
	failed map[string]*callFailures

	progress func() // called after every iteration (the console's live view), when set

	pinned   string // every expansion uses it until unpinned
	escalate bool   // the next expansion uses the largest model
}

// NewColtStrategy makes the colt strategy (the models named in colt.models, or every
// [[models]] entry) or the mcts strategy (one model: model, or colt.mcts_model; none means
// random expansions). getenv reads API keys (os.Getenv).
func NewColtStrategy(name string, cfg Config, model string, scorer Scorer, getenv func(string) string) (*Colt, error) {
	var use []string
	switch name {
	case "colt":
		use = cfg.Colt.Models
		if len(use) == 0 {
			for _, m := range cfg.Models {
				use = append(use, m.Name)
			}
		}
		if len(use) == 0 {
			return nil, fmt.Errorf("colt: the configuration has no [[models]]; add some to colt.toml (or use --strategy mcts for random expansions)")
		}
	case "mcts":
		if model == "" {
			model = cfg.Colt.MCTSModel
		}
		if model != "" {
			use = []string{model}
		}
	default:
		return nil, fmt.Errorf("strategy %q is not a tree search: want colt or mcts", name)
	}
	byName := map[string]providers.ModelConfig{}
	for _, m := range cfg.Models {
		byName[m.Name] = m
	}
	var provs []providers.Provider
	for _, n := range use {
		mc, ok := byName[n]
		if !ok {
			var names []string
			for _, m := range cfg.Models {
				names = append(names, m.Name)
			}
			return nil, fmt.Errorf("%s: no model %q in the configuration; the [[models]] are %v", name, n, names)
		}
		p, err := providers.New(mc, getenv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		provs = append(provs, p)
	}
	k := cfg.Colt
	return NewColt(ColtOptions{Models: provs, Lambda: k.Lambda, Exploration: k.Exploration, Branching: k.Branching,
		RolloutDepth: k.RolloutDepth, LargestShare: k.LargestShare, Name: name,
		CallTimeout: time.Duration(k.CallTimeoutS * float64(time.Second)),
		InitSamples: k.InitSamples, ExpansionsPerSample: k.ExpansionsPerSample, RandomShare: k.RandomShare}, scorer)
}

// NewColt returns the search with its options and the scorer that predicts rewards.
func NewColt(opt ColtOptions, scorer Scorer) (*Colt, error) {
	if opt.Branching < 1 {
		opt.Branching = 2
	}
	if opt.Name == "" {
		opt.Name = "colt"
	}
	opt.InitSamples = max(opt.InitSamples, 1)
	opt.ExpansionsPerSample = max(opt.ExpansionsPerSample, 1)
	c := &Colt{opt: opt, scorer: scorer, models: map[string]providers.Provider{}, sizes: ModelSizes{},
		stats: map[string]*ModelStat{}, byHash: map[string]*Node{}, failed: map[string]*callFailures{}}
	for _, m := range opt.Models {
		cfg := m.Config()
		if _, dup := c.models[cfg.Name]; dup {
			return nil, fmt.Errorf("%s: model %q is listed twice", opt.Name, cfg.Name)
		}
		c.models[cfg.Name] = m
		c.names = append(c.names, cfg.Name)
		c.sizes[cfg.Name] = cfg.ParamsB
		c.stats[cfg.Name] = &ModelStat{Name: cfg.Name, Kind: cfg.Kind, ParamsB: cfg.ParamsB, Simulated: m.Simulated()}
	}
	c.largest = c.sizes.Largest()
	return c, nil
}

// Name implements Strategy.
func (c *Colt) Name() string { return c.opt.Name }

// Init implements Strategy: the root is the unscheduled program; its children are one sampled
// program per design-space sketch, expanded first by the largest model.
func (c *Colt) Init(p *Problem, prior []Measured) error {
	c.p = p
	c.scorer.Observe(prior)
	c.root = c.newNode(nil, &schedule.Trace{}, p.Func, "", nil)
	c.root.Model = c.largest
	for _, sk := range p.Sketches {
		cand, score := c.bestSample(sk)
		if cand == nil {
			continue
		}
		n := c.newNode(c.root, cand.Trace, cand.Func, "", nil)
		n.Hash = cand.Hash
		n.Model = c.modelFor(nil)
		n.Score = score
		c.track(n)
	}
	return nil
}

// bestSample draws InitSamples programs of a sketch and returns the best predicted valid one
// (nil when none is valid).
func (c *Colt) bestSample(sk schedule.Sketch) (*Candidate, float64) {
	var best *Candidate
	bestScore := math.Inf(-1)
	for range c.opt.InitSamples {
		t, err := sampleCandidate(c.p.Func, sk.Trace, c.p.Rand)
		if err != nil {
			continue
		}
		cand := c.p.Prepare(t)
		if !cand.Valid() || c.p.Known(cand.Hash) {
			continue
		}
		if s := c.predict(cand); s > bestScore {
			best, bestScore = cand, s
		}
	}
	return best, bestScore
}

// track makes a node with a new program a candidate for measurement; a program the tree or
// the records already have is not measured again.
func (c *Colt) track(n *Node) bool {
	if n.Hash == "" || c.byHash[n.Hash] != nil || c.p.Known(n.Hash) {
		return false
	}
	c.byHash[n.Hash] = n
	c.pending = append(c.pending, n)
	return true
}

// newNode adds a node to the tree.
func (c *Colt) newNode(parent *Node, t *schedule.Trace, f *schedule.Func, proposer string, transforms []string) *Node {
	n := &Node{ID: len(c.nodes), Parent: parent, Trace: t, Func: f, ProposedBy: proposer, Transformations: transforms}
	if parent != nil {
		n.Depth = parent.Depth + 1
		parent.Children = append(parent.Children, n)
	}
	c.nodes = append(c.nodes, n)
	return n
}

// Propose implements Strategy: it makes ExpansionsPerSample·n MCTS iterations (fewer when a
// bounded number of tries finds nothing new), then picks n of the tree's unmeasured nodes: the
// best by the cost model's current prediction plus a RandomShare drawn at random.
func (c *Colt) Propose(n int) []*Candidate {
	want := int(math.Ceil(float64(n) * c.opt.ExpansionsPerSample))
	for added, iter := 0, 0; added < want && iter < 8*want+16; iter++ {
		if child := c.iterate(); child != nil && c.track(child) {
			added++
		}
		if c.progress != nil {
			c.progress()
		}
	}
	return c.pick(n)
}

// pick removes n nodes from the pending ones and returns them as candidates.
func (c *Colt) pick(n int) []*Candidate {
	live := c.pending[:0]
	for _, nd := range c.pending {
		if !c.p.Known(nd.Hash) {
			live = append(live, nd)
		}
	}
	c.pending = live
	if len(live) == 0 {
		return nil
	}
	cands := make([]*Candidate, len(live))
	for i, nd := range live {
		cands[i] = &Candidate{Trace: nd.Trace, Func: nd.Func, Hash: nd.Hash, prepared: true}
	}
	scores := c.rewards(cands)
	order := make([]int, len(live))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	n = min(n, len(live))
	nRandom := int(math.Round(c.opt.RandomShare * float64(n)))
	chosen := order[:n-nRandom]
	rest := append([]int(nil), order[n-nRandom:]...)
	for range nRandom {
		k := c.p.Rand.IntN(len(rest))
		chosen = append(chosen, rest[k])
		rest = append(rest[:k], rest[k+1:]...)
	}
	taken := map[int]bool{}
	out := make([]*Candidate, 0, n)
	for _, i := range chosen {
		taken[i] = true
		nd := live[i]
		cand := cands[i]
		cand.Proposer, cand.Mutator = nd.proposer(), joinNames(nd.Transformations)
		out = append(out, cand)
	}
	c.pending = c.pending[:0]
	for i, nd := range live {
		if !taken[i] {
			c.pending = append(c.pending, nd)
		}
	}
	return out
}

// proposer names who made the node's program, as the history reports it.
func (n *Node) proposer() string {
	switch {
	case n.ProposedBy != "":
		return n.ProposedBy
	case len(n.Transformations) == 0:
		return "sketch"
	}
	return "random"
}

// Observe implements Strategy: measurements train the scorer and mark the tree's nodes.
func (c *Colt) Observe(results []Measured) {
	c.scorer.Observe(results)
	c.measured += len(results)
	for _, m := range results {
		if m.Candidate == nil {
			continue
		}
		if n := c.byHash[m.Candidate.Hash]; n != nil {
			n.Measured = true
			if m.OK() {
				n.LatencyS = m.LatencyS
			}
		}
	}
}

// iterate is one MCTS iteration: select, expand, roll out, course-alter, back-propagate. It
// returns the new node (nil when expansion produced nothing usable).
func (c *Colt) iterate() *Node {
	leaf := SelectLeaf(c.root, c.branching(c.root), c.sizes, UCTParams{Lambda: c.opt.Lambda, Exploration: c.opt.Exploration})
	model := c.modelFor(leaf)
	child := c.expand(leaf, model, false)
	if child == nil {
		return nil
	}
	// A pin means every expansion uses the pinned model, so no course alteration while pinned.
	if c.pinned == "" && child.ProposedBy != "" && child.ProposedBy != c.largest && c.largest != "" && NeedsCourseAlteration(child, c.largest) {
		Prune(child)
		c.stats[c.largest].Altered++
		alt := c.expand(leaf, c.largest, true)
		if alt == nil {
			// The pruned child must not reach the statistics; with no altered continuation
			// this iteration back-propagates nothing.
			return nil
		}
		child = alt
	}
	Backpropagate(child, c.rollout(child))
	return child
}

func (c *Colt) branching(n *Node) int { return c.opt.Branching }

// modelFor chooses who expands a node: a forced escalation, a pinned model, the floor of the
// largest model, then the node's own model (its parent's recommendation).
func (c *Colt) modelFor(n *Node) string {
	switch {
	case len(c.models) == 0:
		return ""
	case c.escalate:
		// The operator's escalation overrides a pin for one expansion; it is recorded.
		c.escalate = false
		c.stats[c.largest].Escalations++
		return c.largest
	case c.pinned != "":
		return c.pinned
	}
	calls := map[string]int{}
	for name, s := range c.stats {
		calls[name] = s.Calls
	}
	if f := FloorModel(calls, c.largest, c.opt.LargestShare); f != "" {
		return f
	}
	if n != nil && c.models[n.Model] != nil {
		return n.Model
	}
	return c.names[0]
}

// expand asks model (or, with none or on failure, a random mutation) for a joint action on
// leaf's program and adds the resulting child.
func (c *Colt) expand(leaf *Node, model string, alteration bool) *Node {
	var transforms []string
	next := ""
	prov := c.models[model]
	if prov != nil {
		st := c.stats[model]
		st.Calls++
		req := c.request(leaf)
		ctx, cancel := context.WithTimeout(context.Background(), c.callTimeout())
		resp, err := prov.Propose(ctx, req)
		cancel()
		st.LatencyS += resp.Latency.Seconds()
		st.Tokens += resp.PromptTokens + resp.CompletionTokens
		st.CostUSD += resp.CostUSD
		if err != nil {
			st.Errors++
			st.Failures++
			f := c.failed[model]
			if f == nil {
				f = &callFailures{}
				c.failed[model] = f
			}
			f.n, f.last = f.n+1, err
		} else {
			st.Errors += resp.InvalidTransformations
			if resp.InvalidNextModel {
				st.Errors++
			}
			transforms, next = resp.Transformations, resp.NextModel
		}
	}
	t, applied := c.apply(leaf.Trace, transforms)
	if len(applied) == 0 {
		// Nothing applied (no model, a failed call, or no valid step): a random mutation, so
		// the child always differs from its parent.
		out, name, err := mutate(c.p, leaf.Trace)
		if err != nil {
			return nil
		}
		t, applied = out, []string{name}
		if prov == nil {
			model = ""
		}
	}
	cand := c.p.Prepare(t)
	if !cand.Valid() {
		return nil
	}
	child := c.newNode(leaf, cand.Trace, cand.Func, model, applied)
	child.Hash = cand.Hash
	child.Altered = alteration
	child.Score = c.predict(cand)
	if model != "" && child.Score > leaf.Score {
		c.stats[model].Hits++
	}
	if c.models[next] != nil {
		child.Model = next
	} else {
		child.Model = c.bestHitRateModel()
	}
	return child
}

// apply applies named transformations in order; a step that does not apply is skipped.
func (c *Colt) apply(t *schedule.Trace, names []string) (*schedule.Trace, []string) {
	var applied []string
	for _, name := range names {
		m, ok := schedule.MutatorByName(name)
		if !ok {
			continue
		}
		out, err := m.Apply(c.p.Func, t, c.p.Space, c.p.Rand)
		if err != nil {
			continue
		}
		t = out
		applied = append(applied, name)
	}
	return t, applied
}

// rollout applies RolloutDepth random mutations to the node's program and returns the cost
// model's score of the result (the node's own score when no mutation applies).
func (c *Colt) rollout(n *Node) float64 {
	t := n.Trace
	score := n.Score
	for i := 0; i < c.opt.RolloutDepth; i++ {
		out, _, err := mutate(c.p, t)
		if err != nil {
			break
		}
		t = out
	}
	if t != n.Trace {
		if cand := c.p.Prepare(t); cand.Valid() {
			score = c.predict(cand)
		}
	}
	return max(score, 0)
}

// predict is the cost model's score of a candidate: the tree's reward, from predictions only
// when the scorer offers them (measurements carry timing noise a reproducible search must not
// depend on).
func (c *Colt) predict(cand *Candidate) float64 {
	return c.rewards([]*Candidate{cand})[0]
}

// rewards are the cost model's scores of candidates (0 for a missing or non-finite score).
func (c *Colt) rewards(cands []*Candidate) []float64 {
	var s []float64
	if r, ok := c.scorer.(interface{ Rewards([]*Candidate) []float64 }); ok {
		s = r.Rewards(cands)
	} else {
		s = c.scorer.Predict(cands)
	}
	out := make([]float64, len(cands))
	for i := range out {
		if i < len(s) && !math.IsNaN(s[i]) && !math.IsInf(s[i], 0) {
			out[i] = s[i]
		}
	}
	return out
}

// bestHitRateModel is the fallback next model when an answer named none valid (the caller has
// already counted the error).
func (c *Colt) bestHitRateModel() string {
	best, bestRate := "", -1.0
	for _, name := range c.names {
		s := c.stats[name]
		rate := 0.0
		if s.Calls > 0 {
			rate = float64(s.Hits) / float64(s.Calls)
		}
		if rate > bestRate {
			best, bestRate = name, rate
		}
	}
	return best
}

func (c *Colt) callTimeout() time.Duration {
	if c.opt.CallTimeout > 0 {
		return c.opt.CallTimeout
	}
	return 5 * time.Minute
}

// request builds the prompt context of an expansion (the paper's appendix B).
func (c *Colt) request(leaf *Node) providers.Request {
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
	for _, m := range schedule.Mutators() {
		vocab = append(vocab, m.Name)
	}
	return providers.Request{
		Context: ctx, Transformations: vocab, Models: append([]string(nil), c.names...), Rand: c.p.Rand,
		Evaluate: func(names []string) (float64, bool) {
			t, applied := c.apply(leaf.Trace, names)
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

// ModelStats returns every model's statistics, in configuration order.
func (c *Colt) ModelStats() []ModelStat {
	total, altered := 0, 0
	for _, s := range c.stats {
		total += s.Calls
		altered += s.Altered
	}
	out := make([]ModelStat, 0, len(c.names))
	for _, name := range c.names {
		s := *c.stats[name]
		if s.Calls > 0 {
			s.HitRate = float64(s.Hits) / float64(s.Calls)
		}
		if total > 0 {
			s.Share = float64(s.Calls) / float64(total)
		}
		// Alteration calls are made by the largest model and counted on it.
		if regular := total - altered; regular > 0 {
			s.RegularShare = float64(s.Calls-s.Altered) / float64(regular)
		}
		out = append(out, s)
	}
	return out
}

// Pin makes every expansion use model until Unpin.
func (c *Colt) Pin(model string) error {
	if c.models[model] == nil {
		names := append([]string(nil), c.names...)
		sort.Strings(names)
		return fmt.Errorf("pin: no model %q; the search uses %v", model, names)
	}
	c.pinned = model
	return nil
}

// Unpin returns model choice to the search.
func (c *Colt) Unpin() { c.pinned = "" }

// Escalate makes the next expansion use the largest model.
func (c *Colt) Escalate() error {
	if c.largest == "" {
		return fmt.Errorf("escalate: the search uses no models")
	}
	c.escalate = true
	return nil
}

// callFailures are one model's failed calls since they were last reported.
type callFailures struct {
	n    int
	last error
}

// TakeNotes implements Noter: one line per model whose calls failed since the last call.
func (c *Colt) TakeNotes() []string {
	var out []string
	for _, name := range c.names {
		if f := c.failed[name]; f != nil {
			out = append(out, fmt.Sprintf("model %s: %d failed call(s), counted as its errors; random mutations expanded those nodes instead. Last error: %v",
				name, f.n, f.last))
		}
	}
	clear(c.failed)
	return out
}

// SetProgress implements ProgressReporter.
func (c *Colt) SetProgress(f func()) { c.progress = f }

// SteeringState implements Steering.
func (c *Colt) SteeringState() (pinned string, escalating bool, largest string) {
	return c.pinned, c.escalate, c.largest
}

// TreeSnapshot implements TreeSnapshotter: every node in ID order, the path to the fastest
// measured program marked.
func (c *Colt) TreeSnapshot(program func(hash string, t *schedule.Trace) *Program) []TreeNode {
	out := make([]TreeNode, len(c.nodes))
	var best *Node
	for i, n := range c.nodes {
		if n.program == nil {
			n.program = program(n.Hash, n.Trace)
		}
		parent := -1
		if n.Parent != nil {
			parent = n.Parent.ID
		}
		out[i] = TreeNode{ID: n.ID, Parent: parent, Depth: n.Depth, Transformations: joinNames(n.Transformations),
			ProposedBy: n.ProposedBy, Model: n.Model, Score: n.Score, LatencyS: n.LatencyS, Measured: n.Measured,
			Visits: n.Visits, Pruned: n.Pruned, Altered: n.Altered, Program: n.program}
		if n.LatencyS > 0 && (best == nil || n.LatencyS < best.LatencyS) {
			best = n
		}
	}
	for n := best; n != nil; n = n.Parent {
		out[n.ID].OnBestPath = true
	}
	return out
}

// Tree returns the root of the search tree (for reports and the console).
func (c *Colt) Tree() *Node { return c.root }

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += "+"
		}
		out += n
	}
	return out
}
