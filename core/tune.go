package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"colt/backend"
	"colt/schedule"
	"colt/workloads"
)

// TuneOptions configure a tuning run of one task.
type TuneOptions struct {
	// Workload is the workload to tune; it must be a single task (name one task of a model as
	// MODEL:TASK).
	Workload *workloads.Workload
	// Backend builds, runs and checks candidates; its target is the records' target key.
	Backend *backend.Backend
	// Store receives every measured candidate and holds the earlier runs' records.
	Store *Store
	// WorkDir is where the baseline cache lives; empty means the store's directory.
	WorkDir string
	// Strategy proposes the candidates.
	Strategy Strategy
	// Budget is the number of NEW candidates to measure in this run, failed ones included.
	// Candidates already in the store for this workload and target are never measured again
	// and do not count.
	Budget int
	// Seed seeds the run's one random source (math/rand/v2 PCG).
	Seed uint64
	// Search supplies batch_size, max_empty_batches and run_timeout_factor.
	Search SearchConfig
	// Sketches is the design space; nil means schedule.DesignSpace of the program.
	Sketches []schedule.Sketch
	// OnEvent, when set, receives an event at every step, synchronously on the tuning
	// goroutine: it must return quickly (ChannelSink never blocks).
	OnEvent func(Event)
	// Commands, when set, carries operator actions (pause, pin, escalate, stop, export),
	// applied between steps; each is answered with an EventControl.
	Commands <-chan Command
	// SnapshotEvery, when positive, attaches a Snapshot (tree, models, latency series,
	// programs) to events at most this often (and always to the start, the end and operator
	// actions), and sends EventExpand between samples while the search grows. Zero sends none.
	SnapshotEvery time.Duration
}

// ErrInterrupted is returned (wrapped) by Tuner.Run when its context ended the run; the
// report then covers the candidates measured before.
var ErrInterrupted = errors.New("interrupted")

// Tuner runs the search for one task: strategy proposals, deduplication by structural hash,
// parallel builds and serial timed runs, records, events.
type Tuner struct {
	opt   TuneOptions
	task  *workloads.Task
	space schedule.SpaceOptions
}

// SpaceOptionsFor is the design-space description of a target, shared by tune, show and export
// so that a trace builds the same program everywhere on one machine.
func SpaceOptionsFor(t backend.Target) schedule.SpaceOptions {
	return schedule.DefaultSpaceOptions(t.Cores)
}

// NewTuner checks the options.
func NewTuner(opt TuneOptions) (*Tuner, error) {
	switch {
	case opt.Workload == nil || opt.Backend == nil || opt.Store == nil || opt.Strategy == nil:
		return nil, errors.New("tune: workload, backend, store and strategy are required")
	case !opt.Workload.IsSingle():
		w := opt.Workload
		return nil, fmt.Errorf("%s is a model of %d tasks; tune one task at a time (e.g. --workload %s:%s); tuning whole models with a task scheduler lands in a later release",
			w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
	case opt.Budget < 1:
		return nil, fmt.Errorf("budget is %d, want at least 1 new candidate", opt.Budget)
	}
	if opt.WorkDir == "" {
		opt.WorkDir = filepath.Dir(opt.Store.Path())
	}
	if opt.Search.BatchSize < 1 {
		opt.Search.BatchSize = DefaultSearchConfig().BatchSize
	}
	if opt.Search.MaxEmptyBatches < 1 {
		opt.Search.MaxEmptyBatches = DefaultSearchConfig().MaxEmptyBatches
	}
	if opt.Search.RunTimeoutFactor < 1 {
		opt.Search.RunTimeoutFactor = DefaultSearchConfig().RunTimeoutFactor
	}
	return &Tuner{opt: opt, task: opt.Workload.Tasks[0], space: SpaceOptionsFor(opt.Backend.Target())}, nil
}

// run is the state of one Run.
type run struct {
	*Tuner
	ctx         context.Context
	start       time.Time // of the run
	searchStart time.Time // after reference and baseline
	report      *Report
	known       map[string]bool
	bestS       float64
	failures    map[string]int
	paused      bool   // by the operator
	pinned      string // model pinned by the operator

	// For snapshots: the latency series, the best and the latest program, and when the last
	// snapshot was sent.
	series        []SeriesPoint
	best, current *Program
	lastSnapshot  time.Time
}

// Run tunes until the budget is spent, the strategy stops finding new candidates, or ctx ends
// (the error then wraps ErrInterrupted and the report covers what was measured). Every
// candidate is appended to the store before the next one runs, so a killed run loses at most
// the candidate in flight, and a rerun in the same work dir resumes where it stopped.
func (t *Tuner) Run(ctx context.Context) (*Report, error) {
	r := &run{Tuner: t, ctx: ctx, start: time.Now(), known: map[string]bool{}, failures: map[string]int{}}
	rep, err := r.run()
	if rep != nil {
		rep.WallS = time.Since(r.start).Seconds()
		if ms, ok := t.opt.Strategy.(interface{ ModelStats() []ModelStat }); ok {
			rep.Models = ms.ModelStats()
		}
		t.emit(r.event(EventDone, func(e *Event) { e.Report = rep }))
	}
	return rep, err
}

func (t *Tuner) emit(e Event) {
	if t.opt.OnEvent != nil {
		t.opt.OnEvent(e.clone())
	}
}

func (r *run) note(msg string) {
	r.emit(r.event(EventNote, func(e *Event) { e.Message = msg }))
}

// event is a snapshot of the run's state.
func (r *run) event(kind EventKind, fill func(*Event)) Event {
	e := Event{Kind: kind, Time: time.Now(), Workload: r.opt.Workload.Name, Strategy: r.opt.Strategy.Name(),
		Budget: r.opt.Budget, Target: r.opt.Backend.Target().String(), Failures: r.failures, BestS: r.bestS,
		State: r.state()}
	if rep := r.report; rep != nil {
		e.Sample, e.Previous, e.BaselineS = rep.Samples, rep.PreviousSamples, rep.BaselineLatencyS
		e.BaselineGFLOPS = GFLOPS(r.task.FLOPs, e.BaselineS)
	}
	if r.bestS > 0 {
		e.BestGFLOPS = GFLOPS(r.task.FLOPs, r.bestS)
		if e.BaselineS > 0 {
			e.Speedup = e.BaselineS / r.bestS
		}
	}
	if !r.searchStart.IsZero() {
		e.Elapsed = time.Since(r.searchStart)
		if e.Sample > 0 {
			per := e.Elapsed / time.Duration(e.Sample)
			e.ETA = per * time.Duration(max(r.opt.Budget-e.Sample, 0))
		}
	}
	if fill != nil {
		fill(&e)
	}
	switch kind {
	case EventStart, EventDone, EventControl:
		r.withSnapshot(&e, true)
	case EventSample:
		r.withSnapshot(&e, false)
	}
	return e
}

func (r *run) run() (*Report, error) {
	opt := r.opt
	be := opt.Backend
	name := opt.Workload.Name
	f := r.task.Func()
	if err := schedule.Verify(f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	workloadHash := schedule.StructuralHash(f)
	target := be.Target().String()

	r.note("computing the double-precision reference (cached after the first run)")
	ref, err := be.Reference(r.ctx, f)
	if err != nil {
		if r.ctx.Err() != nil {
			return nil, fmt.Errorf("%w before the search began: %v", ErrInterrupted, r.ctx.Err())
		}
		return nil, fmt.Errorf("%s: reference: %w", name, err)
	}
	base, err := baseline(r.ctx, be, r.task, name, workloadHash, opt.WorkDir, ref, r.note)
	if err != nil {
		if r.ctx.Err() != nil {
			return nil, fmt.Errorf("%w before the search began: %v", ErrInterrupted, r.ctx.Err())
		}
		return nil, fmt.Errorf("%s: baseline: %w", name, err)
	}
	timeout := CandidateRunTimeout(be.Config(), base.LatencyS, opt.Search.RunTimeoutFactor)

	sketches := opt.Sketches
	if sketches == nil {
		sketches, err = designSpace(f, r.space)
		if err != nil {
			return nil, fmt.Errorf("%s: design space: %w", name, err)
		}
	}

	// Warm start: what earlier runs measured is known, never measured again, and seeds the
	// strategy. The unscheduled program itself is the baseline, measured already.
	prior := opt.Store.Records(workloadHash, target)
	var priorMeasured []Measured
	for _, rec := range prior {
		r.known[rec.CandidateHash] = true
		priorMeasured = append(priorMeasured, Measured{Candidate: candidateFromRecord(rec), Status: rec.Status, LatencyS: rec.LatencyS, Message: rec.Message})
	}
	r.known[workloadHash] = true
	if best, ok := opt.Store.Best(workloadHash, target); ok {
		r.bestS = best.LatencyS
		r.best = r.program(best.CandidateHash, candidateFromRecord(best).Trace)
	}

	rep := &Report{
		Workload: name, WorkloadHash: workloadHash, Target: target, Strategy: opt.Strategy.Name(),
		Seed: opt.Seed, Budget: opt.Budget, PreviousSamples: len(prior), FLOPs: r.task.FLOPs,
		BaselineLatencyS: base.LatencyS, BaselineCached: base.Cached, CandidateTimeoutS: timeout.Seconds(),
		Failures: map[string]int{}, Records: opt.Store.Path(), History: []HistoryEntry{},
	}
	if best, ok := opt.Store.Best(workloadHash, target); ok {
		rep.BestHash = best.CandidateHash
	}
	for _, k := range FailureKinds() {
		rep.Failures[k] = 0
		r.failures[k] = 0
	}
	r.report = rep
	if len(prior) > 0 {
		r.note(fmt.Sprintf("resuming: %d candidates of %s on this target are already in %s; they are not measured again and do not count toward the budget",
			len(prior), name, opt.Store.Path()))
	}

	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x636f6c74)) // "colt"
	prob := NewProblem(name, f, r.task.FLOPs, sketches, r.space, rng, func(h string) bool { return r.known[h] })
	prob.Budget = opt.Budget
	if err := opt.Strategy.Init(prob, priorMeasured); err != nil {
		return nil, fmt.Errorf("%s: strategy %s: %w", name, opt.Strategy.Name(), err)
	}
	if pr, ok := opt.Strategy.(ProgressReporter); ok {
		pr.SetProgress(r.expanded)
	}

	r.searchStart = time.Now()
	r.emit(r.event(EventStart, nil))
	empty := 0
	for rep.Samples < opt.Budget {
		if err := r.steer(); errors.Is(err, errStopped) {
			rep.StopReason = "stopped"
			return rep, nil
		}
		if r.ctx.Err() != nil {
			rep.StopReason = "interrupted"
			return rep, fmt.Errorf("%w after %d of %d samples: %v", ErrInterrupted, rep.Samples, opt.Budget, r.ctx.Err())
		}
		n := min(opt.Search.BatchSize, opt.Budget-rep.Samples)
		invalidBefore, preparedBefore := prob.Invalid, prob.Prepared
		batch := r.fresh(prob, opt.Strategy.Propose(n), n)
		if noter, ok := opt.Strategy.(Noter); ok {
			for _, msg := range noter.TakeNotes() {
				r.note(msg)
			}
		}
		if len(batch) == 0 {
			empty++
			msg := fmt.Sprintf("batch brought no new candidate (%d in a row, stopping at %d)", empty, opt.Search.MaxEmptyBatches)
			if k := prob.Invalid - invalidBefore; k > 0 {
				msg += fmt.Sprintf("; %d of %d samples did not build, the last: %v", k, prob.Prepared-preparedBefore, prob.LastInvalid)
			}
			r.note(msg)
			if empty >= opt.Search.MaxEmptyBatches {
				rep.StopReason = "exhausted"
				r.note(fmt.Sprintf("stopping after %d samples: the design space yields no new candidate (it is exhausted or too small)", rep.Samples))
				return rep, nil
			}
			continue
		}
		empty = 0
		results, err := r.measure(batch, ref, timeout, workloadHash, target)
		if len(results) > 0 {
			opt.Strategy.Observe(results)
		}
		if errors.Is(err, errStopped) {
			rep.StopReason = "stopped"
			return rep, nil
		}
		if err != nil {
			if errors.Is(err, ErrInterrupted) {
				rep.StopReason = "interrupted"
				return rep, err
			}
			return rep, err
		}
	}
	rep.StopReason = "budget"
	return rep, nil
}

// designSpace is schedule.DesignSpace with a panic turned into an error.
func designSpace(f *schedule.Func, space schedule.SpaceOptions) (sk []schedule.Sketch, err error) {
	defer func() {
		if p := recover(); p != nil {
			sk, err = nil, fmt.Errorf("the design-space rules panicked: %v", p)
		}
	}()
	return schedule.DesignSpace(f, space)
}

// fresh prepares the proposals the strategy did not prepare and keeps the first n that are
// not known and not repeated within the batch.
func (r *run) fresh(prob *Problem, props []*Candidate, n int) []*Candidate {
	var out []*Candidate
	seen := map[string]bool{}
	for _, c := range props {
		if len(out) >= n {
			break
		}
		if c == nil {
			continue
		}
		c = prob.prepare(c)
		if r.known[c.Hash] || seen[c.Hash] {
			continue
		}
		seen[c.Hash] = true
		out = append(out, c)
	}
	return out
}

// measure builds a batch in parallel, then runs its candidates one by one, recording each
// before the next runs. Invalid candidates are recorded without a build.
func (r *run) measure(batch []*Candidate, ref *backend.Reference, timeout time.Duration, workloadHash, target string) ([]Measured, error) {
	be := r.opt.Backend
	var cands []backend.Candidate
	slot := make([]int, len(batch)) // index into built, -1 for invalid candidates
	for i, c := range batch {
		slot[i] = -1
		if c.Valid() {
			slot[i] = len(cands)
			cands = append(cands, backend.Candidate{Func: c.Func, RunTimeout: timeout})
		}
	}
	var built []backend.Built
	if len(cands) > 0 {
		built = be.BuildBatch(r.ctx, cands)
	}
	var results []Measured
	for i, c := range batch {
		if r.ctx.Err() != nil { // a build or run cut short by the interrupt is not a result
			return results, fmt.Errorf("%w after %d of %d samples: %v", ErrInterrupted, r.report.Samples, r.opt.Budget, r.ctx.Err())
		}
		var res backend.Result
		if slot[i] < 0 {
			res = backend.Result{Status: backend.StatusInvalid, Message: oneLine(fmt.Sprint(c.Err))}
		} else {
			res = be.RunBatch(r.ctx, built[slot[i]:slot[i]+1], ref)[0]
			if r.ctx.Err() != nil {
				return results, fmt.Errorf("%w after %d of %d samples: %v", ErrInterrupted, r.report.Samples, r.opt.Budget, r.ctx.Err())
			}
		}
		m, err := r.record(c, res, workloadHash, target)
		if err != nil {
			return results, err
		}
		results = append(results, m)
		if i+1 < len(batch) {
			if err := r.steer(); err != nil {
				return results, err
			}
		}
	}
	return results, nil
}

// record appends one measured candidate to the store and the report, and sends its event.
func (r *run) record(c *Candidate, res backend.Result, workloadHash, target string) (Measured, error) {
	rep := r.report
	sample := rep.Samples + 1
	trace, err := json.Marshal(c.Trace)
	if err != nil {
		return Measured{}, fmt.Errorf("encode the trace of candidate %s: %w", c.Hash, err)
	}
	status := string(res.Status)
	m := Measured{Candidate: c, Status: status, Message: res.Message, Sample: sample}
	rec := Record{
		Workload: rep.Workload, WorkloadHash: workloadHash, Target: target, CandidateHash: c.Hash,
		Trace: trace, Status: status, Strategy: rep.Strategy, Proposer: proposerLabel(c),
		Seed: rep.Seed, Sample: sample,
	}
	if !res.OK() {
		rec.Message = res.Message
	}
	if res.OK() && res.MedianS > 0 && !math.IsInf(res.MedianS, 0) {
		m.LatencyS = res.MedianS
		rec.LatencyS, rec.LatenciesS = res.MedianS, finite(res.LatenciesS)
	} else if res.OK() {
		m.Status, rec.Status = string(backend.StatusCrash), string(backend.StatusCrash)
		m.Message = "no usable latency: " + res.Message
		rec.Message = m.Message
	}
	if v := res.MaxRelErr; !math.IsNaN(v) && !math.IsInf(v, 0) {
		rec.MaxRelErr = v
	} else {
		rec.MaxRelErr = -1 // JSON has no NaN; the status says the result is wrong
	}
	if err := r.opt.Store.Append(rec); err != nil {
		return m, fmt.Errorf("record candidate %d: %w", sample, err)
	}
	r.known[c.Hash] = true
	rep.Samples = sample
	r.current = r.program(c.Hash, c.Trace)
	if m.Status != StatusOK {
		rep.Failures[m.Status]++
		r.failures[m.Status]++
	} else if r.bestS == 0 || m.LatencyS < r.bestS {
		r.bestS = m.LatencyS
		rep.BestHash, rep.BestSample = c.Hash, sample
		r.best = r.current
	}
	r.series = append(r.series, SeriesPoint{Sample: sample, LatencyS: m.LatencyS, BestS: r.bestS})
	if r.bestS > 0 {
		rep.BestLatencyS = floatPtr(r.bestS)
		rep.BestGFLOPS = floatPtr(GFLOPS(rep.FLOPs, r.bestS))
		rep.Speedup = floatPtr(rep.BaselineLatencyS / r.bestS)
	}
	rep.History = append(rep.History, HistoryEntry{
		Sample: sample, Status: m.Status, LatencyS: floatPtr(m.LatencyS), BestSoFarS: floatPtr(r.bestS),
		Hash: c.Hash, Proposer: c.Proposer, Mutator: c.Mutator, Message: rec.Message,
	})
	r.emit(r.event(EventSample, func(e *Event) {
		e.Status, e.LatencyS, e.Hash, e.Proposer, e.Mutator, e.Message = m.Status, m.LatencyS, c.Hash, c.Proposer, c.Mutator, rec.Message
	}))
	return m, nil
}

// proposerLabel is the record's proposer: who proposed it and, for a mutation, which mutator.
func proposerLabel(c *Candidate) string {
	if c.Mutator == "" {
		return c.Proposer
	}
	return c.Proposer + ":" + c.Mutator
}

// finite drops NaN and infinite values, which JSON cannot hold.
func finite(xs []float64) []float64 {
	var out []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
