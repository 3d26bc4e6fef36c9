package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/goshop/platform/shared"
)

// orderOutbox is the orders' outbox as shared.Relay reads it. Every order keeps its own events in
// order (Events) and how many of them are published (SentSeq), so an entry's Seq is its position
// plus one and acknowledging is advancing SentSeq: one order's events go out in order, and an event
// appended after the relay read the order stays pending.
type orderOutbox struct {
	store orderStore
}

var _ shared.OutboxStore = orderOutbox{}

// newRelay returns the relay of store's outbox to order.events, polling every poll when not woken.
func newRelay(logger *slog.Logger, store orderStore, pub shared.Publisher, metrics *shared.Metrics, poll time.Duration) *shared.Relay {
	return shared.NewRelay(logger, orderOutbox{store}, pub, metrics, shared.RelayConfig{Interval: poll})
}

// PendingOutbox returns the unsent events of up to limit orders, oldest change first. An order
// flagged pending with nothing unsent (two relays raced on it) is marked sent here, so it does not
// hold a place in every later batch.
func (ob orderOutbox) PendingOutbox(ctx context.Context, limit int) ([]shared.OutboxEntry, error) {
	orders, err := ob.store.Unsent(ctx, limit)
	if err != nil {
		return nil, err
	}
	var out []shared.OutboxEntry
	for _, o := range orders {
		if o.SentSeq >= len(o.Events) {
			if err := ob.store.MarkSent(ctx, o.ID, len(o.Events)); err != nil {
				return nil, err
			}
			continue
		}
		for i := o.SentSeq; i < len(o.Events); i++ {
			out = append(out, shared.OutboxEntry{Topic: shared.TopicOrder, Event: o.Events[i].envelope(o.ID), Seq: int64(i + 1)})
		}
	}
	return out, nil
}

// MarkPublished advances each order's SentSeq to the highest Seq among entries.
func (ob orderOutbox) MarkPublished(ctx context.Context, entries []shared.OutboxEntry) error {
	for id, es := range shared.ByAggregate(entries) {
		var upTo int64
		for _, e := range es {
			upTo = max(upTo, e.Seq)
		}
		if err := ob.store.MarkSent(ctx, id, int(upTo)); err != nil {
			return err
		}
	}
	return nil
}
