package schedule

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// errInternal marks the errors guardInput makes of panics, so tests can tell a bug reached by
// an input from an input rejected by a check.
var errInternal = errors.New("internal error")

// guardInput is the package's single boundary for untrusted input. Every exported entry
// point that takes a trace, a decision or a transformation name from outside the process (a
// trace file, an LLM's answer, the network) names its error result and defers guardInput
// first thing:
//
//	func Build(f *Func, t *Trace, opt SpaceOptions) (_ *Func, err error) {
//		defer guardInput("Build", &err)
//		...
//
// Inputs the entry point can judge (no trace, an unknown kind, a stale decision) are rejected
// with ordinary errors; guardInput turns a panic that an input still reached below it, which
// is a bug of this package, into an error that names the operation and where it failed, and
// says the input is rejected. Callers therefore never need a recover of their own. The entry
// points assign their other results only when they succeed, so after a recovered panic those
// stay zero: a nil trace, program or schedule, an empty name.
//
// Only the entry points defer guardInput, not the primitives: a primitive that panicked
// part-way could have changed the program, and the schedule it belongs to is dropped with the
// error, never used again.
//
// what is the entry point's name as callers write it after "schedule.".
func guardInput(what string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	at := ""
	if site := panicSite(); site != "" {
		at = " at " + site
	}
	*err = fmt.Errorf("%w in schedule.%s%s on this input (%v); the input is rejected as invalid", errInternal, what, at, r)
}

// panicSite is the file and line of the function that panicked, for guardInput:
// the first caller outside the runtime.
func panicSite() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs) // skip runtime.Callers, panicSite and guardInput
	frames := runtime.CallersFrames(pcs[:n])
	for {
		fr, more := frames.Next()
		if fr.Function != "" && !strings.HasPrefix(fr.Function, "runtime.") {
			return fmt.Sprintf("%s:%d", filepath.Base(fr.File), fr.Line)
		}
		if !more {
			return ""
		}
	}
}
