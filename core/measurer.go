package core

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"colt/backend"
)

// measurer is the measuring side of a run, on a goroutine of its own: first the reference and
// the baseline, then every batch handed over, in order — the batch built in parallel, then its
// candidates timed one by one, the measure callbacks run for each before the next is timed.
// Builds and callbacks hold the CPU gate shared, timed runs alone.
type measurer struct {
	r       *run
	jobs    chan *ticket
	exited  chan struct{}
	ref     *backend.Reference
	timeout time.Duration
	sample  int      // candidates measured so far in this run
	vendors []string // the vendor libraries with a figure, for the confirmation
}

// ticket is a batch handed to the measuring side; done is closed when its results (or the
// error that ended the measuring) are in.
type ticket struct {
	batch   []*Candidate
	done    chan struct{}
	results []Measured
	err     error
}

// wait returns the batch's results once they are in, or ctx's error.
func (t *ticket) wait(ctx context.Context) ([]Measured, error) {
	select {
	case <-t.done:
		return t.results, t.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func newMeasurer(r *run) *measurer {
	return &measurer{r: r, jobs: make(chan *ticket, r.lookahead+2), exited: make(chan struct{})}
}

// submit hands a batch over; the search side never has more than lookahead+1 outstanding, so
// it never waits here.
func (m *measurer) submit(batch []*Candidate) *ticket {
	t := &ticket{batch: batch, done: make(chan struct{})}
	m.jobs <- t
	return t
}

// close says no batch follows and waits until the measuring side has stopped.
func (m *measurer) close() {
	close(m.jobs)
	<-m.exited
}

// loop is the measuring side's goroutine. A failure ends the run (its context's cause).
func (m *measurer) loop() {
	defer close(m.exited)
	defer catchPanic("measuring side", m.r.cancel)
	err := m.setup()
	for t := range m.jobs {
		if err == nil {
			t.results, err = m.measure(t.batch)
		}
		t.err = err
		close(t.done)
		if err != nil {
			m.r.cancel(err)
		}
	}
	if err != nil {
		m.r.cancel(err)
	}
}

// activity says what the measuring side is doing, for EventWaiting.
func (m *measurer) activity(what string) {
	m.r.board.update(func(b *board) { b.activity = what })
}

// setup computes (or loads) the reference outputs and the baseline latency, then sends
// EventStart.
func (m *measurer) setup() error {
	r := m.r
	ctx, be, name := r.ctx, r.opt.Backend, r.opt.Workload.Name
	m.activity("computing the reference")
	r.note("computing the double-precision reference (cached after the first run)")
	var err error
	r.gate.Work(func() { m.ref, err = be.Reference(ctx, r.task.Func()) })
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: reference: %w", name, err)
	}
	m.activity("measuring the baseline")
	base, err := baseline(ctx, be, r.task, name, r.workloadHash, r.opt.WorkDir, m.ref, r.note, r.gate)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: baseline: %w", name, err)
	}
	vendors := vendorBaselines(ctx, be, r.task, name, r.workloadHash, r.opt.WorkDir, m.ref, r.note, r.gate)
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, v := range vendors {
		m.vendors = append(m.vendors, v.Library)
	}
	m.timeout = CandidateRunTimeout(be.Config(), base.LatencyS, r.opt.Search.RunTimeoutFactor)
	r.report.BaselineCached, r.report.CandidateTimeoutS = base.Cached, m.timeout.Seconds()
	m.activity("waiting for proposals")
	r.board.update(func(b *board) {
		b.stats.BaselineS = base.LatencyS
		for _, v := range vendors {
			b.stats.Vendors = append(b.stats.Vendors, VendorLatency{Library: v.Library, LatencyS: v.LatencyS})
		}
		if len(vendors) > 0 {
			b.stats.VendorS, b.stats.VendorLibrary = vendors[0].LatencyS, vendors[0].Library
		}
		b.timingSince = time.Now()
		b.emitLocked(EventStart, alwaysSnapshot, nil)
	})
	return nil
}

// measure builds a batch in parallel, then times its candidates one by one, running the
// measure callbacks of each before the next is timed. Invalid candidates are recorded without
// a build. A run cut short by the end of the context is not a result.
func (m *measurer) measure(batch []*Candidate) ([]Measured, error) {
	if m.r.opt.Dispatch != nil {
		return m.measureElsewhere(batch)
	}
	r := m.r
	ctx, be := r.ctx, r.opt.Backend
	var cands []backend.Candidate
	slot := make([]int, len(batch)) // index into built, -1 for invalid candidates
	for i, c := range batch {
		slot[i] = -1
		if c.Valid() {
			slot[i] = len(cands)
			cands = append(cands, backend.Candidate{Func: c.Func, RunTimeout: m.timeout})
		}
	}
	var built []backend.Built
	if len(cands) > 0 {
		m.activity(fmt.Sprintf("building %d candidate(s)", len(cands)))
		r.gate.Work(func() { built = be.BuildBatch(ctx, cands) })
	}
	var results []Measured
	for i, c := range batch {
		if err := r.ctl.waitRunning(ctx); err != nil {
			return results, err
		}
		var res backend.Result
		if slot[i] < 0 {
			res = backend.Result{Status: StatusInvalid, Message: oneLine(fmt.Sprint(c.Err))}
		} else {
			m.activity(fmt.Sprintf("timing sample %d", m.sample+1))
			r.gate.Timed(func() { res = be.RunBatch(ctx, built[slot[i]:slot[i]+1], m.ref)[0] })
			if err := ctx.Err(); err != nil {
				return results, err
			}
		}
		s, err := m.measured(c, res)
		if err != nil {
			return results, err
		}
		results = append(results, s.Measured)
	}
	m.activity("waiting for proposals")
	return results, nil
}

// measureElsewhere hands a batch's valid candidates to the dispatcher (colt serve's workers)
// and runs the measure callbacks on the results in the batch's order. Invalid candidates are
// recorded without being sent.
func (m *measurer) measureElsewhere(batch []*Candidate) ([]Measured, error) {
	r := m.r
	if err := r.ctl.waitRunning(r.ctx); err != nil {
		return nil, err
	}
	var jobs []MeasureJob
	slot := make([]int, len(batch))
	for i, c := range batch {
		slot[i] = -1
		if !c.Valid() {
			continue
		}
		trace, err := json.Marshal(c.Trace)
		if err != nil {
			return nil, fmt.Errorf("encode the trace of candidate %s: %w", c.Hash, err)
		}
		slot[i] = len(jobs)
		jobs = append(jobs, MeasureJob{Run: r.opt.RunID, Workload: r.opt.Workload.Name, WorkloadHash: r.workloadHash,
			Target: r.target, CandidateHash: c.Hash, Trace: trace, RunTimeoutS: m.timeout.Seconds()})
	}
	var results []backend.Result
	if len(jobs) > 0 {
		m.activity(fmt.Sprintf("measuring %d candidate(s) on the workers", len(jobs)))
		var err error
		if results, err = r.opt.Dispatch.Measure(r.ctx, jobs); err != nil {
			return nil, err
		}
		if len(results) != len(jobs) {
			return nil, fmt.Errorf("the workers returned %d results for %d candidates", len(results), len(jobs))
		}
	}
	var out []Measured
	for i, c := range batch {
		res := backend.Result{Status: StatusInvalid, Message: oneLine(fmt.Sprint(c.Err))}
		if slot[i] >= 0 {
			res = results[slot[i]]
		}
		s, err := m.measured(c, res)
		if err != nil {
			return out, err
		}
		out = append(out, s.Measured)
	}
	m.activity("waiting for proposals")
	return out, nil
}

// measuredSample is one measured candidate on its way through the measure callbacks.
type measuredSample struct {
	Measured
	record Record
	entry  HistoryEntry
}

// measureCallback runs for every measured candidate, whatever the strategy, in the order of
// measureCallbacks (TVM MetaSchedule's MeasureCallback). An error ends the run.
type measureCallback struct {
	name string
	run  func(m *measurer, s *measuredSample) error
}

// measureCallbacks are what happens to every measured candidate.
func measureCallbacks() []measureCallback {
	return []measureCallback{
		{"append the record", (*measurer).appendRecord},
		{"train the cost model", (*measurer).trainCostModel},
		{"count and report", (*measurer).reportSample},
	}
}

// measured turns a backend result into the run's sample and runs the measure callbacks.
func (m *measurer) measured(c *Candidate, res backend.Result) (*measuredSample, error) {
	r := m.r
	sample := m.sample + 1
	trace, err := json.Marshal(c.Trace)
	if err != nil {
		return nil, fmt.Errorf("encode the trace of candidate %s: %w", c.Hash, err)
	}
	s := &measuredSample{Measured: Measured{Candidate: c, Status: res.Status, Message: res.Message, Sample: sample}}
	rec := Record{
		Workload: r.opt.Workload.Name, WorkloadHash: r.workloadHash, Target: r.target, CandidateHash: c.Hash,
		Trace: trace, Status: res.Status, Strategy: r.opt.Strategy.Name(), Proposer: proposerLabel(c),
		Seed: r.opt.Seed, Sample: sample, BuildS: res.BuildS, Run: r.opt.RunID,
	}
	if !res.OK() {
		rec.Message = res.Message
	}
	if res.OK() && res.MedianS > 0 && !math.IsInf(res.MedianS, 0) {
		s.LatencyS = res.MedianS
		rec.LatencyS, rec.LatenciesS = res.MedianS, finite(res.LatenciesS)
	} else if res.OK() {
		s.Status, rec.Status = StatusCrash, StatusCrash
		s.Message = "no usable latency: " + res.Message
		rec.Message = s.Message
	}
	if v := res.MaxRelErr; !math.IsNaN(v) && !math.IsInf(v, 0) {
		rec.MaxRelErr = v
	} else {
		rec.MaxRelErr = -1 // JSON has no NaN; the status says the result is wrong
	}
	s.record = rec
	s.entry = HistoryEntry{Sample: sample, Status: s.Status, LatencyS: s.LatencyS, Hash: c.Hash,
		Proposer: c.Proposer, Mutator: c.Mutator, Message: rec.Message, BuildS: res.BuildS}
	for _, cb := range measureCallbacks() {
		if err := cb.run(m, s); err != nil {
			return nil, fmt.Errorf("%s of sample %d: %w", cb.name, sample, err)
		}
	}
	m.sample = sample
	return s, nil
}

// appendRecord is the callback that makes the sample durable before anything else happens.
func (m *measurer) appendRecord(s *measuredSample) error {
	return m.r.opt.Store.Append(s.record)
}

// trainCostModel is the callback that hands the sample to the cost model (which retrains in
// the background when its data has grown enough).
func (m *measurer) trainCostModel(s *measuredSample) error {
	model := m.r.opt.CostModel
	if model == nil {
		return nil
	}
	m.r.gate.Work(func() {
		if sample, ok := costModelSample(m.r.workloadHash, s.Measured); ok {
			model.Add(sample)
		}
	})
	return nil
}

// reportSample is the callback that counts the sample and sends its event.
func (m *measurer) reportSample(s *measuredSample) error {
	c := s.Candidate
	m.r.board.update(func(b *board) {
		b.stats.add(s.entry)
		s.entry = b.stats.History[len(b.stats.History)-1]
		b.current = programRef{hash: c.Hash, trace: c.Trace}
		if b.measured == nil {
			b.measured = map[string]float64{}
		}
		b.measured[c.Hash] = s.LatencyS
		if b.stats.BestSample == s.entry.Sample {
			b.best = b.current
		}
		b.lastSample = time.Now()
		b.emitLocked(EventSample, snapshotIfDue, func(e *Event) { e.Sample = s.entry })
	})
	return nil
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
