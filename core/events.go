package core

import (
	"maps"
	"time"
)

// EventKind says what an Event reports.
type EventKind string

// The kinds of events a tuning run sends, in the order they occur.
const (
	// EventNote is a message about the run's progress: the reference or the baseline being
	// computed, records found from an earlier run, a batch that brought no new candidate.
	EventNote EventKind = "note"
	// EventStart is sent once the baseline is known, before the first candidate.
	EventStart EventKind = "start"
	// EventSample is sent after every candidate is measured and recorded.
	EventSample EventKind = "sample"
	// EventDone is the last event; Report holds the run's report.
	EventDone EventKind = "done"
)

// Event is a snapshot of a tuning run, sent at each step. It is a value: nothing in it is
// shared with the engine, so a consumer may keep it.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Workload string
	Target   string
	Strategy string

	// Sample is the number of candidates measured so far in this run (for EventSample, the
	// 1-based index of the candidate it reports); Budget the number the run may measure.
	Sample int
	Budget int
	// Previous is the number of records of this workload and target found from earlier runs.
	Previous int

	// Status, LatencyS (0 unless ok), Hash, Proposer and Mutator describe the candidate of an
	// EventSample; Message is its failure message or a note's text.
	Status   string
	LatencyS float64
	Hash     string
	Proposer string
	Mutator  string
	Message  string

	// BestS is the best latency known (earlier runs included; 0 = none yet), BestGFLOPS its
	// throughput, BaselineS and BaselineGFLOPS the unscheduled program's, and Speedup
	// BaselineS/BestS.
	BestS          float64
	BestGFLOPS     float64
	BaselineS      float64
	BaselineGFLOPS float64
	Speedup        float64
	// Failures counts this run's failed candidates by status.
	Failures map[string]int

	// Elapsed is the time since the search began (after the baseline); ETA the estimated time
	// to the end of the budget at the pace so far (0 when unknown).
	Elapsed time.Duration
	ETA     time.Duration

	// State is the run's state for the status line: "running", "paused", "escalation
	// pending", "pinned MODEL".
	State string

	// Report is the run's report, on EventDone only.
	Report *Report
	// Snapshot is the console's view of the run (see TuneOptions.SnapshotEvery); nil on most
	// events. It is shared, never changed: read it, do not modify it.
	Snapshot *Snapshot
}

// clone copies the event's map so the receiver owns it.
func (e Event) clone() Event {
	e.Failures = maps.Clone(e.Failures)
	return e
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
