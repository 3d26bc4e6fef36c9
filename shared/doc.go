// Package shared is the platform's thin plumbing: connecting to MongoDB, Redis and Kafka, the event
// envelope and the outbox relay (Relay), JSON encoding and the error shape, HTTP middleware, metrics,
// readiness, and a program's lifecycle (Program: workers, retried setup steps, graceful serve, close
// order). It holds no domain types, reads no environment and has no globals.
package shared
