package core

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"colt/backend"
	"colt/schedule"
	"colt/scoring"
	"colt/workloads"
)

// DefaultProgressEvery is how long a run may go without a finished sample before it says what
// it is waiting for (EventWaiting).
const DefaultProgressEvery = 10 * time.Second

// SessionOptions say what one tuning job does. Zero values take the configuration's defaults
// where noted.
type SessionOptions struct {
	// Config is the loaded configuration (colt.toml over the defaults).
	Config Config
	// Workload names a workload of the catalog: a single one, one task of a model as
	// MODEL:TASK, or a model, whose tasks are tuned in order, each with the whole budget.
	Workload string
	// Strategy names a row of the strategy table ("" = search.strategy).
	Strategy string
	// Budget is how many new candidates the job measures: a single task's, or a model's total
	// over its tasks (0 = search.budget).
	Budget int
	// TaskOrder says how a model's tasks share the budget ("" = search.task_order).
	TaskOrder TaskOrder
	// Seed seeds the search's random choices (nil = the configuration's seed).
	Seed *uint64
	// Models, when not nil, replaces colt.models (colt) or names the one model of mcts.
	Models []string
	// CostModel says whether the evolutionary search ranks candidates with the learned cost
	// model (nil = costmodel.enabled); the tree searches always do.
	CostModel *bool
	// SketchFile, when set, is a trace JSON file whose decisions are searched instead of the
	// built-in design space (single tasks only).
	SketchFile string
	// SnapshotEvery attaches console snapshots to events at most this often (0: none; the
	// console uses 100 ms).
	SnapshotEvery time.Duration
	// ProgressEvery is the silence after which a run says what it waits for (0 =
	// DefaultProgressEvery, negative = never).
	ProgressEvery time.Duration
	// Getenv reads API keys (nil: os.Getenv).
	Getenv func(string) string
	// Logf receives the cost model's log lines (nil: discarded). It may be called from any
	// goroutine.
	Logf func(format string, args ...any)

	// The fields below let colt serve run several sessions in one process.

	// Store, when set, is the record store the session appends to (shared with the process's
	// other sessions); the session neither opens nor closes it. Nil: the session opens the
	// work dir's store and closes it in Close.
	Store *Store
	// Gate, when set, is the CPU gate shared with the process's other sessions and its
	// measurement worker (nil: the session's own).
	Gate *CPUGate
	// RunID names the session's runs in their records; with it, the budget is what is left of
	// it after the records this run id already has (a restarted server resumes).
	RunID string
	// Dispatch, when set, measures the candidates (colt serve's workers).
	Dispatch Dispatcher
}

// Session is one tuning job end to end: the backend, the record store, the cost model (loaded,
// trained online on every measurement, saved), the strategy of each task (from the strategy
// table) and the loop over a model's tasks. The CLI makes one, runs it with an event consumer
// (the headless printer or the console) and closes it; operator commands go in through
// Commands.
type Session struct {
	opt      SessionOptions
	cfg      Config
	cat      *workloads.Catalog
	w        *workloads.Workload
	entry    strategyEntry
	be       *backend.Backend
	store    *Store
	model    *scoring.CostModel
	gate     *CPUGate
	cmds     chan Command
	sketches []schedule.Sketch
	tasks    []sessionTask
	order    TaskOrder
	budget   int
	resumed  int // samples this run id measured before a restart
	seed     uint64
	rankCM   bool // the strategy ranks with the cost model

	closeOnce sync.Once
	closeErr  error
}

// TaskRef is one task a session tunes: the workload name tuned (MODEL:TASK for a model's task)
// and how often it occurs in one run of the model. Tasks of a model with the same program are
// tuned once: Also names the others, and Weight is the sum of theirs.
type TaskRef struct {
	Name   string
	Weight int
	Also   []string `json:",omitempty"`
}

// TaskOrder is how the session's model shares its budget among its tasks.
func (s *Session) TaskOrder() TaskOrder { return s.order }

// NewSession checks the options against the configuration and opens what the job needs: the
// backend (finding the compiler), the strategy of the first task (so a model without its API
// key is reported before anything runs), the record store and the cost model. Mistakes in what
// was asked for are InputErrors.
func NewSession(opt SessionOptions) (*Session, error) {
	cfg := opt.Config
	s := &Session{opt: opt, gate: opt.Gate, cmds: make(chan Command, 16), budget: opt.Budget, seed: cfg.Seed}
	if s.gate == nil {
		s.gate = &CPUGate{}
	}
	if opt.Strategy == "" {
		opt.Strategy = cfg.Search.Strategy
	}
	if s.budget == 0 {
		s.budget = cfg.Search.Budget
	}
	if opt.Seed != nil {
		s.seed = *opt.Seed
	}
	if s.opt.Getenv == nil {
		s.opt.Getenv = os.Getenv
	}
	if s.opt.Logf == nil {
		s.opt.Logf = func(string, ...any) {}
	}
	switch {
	case opt.ProgressEvery == 0:
		s.opt.ProgressEvery = DefaultProgressEvery
	case opt.ProgressEvery < 0:
		s.opt.ProgressEvery = 0
	}
	if s.budget < 1 {
		return nil, inputErrorf("--budget is %d, want at least 1 (the number of new candidates to measure)", s.budget)
	}
	var err error
	if s.entry, err = lookupStrategy(opt.Strategy); err != nil {
		return nil, inputErrorf("--strategy: %v", err)
	}
	if opt.Models != nil {
		switch {
		case s.entry.name == "mcts" && len(opt.Models) > 1:
			return nil, inputErrorf("--models: mcts expands with one model, found %d", len(opt.Models))
		case s.entry.name == "mcts" && len(opt.Models) == 1:
			cfg.Colt.MCTSModel = opt.Models[0]
		case s.entry.name == "colt":
			cfg.Colt.Models = opt.Models
		}
	}
	s.cfg = cfg
	if s.cat, err = cfg.Catalog(); err != nil {
		return nil, inputError(err)
	}
	if s.w, err = s.cat.Get(opt.Workload); err != nil {
		return nil, inputError(err)
	}
	order := string(opt.TaskOrder)
	if order == "" {
		order = cfg.Search.TaskOrder
	}
	if s.order, err = ParseTaskOrder(order); err != nil {
		return nil, inputErrorf("--task-order: %v", err)
	}
	s.tasks = sessionTasks(s.w)
	if opt.SketchFile != "" {
		if !s.w.IsSingle() {
			return nil, inputErrorf("--sketch is a trace of one program; %s is a model of %d tasks (tune one as --workload %s:%s)",
				s.w.Name, len(s.w.Tasks), s.w.Name, s.w.Tasks[0].Name)
		}
		t, err := ReadTrace(opt.SketchFile)
		if err != nil {
			return nil, inputErrorf("--sketch %v", err)
		}
		s.sketches = []schedule.Sketch{{Name: filepath.Base(opt.SketchFile), Trace: t}}
	}
	s.rankCM = s.entry.ranking == rankCostModel || s.entry.ranking == rankCostModelIfEnabled && s.costModelOn()
	// Configuration mistakes (an unknown model, a missing key) show before anything runs.
	if _, err := s.entry.make(strategyEnv{cfg: cfg, scorer: NewInheritScorer(1), getenv: s.opt.Getenv}); err != nil {
		return nil, inputError(err)
	}
	if s.be, err = OpenBackend(cfg); err != nil {
		return nil, inputError(err)
	}
	if s.store = opt.Store; s.store == nil {
		if s.store, err = OpenStore(cfg.WorkDir); err != nil {
			return nil, err
		}
	}
	for _, t := range s.tasks {
		s.resumed += s.spentByRun(t)
	}
	// The session trains the cost model on every measurement whenever it is enabled (whatever
	// the strategy), and always when the strategy ranks with it.
	if s.rankCM || cfg.CostModel.Enabled {
		s.model = openCostModel(cfg, s.be.Target(), s.cat, s.opt.Logf, s.gate)
	}
	return s, nil
}

// costModelOn says whether the options turn the cost model's ranking on.
func (s *Session) costModelOn() bool {
	if s.opt.CostModel != nil {
		return *s.opt.CostModel
	}
	return s.opt.Config.CostModel.Enabled
}

// Tasks are the session's tasks in the model's order: one per distinct program, weighted with
// the summed weight of the tasks that share it.
func (s *Session) Tasks() []TaskRef {
	out := make([]TaskRef, len(s.tasks))
	for i, t := range s.tasks {
		out[i] = t.ref
	}
	return out
}

// Workload is the workload being tuned, described.
func (s *Session) Workload() WorkloadInfo { return workloadInfo(s.w) }

// Describe is the description of a task or workload of the session, by name.
func (s *Session) Describe(name string) string {
	if w, err := s.cat.Get(name); err == nil {
		return w.Description
	}
	return s.w.Description
}

// Target is the target key of the session's backend (the records' target).
func (s *Session) Target() string { return s.be.Target().String() }

// Strategy is the name of the session's strategy.
func (s *Session) Strategy() string { return s.entry.name }

// Budget is the session's budget of new candidates: a single task's, or a model's total.
func (s *Session) Budget() int { return s.budget }

// Resumed is how many samples of the budget this run (colt serve's run id) measured before a
// restart: they count as spent.
func (s *Session) Resumed() int { return s.resumed }

// WorkDir is where the session keeps its records and caches.
func (s *Session) WorkDir() string { return s.cfg.WorkDir }

// RepairNote says how the records file was repaired when it was opened ("" when it was not).
func (s *Session) RepairNote() string { return s.store.Repaired() }

// Commands is where operator commands go; the task being tuned applies them as they arrive.
func (s *Session) Commands() chan<- Command { return s.cmds }

// Run tunes the session's tasks, sending every event to onEvent (see TuneOptions.OnEvent),
// and returns the reports of the tasks it ran. A model's tasks share the budget as the task
// order says. It stops at the first error, when the operator stops a task, or when ctx ends
// (the error then wraps ErrInterrupted).
func (s *Session) Run(ctx context.Context, onEvent func(Event)) (*SessionReport, error) {
	rep := &SessionReport{Workload: s.w.Name, Single: s.w.IsSingle(), Tasks: []*Report{}, Weights: map[string]int{},
		Budget: s.budget, TaskOrder: s.order}
	for _, t := range s.tasks {
		rep.Weights[t.ref.Name] = t.ref.Weight
		if len(t.ref.Also) > 0 {
			if rep.Merged == nil {
				rep.Merged = map[string][]string{}
			}
			rep.Merged[t.ref.Name] = t.ref.Also
		}
	}
	rep.TaskCount = len(s.tasks)
	defer rep.estimate()
	if s.order == TaskOrderGradient && len(s.tasks) > 1 {
		return rep, s.runScheduled(ctx, onEvent, rep)
	}
	return rep, s.runSequential(ctx, onEvent, rep)
}

// runSequential tunes the tasks one after another, each with its share of the budget.
func (s *Session) runSequential(ctx context.Context, onEvent func(Event), rep *SessionReport) error {
	for i, t := range s.tasks {
		if ctx.Err() != nil {
			return fmt.Errorf("%w before %s: %v", ErrInterrupted, t.ref.Name, ctx.Err())
		}
		budget := s.budget / len(s.tasks)
		if i < s.budget%len(s.tasks) {
			budget++
		}
		budget -= s.spentByRun(t)
		if budget < 1 {
			continue // the budget is smaller than the task count, or this run spent the task's share before a restart
		}
		tuner, err := s.newTaskTuner(t, budget, onEvent, s.cmds, nil, nil)
		if err != nil {
			return err
		}
		r, err := tuner.Run(ctx)
		if r != nil {
			rep.Tasks = append(rep.Tasks, r)
		}
		if err != nil {
			return err
		}
		if r.StopReason == StopStopped {
			return nil
		}
	}
	return nil
}

// spentByRun is how much of the budget this run (colt serve's run id) spent on a task before
// a restart (0 without a run id).
func (s *Session) spentByRun(t sessionTask) int {
	if s.opt.RunID == "" {
		return 0
	}
	return s.store.RunCount(s.opt.RunID, t.hash, s.be.Target().String())
}

// newTaskTuner makes the tuner of one task: its workload, its strategy (ranking with the cost
// model when the strategy does) and the session's shared parts.
func (s *Session) newTaskTuner(t sessionTask, budget int, onEvent func(Event), cmds <-chan Command, allow *allowance, allocs *allocationBoard) (*Tuner, error) {
	tw, err := s.cat.Get(t.ref.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.ref.Name, err)
	}
	var scorer Scorer
	if s.rankCM {
		scorer = NewCostModelScorer(s.model, t.hash)
	}
	strat, err := s.entry.make(strategyEnv{cfg: s.cfg, scorer: scorer, getenv: s.opt.Getenv})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.ref.Name, err)
	}
	tuner, err := NewTuner(TuneOptions{
		Workload: tw, Backend: s.be, Store: s.store, WorkDir: s.cfg.WorkDir, Strategy: strat,
		Budget: budget, Seed: s.seed, Search: s.cfg.Search, Sketches: s.sketches, CostModel: s.model,
		OnEvent: onEvent, Commands: cmds, SnapshotEvery: s.opt.SnapshotEvery, ProgressEvery: s.opt.ProgressEvery,
		RunID: s.opt.RunID, Dispatch: s.opt.Dispatch, gate: s.gate, allowance: allow, allocations: allocs,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.ref.Name, err)
	}
	return tuner, nil
}

// Close waits for a cost-model training under way (so it is saved for the next run) and
// closes the record store. It returns the training's or the store's error; closing again
// returns the same.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		if s.model != nil {
			if werr := s.model.Wait(); werr != nil {
				s.closeErr = fmt.Errorf("cost model: the last training failed: %w", werr)
			}
		}
		if s.opt.Store != nil {
			return // shared: its owner closes it
		}
		if cerr := s.store.Close(); cerr != nil && s.closeErr == nil {
			s.closeErr = cerr
		}
	})
	return s.closeErr
}

// SessionReport is the outcome of a session: one report per task run, with the model's
// end-to-end estimate.
type SessionReport struct {
	Workload string `json:"workload"`
	// Single says the workload is one task (its report is the only one).
	Single bool `json:"-"`
	// Budget is the job's budget (a model's total); TaskOrder how its tasks shared it.
	Budget    int       `json:"budget"`
	TaskOrder TaskOrder `json:"task_order"`
	// Tasks are the reports of the tasks tuned, in the model's order.
	Tasks []*Report `json:"tasks"`
	// Merged names, for a task tuned once for several with the same program, the others.
	Merged map[string][]string `json:"merged,omitempty"`
	// Rounds are the task scheduler's rounds in order (none for the sequential order).
	Rounds []RoundReport `json:"rounds,omitempty"`
	// Weights are the tasks' occurrences in one run of the model.
	Weights map[string]int `json:"weights"`
	// EndToEndS is Σ weight × best latency over the tasks tuned (the baseline where nothing
	// was found); BaselineS Σ weight × unscheduled latency.
	EndToEndS float64 `json:"estimated_end_to_end_s"`
	BaselineS float64 `json:"baseline_end_to_end_s"`
	// TasksTuned and TaskCount: how many of the model's tasks were tuned.
	TasksTuned int `json:"tasks_tuned"`
	TaskCount  int `json:"-"`
}

// estimate fills in the end-to-end estimate from the task reports.
func (r *SessionReport) estimate() {
	r.EndToEndS, r.BaselineS, r.TasksTuned = 0, 0, len(r.Tasks)
	for _, t := range r.Tasks {
		best := t.BaselineLatencyS
		if t.BestLatencyS != nil {
			best = *t.BestLatencyS
		}
		w := float64(r.Weights[t.Workload])
		r.EndToEndS += w * best
		r.BaselineS += w * t.BaselineLatencyS
	}
}

// WriteJSON writes the report as indented JSON: a single task's report as it is, a model's as
// one document with every task's report and the estimate.
func (r *SessionReport) WriteJSON(path string) error {
	if r.Single && len(r.Tasks) == 1 {
		return r.Tasks[0].WriteJSON(path)
	}
	return writeJSONFile(path, r)
}
