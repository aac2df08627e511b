package core

import "fmt"

// catchPanic is deferred first thing by every goroutine a run starts (the measuring side, the
// control loop, the ticker, each model call). A panic there is a bug of colt, not a bad input
// (those are errors, schedule's input guard sees to it); without this it would end the process
// with the terminal still in the console's screen. Instead the run ends with an error that
// says what broke and asks for a report; measured candidates stay recorded.
func catchPanic(where string, fail func(error)) {
	if p := recover(); p != nil {
		fail(fmt.Errorf("internal error in the %s (please report it with the command you ran): %v", where, p))
	}
}
