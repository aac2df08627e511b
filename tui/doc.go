// Package tui is colt's interactive console: a Bubble Tea program that runs a core.Session on
// its own goroutine and shows it in four panes (search tree, model invocations with the calls in
// flight, program text, latency plot) under a status line, with the operator's controls: pause,
// pin a model, escalate, export, stop, quit. It reads only what core sends (events with
// immutable snapshots, programs already rendered) and talks to the run only through the
// session's command channel; the UI goroutine never searches, builds or lowers.
package tui
