// Package core is colt's tuner: it loads the configuration, resolves workloads, and drives the
// measurement pipeline (lower, build, run, check) through the backend. Tuner runs a search:
// a Strategy (Random, Evolutionary) proposes batches of candidates, ranked by a Scorer; the
// tuner deduplicates them by structural hash, builds each batch in parallel, times its
// candidates one by one, appends every result to the crash-safe record Store, and reports
// progress as Events and the outcome as a Report. Export writes the best record's kernel.
// Later it also holds COLT's shared tree and operator controls. It renders nothing; the CLI and
// the console present what it returns.
package core
