package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
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

// Decode unmarshals the event's data into v. Data that does not decode can never be applied, so
// the error is e.Poison's: a consumer returns it as it is and Consume skips the event.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return e.Poison("data: %v", err)
	}
	return nil
}

// Poison returns the error of an event its consumer can never apply: ErrPoison, the event's type and
// ID, and the reason (format and args as in fmt.Sprintf), "poison event: order.paid 0a1b…: no order_id".
func (e Event) Poison(format string, args ...any) error {
	return fmt.Errorf("%w: %s %s: %s", ErrPoison, e.Type, e.ID, fmt.Sprintf(format, args...))
}

// Publisher publishes events to a topic. Publish returns only after the broker acknowledged every event
// (or an error), so a caller that gets nil may consider them durable.
type Publisher interface {
	Publish(ctx context.Context, topic string, events ...Event) error
}

// ParseBrokers splits KAFKA_BROKERS ("host:port,host:port") and drops blanks.
func ParseBrokers(s string) []string { return splitComma(s) }

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
