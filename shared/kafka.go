package shared

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
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

// KeepTopic makes topic keep every message (retention.ms=-1), for a topic that consumers read from
// its start to rebuild state: realtime's catalog and inventory's flag adoption read product.events
// so. A broker creates topics with its default retention (7 days in Kafka), after which a product
// that has not changed for a week would be unknown to them. An absent topic is created with the
// broker's default partitions and the setting; an existing one gets it unless it already keeps every
// message or is compacted (cleanup.policy compact, which keeps each key's last message: an
// operator's choice that serves as well). It says what it did, for the log: "created", "retention.ms
// was <the old value>", or "" for nothing.
func KeepTopic(ctx context.Context, brokers []string, topic string) (did string, err error) {
	if len(brokers) == 0 {
		return "", errors.New("keep topic: no brokers")
	}
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	keep := kafka.ConfigEntry{ConfigName: "retention.ms", ConfigValue: "-1"}
	created, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: topic, NumPartitions: -1, ReplicationFactor: -1, ConfigEntries: []kafka.ConfigEntry{keep}}}})
	if err != nil {
		return "", fmt.Errorf("keep topic %s: create: %w", topic, err)
	}
	switch err := created.Errors[topic]; {
	case err == nil:
		return "created", nil
	case !errors.Is(err, kafka.TopicAlreadyExists):
		return "", fmt.Errorf("keep topic %s: create: %w", topic, err)
	}
	desc, err := c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms", "cleanup.policy"}}}})
	if err != nil {
		return "", fmt.Errorf("keep topic %s: describe: %w", topic, err)
	}
	current := map[string]string{}
	for _, r := range desc.Resources {
		if r.Error != nil {
			return "", fmt.Errorf("keep topic %s: describe: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			current[e.ConfigName] = e.ConfigValue
		}
	}
	if current["retention.ms"] == "-1" || strings.Contains(current["cleanup.policy"], "compact") {
		return "", nil
	}
	alt, err := c.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, Configs: []kafka.IncrementalAlterConfigsRequestConfig{
			{Name: keep.ConfigName, Value: keep.ConfigValue, ConfigOperation: kafka.ConfigOperationSet}}}}})
	if err != nil {
		return "", fmt.Errorf("keep topic %s: alter: %w", topic, err)
	}
	for _, r := range alt.Resources {
		if r.Error != nil {
			return "", fmt.Errorf("keep topic %s: alter: %w", topic, r.Error)
		}
	}
	return "retention.ms was " + cmp.Or(current["retention.ms"], "the broker's default"), nil
}
