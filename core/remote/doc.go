// Package remote lets searches outlive the console that started them and spread their
// measurements over machines: `colt serve` owns tuning sessions in a long-running process,
// consoles attach to them and detach, and workers on other machines of the same kind build,
// run, check and time candidates pulled from a work queue.
//
// Everything travels over NATS: a server embedded in `colt serve` (with JetStream, token
// authentication, loopback only unless configured with TLS), or an existing NATS/JetStream
// deployment. Requests (submit, list, attach, steer) are request-reply messages; a run's events
// are published on its own subject; candidates to measure are a JetStream work queue whose
// messages are redelivered when a worker dies; progress lines are kept in a JetStream stream so
// `colt logs` can replay them. Every message is JSON carrying the protocol version (see
// protocol.go for the subjects and message types).
package remote
