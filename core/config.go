package core

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"colt/backend"
	"colt/providers"
	"colt/workloads"
)

// Config is colt's configuration as read from colt.toml. Every field has a default, so an empty
// or missing file is a valid configuration.
type Config struct {
	WorkDir   string                    `toml:"work_dir"`
	Seed      uint64                    `toml:"seed"`
	Target    string                    `toml:"target"`
	Backend   BackendConfig             `toml:"backend"`
	Search    SearchConfig              `toml:"search"`
	CostModel CostModelConfig           `toml:"costmodel"`
	Colt      ColtConfig                `toml:"colt"`
	Models    []providers.ModelConfig   `toml:"models"`
	Workloads map[string]workloads.Spec `toml:"workloads"`
	Serve     ServeConfig               `toml:"serve"`

	// Path is the file the configuration came from ("" for built-in defaults).
	Path string `toml:"-"`
	// ModelConfig, when set, is a Hugging Face config.json whose model joins the catalog
	// (named by workloads.HFModelName), for a forward step over ModelTokens tokens.
	ModelConfig string `toml:"-"`
	ModelTokens int    `toml:"-"`
}

// BackendConfig sets how candidates are compiled and timed.
type BackendConfig struct {
	CC            string   `toml:"cc"`
	CFlags        []string `toml:"cflags"`
	BuildWorkers  int      `toml:"build_workers"`
	BuildTimeoutS float64  `toml:"build_timeout_s"`
	RunTimeoutS   float64  `toml:"run_timeout_s"`
	Repeat        int      `toml:"repeat"`
	MinRepeatMs   int      `toml:"min_repeat_ms"`
	Threads       int      `toml:"threads"`
	NVCC          string   `toml:"nvcc"`
	CUDAArch      string   `toml:"cuda_arch"`
	FlushL2       bool     `toml:"flush_l2"`
	// MaxUnrolledStatements bounds a CPU kernel's size once unrolled (its compile time): a
	// larger candidate is invalid without being compiled.
	MaxUnrolledStatements int64 `toml:"max_unrolled_statements"`
}

// DefaultConfig is the configuration used when colt.toml says nothing.
func DefaultConfig() Config {
	d := backend.DefaultConfig()
	return Config{
		WorkDir: ".colt",
		Seed:    1,
		Target:  TargetAuto,
		Backend: BackendConfig{
			CFlags:        d.CFlags,
			BuildTimeoutS: d.BuildTimeout.Seconds(),
			RunTimeoutS:   d.RunTimeout.Seconds(),
			Repeat:        d.Repeat,
			MinRepeatMs:   d.MinRepeatMs,

			MaxUnrolledStatements: d.MaxUnrolledStatements,
		},
		Search:    DefaultSearchConfig(),
		CostModel: DefaultCostModelConfig(),
		Colt:      DefaultColtConfig(),
		Models:    DefaultModelSet(),
		Serve:     DefaultServeConfig(),
	}
}

// ColtConfig sets the shared-tree search of the colt and mcts strategies (the paper's values
// are the defaults).
type ColtConfig struct {
	// Lambda weighs the preference for small models in MA-UCT; Exploration is its c.
	Lambda      float64 `toml:"lambda"`
	Exploration float64 `toml:"exploration"`
	// Branching is B, the most children a node gets before the search descends.
	Branching int `toml:"branching"`
	// RolloutDepth is the number of random mutations of a rollout.
	RolloutDepth int `toml:"rollout_depth"`
	// LargestShare is the least share of model calls the largest model receives.
	LargestShare float64 `toml:"largest_share"`
	// Models names the [[models]] colt uses (empty: all of them).
	Models []string `toml:"models"`
	// MCTSModel is the one model of the mcts strategy ("" = random expansions, pure MCTS).
	MCTSModel string `toml:"mcts_model"`
	// CallTimeoutS bounds one model call, retries included.
	CallTimeoutS float64 `toml:"call_timeout_s"`
	// InitSamples is how many programs of each sketch are sampled for the root's first
	// children; the cost model keeps the best of them.
	InitSamples int `toml:"init_samples"`
	// ExpansionsPerSample is how many tree expansions the search makes per measured sample;
	// each batch measures the best-predicted unmeasured nodes of the whole tree.
	ExpansionsPerSample float64 `toml:"expansions_per_sample"`
	// RandomShare is the share of each batch drawn at random from the unmeasured nodes rather
	// than by predicted score.
	RandomShare float64 `toml:"random_share"`
	// ParallelCalls is the most model calls in flight at once: a round selects that many
	// leaves (virtual loss keeps them apart), calls their models concurrently and applies the
	// answers in selection order.
	ParallelCalls int `toml:"parallel_calls"`
}

// DefaultColtConfig is the paper's configuration.
func DefaultColtConfig() ColtConfig {
	return ColtConfig{Lambda: 0.5, Exploration: 1.4142135623730951, Branching: 2, RolloutDepth: 2, LargestShare: 0.2, CallTimeoutS: 300,
		InitSamples: 16, ExpansionsPerSample: 4, RandomShare: 0.05, ParallelCalls: 8}
}

// DefaultModelSet is the offline model set colt ships: simulated stand-ins, in the shape of the
// paper's COLT(4) set (GPT-5.2, gpt-5-mini, DeepSeek-R1-Distill-Qwen-32B, Llama-3.1-8B-Instruct),
// named sim-* and labelled simulated wherever they appear.
func DefaultModelSet() []providers.ModelConfig {
	return []providers.ModelConfig{
		{Name: "sim-gpt-5.2", Kind: providers.KindSim, ParamsB: 300},
		{Name: "sim-gpt-5-mini", Kind: providers.KindSim, ParamsB: 20},
		{Name: "sim-r1-distill-qwen-32b", Kind: providers.KindSim, ParamsB: 32},
		{Name: "sim-llama-3.1-8b", Kind: providers.KindSim, ParamsB: 8},
	}
}

// problems lists what is wrong with the colt configuration and the model set.
func (c Config) coltProblems() []string {
	var bad []string
	k := c.Colt
	if !(k.Lambda >= 0 && k.Lambda <= 1) {
		bad = append(bad, fmt.Sprintf("colt.lambda is %g, want 0 to 1", k.Lambda))
	}
	if !(k.Exploration >= 0) {
		bad = append(bad, fmt.Sprintf("colt.exploration is %g, want ≥ 0", k.Exploration))
	}
	if k.Branching < 1 {
		bad = append(bad, fmt.Sprintf("colt.branching is %d, want ≥ 1", k.Branching))
	}
	if k.RolloutDepth < 0 {
		bad = append(bad, fmt.Sprintf("colt.rollout_depth is %d, want ≥ 0", k.RolloutDepth))
	}
	if !(k.LargestShare >= 0 && k.LargestShare <= 1) {
		bad = append(bad, fmt.Sprintf("colt.largest_share is %g, want 0 to 1", k.LargestShare))
	}
	if !(k.CallTimeoutS > 0) {
		bad = append(bad, fmt.Sprintf("colt.call_timeout_s is %g, want > 0", k.CallTimeoutS))
	}
	if k.InitSamples < 1 {
		bad = append(bad, fmt.Sprintf("colt.init_samples is %d, want ≥ 1", k.InitSamples))
	}
	if !(k.ExpansionsPerSample >= 1 && k.ExpansionsPerSample <= 64) {
		bad = append(bad, fmt.Sprintf("colt.expansions_per_sample is %g, want 1 to 64", k.ExpansionsPerSample))
	}
	if !(k.RandomShare >= 0 && k.RandomShare <= 1) {
		bad = append(bad, fmt.Sprintf("colt.random_share is %g, want 0 to 1", k.RandomShare))
	}
	if k.ParallelCalls < 1 || k.ParallelCalls > 256 {
		bad = append(bad, fmt.Sprintf("colt.parallel_calls is %d, want 1 to 256", k.ParallelCalls))
	}
	if len(c.Models) > 0 {
		if err := providers.ValidateModels(c.Models); err != nil {
			bad = append(bad, err.Error())
		}
	}
	known := map[string]bool{}
	for _, m := range c.Models {
		known[m.Name] = true
	}
	for _, name := range append(append([]string(nil), k.Models...), k.MCTSModel) {
		if name != "" && !known[name] {
			bad = append(bad, fmt.Sprintf("colt names model %q, which no [[models]] entry defines", name))
		}
	}
	return bad
}

// CostModelConfig sets how the learned cost model ranks candidates and when it retrains.
type CostModelConfig struct {
	// Enabled makes the evolutionary search rank candidates with the cost model (the analytic
	// estimate until the model has data); false keeps the inherited-throughput estimate.
	Enabled bool `toml:"enabled"`
	// MinSamples is how many successfully measured candidates the first training needs.
	MinSamples int `toml:"min_samples"`
	// RetrainGrowth retrains when the training set has grown by this fraction.
	RetrainGrowth float64 `toml:"retrain_growth"`
	// FailureWeight is the training weight of a failed candidate (label 0).
	FailureWeight float64 `toml:"failure_weight"`
}

// DefaultCostModelConfig is the [costmodel] configuration used when colt.toml says nothing.
func DefaultCostModelConfig() CostModelConfig {
	return CostModelConfig{Enabled: true, MinSamples: 32, RetrainGrowth: 0.2, FailureWeight: 0.2}
}

// problems lists what is wrong with a cost-model configuration.
func (c CostModelConfig) problems() []string {
	var bad []string
	if c.MinSamples < 2 {
		bad = append(bad, fmt.Sprintf("costmodel.min_samples is %d, want ≥ 2", c.MinSamples))
	}
	if !(c.RetrainGrowth > 0 && c.RetrainGrowth <= 10) {
		bad = append(bad, fmt.Sprintf("costmodel.retrain_growth is %g, want more than 0 (0.2 = retrain at 20%% more data)", c.RetrainGrowth))
	}
	if !(c.FailureWeight >= 0 && c.FailureWeight <= 1) {
		bad = append(bad, fmt.Sprintf("costmodel.failure_weight is %g, want 0 to 1", c.FailureWeight))
	}
	return bad
}

// DefaultConfigFile is the configuration file read when no --config is given, if it exists.
const DefaultConfigFile = "colt.toml"

// LoadConfig reads a configuration file over the defaults. With an empty path it reads
// colt.toml from the current directory if there is one, and otherwise returns the defaults.
// Unknown keys are errors, so a typo never silently falls back to a default.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	explicit := path != ""
	if !explicit {
		path = DefaultConfigFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return cfg, nil
		}
		return cfg, fmt.Errorf("read config: %w", err)
	}
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, len(undecoded))
		for i, k := range undecoded {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return cfg, fmt.Errorf("config %s: unknown key %s (see the documented keys in the README)", path, strings.Join(keys, ", "))
	}
	cfg.Path = path
	return cfg, cfg.check()
}

func (c Config) check() error {
	b := c.Backend
	var bad []string
	if c.WorkDir == "" {
		bad = append(bad, "work_dir is empty, want a directory path")
	}
	if b.Repeat < 1 {
		bad = append(bad, fmt.Sprintf("backend.repeat is %d, want ≥ 1", b.Repeat))
	}
	if b.MinRepeatMs < 0 {
		bad = append(bad, fmt.Sprintf("backend.min_repeat_ms is %d, want ≥ 0", b.MinRepeatMs))
	}
	if b.BuildTimeoutS <= 0 || b.RunTimeoutS <= 0 {
		bad = append(bad, "backend.build_timeout_s and backend.run_timeout_s must be > 0")
	}
	if !slices.Contains(TargetKinds(), c.Target) {
		bad = append(bad, fmt.Sprintf("target is %q, want one of %s", c.Target, strings.Join(TargetKinds(), ", ")))
	}
	if b.CUDAArch != "" {
		if _, err := backend.ParseArch(b.CUDAArch); err != nil {
			bad = append(bad, "backend.cuda_arch: "+err.Error())
		}
	}
	if b.MaxUnrolledStatements < 1 {
		bad = append(bad, fmt.Sprintf("backend.max_unrolled_statements is %d, want ≥ 1", b.MaxUnrolledStatements))
	}
	if b.BuildWorkers < 0 || b.Threads < 0 {
		bad = append(bad, "backend.build_workers and backend.threads must be ≥ 0 (0 = one per core)")
	}
	bad = append(bad, c.Search.problems()...)
	bad = append(bad, c.CostModel.problems()...)
	bad = append(bad, c.coltProblems()...)
	bad = append(bad, c.Serve.problems()...)
	if len(bad) > 0 {
		where := c.Path
		if where == "" {
			where = "defaults"
		}
		return fmt.Errorf("config %s: %s", where, strings.Join(bad, "; "))
	}
	return nil
}

// BackendSettings turns the configuration into the backend's own settings.
func (c Config) BackendSettings() backend.Config {
	b := backend.DefaultConfig()
	b.CC = c.Backend.CC
	if len(c.Backend.CFlags) > 0 {
		b.CFlags = c.Backend.CFlags
	}
	b.BuildWorkers = c.Backend.BuildWorkers
	if b.BuildWorkers == 0 {
		b.BuildWorkers = runtime.NumCPU()
	}
	b.BuildTimeout = seconds(c.Backend.BuildTimeoutS)
	b.RunTimeout = seconds(c.Backend.RunTimeoutS)
	b.Repeat = c.Backend.Repeat
	b.MinRepeatMs = c.Backend.MinRepeatMs
	b.Threads = c.Backend.Threads
	b.MaxUnrolledStatements = c.Backend.MaxUnrolledStatements
	b.Seed = c.Seed
	b.CacheDir = filepath.Join(c.WorkDir, "cache")
	b.NVCC = c.Backend.NVCC
	b.FlushL2 = c.Backend.FlushL2
	return b
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Catalog returns the built-in workloads plus those the configuration defines.
func (c Config) Catalog() (*workloads.Catalog, error) {
	source := c.Path
	if source == "" {
		source = "config"
	}
	cat, err := workloads.NewCatalog(c.Workloads, source)
	if err != nil || c.ModelConfig == "" {
		return cat, err
	}
	data, err := os.ReadFile(c.ModelConfig)
	if err != nil {
		return nil, fmt.Errorf("--model-config: %w", err)
	}
	w, err := workloads.FromHFConfig(workloads.HFModelName(c.ModelConfig), data, c.ModelTokens, c.ModelConfig)
	if err != nil {
		return nil, err
	}
	return cat, cat.Add(w)
}

// ModelConfigName is the workload name of the model of a Hugging Face config.json.
func ModelConfigName(path string) string { return workloads.HFModelName(path) }

// SearchConfig sets how `colt tune` searches: the [search] table of colt.toml.
type SearchConfig struct {
	// Strategy is the default --strategy, a name of the strategy table (Strategies).
	Strategy string `toml:"strategy"`
	// Budget is the default --budget: how many new candidates one run measures (failed ones
	// count; candidates already in the records are not measured again and do not count). For
	// a model it is the total over its tasks.
	Budget int `toml:"budget"`
	// TaskOrder is the default --task-order: how a model's tasks share the budget (a name of
	// TaskOrders).
	TaskOrder string `toml:"task_order"`
	// BatchSize is how many candidates are built in parallel before they are timed one by one.
	BatchSize int `toml:"batch_size"`
	// MaxEmptyBatches stops a run after this many batches in a row brought no new candidate
	// (the design space is exhausted, or sampling keeps failing).
	MaxEmptyBatches int `toml:"max_empty_batches"`
	// RunTimeoutFactor sets the run timeout of a candidate from the unscheduled baseline
	// latency L: max(backend.run_timeout_s, factor × (repeat + 1) × max(L, min_repeat_ms)).
	RunTimeoutFactor float64 `toml:"run_timeout_factor"`
	// ConfirmTop is how many of the best candidates are timed again at the end of a run,
	// interleaved with the vendor libraries, ConfirmRounds how many times each; the report's
	// "confirmed" figures are the medians. 0 turns the confirmation off.
	ConfirmTop    int `toml:"confirm_top"`
	ConfirmRounds int `toml:"confirm_rounds"`
	// Evolutionary configures the evolutionary strategy.
	Evolutionary EvolutionaryConfig `toml:"evolutionary"`
}

// EvolutionaryConfig configures the evolutionary strategy (TVM MetaSchedule's
// EvolutionarySearch, whose defaults are given in the comments where ours differ).
type EvolutionaryConfig struct {
	// Population is the number of candidates evolved per generation (TVM: 512).
	Population int `toml:"population"`
	// InitMeasuredRatio is the share of the initial population taken from the best measured
	// records; the rest is sampled at random from the design space.
	InitMeasuredRatio float64 `toml:"init_measured_ratio"`
	// Generations is the number of rounds of mutation per batch.
	Generations int `toml:"generations"`
	// MutationProb is the probability that a child is a mutation of its parent rather than a
	// copy.
	MutationProb float64 `toml:"mutation_prob"`
	// EpsGreedy is the share of every batch filled with random samples instead of the best
	// predicted candidates.
	EpsGreedy float64 `toml:"eps_greedy"`
	// InheritDiscount is the factor a never-measured child's predicted score gets from its
	// parent's (measured or predicted) score, until the cost model replaces this estimate.
	InheritDiscount float64 `toml:"inherit_discount"`
}

// DefaultSearchConfig is the [search] configuration used when colt.toml says nothing.
func DefaultSearchConfig() SearchConfig {
	return SearchConfig{
		Strategy:         "evolutionary",
		Budget:           64,
		TaskOrder:        string(TaskOrderGradient),
		BatchSize:        16,
		MaxEmptyBatches:  5,
		RunTimeoutFactor: 2,
		ConfirmTop:       3,
		ConfirmRounds:    5,
		Evolutionary: EvolutionaryConfig{
			Population:        128,
			InitMeasuredRatio: 0.2,
			Generations:       4,
			MutationProb:      0.85,
			EpsGreedy:         0.05,
			InheritDiscount:   0.9,
		},
	}
}

// problems lists what is wrong with a search configuration, one phrase per problem.
func (s SearchConfig) problems() []string {
	var bad []string
	if _, err := lookupStrategy(s.Strategy); err != nil {
		bad = append(bad, fmt.Sprintf("search.strategy is %q, want one of %s", s.Strategy, strings.Join(StrategyNames(), ", ")))
	}
	if s.Budget < 1 {
		bad = append(bad, fmt.Sprintf("search.budget is %d, want ≥ 1", s.Budget))
	}
	if _, err := ParseTaskOrder(s.TaskOrder); err != nil {
		bad = append(bad, "search.task_order: "+err.Error())
	}
	if s.BatchSize < 1 {
		bad = append(bad, fmt.Sprintf("search.batch_size is %d, want ≥ 1", s.BatchSize))
	}
	if s.MaxEmptyBatches < 1 {
		bad = append(bad, fmt.Sprintf("search.max_empty_batches is %d, want ≥ 1", s.MaxEmptyBatches))
	}
	if !(s.RunTimeoutFactor >= 1) {
		bad = append(bad, fmt.Sprintf("search.run_timeout_factor is %g, want ≥ 1", s.RunTimeoutFactor))
	}
	if s.ConfirmTop < 0 || s.ConfirmTop > 64 {
		bad = append(bad, fmt.Sprintf("search.confirm_top is %d, want 0 (off) to 64", s.ConfirmTop))
	}
	if s.ConfirmRounds < 0 || s.ConfirmRounds > 100 {
		bad = append(bad, fmt.Sprintf("search.confirm_rounds is %d, want 0 (off) to 100", s.ConfirmRounds))
	}
	e := s.Evolutionary
	if e.Population < 1 {
		bad = append(bad, fmt.Sprintf("search.evolutionary.population is %d, want ≥ 1", e.Population))
	}
	if e.Generations < 0 {
		bad = append(bad, fmt.Sprintf("search.evolutionary.generations is %d, want ≥ 0", e.Generations))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"init_measured_ratio", e.InitMeasuredRatio},
		{"mutation_prob", e.MutationProb},
		{"eps_greedy", e.EpsGreedy},
		{"inherit_discount", e.InheritDiscount},
	} {
		if !(p.v >= 0 && p.v <= 1) {
			bad = append(bad, fmt.Sprintf("search.evolutionary.%s is %g, want 0 to 1", p.name, p.v))
		}
	}
	return bad
}
