// Package core is colt's tuner. A Session owns one tuning job end to end: the configuration's
// workload, the backend, the crash-safe record Store, the learned cost model and, for each task
// of the workload, a Strategy from the one strategy table (colt and mcts on COLT's shared tree,
// evolutionary, random). A Tuner runs one task on two goroutines: the search side proposes
// batches (the tree searches several ahead, their model calls running concurrently), the
// measuring side builds each batch in parallel, times its candidates one by one behind the CPU
// gate and runs the measure callbacks (record, cost model, event) for every candidate. Events
// with immutable snapshots (programs already rendered) go to the CLI's printer or the console;
// operator commands come back through the session's channel. Core also holds the facades the
// command line uses (workloads, show, measure, export, cost-model evaluation). It renders
// nothing on a terminal.
package core
