package sharedtest

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// TracedContext returns a context holding a sampled span context with fixed IDs, as a traced request
// or event would, and the traceparent an outbox event made within it must carry.
func TracedContext(tb testing.TB) (context.Context, string) {
	tb.Helper()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(context.Background(), sc), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
}
