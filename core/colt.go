package core

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
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
	// ExpansionsPerSample is how many expansions (model calls, course alterations included)
	// each measured sample costs (at least 1); a batch measures the best-predicted unmeasured
	// nodes of the tree plus a RandomShare of random ones.
	ExpansionsPerSample float64
	RandomShare         float64
	// ParallelCalls is the most expansions in flight at once (default 1): a round selects that
	// many leaves with virtual loss, calls their models concurrently and applies the answers
	// in selection order.
	ParallelCalls int
}

// ModelStat is one model's statistics as the paper defines them, plus usage.
type ModelStat struct {
	Name     string  `json:"name"`
	Kind     string  `json:"kind"` // "openai", or "sim" for simulated models
	ParamsB  float64 `json:"params_b"`
	Calls    int     `json:"calls"` // answered calls (failed ones included, cancelled ones not)
	Hits     int     `json:"hits"`  // calls whose child scored above its parent
	HitRate  float64 `json:"hit_rate"`
	Errors   int     `json:"errors"` // +1 per invalid transformation, +1 per invalid next model, +1 per failed call
	Failures int     `json:"failed_calls"`
	// Cancelled counts calls abandoned when the run ended (stop, quit, Ctrl-C); they are not
	// the model's errors and not in Calls.
	Cancelled int `json:"cancelled_calls"`
	Altered   int `json:"course_alterations"`
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
	// InFlight is the number of calls to the model under way; OldestS the age of the oldest
	// in seconds (0 when none). Not in reports: they describe a moment of the run.
	InFlight int     `json:"-"`
	OldestS  float64 `json:"-"`
}

// Colt is the COLT search (and plain MCTS): one tree shared by every model, MA-UCT selection,
// expansion by the node's model through its provider (a joint action: transformations and the
// next model), cost-model rollouts, course alteration and a floor on the largest model's
// share of calls. Expansions happen in rounds of up to ParallelCalls concurrent calls. Every new
// node is a candidate for measurement.
//
// Its tree belongs to the goroutine that calls the Strategy methods; the statistics and the
// steering (Pin, Escalate, ModelStats, CallsInFlight) may be used from any goroutine.
type Colt struct {
	opt    ColtOptions
	scorer Scorer
	p      *Problem

	models  map[string]providers.Provider
	names   []string // model names in configuration order
	sizes   ModelSizes
	largest string

	root   *Node
	nodes  []*Node
	byHash map[string]*Node
	// pending are the tree's nodes with a new program that have not been measured yet.
	pending []*Node
	// alterations are the parents whose course alteration (a re-expansion by the largest
	// model) waits for the next round.
	alterations []*Node

	measured int    // candidates observed in this run, the prompt's trials progress
	progress func() // called after every round (the console's live view), when set

	// scoreMu serialises the scorer: sim models evaluate proposals from several goroutines.
	scoreMu sync.Mutex

	mu    sync.Mutex // guards what follows
	stats map[string]*ModelStat
	// failed counts, per model, the calls that failed since the last TakeNotes, with the
	// latest error, so a down endpoint is reported once a batch rather than once a call.
	failed   map[string]*callFailures
	pinned   string                // every expansion uses it until unpinned
	escalate bool                  // the next expansion uses the largest model
	inFlight map[*expansion]string // calls under way → model
}

// NewColtStrategy makes the colt strategy (the models named in colt.models, or every
// [[models]] entry) or the mcts strategy (one model: colt.mcts_model; none means random
// expansions). getenv reads API keys (os.Getenv).
func NewColtStrategy(name string, cfg Config, scorer Scorer, getenv func(string) string) (*Colt, error) {
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
		if cfg.Colt.MCTSModel != "" {
			use = []string{cfg.Colt.MCTSModel}
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
		InitSamples: k.InitSamples, ExpansionsPerSample: k.ExpansionsPerSample, RandomShare: k.RandomShare,
		ParallelCalls: k.ParallelCalls}, scorer)
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
	opt.ParallelCalls = max(opt.ParallelCalls, 1)
	c := &Colt{opt: opt, scorer: scorer, models: map[string]providers.Provider{}, sizes: ModelSizes{},
		stats: map[string]*ModelStat{}, byHash: map[string]*Node{}, failed: map[string]*callFailures{},
		inFlight: map[*expansion]string{}}
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

// BatchSize is the batch the tuner asks for: the samples one round of calls pays for
// (ParallelCalls / ExpansionsPerSample, at least 1), at most the configured batch size, so
// that measurements keep pace with the rounds.
func (c *Colt) BatchSize(configured int) int {
	n := int(math.Round(float64(c.opt.ParallelCalls) / c.opt.ExpansionsPerSample))
	return max(1, min(n, configured))
}

// Init implements Strategy: the root is the unscheduled program; its children are the best
// predicted of InitSamples programs of each design-space sketch.
func (c *Colt) Init(ctx context.Context, p *Problem, prior []Measured) error {
	c.p = p
	p.work(func() {
		c.scorer.Observe(prior)
		c.root = c.newNode(nil, &schedule.Trace{}, p.Func, "", nil)
		c.root.Model = c.largest
		for _, sk := range p.Sketches {
			if ctx.Err() != nil {
				return
			}
			cand, score := c.bestSample(sk)
			if cand == nil {
				continue
			}
			n := c.newNode(c.root, cand.Trace, cand.Func, "", nil)
			n.Hash = cand.Hash
			n.Model = c.modelFor(nil, false)
			n.Score = score
			c.track(n)
		}
	})
	return ctx.Err()
}

// bestSample draws InitSamples programs of a sketch and returns the best predicted valid one
// (nil when none is valid).
func (c *Colt) bestSample(sk schedule.Sketch) (*Candidate, float64) {
	var best *Candidate
	bestScore := math.Inf(-1)
	for range c.opt.InitSamples {
		t, err := schedule.SampleCandidate(c.p.Func, sk.Trace, c.p.Rand)
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

// maxExtraRounds bounds the rounds Propose adds when the rounds it owed left nothing new to
// measure, so a small space ends in an empty batch rather than a hang.
const maxExtraRounds = 4

// Propose implements Strategy: ⌈n·ExpansionsPerSample⌉ expansions in rounds of up to
// ParallelCalls (a few more when they left no unmeasured node), then n of the tree's unmeasured
// nodes: the best by the cost model's current prediction plus a RandomShare drawn at random.
func (c *Colt) Propose(ctx context.Context, n int) ([]*Candidate, error) {
	want := int(math.Ceil(float64(n) * c.opt.ExpansionsPerSample))
	for done := 0; done < want; {
		k := min(c.opt.ParallelCalls, want-done)
		if err := c.round(ctx, k); err != nil {
			return nil, err
		}
		done += k
	}
	for extra := 0; extra < maxExtraRounds && c.livePending() == 0; extra++ {
		if err := c.round(ctx, c.opt.ParallelCalls); err != nil {
			return nil, err
		}
	}
	var out []*Candidate
	c.p.work(func() { out = c.pick(n) })
	return out, nil
}

// livePending counts the unmeasured nodes that are still new.
func (c *Colt) livePending() int {
	k := 0
	for _, nd := range c.pending {
		if !c.p.Known(nd.Hash) {
			k++
		}
	}
	return k
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

// Observe implements Strategy: measurements reach the scorer and mark the tree's nodes.
func (c *Colt) Observe(results []Measured) {
	c.scoreMu.Lock()
	c.scorer.Observe(results)
	c.scoreMu.Unlock()
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

// apply applies named transformations in order, drawing from rng; a step that does not apply
// is skipped.
func (c *Colt) apply(t *schedule.Trace, names []string, rng *rand.Rand) (*schedule.Trace, []string) {
	var applied []string
	for _, name := range names {
		m, ok := schedule.MutatorByNameFor(c.p.Space, name)
		if !ok {
			continue
		}
		out, err := m.Apply(c.p.Func, t, c.p.Space, rng)
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
		out, _, err := schedule.Mutate(c.p.Func, t, c.p.Space, c.p.Rand)
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
	c.scoreMu.Lock()
	var s []float64
	if r, ok := c.scorer.(interface{ Rewards([]*Candidate) []float64 }); ok {
		s = r.Rewards(cands)
	} else {
		s = c.scorer.Predict(cands)
	}
	c.scoreMu.Unlock()
	out := make([]float64, len(cands))
	for i := range out {
		if i < len(s) && !math.IsNaN(s[i]) && !math.IsInf(s[i], 0) {
			out[i] = s[i]
		}
	}
	return out
}

func (c *Colt) callTimeout() time.Duration {
	if c.opt.CallTimeout > 0 {
		return c.opt.CallTimeout
	}
	return 5 * time.Minute
}

// SetProgress sets the function called after every round of expansions.
func (c *Colt) SetProgress(f func()) { c.progress = f }

// TreeSnapshot returns every node in ID order, with what the search has observed of its
// measurement (the engine adds later measurements and marks the best path). Call it from the
// goroutine that calls the Strategy methods.
func (c *Colt) TreeSnapshot() []TreeNode {
	out := make([]TreeNode, len(c.nodes))
	for i, n := range c.nodes {
		parent := -1
		if n.Parent != nil {
			parent = n.Parent.ID
		}
		out[i] = TreeNode{ID: n.ID, Parent: parent, Depth: n.Depth, Transformations: joinNames(n.Transformations),
			ProposedBy: n.ProposedBy, Model: n.Model, Score: n.Score, LatencyS: n.LatencyS, Measured: n.Measured,
			Visits: n.Visits, Pruned: n.Pruned, Altered: n.Altered, Hash: n.Hash, trace: n.Trace}
	}
	return out
}

// Tree returns the root of the search tree (for reports and tests).
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
