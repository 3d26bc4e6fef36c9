package shared

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkTracing serves one request through a program's handler chain (Tracing.Handler, Stack,
// a route that logs a line and calls an upstream through TraceTransport) with tracing off (nil, the
// default) and on (exporting to a local OTLP/HTTP receiver in batches); "untraced" is the chain with
// none of the tracing pieces (plain transport, plain JSON log handler), what off is to be compared
// with. docs/performance.md has the numbers.
func BenchmarkTracing(b *testing.B) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer recv.Close()
	on, err := NewTracing(context.Background(), "bench", TracingConfig{Endpoint: recv.URL, BatchDelay: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer on.Shutdown(context.Background())
	for _, bc := range []struct {
		name    string
		tracing *Tracing
	}{{"untraced", nil}, {"off", nil}, {"on", on}} {
		b.Run(bc.name, func(b *testing.B) {
			logger := NewLogger(io.Discard, "bench", "info")
			var transport http.RoundTripper = &headerTransport{discard: true}
			if bc.name == "untraced" {
				logger = slog.New(logger.Handler().(traceLogHandler).Handler)
			} else {
				transport = TraceTransport(transport, "user")
			}
			client := &http.Client{Transport: transport}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
				req, _ := http.NewRequestWithContext(r.Context(), "GET", "http://user/users/me", nil)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				logger.InfoContext(r.Context(), "order read", "order_id", r.PathValue("id"))
				w.WriteHeader(http.StatusOK)
			})
			h := bc.tracing.Handler(Stack(logger, NewMetrics("bench"), mux))
			req := httptest.NewRequest("GET", "/orders/o1", nil)
			req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
