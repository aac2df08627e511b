package core

import (
	"fmt"
	"strings"
	"time"
)

// EventKind says what an Event reports.
type EventKind string

// The kinds of events a tuning run sends.
const (
	// EventNote is a message about the run's progress: the reference or the baseline being
	// computed, records found from an earlier run, a batch that brought no new candidate, a
	// model whose calls fail.
	EventNote EventKind = "note"
	// EventStart is sent once the baseline is known, before the first candidate is timed.
	EventStart EventKind = "start"
	// EventSample is sent after every candidate is measured and recorded; Sample describes it.
	EventSample EventKind = "sample"
	// EventExpand reports that the search grew (a round of expansions) between samples; it is
	// sent at most once per TuneOptions.SnapshotEvery and always carries a Snapshot.
	EventExpand EventKind = "expand"
	// EventWaiting is sent when no sample has finished for TuneOptions.ProgressEvery: Waiting
	// says what the run is waiting for.
	EventWaiting EventKind = "waiting"
	// EventTick refreshes a console once a second while nothing else happens (only with
	// snapshots on); it always carries a Snapshot.
	EventTick EventKind = "tick"
	// EventControl reports the outcome of an operator command: Message says what happened (or
	// went wrong) and State is the run's state afterwards.
	EventControl EventKind = "control"
	// EventProgram carries the program of the node the operator selected (Snapshot.Selected).
	EventProgram EventKind = "program"
	// EventRound is sent when the task scheduler gives a model's task its next round (after
	// its first, which EventStart opens); Allocation says how the budget is shared now.
	EventRound EventKind = "round"
	// EventDone is the last event; Report holds the run's report.
	EventDone EventKind = "done"
)

// Event is a snapshot of a tuning run, sent at each step. It is a value: nothing in it is
// shared with the engine but read-only slices, so a consumer may keep it.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Workload string
	Target   string
	Strategy string

	// Stats are the run's counters when the event was sent.
	Stats

	// Sample is the candidate an EventSample reports.
	Sample HistoryEntry
	// Message is a note's text or a command's outcome.
	Message string

	// Elapsed is the time since the run began (reference and baseline included); ETA the
	// estimated time to the end of the budget at the pace since the baseline was known, model
	// waits included (0 when unknown).
	Elapsed time.Duration
	ETA     time.Duration

	// State is the run's state for the status line: "running", "paused", "escalation
	// pending", "pinned MODEL".
	State string

	// Waiting says what the run waits for, on EventWaiting.
	Waiting *Waiting

	// Allocation is how the task scheduler has shared the model's budget so far (nil for a
	// single task and for the sequential task order). Read it, do not modify it.
	Allocation *Allocation

	// Workers are the measurement workers of a run of colt serve, as the server saw them when
	// it sent the event (nil for a run of this process).
	Workers []WorkerStatus

	// Report is the run's report, on EventDone only.
	Report *Report
	// Snapshot is the console's view of the run (see TuneOptions.SnapshotEvery); nil on most
	// events. It is shared, never changed: read it, do not modify it.
	Snapshot *Snapshot
}

// WorkerStatus is one measurement worker of colt serve.
type WorkerStatus struct {
	ID string
	// Connected says its heartbeats arrive; Busy that it is measuring.
	Connected, Busy bool
	// Jobs counts the candidates it measured, Failures those that were not ok.
	Jobs, Failures int
}

// Waiting says what a run has been waiting for since its last sample.
type Waiting struct {
	// Since is the time since the last sample finished (or the search began).
	Since time.Duration
	// Calls are the model calls in flight, per model.
	Calls []CallsInFlight
	// Activity is what the measuring side is doing ("timing sample 5", "building 3
	// candidates", "waiting for proposals").
	Activity string
}

// Describe says in a line what the run waits for: the model calls in flight (per model, with
// the oldest's age) and what the measuring side does.
func (w *Waiting) Describe() string {
	var parts []string
	if len(w.Calls) > 0 {
		total, oldest := 0, time.Duration(0)
		var per []string
		for _, c := range w.Calls {
			total += c.Calls
			oldest = max(oldest, c.Oldest)
			per = append(per, fmt.Sprintf("%s %d", c.Model, c.Calls))
		}
		parts = append(parts, fmt.Sprintf("%d model call(s) in flight (%s; oldest %s)", total, strings.Join(per, ", "), oldest.Round(100*time.Millisecond)))
	}
	if w.Activity != "" {
		parts = append(parts, w.Activity)
	}
	if len(parts) == 0 {
		return "working"
	}
	return strings.Join(parts, "; ")
}

// CallsInFlight are one model's calls under way.
type CallsInFlight struct {
	Model string
	Calls int
	// Oldest is the age of the oldest call.
	Oldest time.Duration
}

// ChannelSink returns an event callback (for TuneOptions.OnEvent) that sends every event to
// ch without ever blocking the engine: when ch is full, the oldest queued event is dropped to
// make room, so a slow reader still sees the latest state, and the EventDone event is never
// the one dropped by the send that queues it. The reader owns ch; the engine never closes it.
func ChannelSink(ch chan Event) func(Event) {
	return func(e Event) {
		for {
			select {
			case ch <- e:
				return
			default:
			}
			select {
			case <-ch: // drop the oldest and retry
			default:
			}
		}
	}
}
