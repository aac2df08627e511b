// Package bench runs benchmark grids: workloads × search configurations (a strategy and,
// for the tree searches, a set of models) × budgets × seeds, each cell a real tuning run in
// its own work dir. It aggregates the cells over seeds into a Markdown table, a CSV file and
// one plot per workload of best-so-far speedup against samples. A bench is resumable: a cell
// whose result is on disk is not run again.
package bench
