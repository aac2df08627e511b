package core

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"colt/backend"
	"colt/schedule"
	"colt/workloads"
)

// MeasureJob is one candidate to be measured by another process (a worker of colt serve):
// everything a worker needs to rebuild the program from its own catalog and check that it
// rebuilt the same one.
type MeasureJob struct {
	// Run is the run the candidate belongs to (colt serve's run id).
	Run string `json:"run"`
	// Workload names the task in the catalog; WorkloadHash is its unscheduled program's
	// structural hash and Target the target key, both checked by the worker.
	Workload     string `json:"workload"`
	WorkloadHash string `json:"workload_hash"`
	Target       string `json:"target"`
	// CandidateHash is the scheduled program's structural hash, which the replayed Trace must
	// give again.
	CandidateHash string          `json:"candidate_hash"`
	Trace         json.RawMessage `json:"trace"`
	// RunTimeoutS bounds the candidate's run (warm-up, check and timed repeats).
	RunTimeoutS float64 `json:"run_timeout_s"`
}

// Dispatcher measures candidates somewhere else than the run's own backend: colt serve's work
// queue, whose workers build, run, check and time them. Measure returns one result per job, in
// the jobs' order, once all are in; an error ends the run.
type Dispatcher interface {
	Measure(ctx context.Context, jobs []MeasureJob) ([]backend.Result, error)
}

// JobMeasurer is the worker half of colt serve: it measures MeasureJobs with a local backend,
// rebuilding each program from its own catalog and design-space options, so a job carries a
// trace, never code.
type JobMeasurer struct {
	be    *backend.Backend
	cat   *workloads.Catalog
	gate  *CPUGate
	space schedule.SpaceOptions

	mu   sync.Mutex
	refs map[string]*backend.Reference // by workload hash
}

// NewJobMeasurer measures jobs with be, rebuilding workloads from cfg's catalog; gate (nil: its
// own) keeps its builds off the process's timed runs and its timed runs alone.
func NewJobMeasurer(cfg Config, be *backend.Backend, gate *CPUGate) (*JobMeasurer, error) {
	cat, err := cfg.Catalog()
	if err != nil {
		return nil, err
	}
	if gate == nil {
		gate = &CPUGate{}
	}
	return &JobMeasurer{be: be, cat: cat, gate: gate, space: SpaceOptionsFor(be.Target()), refs: map[string]*backend.Reference{}}, nil
}

// Target is the target key of the measurer's machine; it measures jobs of that target only.
func (j *JobMeasurer) Target() string { return j.be.Target().String() }

// Measure builds the jobs in parallel, then runs, checks and times them one after another,
// each timed run alone under the gate. A job this machine cannot measure as asked (another
// target, a workload its catalog does not have or has in another shape, a trace that does not
// rebuild the same program) is an invalid result saying so.
func (j *JobMeasurer) Measure(ctx context.Context, jobs []MeasureJob) []backend.Result {
	out := make([]backend.Result, len(jobs))
	refs := make([]*backend.Reference, len(jobs))
	var cands []backend.Candidate
	var which []int
	for i, job := range jobs {
		f, ref, err := j.prepare(ctx, job)
		if err != nil {
			out[i] = backend.Result{Status: StatusInvalid, Message: oneLine("this worker cannot measure the job: " + err.Error())}
			continue
		}
		refs[i] = ref
		cands = append(cands, backend.Candidate{Func: f, RunTimeout: time.Duration(job.RunTimeoutS * float64(time.Second))})
		which = append(which, i)
	}
	if len(cands) == 0 {
		return out
	}
	var built []backend.Built
	j.gate.Work(func() { built = j.be.BuildBatch(ctx, cands) })
	for k, i := range which {
		j.gate.Timed(func() { out[i] = j.be.RunBatch(ctx, built[k:k+1], refs[i])[0] })
	}
	return out
}

// prepare rebuilds a job's program and finds its reference outputs.
func (j *JobMeasurer) prepare(ctx context.Context, job MeasureJob) (*schedule.Func, *backend.Reference, error) {
	if t := j.Target(); job.Target != t {
		return nil, nil, fmt.Errorf("the job is for target %q, this machine is %q", job.Target, t)
	}
	w, err := j.cat.Get(job.Workload)
	if err != nil {
		return nil, nil, err
	}
	if !w.IsSingle() {
		return nil, nil, fmt.Errorf("%s is a model, not one task", job.Workload)
	}
	root := w.Tasks[0].Func()
	if h := schedule.StructuralHash(root); h != job.WorkloadHash {
		return nil, nil, fmt.Errorf("workload %s here is not the server's (hash %s, want %s): give the worker the server's colt.toml", job.Workload, h, job.WorkloadHash)
	}
	trace, err := schedule.ParseTrace(job.Trace)
	if err != nil {
		return nil, nil, fmt.Errorf("trace: %w", err)
	}
	var f *schedule.Func
	j.gate.Work(func() { f, err = schedule.Build(root, trace, j.space) })
	if err != nil {
		return nil, nil, fmt.Errorf("the trace does not build here: %w", err)
	}
	if h := schedule.StructuralHash(f); h != job.CandidateHash {
		return nil, nil, fmt.Errorf("the trace builds another program here (hash %s, want %s)", h, job.CandidateHash)
	}
	j.mu.Lock()
	ref := j.refs[job.WorkloadHash]
	j.mu.Unlock()
	if ref == nil {
		j.gate.Work(func() { ref, err = j.be.Reference(ctx, root) })
		if err != nil {
			return nil, nil, fmt.Errorf("reference of %s: %w", job.Workload, err)
		}
		j.mu.Lock()
		j.refs[job.WorkloadHash] = ref
		j.mu.Unlock()
	}
	return f, ref, nil
}
