// Package schedule holds colt's TIR-like intermediate representation of a tensor program:
// buffers, loop nests, blocks and scalar expressions, with a deterministic TVMScript-like
// printer, a name-independent structural hash and a verifier that reports every problem it
// finds. Later it also holds the schedule primitives, traces, design-space rules and mutators
// that transform a program. It imports none of the project's other packages.
package schedule
