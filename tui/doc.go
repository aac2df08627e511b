// Package tui is colt's interactive console: a Bubble Tea program that drives a tuning run on
// its own goroutine and shows it in four panes (search tree, model invocations, program text,
// latency plot) under a status line, with the operator's controls: pause, pin a model,
// escalate, export, stop, quit. It reads only what core sends (events with immutable
// snapshots) and talks to the run only through core's command channel.
package tui
