// Package shared is the platform's thin plumbing: connecting to MongoDB, Redis and Kafka, the event
// envelope and the outbox relay (Relay), JSON encoding with the error and list shapes, money as exact
// integer cents, random tokens and ID checks, HTTP middleware, metrics, readiness, and a program's
// lifecycle (Program: workers, retried setup steps, graceful serve, close order; Service: the logger,
// metrics, readiness and shared clients every run() starts with). It holds no service's domain
// types, reads no environment and has no globals.
package shared
