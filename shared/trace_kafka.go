package shared

import (
	"context"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

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

// endSpans ends the spans of one publish call, marking each with err.
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
