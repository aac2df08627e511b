package core

import "colt/backend"

// Status is the outcome of one measured candidate: ok or a failure class. It is the backend's
// type, kept as one typed value from the runner to the records, the events and the report.
type Status = backend.Status

// The candidate outcomes (see backend.Status).
const (
	StatusOK          = backend.StatusOK
	StatusInvalid     = backend.StatusInvalid
	StatusBuildError  = backend.StatusBuildError
	StatusTimeout     = backend.StatusTimeout
	StatusCrash       = backend.StatusCrash
	StatusWrongResult = backend.StatusWrongResult
)

// FailureKinds are the statuses of failed candidates, in the order reports list them.
func FailureKinds() []Status {
	return []Status{StatusInvalid, StatusBuildError, StatusTimeout, StatusCrash, StatusWrongResult}
}

// StopReason says why a tuning run ended.
type StopReason string

// The reasons a run ends.
const (
	// StopBudget: every sample of the budget was measured.
	StopBudget StopReason = "budget"
	// StopExhausted: search.max_empty_batches batches in a row brought no new candidate.
	StopExhausted StopReason = "exhausted"
	// StopStopped: the operator stopped the run (s in the console, or a stop command).
	StopStopped StopReason = "stopped"
	// StopInterrupted: the run's context ended (Ctrl-C, SIGTERM, q in the console).
	StopInterrupted StopReason = "interrupted"
	// StopFailed: an error ended the run (a records file that cannot be written, say).
	StopFailed StopReason = "failed"
)

// Describe says the reason in words, for summaries.
func (r StopReason) Describe() string {
	switch r {
	case StopBudget:
		return "budget spent"
	case StopExhausted:
		return "the design space yields no new candidate"
	case StopStopped:
		return "stopped by the operator"
	case StopInterrupted:
		return "interrupted"
	case StopFailed:
		return "failed"
	}
	return string(r)
}
