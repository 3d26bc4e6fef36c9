package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// Version is the product's version the event made (1 for created, then one more per change, the
// delete included): two product copies' relays can publish one event again after a newer one, so a
// consumer that keeps state from these events applies only a newer version than it holds.
type productEventData struct {
	ProductID  string `json:"product_id"`
	Version    int64  `json:"version"`
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
	Version   int64  `json:"version"`
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
	// TraceParent and TraceState are the trace of the request that made it (withTrace), published
	// with it; empty without tracing.
	TraceParent string `bson:"traceparent,omitempty"`
	TraceState  string `bson:"tracestate,omitempty"`
}

func (o outboxEvent) event(aggregateID string) shared.Event {
	return shared.Event{ID: o.ID, Type: o.Type, Version: 1, OccurredAt: o.OccurredAt.UTC(),
		AggregateID: aggregateID, Data: json.RawMessage(o.Data), TraceParent: o.TraceParent, TraceState: o.TraceState}
}

// withTrace returns o carrying the trace of ctx (shared.TraceOf).
func (o outboxEvent) withTrace(ctx context.Context) outboxEvent {
	o.TraceParent, o.TraceState = shared.TraceOf(ctx)
	return o
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
	ev, err := newOutboxEvent(evProductCreated, productEventData{ProductID: p.ID, Version: 1, SKU: p.SKU, Name: p.Name,
		PriceCents: p.PriceCents, Currency: p.Currency, Category: p.Category, Active: p.Active, Stock: &stock}, now)
	ev.Seq = 1
	return ev, err
}

// updatedEvent is product.updated for p, the new state of a product read at p.Version.
func updatedEvent(p product, now time.Time) (outboxEvent, error) {
	ev, err := newOutboxEvent(evProductUpdated, productEventData{ProductID: p.ID, Version: p.Version + 1, SKU: p.SKU, Name: p.Name,
		PriceCents: p.PriceCents, Currency: p.Currency, Category: p.Category, Active: p.Active}, now)
	ev.Seq = p.Version + 1
	return ev, err
}

// deletedEvent is product.deleted for p, read at p.Version.
func deletedEvent(p product, now time.Time) (outboxEvent, error) {
	ev, err := newOutboxEvent(evProductDeleted, productDeletedData{ProductID: p.ID, Version: p.Version + 1, SKU: p.SKU}, now)
	ev.Seq = p.Version + 1
	return ev, err
}

// productOutbox is the products' outbox as shared.Relay reads it: every product keeps its events not
// yet acknowledged in its own document (product.Outbox), each numbered by the version it produced.
type productOutbox struct {
	store productStore
}

var _ shared.OutboxStore = productOutbox{}

// PendingOutbox returns the outbox events of up to limit products, each product's in version order.
func (ob productOutbox) PendingOutbox(ctx context.Context, limit int) ([]shared.OutboxEntry, error) {
	ps, err := ob.store.Pending(ctx, limit)
	if err != nil {
		return nil, err
	}
	var out []shared.OutboxEntry
	for _, p := range ps {
		evs := slices.SortedFunc(maps.Values(p.Outbox), func(a, b outboxEvent) int {
			return cmp.Or(cmp.Compare(a.Seq, b.Seq), a.OccurredAt.Compare(b.OccurredAt), strings.Compare(a.ID, b.ID))
		})
		for _, e := range evs {
			out = append(out, shared.OutboxEntry{Topic: shared.TopicProduct, Event: e.event(p.ID), Seq: e.Seq})
		}
	}
	return out, nil
}

// MarkPublished removes the entries' events from their products' outboxes.
func (ob productOutbox) MarkPublished(ctx context.Context, entries []shared.OutboxEntry) error {
	for id, es := range shared.ByAggregate(entries) {
		evIDs := make([]string, len(es))
		for i, e := range es {
			evIDs[i] = e.Event.ID
		}
		if err := ob.store.Ack(ctx, id, evIDs); err != nil {
			return fmt.Errorf("outbox %s ack: %w", id, err)
		}
	}
	return nil
}
