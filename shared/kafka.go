package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"
)

// Topics of the platform, one per owning service.
const (
	TopicUser      = "user.events"
	TopicProduct   = "product.events"
	TopicInventory = "inventory.events"
	TopicOrder     = "order.events"
)

// AllTopics returns every topic, for EnsureTopics and for consumers of everything (realtime). Each
// call returns a new slice, so no caller can change another's list.
func AllTopics() []string { return []string{TopicUser, TopicProduct, TopicInventory, TopicOrder} }

// Event is the envelope of every Kafka message value. ID is unique per event so consumers can drop
// duplicates; AggregateID is also the message key, so one aggregate's events stay ordered.
// TraceParent and TraceState are the W3C trace context of what caused the event (WithTrace), kept
// with it in the outbox so that the relay's publish continues that trace; empty without tracing.
type Event struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Version     int             `json:"version"`
	OccurredAt  time.Time       `json:"occurred_at"`
	AggregateID string          `json:"aggregate_id"`
	Data        json.RawMessage `json:"data"`
	TraceParent string          `json:"traceparent,omitempty"`
	TraceState  string          `json:"tracestate,omitempty"`
}

// NewEvent builds a version-1 event with a fresh ID and the current time.
func NewEvent(typ, aggregateID string, data any) (Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: %w", typ, err)
	}
	return Event{ID: NewID(), Type: typ, Version: 1, OccurredAt: time.Now().UTC(), AggregateID: aggregateID, Data: b}, nil
}

// Decode unmarshals the event's data into v.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("event %s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// Publisher publishes events to a topic. Publish returns only after the broker acknowledged every event
// (or an error), so a caller that gets nil may consider them durable.
type Publisher interface {
	Publish(ctx context.Context, topic string, events ...Event) error
}

// ParseBrokers splits KAFKA_BROKERS ("host:port,host:port") and drops blanks.
func ParseBrokers(s string) []string { return splitComma(s) }

// PublishBatchWindow (50 µs) is how long the publisher waits for more messages to fill a batch.
// Every caller publishes synchronously (the outbox relay hands over a whole batch of events in one
// Publish and waits for the ack), so nothing would join a waiting batch: the window is pure latency on
// each hop of the checkout saga. It was 10 ms, then 2 ms (docs/performance.md); not zero, because
// kafka-go treats 0 as its 1 s default.
const PublishBatchWindow = 50 * time.Microsecond

// KafkaPublisher is a Publisher on a kafka-go Writer: hash partitioning by key, acks from all in-sync
// replicas, and a batch window of PublishBatchWindow.
type KafkaPublisher struct {
	w       *kafka.Writer
	tracing *Tracing // producer spans; nil: none
}

// NewKafkaPublisher returns a publisher for brokers. It connects lazily; Close flushes it.
func NewKafkaPublisher(brokers []string) *KafkaPublisher {
	return &KafkaPublisher{w: &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Balancer:               &kafka.Hash{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           PublishBatchWindow,
		WriteTimeout:           10 * time.Second,
		MaxAttempts:            5,
		AllowAutoTopicCreation: true,
	}}
}

// Publish writes events to topic keyed by aggregate ID, with the request ID of ctx and the trace
// context (of the envelope, else of ctx) as headers.
func (p *KafkaPublisher) Publish(ctx context.Context, topic string, events ...Event) error {
	msgs := make([]kafka.Message, 0, len(events))
	var spans []trace.Span
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("publish %s: %w", e.Type, err)
		}
		m := kafka.Message{Topic: topic, Key: []byte(e.AggregateID), Value: b,
			Headers: []kafka.Header{{Key: "type", Value: []byte(e.Type)}}}
		if id := RequestIDFrom(ctx); id != "" {
			m.Headers = append(m.Headers, kafka.Header{Key: RequestIDHeader, Value: []byte(id)})
		}
		if span := p.tracing.startPublish(ctx, topic, e, &m); span != nil {
			spans = append(spans, span)
		}
		msgs = append(msgs, m)
	}
	err := p.w.WriteMessages(ctx, msgs...)
	endSpans(spans, err)
	if err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Close flushes pending messages and closes the writer.
func (p *KafkaPublisher) Close() error { return p.w.Close() }

// KafkaPing returns a readiness check that dials the first reachable broker.
func KafkaPing(brokers []string) func(context.Context) error {
	return func(ctx context.Context) error {
		var errs []error
		for _, b := range brokers {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", b)
			if err == nil {
				return c.Close()
			}
			errs = append(errs, err)
		}
		return fmt.Errorf("kafka: no broker reachable: %w", errors.Join(errs...))
	}
}

// EnsureTopics creates the topics that do not exist yet with the given partition count, through the
// cluster controller. Existing topics are left alone.
func EnsureTopics(ctx context.Context, brokers []string, partitions int, topics ...string) error {
	if len(brokers) == 0 {
		return errors.New("ensure topics: no brokers")
	}
	d := &kafka.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return fmt.Errorf("ensure topics: %w", err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("ensure topics: controller: %w", err)
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, fmt.Sprint(ctrl.Port)))
	if err != nil {
		return fmt.Errorf("ensure topics: dial controller: %w", err)
	}
	defer cc.Close()
	cfgs := make([]kafka.TopicConfig, 0, len(topics))
	for _, t := range topics {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: 1})
	}
	if err := cc.CreateTopics(cfgs...); err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("ensure topics: %w", err)
	}
	return nil
}
