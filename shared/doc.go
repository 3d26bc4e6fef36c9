// Package shared is the platform's thin plumbing: connecting to MongoDB, Redis and Kafka, the event
// envelope, JSON encoding and the error shape, HTTP middleware, metrics, readiness and a graceful
// serve-and-shutdown helper. It holds no domain types, reads no environment and has no globals.
package shared
