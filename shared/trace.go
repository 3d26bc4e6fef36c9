package shared

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing follows one request across programs with W3C trace context (traceparent, tracestate):
// HTTP server spans start from the incoming headers, HTTP client calls and Kafka messages carry the
// current span on, and outbox events keep it in their envelope until the relay publishes them.
// Propagation is written here over otel's TraceContext propagator rather than taken from the contrib
// modules (otelhttp and friends): it is a few lines per carrier, and the contrib modules would add
// their own dependency trees and span names we do not choose.

// tracerName is the instrumentation scope of every span the platform makes.
const tracerName = "github.com/goshop/platform/shared"

// traceContext reads and writes the traceparent and tracestate headers. Invalid values (a bad
// version, an all-zero ID, a malformed tracestate) are ignored on extraction, so a client can never
// make a request fail through them: it only gets a new trace.
var traceContext = propagation.TraceContext{}

// TracingConfig is where spans go: the standard OTEL_* variables of the exporter, read by
// Env.Tracing. Tracing is off when Endpoint is empty.
type TracingConfig struct {
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT, the base URL of an OTLP/HTTP receiver (spans are sent
	// to Endpoint + "/v1/traces", protobuf); default empty: no spans are made or sent.
	Endpoint string
	// BatchDelay is OTEL_BSP_SCHEDULE_DELAY (milliseconds, 1 to 60000): the longest a finished span
	// waits to be sent with others; default 5 s.
	BatchDelay time.Duration
}

// Tracing reads the TracingConfig every program shares.
func (e *Env) Tracing() TracingConfig {
	return TracingConfig{
		Endpoint:   e.URL("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		BatchDelay: time.Duration(e.Int("OTEL_BSP_SCHEDULE_DELAY", 5000, 1, 60000)) * time.Millisecond,
	}
}

// Tracing makes a program's spans. A nil *Tracing is tracing switched off: every method is then a
// no-op that returns its input, so the request path costs nothing (BenchmarkTracing).
type Tracing struct {
	tracer   trace.Tracer
	provider *sdktrace.TracerProvider
}

// NewTracing returns the tracing of the program called service for cfg, or nil when cfg.Endpoint is
// empty. Spans go in batches to the OTLP/HTTP receiver; Shutdown sends what is left. The error is an
// exporter that cannot be built (the receiver itself is only reached when a batch is sent, and a
// failed send drops that batch, never a request).
func NewTracing(ctx context.Context, service string, cfg TracingConfig) (*Tracing, error) {
	if cfg.Endpoint == "" {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(cfg.Endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(cfg.BatchDelay)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
	)
	return &Tracing{tracer: tp.Tracer(tracerName), provider: tp}, nil
}

// Shutdown sends the spans still waiting and stops the exporter; nil does nothing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Handler starts a server span per request, continuing the trace of a valid incoming traceparent
// (and its tracestate) or starting one. The span is named "http.server" until Routes renames it by
// the matched route pattern ("unmatched" when none), so span names are a closed set. A 5xx marks the
// span as an error.
func (t *Tracing) Handler(next http.Handler) http.Handler {
	if t == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, "http.server", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		defer span.End()
		rec := &StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(ctx))
		endHTTPSpan(span, rec.Status, nil)
	})
}

// nameServerSpan names the server span of ctx by the route pattern that matched ("unmatched" for
// none); a no-op without a recording span.
func nameServerSpan(ctx context.Context, pattern string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if pattern == "" {
		pattern = "unmatched"
	}
	span.SetName(pattern)
	span.SetAttributes(attribute.String("http.route", pattern))
}

// endHTTPSpan records a response's status (0 is 200) or a transport error on span.
func endHTTPSpan(span trace.Span, status int, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return
	}
	if status == 0 {
		status = http.StatusOK
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
}

// TraceTransport returns base (http.DefaultTransport when nil) with every request carrying the trace
// of its context: a client span named "<METHOD> <peer>" (peer: the upstream service, a closed set)
// and its traceparent/tracestate, replacing any the request had. A request whose context has no
// span (tracing off, background work) goes to base untouched.
func TraceTransport(base http.RoundTripper, peer string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &traceTransport{base: base, peer: peer}
}

type traceTransport struct {
	base http.RoundTripper
	peer string
}

func (t *traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := trace.SpanFromContext(req.Context())
	if !parent.SpanContext().IsValid() {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	var span trace.Span
	if parent.IsRecording() {
		ctx, span = parent.TracerProvider().Tracer(tracerName).Start(ctx, req.Method+" "+t.peer,
			trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("server.address", req.URL.Host), attribute.String("peer.service", t.peer)))
	}
	// A RoundTripper must not change its request: the headers are set on a copy.
	out := req.Clone(ctx)
	out.Header.Del("Traceparent")
	out.Header.Del("Tracestate")
	traceContext.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := t.base.RoundTrip(out)
	if span != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		endHTTPSpan(span, status, err)
		span.End()
	}
	return resp, err
}

// CloseIdleConnections closes base's idle connections, so http.Client.CloseIdleConnections still
// reaches them.
func (t *traceTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// WithTrace returns e carrying the trace of ctx in its envelope (TraceOf), so that a relay
// publishing it later, from a context of its own, continues the trace of the request or event that
// caused it. Without a span in ctx, e is returned unchanged.
func (e Event) WithTrace(ctx context.Context) Event {
	if p, s := TraceOf(ctx); p != "" {
		e.TraceParent, e.TraceState = p, s
	}
	return e
}

// TraceOf returns the W3C traceparent and tracestate of the span in ctx, or "", "" without one: what
// an outbox keeping events in a form of its own stores beside each, to build the envelope's
// TraceParent and TraceState when it is published.
func TraceOf(ctx context.Context) (traceparent, tracestate string) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return "", ""
	}
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c["traceparent"], c["tracestate"]
}

// traceOf returns ctx with the trace of e's envelope as its remote parent, or ctx when e has none
// (or an invalid one).
func (e Event) traceOf(ctx context.Context) context.Context {
	if e.TraceParent == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.MapCarrier{"traceparent": e.TraceParent, "tracestate": e.TraceState})
}

// traceLogHandler adds trace_id and span_id to every record logged with a context that holds a span
// (the request's, an event's), so one grep of a trace ID finds its lines in every program.
type traceLogHandler struct{ slog.Handler }

func (h traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceLogHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceLogHandler) WithGroup(name string) slog.Handler {
	return traceLogHandler{h.Handler.WithGroup(name)}
}

// Trace context on Kafka: each message carries the traceparent and tracestate headers of its
// producer span, whose parent is the trace stored in the event's envelope (the request or event that
// caused it), else the publisher's context. A consumer continues that trace with a span per event.

// kafkaCarrier is a message's headers as a propagation.TextMapCarrier.
type kafkaCarrier struct{ headers *[]kafka.Header }

func (c kafkaCarrier) Get(key string) string {
	for _, h := range *c.headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c kafkaCarrier) Set(key, value string) {
	for i, h := range *c.headers {
		if h.Key == key {
			(*c.headers)[i].Value = []byte(value)
			return
		}
	}
	*c.headers = append(*c.headers, kafka.Header{Key: key, Value: []byte(value)})
}

func (c kafkaCarrier) Keys() []string {
	keys := make([]string, len(*c.headers))
	for i, h := range *c.headers {
		keys[i] = h.Key
	}
	return keys
}

// startPublish starts the producer span "publish <topic>" of e, a child of the trace in e's envelope
// (else of ctx's), and writes its trace context into m's headers. The returned span is nil when
// tracing is off; without tracing, an envelope's trace still travels in the headers.
func (t *Tracing) startPublish(ctx context.Context, topic string, e Event, m *kafka.Message) trace.Span {
	ctx = e.traceOf(ctx)
	var span trace.Span
	if t != nil {
		ctx, span = t.tracer.Start(ctx, "publish "+topic, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(messagingAttrs(topic, e)...))
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		traceContext.Inject(ctx, kafkaCarrier{&m.Headers})
	}
	return span
}

// endSpans ends the spans of one publish call or one batch handled, marking each with err.
func endSpans(spans []trace.Span, err error) {
	for _, s := range spans {
		if err != nil {
			s.RecordError(err)
			s.SetStatus(codes.Error, err.Error())
		}
		s.End()
	}
}

// startConsume returns ctx continuing the trace of m's headers and, when tracing is on, the consumer
// span "process <topic>" of e within it (nil when off). Without tracing the trace IDs still reach
// the handler's log lines.
func (t *Tracing) startConsume(ctx context.Context, group string, e Event, m kafka.Message) (context.Context, trace.Span) {
	ctx = traceContext.Extract(ctx, kafkaCarrier{&m.Headers})
	if t == nil {
		return ctx, nil
	}
	attrs := append(messagingAttrs(m.Topic, e), attribute.String("messaging.consumer.group.name", group),
		attribute.Int("messaging.destination.partition.id", m.Partition), attribute.Int64("messaging.kafka.offset", m.Offset))
	return t.tracer.Start(ctx, "process "+m.Topic, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
}

// messagingAttrs are the attributes of a Kafka span about e on topic.
func messagingAttrs(topic string, e Event) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("messaging.system", "kafka"), attribute.String("messaging.destination.name", topic),
		attribute.String("messaging.message.id", e.ID), attribute.String("event.type", e.Type), attribute.String("event.aggregate_id", e.AggregateID)}
}
