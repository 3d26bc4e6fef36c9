package shared

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// clientTrace is a traceparent a client could send: trace 4bf9…4736, parent span 00f0…02b7, sampled.
const (
	clientTraceID   = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpanID    = "00f067aa0ba902b7"
	clientTraceHdr  = "00-" + clientTraceID + "-" + clientSpanID + "-01"
	clientTraceStat = "vendor=abc"
)

// recordingTracing is a Tracing whose spans land in the returned recorder instead of an exporter.
func recordingTracing(tb testing.TB) (*Tracing, *tracetest.SpanRecorder) {
	tb.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tb.Cleanup(func() { tp.Shutdown(context.Background()) })
	return &Tracing{tracer: tp.Tracer(tracerName), provider: tp}, rec
}

// spanNamed returns the one ended span called name.
func spanNamed(tb testing.TB, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	tb.Helper()
	var names []string
	for _, s := range rec.Ended() {
		if s.Name() == name {
			return s
		}
		names = append(names, s.Name())
	}
	tb.Fatalf("no span %q; ended: %v", name, names)
	return nil
}

// headerTransport answers 200 and keeps the headers of each request it saw (unless discard).
type headerTransport struct {
	discard bool
	mu      sync.Mutex
	seen    []http.Header
}

func (h *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !h.discard {
		h.mu.Lock()
		h.seen = append(h.seen, req.Header.Clone())
		h.mu.Unlock()
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: req}, nil
}

func TestTracingOffIsNoop(t *testing.T) {
	t.Parallel()
	tr, err := NewTracing(context.Background(), "svc", TracingConfig{})
	if tr != nil || err != nil {
		t.Fatalf("NewTracing without endpoint = %v, %v; want nil, nil", tr, err)
	}
	var h http.Handler = http.NewServeMux()
	if got := tr.Handler(h); got != h {
		t.Fatalf("Handler(nil tracing) = %T, want the handler itself", got)
	}
	// A request without a span passes through the transport untouched, even with a client's header.
	base := &headerTransport{}
	req := httptest.NewRequest("GET", "http://user/x", nil)
	req.Header.Set("Traceparent", clientTraceHdr)
	if _, err := TraceTransport(base, "user").RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got := base.seen[0].Get("Traceparent"); got != clientTraceHdr {
		t.Errorf("transport without span changed traceparent to %q", got)
	}
	// No span, no envelope trace: no header on the message.
	var m kafka.Message
	if span := tr.startPublish(context.Background(), TopicOrder, Event{ID: "e"}, &m); span != nil || len(m.Headers) != 0 {
		t.Errorf("startPublish off: span %v, headers %v; want none", span, m.Headers)
	}
	if _, span := tr.startConsume(context.Background(), "g", Event{ID: "e"}, m); span != nil {
		t.Error("startConsume off made a span")
	}
	if e := (Event{ID: "e"}).WithTrace(context.Background()); e.TraceParent != "" || e.TraceState != "" {
		t.Errorf("WithTrace without span = %q %q", e.TraceParent, e.TraceState)
	}
}

// TestTraceHTTP: a server span continues a valid client traceparent (and only a valid one), is named
// by its route, and the outgoing call carries a client span of that trace.
func TestTraceHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, traceparent, tracestate string
		continued                     bool
	}{
		{"valid", clientTraceHdr, clientTraceStat, true},
		{"none", "", "", false},
		{"garbage", "not-a-trace", "", false},
		{"version ff", "ff-" + clientTraceID + "-" + clientSpanID + "-01", "", false},
		{"zero trace id", "00-00000000000000000000000000000000-" + clientSpanID + "-01", "", false},
		{"zero span id", "00-" + clientTraceID + "-0000000000000000-01", "", false},
		{"upper case", "00-" + strings.ToUpper(clientTraceID) + "-" + clientSpanID + "-01", "", false},
		{"oversized tracestate", clientTraceHdr, strings.Repeat("k=v,", 2000), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, rec := recordingTracing(t)
			upstream := &headerTransport{}
			client := &http.Client{Transport: TraceTransport(upstream, "user")}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
				req, _ := http.NewRequestWithContext(r.Context(), "GET", "http://user/users/me", nil)
				req.Header.Set("Traceparent", "00-11111111111111111111111111111111-2222222222222222-01") // replaced
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			})
			h := tr.Handler(Stack(NewLogger(io.Discard, "t", "error"), NewMetrics("t"), mux))
			req := httptest.NewRequest("GET", "/orders/o1", nil)
			if tc.traceparent != "" {
				req.Header.Set("Traceparent", tc.traceparent)
			}
			if tc.tracestate != "" {
				req.Header.Set("Tracestate", tc.tracestate)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				t.Fatalf("GET /orders/o1: status = %d, want 200", w.Code)
			}
			server := spanNamed(t, rec, "GET /orders/{id}")
			cspan := spanNamed(t, rec, "GET user")
			gotTrace := server.SpanContext().TraceID().String()
			if continued := gotTrace == clientTraceID; continued != tc.continued {
				t.Errorf("server span trace %s continued = %v, want %v", gotTrace, continued, tc.continued)
			}
			if tc.continued && server.Parent().SpanID().String() != clientSpanID {
				t.Errorf("server span parent = %s, want the client's %s", server.Parent().SpanID(), clientSpanID)
			}
			if tc.continued && tc.tracestate == clientTraceStat && server.SpanContext().TraceState().String() != clientTraceStat {
				t.Errorf("tracestate = %q, want %q kept", server.SpanContext().TraceState().String(), clientTraceStat)
			}
			if cspan.Parent().SpanID() != server.SpanContext().SpanID() || cspan.SpanContext().TraceID() != server.SpanContext().TraceID() {
				t.Errorf("client span %v is not a child of the server span %v", cspan.Parent(), server.SpanContext())
			}
			want := "00-" + gotTrace + "-" + cspan.SpanContext().SpanID().String() + "-01"
			if got := upstream.seen[0].Get("Traceparent"); got != want {
				t.Errorf("upstream traceparent = %q, want %q (the client span)", got, want)
			}
		})
	}
}

// TestTraceHTTPUnmatched: a request no route matches gets a span name from the closed set.
func TestTraceHTTPUnmatched(t *testing.T) {
	t.Parallel()
	tr, rec := recordingTracing(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(http.ResponseWriter, *http.Request) {})
	h := tr.Handler(Stack(NewLogger(io.Discard, "t", "error"), NewMetrics("t"), mux))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/random/"+NewID(), nil))
	if s := spanNamed(t, rec, "unmatched"); s.SpanKind() != trace.SpanKindServer {
		t.Errorf("kind = %v, want server", s.SpanKind())
	}
}

// TestTraceEnvelopeAndKafka: the trace of a request, kept in an event's envelope through JSON (the
// outbox), is the parent of the producer span, whose context the message headers carry to the
// consumer span.
func TestTraceEnvelopeAndKafka(t *testing.T) {
	t.Parallel()
	tr, rec := recordingTracing(t)
	ctx := traceContext.Extract(context.Background(), kafkaCarrier{&[]kafka.Header{
		{Key: "traceparent", Value: []byte(clientTraceHdr)}, {Key: "tracestate", Value: []byte(clientTraceStat)}}})
	ctx, req := tr.tracer.Start(ctx, "request")
	req.End()
	e, _ := NewEvent("order.created", "o1", map[string]string{"order_id": "o1"})
	b, _ := json.Marshal(e.WithTrace(ctx))
	var stored Event
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	wantParent := "00-" + clientTraceID + "-" + req.SpanContext().SpanID().String() + "-01"
	if stored.TraceParent != wantParent || stored.TraceState != clientTraceStat {
		t.Fatalf("envelope trace = %q %q, want %q %q", stored.TraceParent, stored.TraceState, wantParent, clientTraceStat)
	}
	if plain, _ := json.Marshal(e); bytes.Contains(plain, []byte("trace")) {
		t.Errorf("envelope without trace has trace fields: %s", plain)
	}

	// The relay publishes later, from a context of its own.
	m := kafka.Message{Topic: TopicOrder, Headers: []kafka.Header{{Key: "type", Value: []byte(e.Type)}}}
	span := tr.startPublish(context.Background(), TopicOrder, stored, &m)
	endSpans([]trace.Span{span}, nil)
	pub := spanNamed(t, rec, "publish "+TopicOrder)
	if pub.Parent().SpanID() != req.SpanContext().SpanID() || pub.SpanContext().TraceID().String() != clientTraceID {
		t.Errorf("producer span parent %v, want the request span %v", pub.Parent(), req.SpanContext())
	}
	hdr := kafkaCarrier{&m.Headers}
	if got, want := hdr.Get("traceparent"), "00-"+clientTraceID+"-"+pub.SpanContext().SpanID().String()+"-01"; got != want {
		t.Errorf("message traceparent = %q, want %q", got, want)
	}
	if got := hdr.Get("tracestate"); got != clientTraceStat {
		t.Errorf("message tracestate = %q, want %q", got, clientTraceStat)
	}

	var handled trace.SpanContext
	ok := handleWithRetry(context.Background(), NewLogger(io.Discard, "t", "error"), tr, "inventory", time.Second, stored, m,
		func(ctx context.Context, _ Event) error { handled = trace.SpanContextFromContext(ctx); return nil })
	if !ok {
		t.Fatal("handleWithRetry = false")
	}
	cons := spanNamed(t, rec, "process "+TopicOrder)
	if cons.Parent().SpanID() != pub.SpanContext().SpanID() || cons.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("consumer span parent %v kind %v, want the producer span %v", cons.Parent(), cons.SpanKind(), pub.SpanContext())
	}
	if handled.SpanID() != cons.SpanContext().SpanID() {
		t.Errorf("handler's span = %v, want the consumer span", handled)
	}
}

// TestReadTopicContextWithoutSpan: without tracing (ReadTopic), a handler still sees the message's
// trace, for its log lines, and no span is made.
func TestReadTopicContextWithoutSpan(t *testing.T) {
	t.Parallel()
	m := kafka.Message{Headers: []kafka.Header{{Key: "traceparent", Value: []byte(clientTraceHdr)}}}
	var got trace.SpanContext
	handleWithRetry(context.Background(), NewLogger(io.Discard, "t", "error"), nil, "", time.Second, Event{ID: "e", Type: "t"}, m,
		func(ctx context.Context, _ Event) error { got = trace.SpanContextFromContext(ctx); return nil })
	if got.TraceID().String() != clientTraceID || got.SpanID().String() != clientSpanID {
		t.Errorf("handler context trace = %v, want the message's", got)
	}
}

func TestLogLinesCarryTraceIDs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := NewLogger(&buf, "t", "info").With("k", "v")
	tr, _ := recordingTracing(t)
	ctx, span := tr.tracer.Start(context.Background(), "x")
	defer span.End()
	logger.InfoContext(ctx, "with span")
	logger.InfoContext(context.Background(), "without span")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var with, without map[string]any
	json.Unmarshal([]byte(lines[0]), &with)
	json.Unmarshal([]byte(lines[1]), &without)
	if with["trace_id"] != span.SpanContext().TraceID().String() || with["span_id"] != span.SpanContext().SpanID().String() || with["k"] != "v" {
		t.Errorf("line with span = %v, want trace_id %s span_id %s", with, span.SpanContext().TraceID(), span.SpanContext().SpanID())
	}
	if _, ok := without["trace_id"]; ok {
		t.Errorf("line without span has a trace_id: %v", without)
	}
}

// TestTracingExportsOTLP: with an endpoint, spans reach the receiver as OTLP/HTTP protobuf at
// <endpoint>/v1/traces, at the latest when the program shuts down.
func TestTracingExportsOTLP(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r
	}))
	defer recv.Close()
	env := NewEnv(func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL + "/", "OTEL_BSP_SCHEDULE_DELAY": "60000"}[k]
	})
	cfg := env.Tracing()
	if err := env.Err(); err != nil || cfg.BatchDelay != time.Minute {
		t.Fatalf("Tracing() = %+v, %v", cfg, err)
	}
	s := NewService(io.Discard, "svc", "error")
	if err := s.StartTracing(context.Background(), cfg); err != nil || s.Tracing == nil {
		t.Fatalf("StartTracing = %v, tracing %v", err, s.Tracing)
	}
	_, span := s.Tracing.tracer.Start(context.Background(), "x")
	span.End()
	if err := s.close(); err != nil { // the closers: the tracing shutdown sends the batch
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("export %s %s (%s), want POST /v1/traces protobuf", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
	default:
		t.Fatal("no export reached the receiver at shutdown")
	}
}

func TestTracingConfigRefusesBadValues(t *testing.T) {
	t.Parallel()
	env := NewEnv(func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "jaeger:4318", "OTEL_BSP_SCHEDULE_DELAY": "0"}[k]
	})
	cfg := env.Tracing()
	err := env.Err()
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") || !strings.Contains(err.Error(), "OTEL_BSP_SCHEDULE_DELAY") {
		t.Fatalf("err = %v, want both variables named", err)
	}
	if cfg.Endpoint != "" {
		t.Errorf("bad endpoint kept: %q", cfg.Endpoint)
	}
}

// TestStartTracingHidesPassword: the start-up line names the collector without a password its URL
// may carry.
func TestStartTracingHidesPassword(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := NewService(&buf, "svc", "info")
	if err := s.StartTracing(context.Background(), TracingConfig{Endpoint: "http://user:s3cret@127.0.0.1:1", BatchDelay: time.Second}); err != nil {
		t.Fatal(err)
	}
	defer s.Tracing.Shutdown(context.Background())
	if !strings.Contains(buf.String(), "tracing on") || strings.Contains(buf.String(), "s3cret") {
		t.Errorf("start-up log = %s, want the endpoint without its password", buf.String())
	}
}
