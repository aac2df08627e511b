package schedule

// ErrInternalForTest lets the external tests tell an error the input guard made of a panic
// from an input rejected by a check.
var ErrInternalForTest = errInternal
