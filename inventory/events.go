package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// productData is the part of product events inventory reads.
type productData struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Stock     *int64 `json:"stock"`
}

// handleProductEvent applies product.events: product.created creates the stock item once,
// product.deleted marks it. Other types are ignored.
func (inv *inventory) handleProductEvent(ctx context.Context, e shared.Event) error {
	switch e.Type {
	case "product.created", "product.deleted":
	default:
		return nil
	}
	var d productData
	if err := e.Decode(&d); err != nil {
		return fmt.Errorf("%w: %v", shared.ErrPoison, err)
	}
	sku, err := normalizeSKU(d.SKU)
	if err != nil {
		return fmt.Errorf("%w: %s %s: sku %v", shared.ErrPoison, e.Type, e.ID, err)
	}
	if e.Type == "product.deleted" {
		return inv.DeleteItem(ctx, sku)
	}
	stock := int64(0)
	if d.Stock != nil {
		stock = *d.Stock
	}
	if stock < 0 || stock > maxOnHand {
		return fmt.Errorf("%w: %s %s: stock %d out of range", shared.ErrPoison, e.Type, e.ID, stock)
	}
	created, err := inv.CreateItem(ctx, sku, stock)
	if err == nil && !created {
		inv.logger.DebugContext(ctx, "stock item exists; product.created ignored", "sku", sku, "event_id", e.ID)
	}
	return err
}

// handleOrderEvent applies order.events: order.created reserves, order.paid commits,
// order.cancelled releases (or restocks after a payment). Other types are ignored.
func (inv *inventory) handleOrderEvent(ctx context.Context, e shared.Event) error {
	switch e.Type {
	case "order.created", "order.paid", "order.cancelled":
	default:
		return nil
	}
	var d orderData
	if err := e.Decode(&d); err != nil {
		return fmt.Errorf("%w: %v", shared.ErrPoison, err)
	}
	if !validOrderID(d.OrderID) {
		return fmt.Errorf("%w: %s %s: bad order_id", shared.ErrPoison, e.Type, e.ID)
	}
	var err error
	switch e.Type {
	case "order.created":
		_, err = inv.Reserve(ctx, d)
	case "order.paid":
		_, err = inv.Commit(ctx, d.OrderID)
	case "order.cancelled":
		_, err = inv.Release(ctx, d.OrderID, d.UserID, reasonCancelled)
	}
	return err
}

// relayConfig tunes the outbox relay. Zero values take the defaults named on each field.
type relayConfig struct {
	Batch      int           // events per publish; default 100
	Idle       time.Duration // poll interval when nothing woke it; default 1 s
	BackoffMax time.Duration // cap of the retry backoff after a failed publish; default 10 s
}

// relay publishes the outbox until ctx ends: woken by emit or every Idle, it publishes pending events
// oldest first and deletes them once the broker acknowledged. A failed publish keeps them and retries
// with exponential backoff (100 ms doubling to BackoffMax), so Kafka being down loses nothing. On
// cancellation it makes one last attempt bounded by 5 s.
func (inv *inventory) relay(ctx context.Context, pub shared.Publisher, cfg relayConfig, published *shared.CounterVec) {
	if cfg.Batch == 0 {
		cfg.Batch = 100
	}
	if cfg.Idle == 0 {
		cfg.Idle = time.Second
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 10 * time.Second
	}
	backoff := 100 * time.Millisecond
	for {
		n, err := inv.flush(ctx, pub, cfg.Batch, published)
		wait, kick := cfg.Idle, inv.kick
		switch {
		case err != nil && ctx.Err() == nil:
			inv.logger.Warn("outbox relay: publish failed, will retry", "err", err, "backoff", backoff.String())
			wait, kick = backoff, nil // do not let new events cut the backoff short
			backoff = min(backoff*2, cfg.BackoffMax)
		case n == cfg.Batch:
			wait, backoff = 0, 100*time.Millisecond
		default:
			backoff = 100 * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if _, err := inv.flushAll(fctx, pub, cfg.Batch, published); err != nil {
				inv.logger.Warn("outbox relay: events left for the next start", "err", err)
			}
			cancel()
			return
		case <-kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// flush publishes up to batch pending events and reports how many it published.
func (inv *inventory) flush(ctx context.Context, pub shared.Publisher, batch int, published *shared.CounterVec) (int, error) {
	entries, err := inv.store.PendingOutbox(ctx, batch)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	done := 0
	for start := 0; start < len(entries); {
		// Publish runs of the same topic together, in order.
		end := start + 1
		for end < len(entries) && entries[end].Topic == entries[start].Topic {
			end++
		}
		events := make([]shared.Event, 0, end-start)
		ids := make([]string, 0, end-start)
		for _, e := range entries[start:end] {
			events = append(events, e.Event)
			ids = append(ids, e.Event.ID)
		}
		if err := pub.Publish(ctx, entries[start].Topic, events...); err != nil {
			return done, err
		}
		if err := inv.store.DeleteOutbox(ctx, ids...); err != nil {
			// Published but still stored: they go out again, and consumers drop them by ID.
			return done, err
		}
		if published != nil {
			published.Add(uint64(len(events)), entries[start].Topic)
		}
		done += len(events)
		start = end
	}
	return done, nil
}

// flushAll flushes until the outbox is empty or an error.
func (inv *inventory) flushAll(ctx context.Context, pub shared.Publisher, batch int, published *shared.CounterVec) (int, error) {
	total := 0
	for {
		n, err := inv.flush(ctx, pub, batch, published)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// sweeper runs Sweep every interval until ctx ends. Errors are logged; the next round retries.
func (inv *inventory) sweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := inv.Sweep(ctx, 100)
		if err != nil && ctx.Err() == nil {
			inv.logger.Warn("reservation sweep failed", "err", err)
		}
		if n > 0 {
			inv.logger.Info("released expired reservations", "count", n)
		}
	}
}

// handleEvent dispatches the events of both consumed topics by type prefix.
func (inv *inventory) handleEvent(ctx context.Context, e shared.Event) error {
	switch {
	case strings.HasPrefix(e.Type, "product."):
		return inv.handleProductEvent(ctx, e)
	case strings.HasPrefix(e.Type, "order."):
		return inv.handleOrderEvent(ctx, e)
	}
	return nil
}

// consume reads product.events and order.events as consumer group "inventory" until ctx ends. One
// reader for both keeps the group to one member per instance; both kinds of event need the same
// store, so one blocking the other while it is down costs nothing.
func consume(ctx context.Context, logger *slog.Logger, brokers []string, h shared.EventHandler) error {
	err := shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: brokers, Group: "inventory",
		Topics: []string{shared.TopicProduct, shared.TopicOrder}}, h)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("consume: %w", err)
	}
	return nil
}
