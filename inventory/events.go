package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/goshop/platform/shared"
)

// productData is the part of product events inventory reads.
type productData struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Stock     *int64 `json:"stock"`
	// Active is on product.created and product.updated; absent (an older producer) counts as active.
	Active *bool `json:"active"`
	// Version is the product version the event made; 0 from an older producer (docs/events.md).
	Version int64 `json:"version"`
}

// productTypes and orderTypes are the event types handleProductEvent and handleOrderEvent act on;
// together they are the consumer's ConsumerConfig.Types (consumedTypes), so the rest of both topics
// (order.confirmed, order.rejected, product.updated, ...) is skipped before it is decoded.
var (
	productTypes  = []string{"product.created", "product.updated", "product.deleted"}
	orderTypes    = []string{"order.created", "order.paid", "order.cancelled"}
	consumedTypes = slices.Concat(productTypes, orderTypes)
)

// handleProductEvent applies product.events: product.created creates the stock item once,
// product.updated carries the product's active flag over to it, product.deleted marks it. Other types
// are ignored. A product's events share its key, so they arrive in the order product wrote them and
// the last one read sets the flag, unless its version is not newer than the item's: a second product
// copy's relay may publish an event again after a newer one.
func (inv *inventory) handleProductEvent(ctx context.Context, e shared.Event) error {
	if !slices.Contains(productTypes, e.Type) {
		return nil
	}
	d, sku, inactive, err := decodeProduct(e)
	if err != nil {
		return err
	}
	switch e.Type {
	case "product.deleted":
		return inv.DeleteItem(ctx, sku)
	case "product.updated":
		return inv.SetInactive(ctx, sku, inactive, d.Version)
	}
	stock := int64(0)
	if d.Stock != nil {
		stock = *d.Stock
	}
	if stock < 0 || stock > maxOnHand {
		return e.Poison("stock %d out of range", stock)
	}
	created, err := inv.CreateItem(ctx, sku, stock, inactive, d.Version)
	if err == nil && !created {
		inv.logger.DebugContext(ctx, "stock item exists; product.created ignored", "sku", sku, "event_id", e.ID)
	}
	return err
}

// decodeProduct reads the data of a product event: d, its normalised SKU, and whether the product is
// inactive (an absent "active", from an older producer, counts as active). Bad data is poison.
func decodeProduct(e shared.Event) (d productData, sku string, inactive bool, err error) {
	if err = e.Decode(&d); err != nil {
		return d, "", false, err
	}
	if sku, err = normalizeSKU(d.SKU); err != nil {
		return d, "", false, e.Poison("sku %v", err)
	}
	return d, sku, d.Active != nil && !*d.Active, nil
}

// handleOrderEvent applies order.events: order.created reserves, order.paid commits,
// order.cancelled releases (or restocks after a payment). Other types are ignored.
func (inv *inventory) handleOrderEvent(ctx context.Context, e shared.Event) error {
	if !slices.Contains(orderTypes, e.Type) {
		return nil
	}
	var d orderData
	if err := e.Decode(&d); err != nil {
		return err
	}
	if !validOrderID(d.OrderID) {
		return e.Poison("bad order_id")
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
func consume(ctx context.Context, logger *slog.Logger, brokers []string, tracing *shared.Tracing, h shared.EventHandler) error {
	err := shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: brokers, Group: "inventory",
		Topics: []string{shared.TopicProduct, shared.TopicOrder}, Types: consumedTypes, CommitInterval: shared.SagaCommitInterval, Tracing: tracing}, h)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("consume: %w", err)
	}
	return nil
}
