// Package schedule holds colt's TIR-like intermediate representation of a tensor program and
// everything that transforms it.
//
// The IR (stmt.go, expr.go, buffer.go) is buffers, loop nests, blocks and scalar expressions,
// with a deterministic TVMScript-like printer, a name-independent structural hash and a
// verifier that reports every problem it finds.
//
// A Schedule applies primitives (prim_*.go) to a copy of a program and records them in a Trace
// (trace.go) with the decisions of its sampling instructions (sampling.go); Replay rebuilds a
// schedule from a trace. DesignSpace (rules.go) builds the sketches of a program's CPU design
// space, Build replays a decided trace and runs the postprocessors (postproc.go) and the
// verifier, and the Mutators (mutators.go) are the transformation vocabulary of the search.
// Two CPU constructs go beyond TVM's space: vector micro-kernels (microkernel.go: a loop
// annotation whose nest the C backend replaces by explicit register-tiled vector code, with
// the plan that says whether a nest qualifies) and packed constant inputs (pack.go: weights
// stored in panels, filled once before the calls).
//
// Untrusted input (a trace file, an LLM's answer) can never panic the process: every exported
// entry point that takes a trace, a decision or a transformation name (Replay,
// SampleCandidate, Build, Mutate, Mutator.Apply, ParseTrace, DesignSpace, Postprocess)
// rejects what it cannot use with an error, and guard.go holds the one guard that turns any
// panic below them into an error too.
//
// The package imports none of the project's other packages.
package schedule
