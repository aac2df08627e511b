package remote

import (
	"time"

	"colt/core"
)

// Protocol is the version of the messages below. Every message carries it; a peer of another
// version is refused with an error that says so, never misread.
const Protocol = 1

// Subjects. Requests are answered on the requester's inbox; the rest are published.
const (
	// SubjectSubmit: SubmitRequest → SubmitReply. Starts a run.
	SubjectSubmit = "colt.submit"
	// SubjectList: ListRequest → ListReply. The runs and the workers.
	SubjectList = "colt.list"
	// SubjectHello: Hello → HelloReply. A worker introduces itself (version and target).
	SubjectHello = "colt.hello"
	// SubjectWorkers: WorkerBeat, published by every worker every HeartbeatEvery.
	SubjectWorkers = "colt.workers"
	// SubjectResults: JobResult → ResultReply. A worker hands in a measured job.
	SubjectResults = "colt.results"
	// SubjectJobs is the prefix of the work queue's subjects, one per target:
	// colt.jobs.TARGETID, carrying JobMessage (stream StreamJobs).
	SubjectJobs = "colt.jobs"
	// SubjectLogs is the prefix of the progress-line subjects, colt.logs.RUN, carrying
	// LogMessage (stream StreamLogs).
	SubjectLogs = "colt.logs"
	// SubjectRun is the prefix of a run's subjects, colt.run.RUN.KIND: attach (AttachRequest →
	// AttachReply), command (CommandRequest → CommandReply), events (EventMessage, published),
	// console (ConsoleBeat, published by attached consoles every HeartbeatEvery).
	SubjectRun = "colt.run"
)

// JetStream streams.
const (
	// StreamJobs is the work queue of candidates to measure (work-queue retention: a job is
	// removed once a worker acknowledges it).
	StreamJobs = "COLT_JOBS"
	// StreamLogs keeps every run's progress lines (the newest per run up to a limit).
	StreamLogs = "COLT_LOGS"
)

// HeartbeatEvery is how often workers and consoles say they are alive; one silent for three
// periods is taken to be gone.
const HeartbeatEvery = 2 * time.Second

// runSubject is colt.run.RUN.KIND.
func runSubject(run, kind string) string { return SubjectRun + "." + run + "." + kind }

// Message is what every message embeds: the protocol version and, in replies, an error.
type Message struct {
	Protocol int `json:"protocol"`
	// Error, in a reply, says why the request was refused ("" when it was not).
	Error string `json:"error,omitempty"`
}

func (m *Message) header() *Message { return m }

// versioned is every message type.
type versioned interface{ header() *Message }

// RunSpec is what `colt tune --detach` asks the server to run; the server's colt.toml supplies
// everything else (work dir, models and their keys, backend).
type RunSpec struct {
	Workload  string         `json:"workload"`
	Strategy  string         `json:"strategy,omitempty"`
	Budget    int            `json:"budget,omitempty"`
	TaskOrder core.TaskOrder `json:"task_order,omitempty"`
	Seed      *uint64        `json:"seed,omitempty"`
	Models    []string       `json:"models,omitempty"`
	CostModel *bool          `json:"cost_model,omitempty"`
}

// RunState is where a run of the server stands.
type RunState string

// The run states.
const (
	RunRunning     RunState = "running"
	RunPaused      RunState = "paused"
	RunDone        RunState = "done"        // the budget is spent or the search ran dry
	RunStopped     RunState = "stopped"     // stopped by an operator
	RunFailed      RunState = "failed"      // ended by an error (RunInfo.Error)
	RunInterrupted RunState = "interrupted" // the server stopped; a restarted server resumes it
)

// Ended says the run has finished (it will not resume).
func (s RunState) Ended() bool { return s == RunDone || s == RunStopped || s == RunFailed }

// RunInfo describes a run for `colt ps` and attaching consoles.
type RunInfo struct {
	ID       string         `json:"id"`
	Workload string         `json:"workload"`
	Target   string         `json:"target"`
	Strategy string         `json:"strategy"`
	Tasks    []core.TaskRef `json:"tasks"`
	// Task is the task being tuned; Samples and Budget its progress.
	Task    string `json:"task"`
	Samples int    `json:"samples"`
	Budget  int    `json:"budget"`
	// BestS is the task's best latency (0: none yet), Speedup over its baseline.
	BestS    float64   `json:"best_s"`
	Speedup  float64   `json:"speedup"`
	State    RunState  `json:"state"`
	Consoles int       `json:"consoles"`
	Started  time.Time `json:"started"`
	Error    string    `json:"error,omitempty"`
}

// WorkerInfo describes a measurement worker.
type WorkerInfo struct {
	ID     string `json:"id"`
	Host   string `json:"host"`
	Target string `json:"target"`
	// Local is the server's own in-process worker.
	Local bool `json:"local,omitempty"`
	// Busy says it is measuring a job; Jobs counts the jobs it handed in, Failures those that
	// were not ok.
	Busy      bool      `json:"busy"`
	Jobs      int       `json:"jobs"`
	Failures  int       `json:"failures"`
	Connected bool      `json:"connected"`
	LastSeen  time.Time `json:"last_seen"`
}

// SubmitRequest starts a run.
type SubmitRequest struct {
	Message
	Spec RunSpec `json:"spec"`
}

// SubmitReply is the run started.
type SubmitReply struct {
	Message
	Run RunInfo `json:"run"`
}

// ListRequest asks for the runs and the workers.
type ListRequest struct{ Message }

// ListReply lists the server's runs (oldest first) and workers.
type ListReply struct {
	Message
	Target  string       `json:"target"`
	Runs    []RunInfo    `json:"runs"`
	Workers []WorkerInfo `json:"workers"`
}

// AttachRequest asks for a run's current state, for a console that attaches.
type AttachRequest struct {
	Message
	Console string `json:"console"`
}

// AttachReply is a run's current state: its description and its latest event with the whole
// history (Event.HistoryFrom = 0), so a console attaching mid-run draws everything at once.
type AttachReply struct {
	Message
	Run   RunInfo       `json:"run"`
	Event *EventMessage `json:"event,omitempty"`
}

// CommandRequest is an operator command for a run (pause, resume, pin, unpin, escalate, stop,
// export, select).
type CommandRequest struct {
	Message
	Kind  core.CommandKind `json:"kind"`
	Model string           `json:"model,omitempty"`
	Node  int              `json:"node,omitempty"`
}

// CommandReply is the command's outcome (Error when it failed).
type CommandReply struct{ Message }

// EventMessage is one event of a run. The history is sent as a delta: Event.History holds the
// entries from index HistoryFrom on, so a receiver that holds HistoryFrom entries appends them
// and one that holds another number asks for the state again (AttachRequest). Ended marks the
// run's last message: Report and RunError say how it ended.
type EventMessage struct {
	Message
	Event       core.Event          `json:"event"`
	HistoryFrom int                 `json:"history_from"`
	Ended       bool                `json:"ended,omitempty"`
	Report      *core.SessionReport `json:"report,omitempty"`
	RunError    string              `json:"run_error,omitempty"`
}

// ConsoleBeat says a console is attached to the run (Leaving: it detaches).
type ConsoleBeat struct {
	Message
	Console string `json:"console"`
	Leaving bool   `json:"leaving,omitempty"`
}

// Hello introduces a worker to the server.
type Hello struct {
	Message
	Worker WorkerInfo `json:"worker"`
}

// HelloReply accepts a worker (or refuses it: Error) and says how long it may work on a job
// without a sign of life before the job goes to another worker.
type HelloReply struct {
	Message
	Target   string  `json:"target"`
	AckWaitS float64 `json:"ack_wait_s"`
}

// WorkerBeat is a worker's state, published every HeartbeatEvery.
type WorkerBeat struct {
	Message
	Worker WorkerInfo `json:"worker"`
}

// JobMessage is one candidate on the work queue. ID is unique per run and candidate, so a job
// measured twice (its worker died after handing the result in) is recorded once.
type JobMessage struct {
	Message
	ID  string          `json:"id"`
	Job core.MeasureJob `json:"job"`
}

// JobResult is a measured job.
type JobResult struct {
	Message
	ID     string     `json:"id"`
	Worker string     `json:"worker"`
	Result WireResult `json:"result"`
}

// ResultReply acknowledges a result; Duplicate says the job had been handed in already.
type ResultReply struct {
	Message
	Duplicate bool `json:"duplicate,omitempty"`
}

// LogMessage is one progress line of a run; End marks the last.
type LogMessage struct {
	Message
	Run  string `json:"run"`
	Line string `json:"line"`
	End  bool   `json:"end,omitempty"`
}
