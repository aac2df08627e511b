// Package tui is colt's interactive console: panes for the search tree, the model table, the
// program text and the latency plot, driven by snapshots from the engine in core. It arrives
// with the console issue; until then colt runs headless.
package tui
