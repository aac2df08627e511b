package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"colt/backend"
	"colt/schedule"
	"colt/scoring"
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
	// CostModel, when set, learns from every measured candidate whatever the strategy (one of
	// the measure callbacks).
	CostModel *scoring.CostModel
	// OnEvent, when set, receives the run's events, one at a time, from the run's goroutines:
	// it must return quickly and must not wait for the run (ChannelSink never blocks).
	OnEvent func(Event)
	// Commands, when set, carries operator actions (pause, pin, escalate, stop, export,
	// select), applied as they arrive; each is answered with an event.
	Commands <-chan Command
	// SnapshotEvery, when positive, attaches a Snapshot (tree, models, programs) to events at
	// most this often (and always to the start, the end and operator actions), sends
	// EventExpand while the search grows and EventTick every second. Zero sends none.
	SnapshotEvery time.Duration
	// ProgressEvery, when positive, sends an EventWaiting when no sample has finished for
	// this long, and again after each further such period.
	ProgressEvery time.Duration

	// RunID, when set, names the run in its records (colt serve's run id), so a restarted
	// server knows how much of the budget its runs have spent.
	RunID string
	// Dispatch, when set, measures the candidates instead of the local backend (colt serve's
	// workers); the reference, the baseline and the confirmation stay local.
	Dispatch Dispatcher

	// gate is the CPU gate shared with the session's other work; nil: the run's own.
	gate *CPUGate
	// allowance, when set, makes Budget the first round's grant: the run then measures round
	// after round as the task scheduler grants them, until it says the task ends.
	allowance *allowance
	// allocations, when set, is the model's allocation the run's events carry.
	allocations *allocationBoard
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
	// lookahead is how many batches the strategy may propose before the oldest one's results
	// are observed: the strategy table's value for its name (0 for a strategy not in it).
	lookahead int
}

// SpaceOptionsFor is the design-space description of a target, shared by tune, show and export
// so that a trace builds the same program everywhere on one machine.
func SpaceOptionsFor(t backend.Target) schedule.SpaceOptions {
	opt := schedule.DefaultSpaceOptions(t.Cores)
	opt.SIMDLanes = t.VectorBytes / 4
	if t.Kind == backend.KindCUDA && t.GPU != nil {
		g := schedule.DefaultGPUSpace()
		if t.GPU.MaxThreadsPerBlock > 0 {
			g.MaxThreadsPerBlock = t.GPU.MaxThreadsPerBlock
		}
		// Kernels above the default 48 KiB opt in to the GPU's maximum (dynamic shared memory).
		if shared := max(t.GPU.SharedPerBlock, t.GPU.SharedPerBlockOptin); shared > 0 {
			g.MaxSharedBytes = shared
		}
		if t.GPU.MaxRegistersPerThread > 0 {
			g.MaxRegistersPerThread = t.GPU.MaxRegistersPerThread
		}
		opt.GPU = &g
		opt.UnrollSteps = schedule.GPUUnrollSteps()
	}
	return opt
}

// NewTuner checks the options.
func NewTuner(opt TuneOptions) (*Tuner, error) {
	switch {
	case opt.Workload == nil || opt.Backend == nil || opt.Store == nil || opt.Strategy == nil:
		return nil, errors.New("tune: workload, backend, store and strategy are required")
	case !opt.Workload.IsSingle():
		w := opt.Workload
		return nil, fmt.Errorf("%s is a model of %d tasks; tune one task at a time (e.g. --workload %s:%s)",
			w.Name, len(w.Tasks), w.Name, w.Tasks[0].Name)
	case opt.Budget < 1:
		return nil, fmt.Errorf("budget is %d, want at least 1 new candidate", opt.Budget)
	}
	if opt.WorkDir == "" {
		opt.WorkDir = filepath.Dir(opt.Store.Path())
	}
	d := DefaultSearchConfig()
	if opt.Search.BatchSize < 1 {
		opt.Search.BatchSize = d.BatchSize
	}
	if opt.Search.MaxEmptyBatches < 1 {
		opt.Search.MaxEmptyBatches = d.MaxEmptyBatches
	}
	if opt.Search.RunTimeoutFactor < 1 {
		opt.Search.RunTimeoutFactor = d.RunTimeoutFactor
	}
	if opt.gate == nil {
		opt.gate = &CPUGate{}
	}
	t := &Tuner{opt: opt, task: opt.Workload.Tasks[0], space: SpaceOptionsFor(opt.Backend.Target())}
	if e, err := lookupStrategy(opt.Strategy.Name()); err == nil {
		t.lookahead = e.lookahead
	}
	return t, nil
}

// run is the state of one Run. The search side (the goroutine of Run) owns the strategy, the
// problem and the known set; the measuring side (measurer) owns the timing; the board holds
// what both report.
type run struct {
	*Tuner
	ctx    context.Context
	cancel context.CancelCauseFunc
	parent context.Context
	gate   *CPUGate
	ctl    *control
	board  *board
	start  time.Time

	workloadHash, target string
	report               *Report // fields known before the search: baseline, timeout, records
	known                map[string]bool
	queued               map[string]bool // candidates handed to the measuring side, not observed yet
	prior                []Record
}

// Run tunes until the budget is spent, the strategy stops finding new candidates, the
// operator stops it or ctx ends (the error then wraps ErrInterrupted and the report covers
// what was measured). Every candidate is appended to the store before the next one is timed,
// so a killed run loses at most the candidate in flight, and a rerun in the same work dir
// resumes where it stopped. Run returns only when nothing of the run is left running.
func (t *Tuner) Run(parent context.Context) (*Report, error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	r := &run{Tuner: t, ctx: ctx, cancel: cancel, parent: parent, gate: t.opt.gate, ctl: newControl(), start: time.Now(),
		known: map[string]bool{}, queued: map[string]bool{}}
	r.board = &board{onEvent: t.opt.OnEvent, snapshotEvery: t.opt.SnapshotEvery, strategy: t.opt.Strategy,
		render: newRenderer(t.task, t.space, r.gate), state: r.state, workload: t.opt.Workload.Name,
		target: t.opt.Backend.Target().String(), strategyName: t.opt.Strategy.Name(), started: r.start, selected: -1,
		allocations: t.opt.allocations}
	// The control loop and the ticker end before the last event, so EventDone is the last.
	done := make(chan struct{})
	var helpers sync.WaitGroup
	if t.opt.Commands != nil {
		helpers.Go(func() { r.controlLoop(done) })
	}
	if t.opt.ProgressEvery > 0 || t.opt.SnapshotEvery > 0 {
		helpers.Go(func() { r.tick(done) })
	}
	stats, err := r.run()
	close(done)
	helpers.Wait()
	rep := r.finish(stats, err)
	if rep != nil {
		r.board.publishTree()
		r.board.emit(EventDone, alwaysSnapshot, func(e *Event) { e.Report = rep })
	}
	return rep, r.outcome(stats, err)
}

// outcome is Run's error: nil for a run that ended normally or was stopped by the operator,
// ErrInterrupted (wrapped) when ctx ended, the failure otherwise.
func (r *run) outcome(st Stats, err error) error {
	switch {
	case errors.Is(context.Cause(r.ctx), errStopped):
		return nil
	case r.parent.Err() != nil:
		if st.BaselineS == 0 {
			return fmt.Errorf("%w before the search began: %v", ErrInterrupted, r.parent.Err())
		}
		return fmt.Errorf("%w after %d of %d samples: %v", ErrInterrupted, st.Samples, st.Budget, r.parent.Err())
	}
	return err
}

// finish makes the run's report (nil when the run ended before its baseline was known).
func (r *run) finish(st Stats, err error) *Report {
	if r.report == nil || st.BaselineS == 0 {
		return nil
	}
	rep := newReport(st)
	rep.Workload, rep.WorkloadHash, rep.Target, rep.Strategy = r.opt.Workload.Name, r.workloadHash, r.target, r.opt.Strategy.Name()
	rep.Seed, rep.Records = r.opt.Seed, r.opt.Store.Path()
	rep.BaselineCached, rep.CandidateTimeoutS = r.report.BaselineCached, r.report.CandidateTimeoutS
	rep.StopReason = r.report.StopReason
	if r.report.Confirmed != nil {
		rep.confirmed(r.report.Confirmed)
		rep.leadVendor()
	}
	switch {
	case errors.Is(context.Cause(r.ctx), errStopped):
		rep.StopReason = StopStopped
	case r.parent.Err() != nil:
		rep.StopReason = StopInterrupted
	case err != nil:
		rep.StopReason = StopFailed
	}
	if ms, ok := r.opt.Strategy.(ModelStatser); ok {
		rep.Models = ms.ModelStats()
	}
	rep.WallS = time.Since(r.start).Seconds()
	return rep
}

func (r *run) note(msg string) {
	r.board.emit(EventNote, noSnapshot, func(e *Event) { e.Message = msg })
}

// run is the search side: it sets the problem up, starts the measuring side, and proposes,
// hands over and observes batches until the run ends. It returns the final counters.
func (r *run) run() (Stats, error) {
	opt := r.opt
	name := opt.Workload.Name
	f := r.task.Func()
	if err := schedule.Verify(f); err != nil {
		return Stats{}, fmt.Errorf("%s: %w", name, err)
	}
	r.workloadHash = schedule.StructuralHash(f)
	r.target = opt.Backend.Target().String()
	sketches := opt.Sketches
	if sketches == nil {
		var err error
		if sketches, err = schedule.DesignSpace(f, r.space); err != nil {
			return Stats{}, fmt.Errorf("%s: design space: %w", name, err)
		}
	}

	// Warm start: what earlier runs measured is known, never measured again, and seeds the
	// strategy. The unscheduled program itself is the baseline, measured already.
	r.prior = opt.Store.Records(r.workloadHash, r.target)
	var priorMeasured []Measured
	for _, rec := range r.prior {
		r.known[rec.CandidateHash] = true
		priorMeasured = append(priorMeasured, Measured{Candidate: candidateFromRecord(rec), Status: rec.Status, LatencyS: rec.LatencyS, Message: rec.Message})
	}
	r.known[r.workloadHash] = true
	stats := newStats(opt.Budget, len(r.prior), r.task.FLOPs)
	var bestRef programRef
	if best, ok := opt.Store.Best(r.workloadHash, r.target); ok {
		stats.BestS, stats.BestHash = best.LatencyS, best.CandidateHash
		bestRef = programRef{hash: best.CandidateHash, trace: candidateFromRecord(best).Trace}
	}
	r.board.update(func(b *board) { b.stats, b.best = stats, bestRef })
	r.report = &Report{}
	if len(r.prior) > 0 {
		r.note(fmt.Sprintf("resuming: %d candidates of %s on this target are already in %s; they are not measured again and do not count toward the budget",
			len(r.prior), name, opt.Store.Path()))
	}

	m := newMeasurer(r)
	go m.loop()
	err := r.search(m, sketches, priorMeasured)
	m.close()
	if err == nil && r.ctx.Err() == nil {
		r.report.Confirmed = m.confirm(opt.Search.ConfirmTop, opt.Search.ConfirmRounds, m.vendors)
	}
	var st Stats
	r.board.update(func(b *board) { st = b.stats.value() })
	return st, err
}

// search runs the strategy: it proposes batches (up to the lookahead ahead of their results),
// hands them to the measuring side and observes their results in order.
func (r *run) search(m *measurer, sketches []schedule.Sketch, prior []Measured) error {
	opt := r.opt
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x636f6c74)) // "colt"
	prob := NewProblem(opt.Workload.Name, r.task.Func(), r.task.FLOPs, sketches, r.space, rng,
		func(h string) bool { return r.known[h] || r.queued[h] })
	prob.Budget = opt.Budget
	prob.gate = r.gate
	if err := opt.Strategy.Init(r.ctx, prob, prior); err != nil {
		return r.stopped(fmt.Errorf("%s: strategy %s: %w", opt.Workload.Name, opt.Strategy.Name(), err))
	}
	if pr, ok := opt.Strategy.(ProgressReporter); ok {
		pr.SetProgress(r.expanded)
	}
	batchSize := opt.Search.BatchSize
	if bs, ok := opt.Strategy.(BatchSizer); ok {
		batchSize = bs.BatchSize(batchSize)
	}

	var outstanding []*ticket // handed over, not observed yet, in order
	inFlight := func() int {
		n := 0
		for _, t := range outstanding {
			n += len(t.batch)
		}
		return n
	}
	budget, observed, empty := opt.Budget, 0, 0
	drain := false // observe every outstanding batch before proposing again
	for {
		room := budget - observed - inFlight()
		// Results are observed at fixed points: before a batch is proposed, every batch but
		// the last Lookahead ones has been observed (all of them once nothing is left to
		// propose). That keeps a run reproducible whatever the timing.
		for len(outstanding) > 0 && (len(outstanding) > r.lookahead || room <= 0 || drain) {
			results, err := outstanding[0].wait(r.ctx)
			if err != nil {
				return r.stopped(err)
			}
			for _, c := range outstanding[0].batch {
				delete(r.queued, c.Hash)
			}
			for _, res := range results {
				r.known[res.Candidate.Hash] = true
			}
			observed += len(results)
			outstanding = outstanding[1:]
			opt.Strategy.Observe(results)
			room = budget - observed - inFlight()
		}
		drain = false
		if room <= 0 && opt.allowance != nil {
			more, err := r.nextRound(observed)
			if err != nil {
				return r.stopped(err)
			}
			budget += more
			prob.Budget = budget
			room = budget - observed
		}
		if room <= 0 {
			r.report.StopReason = StopBudget
			return nil
		}
		if err := r.ctl.waitRunning(r.ctx); err != nil {
			return r.stopped(err)
		}
		preparedBefore, invalidBefore, _ := prob.invalidCounts()
		props, err := opt.Strategy.Propose(r.ctx, min(batchSize, room))
		if noter, ok := opt.Strategy.(Noter); ok {
			for _, msg := range noter.TakeNotes() {
				r.note(msg)
			}
		}
		if err != nil {
			return r.stopped(err)
		}
		batch := r.fresh(prob, props, min(batchSize, room))
		switch {
		case len(batch) > 0:
			empty = 0
			for _, c := range batch {
				r.queued[c.Hash] = true
			}
			outstanding = append(outstanding, m.submit(batch))
			continue
		case len(outstanding) > 0:
			// Nothing new yet: what is being measured may change the strategy's mind.
			drain = true
			continue
		}
		empty++
		msg := fmt.Sprintf("batch brought no new candidate (%d in a row, stopping at %d)", empty, opt.Search.MaxEmptyBatches)
		if prepared, invalid, last := prob.invalidCounts(); invalid > invalidBefore {
			msg += fmt.Sprintf("; %d of %d samples did not build, the last: %v", invalid-invalidBefore, prepared-preparedBefore, last)
		}
		r.note(msg)
		if empty >= opt.Search.MaxEmptyBatches {
			r.report.StopReason = StopExhausted
			r.note(fmt.Sprintf("stopping after %d samples: the design space yields no new candidate (it is exhausted or too small)", observed))
			return nil
		}
	}
}

// nextRound reports the end of a round to the task scheduler and waits for its answer: the
// samples of the next round (with an EventRound), 0 when the task ends, errStopped when the
// operator stopped the model.
func (r *run) nextRound(observed int) (int, error) {
	var st Stats
	r.board.update(func(b *board) { st = b.stats.value() })
	best := st.BestS
	if best <= 0 {
		best = st.BaselineS
	}
	r.board.update(func(b *board) { b.parked = true })
	g, err := r.opt.allowance.endRound(r.ctx, roundEnd{observed: observed, bestS: best})
	r.board.update(func(b *board) { b.parked, b.lastSample = false, time.Now() })
	switch {
	case err != nil:
		return 0, err
	case g.stop:
		r.cancel(errStopped)
		return 0, errStopped
	case g.end || g.samples <= 0:
		return 0, nil
	}
	r.board.update(func(b *board) { b.stats.Budget += g.samples })
	r.board.emit(EventRound, alwaysSnapshot, func(e *Event) { e.Message = fmt.Sprintf("%d more samples from the task scheduler", g.samples) })
	return g.samples, nil
}

// stopped turns the end of the run's context into the cause of that end (a stop, an
// interrupt or the measuring side's failure); other errors pass through.
func (r *run) stopped(err error) error {
	if r.ctx.Err() != nil {
		if cause := context.Cause(r.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return cause
		}
	}
	return err
}

// fresh prepares the proposals the strategy did not prepare and keeps the first n that are
// not known, not waiting to be measured and not repeated within the batch.
func (r *run) fresh(prob *Problem, props []*Candidate, n int) []*Candidate {
	var out []*Candidate
	seen := map[string]bool{}
	r.gate.Work(func() {
		for _, c := range props {
			if len(out) >= n {
				break
			}
			if c == nil {
				continue
			}
			c = prob.prepare(c)
			if r.known[c.Hash] || r.queued[c.Hash] || seen[c.Hash] {
				continue
			}
			seen[c.Hash] = true
			out = append(out, c)
		}
	})
	return out
}

// expanded is the strategy's progress callback, on the search side: the tree is published and
// a throttled EventExpand sent.
func (r *run) expanded() {
	if r.opt.SnapshotEvery <= 0 {
		return
	}
	// The tree is republished on its own clock: samples and ticks carry snapshots often
	// enough that a snapshot is rarely due here, and they must not show a stale tree.
	treeDue, snapshotDue := false, false
	r.board.update(func(b *board) {
		treeDue = time.Since(b.treeAt) >= b.snapshotEvery
		snapshotDue = time.Since(b.lastSnapshot) >= b.snapshotEvery
	})
	if treeDue {
		r.board.publishTree()
	}
	if snapshotDue {
		r.board.emit(EventExpand, alwaysSnapshot, nil)
	}
}

// tick sends EventWaiting when no sample has finished for ProgressEvery, and with snapshots
// on, an EventTick every second, until done is closed.
func (r *run) tick(done <-chan struct{}) {
	defer catchPanic("progress ticker", r.cancel)
	period := time.Second
	if r.opt.SnapshotEvery <= 0 {
		period = min(r.opt.ProgressEvery, time.Second)
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			r.board.update(func(b *board) {
				if b.parked {
					return
				}
				if r.opt.ProgressEvery > 0 {
					if w := b.waitingLocked(now, r.opt.ProgressEvery); w != nil {
						b.lastWaiting = now
						b.emitLocked(EventWaiting, snapshotIfDue, func(e *Event) { e.Waiting = w })
						return
					}
				}
				if b.snapshotEvery > 0 && now.Sub(b.lastSnapshot) >= time.Second {
					b.emitLocked(EventTick, alwaysSnapshot, nil)
				}
			})
		}
	}
}

// TargetSummary is the one-paragraph description of a GPU target the prompt gives the models
// (empty for the CPU, whose prompt is the paper's): what the design space binds, what the
// transformations change and the limits a candidate must respect.
func TargetSummary(space schedule.SpaceOptions) string {
	if space.GPU == nil {
		return ""
	}
	g := *space.GPU
	var b strings.Builder
	fmt.Fprintf(&b, "An NVIDIA GPU (CUDA). Each loop nest is a kernel: its outer fused loops are bound to blockIdx.x (the grid), "+
		"the next to vthread.x (virtual threads, at most %d) and threadIdx.x (threads of a block, at most %d). "+
		"Matmul-like stages are tiled SSSRRSRS: inputs are copied into shared memory (at most %d bytes per block) under the outer "+
		"reduction tile by all threads together, partial results stay in registers (at most %d per thread) and are written back once. ",
		g.MaxVThreads, g.MaxThreadsPerBlock, g.MaxSharedBytes, g.MaxRegistersPerThread)
	b.WriteString("Transformations: ")
	for i, m := range schedule.MutatorsFor(space) {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m.Name + ": " + m.Summary)
	}
	b.WriteString(". A candidate over a limit is invalid.")
	return b.String()
}
