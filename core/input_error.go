package core

import (
	"errors"
	"fmt"
)

// InputError marks an error in what was asked for (an unreadable configuration, an unknown
// workload, a trace file that cannot be read, a compiler that cannot be found) as opposed to a
// failure of the work itself (a kernel that crashes, records that cannot be written). Its
// message is the wrapped error's, unchanged; the CLI exits with its usage code for it.
type InputError struct {
	Err error
}

// Error returns the wrapped error's message.
func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error, so errors.Is and errors.As see through the mark.
func (e *InputError) Unwrap() error { return e.Err }

// IsInputError reports whether err is, or wraps, an InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// inputError marks err as an InputError; nil stays nil.
func inputError(err error) error {
	if err == nil {
		return nil
	}
	return &InputError{Err: err}
}

// inputErrorf formats an InputError as fmt.Errorf does.
func inputErrorf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}
