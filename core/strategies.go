package core

import (
	"fmt"
	"strings"
)

// ranking says what a strategy ranks candidates with.
type ranking int

const (
	// rankNothing: the strategy does not rank candidates (random search).
	rankNothing ranking = iota
	// rankCostModel: always the cost model (the tree searches score rollouts with it).
	rankCostModel
	// rankCostModelIfEnabled: the cost model when --cost-model / costmodel.enabled says so,
	// the inherited-throughput estimate otherwise (evolutionary search).
	rankCostModelIfEnabled
)

// strategyEntry is one row of the strategy table: everything the CLI, the configuration check,
// the session and the docs know about a strategy comes from here.
type strategyEntry struct {
	name, description string
	// lookahead is how many batches the strategy may propose before the oldest one's results
	// are back: its proposals wait on model calls, which then overlap building and timing. 0
	// means propose, measure and observe in turn.
	lookahead int
	ranking   ranking
	// usesModels marks the strategies whose expansions call the configured models.
	usesModels bool
	make       func(e strategyEnv) (Strategy, error)
}

// strategyEnv is what a strategy is made from.
type strategyEnv struct {
	cfg Config
	// scorer ranks candidates (nil for rankNothing; for rankCostModelIfEnabled, nil means the
	// inherited-throughput estimate).
	scorer Scorer
	// getenv reads API keys (os.Getenv).
	getenv func(string) string
}

// treeLookahead is how many batches the tree searches propose ahead of their results.
const treeLookahead = 4

// strategyTable lists the strategies, in the order --strategy's help gives them.
func strategyTable() []strategyEntry {
	tree := func(name string) func(strategyEnv) (Strategy, error) {
		return func(e strategyEnv) (Strategy, error) { return NewColtStrategy(name, e.cfg, e.scorer, e.getenv) }
	}
	return []strategyEntry{
		{name: "colt", description: "COLT: the configured models share one Monte Carlo tree (MA-UCT, course alteration)",
			lookahead: treeLookahead, ranking: rankCostModel, usesModels: true, make: tree("colt")},
		{name: "mcts", description: "Monte Carlo tree search expanded by one model (colt.mcts_model), or by random mutations",
			lookahead: treeLookahead, ranking: rankCostModel, usesModels: true, make: tree("mcts")},
		{name: "evolutionary", description: "TVM MetaSchedule's evolutionary search, ranked by the cost model",
			ranking: rankCostModelIfEnabled, make: func(e strategyEnv) (Strategy, error) {
				scorer := e.scorer
				if scorer == nil {
					scorer = NewInheritScorer(e.cfg.Search.Evolutionary.InheritDiscount)
				}
				return NewEvolutionary(e.cfg.Search.Evolutionary, scorer), nil
			}},
		{name: "random", description: "random samples of the design space",
			ranking: rankNothing, make: func(strategyEnv) (Strategy, error) { return NewRandom(), nil }},
	}
}

// StrategyInfo describes a strategy for help texts and docs.
type StrategyInfo struct {
	Name, Description string
	// UsesModels says the strategy calls the configured models.
	UsesModels bool
}

// Strategies lists the strategies --strategy accepts.
func Strategies() []StrategyInfo {
	var out []StrategyInfo
	for _, e := range strategyTable() {
		out = append(out, StrategyInfo{Name: e.name, Description: e.description, UsesModels: e.usesModels})
	}
	return out
}

// StrategyNames lists the names --strategy accepts.
func StrategyNames() []string {
	var out []string
	for _, e := range strategyTable() {
		out = append(out, e.name)
	}
	return out
}

// lookupStrategy finds a strategy's table entry; the error lists the names there are.
func lookupStrategy(name string) (strategyEntry, error) {
	for _, e := range strategyTable() {
		if e.name == name {
			return e, nil
		}
	}
	return strategyEntry{}, fmt.Errorf("unknown strategy %q: want %s", name, strings.Join(StrategyNames(), ", "))
}

// NewStrategy makes the named strategy from the configuration. scorer ranks candidates (nil:
// the evolutionary search's inherited-throughput estimate; the tree searches need one);
// getenv reads the models' API keys (os.Getenv).
func NewStrategy(name string, cfg Config, scorer Scorer, getenv func(string) string) (Strategy, error) {
	e, err := lookupStrategy(name)
	if err != nil {
		return nil, err
	}
	if e.ranking == rankCostModel && scorer == nil {
		return nil, fmt.Errorf("strategy %s scores with the cost model: give it a scorer", name)
	}
	return e.make(strategyEnv{cfg: cfg, scorer: scorer, getenv: getenv})
}
