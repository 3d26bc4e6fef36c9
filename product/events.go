package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/goshop/platform/shared"
)

// Event types of product.events (docs/events.md).
const (
	evProductCreated = "product.created"
	evProductUpdated = "product.updated"
	evProductDeleted = "product.deleted"
)

// productEventData is the data of product.created and product.updated; Stock is only on created.
type productEventData struct {
	ProductID  string `json:"product_id"`
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Currency   string `json:"currency"`
	Category   string `json:"category"`
	Active     bool   `json:"active"`
	Stock      *int64 `json:"stock,omitempty"`
}

type productDeletedData struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
}

// outboxEvent is an event waiting in a product's outbox: the shared.Event envelope in a form every
// Mongo-wire server stores the same way (data as JSON text).
type outboxEvent struct {
	ID         string    `bson:"id"`
	Seq        int64     `bson:"seq"` // the product version the event produced: publish order
	Type       string    `bson:"type"`
	OccurredAt time.Time `bson:"occurred_at"`
	Data       string    `bson:"data"`
}

func (o outboxEvent) event(aggregateID string) shared.Event {
	return shared.Event{ID: o.ID, Type: o.Type, Version: 1, OccurredAt: o.OccurredAt.UTC(),
		AggregateID: aggregateID, Data: json.RawMessage(o.Data)}
}

// newOutboxEvent builds an event of typ with data, stamped now.
func newOutboxEvent(typ string, data any, now time.Time) (outboxEvent, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return outboxEvent{}, fmt.Errorf("event %s: %w", typ, err)
	}
	return outboxEvent{ID: shared.NewID(), Type: typ, OccurredAt: now.UTC().Truncate(time.Millisecond), Data: string(b)}, nil
}

// createdEvent is product.created for the new product p (sequence 1).
func createdEvent(p product, stock int64, now time.Time) (outboxEvent, error) {
	ev, err := newOutboxEvent(evProductCreated, productEventData{ProductID: p.ID, SKU: p.SKU, Name: p.Name,
		PriceCents: p.PriceCents, Currency: p.Currency, Category: p.Category, Active: p.Active, Stock: &stock}, now)
	ev.Seq = 1
	return ev, err
}

// updatedEvent is product.updated for p, the new state of a product read at p.Version.
func updatedEvent(p product, now time.Time) (outboxEvent, error) {
	ev, err := newOutboxEvent(evProductUpdated, productEventData{ProductID: p.ID, SKU: p.SKU, Name: p.Name,
		PriceCents: p.PriceCents, Currency: p.Currency, Category: p.Category, Active: p.Active}, now)
	ev.Seq = p.Version + 1
	return ev, err
}

// deletedEvent is product.deleted for p, read at p.Version.
func deletedEvent(p product, now time.Time) (outboxEvent, error) {
	ev, err := newOutboxEvent(evProductDeleted, productDeletedData{ProductID: p.ID, SKU: p.SKU}, now)
	ev.Seq = p.Version + 1
	return ev, err
}

// outbox publishes the events products carry in their outbox and acknowledges them in the store.
// Delivery is at least once: an event is removed only after Kafka acknowledged it, so a crash, a Kafka
// outage or two instances racing can publish it twice but never lose it (consumers dedupe by event ID).
type outbox struct {
	store     productStore
	publisher shared.Publisher
	logger    *slog.Logger
	published *shared.CounterVec
	failed    *shared.CounterVec
}

func newOutbox(store productStore, pub shared.Publisher, logger *slog.Logger, m *shared.Metrics) *outbox {
	return &outbox{store: store, publisher: pub, logger: logger,
		published: m.Counter("product_events_published_total", "Product events acknowledged by Kafka.", "type"),
		failed:    m.Counter("product_event_publish_failures_total", "Failed attempts to publish product events (they stay in the outbox).")}
}

// publishTimeout bounds the publish a write request makes before answering; after it the relay takes over.
const publishTimeout = 3 * time.Second

// flush publishes every event in p's outbox in the order they were applied, then removes them from the
// outbox. A failure leaves them for the relay and is returned for logging only: the change itself is
// already durable.
func (o *outbox) flush(ctx context.Context, p product) error {
	return o.publish(ctx, p.ID, slices.Collect(maps.Values(p.Outbox)))
}

// publish publishes evs of product id in sequence order and acknowledges them.
func (o *outbox) publish(ctx context.Context, id string, evs []outboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	slices.SortFunc(evs, func(a, b outboxEvent) int {
		if a.Seq != b.Seq {
			return cmp.Compare(a.Seq, b.Seq)
		}
		if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	out := make([]shared.Event, len(evs))
	ids := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.event(id)
		ids[i] = e.ID
	}
	if err := o.publisher.Publish(ctx, shared.TopicProduct, out...); err != nil {
		o.failed.Inc()
		return fmt.Errorf("outbox %s: %w", id, err)
	}
	for _, e := range evs {
		o.published.Inc(e.Type)
	}
	// The events are out; a failed ack only means they may be published again.
	if err := o.store.Ack(context.WithoutCancel(ctx), id, ids); err != nil {
		return fmt.Errorf("outbox %s ack: %w", id, err)
	}
	return nil
}

// afterWrite publishes the event evID that a request just wrote into p's outbox, preceded by any
// older events stuck there (older than relayGrace: Kafka was down), bounded by publishTimeout and
// detached from the client's cancellation. Younger events of concurrent requests are left to those
// requests, so concurrent writes do not publish each other's events twice. Failures are logged; the
// relay retries.
func (o *outbox) afterWrite(ctx context.Context, p product, evID string) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	stuck := time.Now().Add(-relayGrace)
	var evs []outboxEvent
	for _, e := range p.Outbox {
		if e.ID == evID || e.OccurredAt.Before(stuck) {
			evs = append(evs, e)
		}
	}
	if err := o.publish(pctx, p.ID, evs); err != nil {
		o.logger.WarnContext(ctx, "product event not published yet, the relay will retry", "product_id", p.ID, "err", err)
	}
}

// Relay timing: the relay looks for pending events every relayInterval, skips events younger than
// relayGrace (the request that wrote them is still publishing them), and after a failure waits
// relayInterval doubling up to relayMaxBackoff.
const (
	relayInterval   = time.Second
	relayGrace      = 2 * time.Second
	relayMaxBackoff = 30 * time.Second
	relayBatch      = 100
	// relayPublishTimeout bounds one product's publish by the relay.
	relayPublishTimeout = 10 * time.Second
)

// relay publishes events left in outboxes (Kafka was down, or the process died between the write and
// the publish) until ctx ends. It returns nil when ctx ends.
func (o *outbox) relay(ctx context.Context) error {
	wait := relayInterval
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if err := o.relayOnce(ctx, time.Now()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait = min(wait*2, relayMaxBackoff)
			o.logger.Warn("outbox relay failed, backing off", "err", err, "retry_in", wait.String())
			continue
		}
		wait = relayInterval
	}
}

// relayOnce flushes every product whose oldest pending event is older than relayGrace at now.
func (o *outbox) relayOnce(ctx context.Context, now time.Time) error {
	ps, err := o.store.Pending(ctx, relayBatch)
	if err != nil {
		return err
	}
	for _, p := range ps {
		oldest := now
		for _, e := range p.Outbox {
			if e.OccurredAt.Before(oldest) {
				oldest = e.OccurredAt
			}
		}
		if now.Sub(oldest) < relayGrace {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, relayPublishTimeout)
		err := o.flush(fctx, p)
		cancel()
		if err != nil {
			// Kafka is most likely down: stop here rather than wait out a timeout per product.
			return err
		}
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
