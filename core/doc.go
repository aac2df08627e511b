// Package core is colt's tuner: it loads the configuration, resolves workloads, and drives the
// measurement pipeline (lower, build, run, check) through the backend. Later it also holds the
// search strategies, the shared tree, tuning records and operator controls. It renders nothing;
// the CLI and the console present what it returns.
package core
