package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// Event types realtime routes by what they say about the catalog (docs/events.md).
const (
	evProductCreated   = "product.created"
	evProductUpdated   = "product.updated"
	evProductDeleted   = "product.deleted"
	evInventoryUpdated = "inventory.updated"
	evAnnouncement     = "announcement"
)

// eventData is the part of an event's data routing reads.
type eventData struct {
	UserID    string `json:"user_id"`
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Category  string `json:"category"`
	Active    *bool  `json:"active"`
	// Version is a product event's product version (docs/events.md); 0 in events from before it.
	Version int64 `json:"version"`
	// Status and PreviousStatus are an order event's; equal, they mark a repeat (orderRepeat).
	Status         string `json:"status"`
	PreviousStatus string `json:"previous_status"`
}

// orderRepeat reports whether an event of type typ with status and previous status is an order
// event that asks inventory to act again without the order moving (docs/events.md:
// reconciliation's order.created, the order.cancelled releasing a late reservation): nobody is told
// about it.
func orderRepeat(typ, status, previous string) bool {
	return strings.HasPrefix(typ, "order.") && previous != "" && previous == status
}

// parseEventData decodes e's data; data that is not a JSON object of the right field types is a
// poison event.
func parseEventData(e shared.Event) (eventData, error) {
	var d eventData
	if err := e.Decode(&d); err != nil {
		return eventData{}, err
	}
	return d, nil
}

// liveData is what the live consumer reads of an event that can make a notification: the fields of
// eventData and of notifyData, decoded in one pass instead of one per struct.
type liveData struct {
	UserID         string `json:"user_id"`
	ProductID      string `json:"product_id"`
	SKU            string `json:"sku"`
	Category       string `json:"category"`
	Active         *bool  `json:"active"`
	Version        int64  `json:"version"`
	OrderID        string `json:"order_id"`
	Status         string `json:"status"`
	PreviousStatus string `json:"previous_status"`
	TotalCents     int64  `json:"total_cents"`
	Currency       string `json:"currency"`
	Reason         string `json:"reason"`
	Name           string `json:"name"`
	Available      int64  `json:"available"`
	Threshold      int64  `json:"low_stock_threshold"`
}

// parseLive decodes e's data for the live consumer: its routing fields (parseEventData) and, for a
// type that can make one, its notification (notificationFor; ok false when it makes none). Data that
// fails the one-pass decode (a field of the wrong type) is decoded again by each of the two, so an
// event is poison or makes a notification exactly as they decide.
func parseLive(e shared.Event) (d eventData, n notification, list notifyList, ok bool, err error) {
	if makesNotification(e.Type) {
		var f liveData
		if json.Unmarshal(e.Data, &f) == nil {
			n, list, ok = notificationOf(e, notifyData{OrderID: f.OrderID, UserID: f.UserID, Status: f.Status, PreviousStatus: f.PreviousStatus,
				TotalCents: f.TotalCents, Currency: f.Currency, Reason: f.Reason, ProductID: f.ProductID, SKU: f.SKU, Name: f.Name,
				Available: f.Available, Threshold: f.Threshold})
			return eventData{UserID: f.UserID, ProductID: f.ProductID, SKU: f.SKU, Category: f.Category, Active: f.Active,
				Version: f.Version, Status: f.Status, PreviousStatus: f.PreviousStatus}, n, list, ok, nil
		}
	}
	if d, err = parseEventData(e); err != nil {
		return eventData{}, notification{}, notifyList{}, false, err
	}
	n, list, ok = notificationFor(e)
	return d, n, list, ok, nil
}

// catalog remembers which SKUs belong to released (active) products, learned from product.events,
// so that public messages carry only what the public API shows: GET /products/{id} answers 404 for
// an inactive product, so nothing about it (name, price, stock, even its SKU) may reach anonymous or
// customer connections. Admins get everything anyway.
//
// The catalog fails closed: an SKU it has not seen in a product event is treated as unreleased. It
// learns from two paths. The consumer teaches it every product event as it arrives, stale ones
// included (learn). At start-up the warm-up (consumer.warmUp) reads product.events from the first
// offset to the end as of start and hands over each product's last event (adopt), because an
// instance that resumes committed offsets would otherwise know nothing of products that have not
// changed since. Both paths apply events in partition order, and a product's events share a
// partition (keyed by product ID), so the last event is the product's state. While the warm-up runs,
// the catalog trusts only what the consumer taught it; for those products the consumer's state is
// at least as new as the warm-up's, so adopt leaves them alone.
//
// A catalog is not safe for concurrent use: the consumer guards it with its mutex.
type catalog struct {
	active  map[string]bool   // by SKU; absent: never seen
	skuOf   map[string]string // product ID -> its SKU, to forget the old SKU when a product's changes
	live    map[string]bool   // products (productKey) the consumer taught; nil once adopt ran
	version map[string]int64  // products (productKey) -> the newest version applied, kept after a delete
}

func newCatalog() *catalog {
	return &catalog{active: make(map[string]bool), skuOf: make(map[string]string), live: make(map[string]bool),
		version: make(map[string]int64)}
}

// stale reports whether a product event is older than what the catalog applied for its product: one
// that two product copies' relays published again after a newer one (docs/events.md). It is neither
// applied nor sent: a stale "active" would publish a product switched off since.
func (c *catalog) stale(typ string, d eventData) bool {
	return isProductEvent(typ) && d.Version > 0 && d.Version <= c.version[productKey(d)]
}

// released reports whether sku belongs to a product the catalog knows as active.
func (c *catalog) released(sku string) bool { return sku != "" && c.active[sku] }

// isProductEvent reports whether typ is an event about a product's state.
func isProductEvent(typ string) bool {
	return typ == evProductCreated || typ == evProductUpdated || typ == evProductDeleted
}

// productKey names the product a product event is about: its ID, or its SKU in an event without one.
func productKey(d eventData) string {
	if d.ProductID != "" {
		return d.ProductID
	}
	return "sku:" + d.SKU
}

// learn applies a product event the consumer received to the catalog; other events change nothing.
// An event without the "active" field counts as inactive (fail closed).
func (c *catalog) learn(typ string, d eventData) {
	if c.live != nil && isProductEvent(typ) {
		c.live[productKey(d)] = true
	}
	c.apply(typ, d)
}

// adopt ends the warm-up: it applies last, each product's newest event read from product.events by
// productKey, for every product the consumer has not taught the catalog meanwhile. A product whose
// last event deleted it adds only its version, so an older event published again later is stale.
func (c *catalog) adopt(last map[string]productEvent) {
	for key, e := range last {
		switch {
		case c.live[key]:
		case e.typ != evProductDeleted:
			c.apply(e.typ, e.d)
		case e.d.Version > 0:
			c.version[key] = e.d.Version
		}
	}
	c.live = nil
}

// productEvent is a product event as the catalog reads it.
type productEvent struct {
	typ string
	d   eventData
}

func (c *catalog) apply(typ string, d eventData) {
	if isProductEvent(typ) && d.Version > 0 {
		c.version[productKey(d)] = d.Version
	}
	switch typ {
	case evProductCreated, evProductUpdated:
		if old, ok := c.skuOf[d.ProductID]; ok && old != d.SKU {
			delete(c.active, old)
		}
		if d.ProductID != "" {
			c.skuOf[d.ProductID] = d.SKU
		}
		if d.SKU != "" {
			c.active[d.SKU] = d.Active != nil && *d.Active
		}
	case evProductDeleted:
		sku := d.SKU
		if sku == "" {
			sku = c.skuOf[d.ProductID]
		}
		delete(c.active, sku)
		delete(c.skuOf, d.ProductID)
	}
}

// warmUp returns realtime's start-up step: it reads product.events with read (shared.ReadTopic from
// the first offset to the end as of the call; a fake in tests), keeps each product's last event and
// hands them to the catalog (catalog.adopt). Sent to nobody and not remembered as seen, so the
// consumer still delivers the recent ones it re-reads. A failed read keeps nothing: the retry starts
// over.
func (c *consumer) warmUp(read func(context.Context, shared.EventHandler) error) func(context.Context) error {
	return func(ctx context.Context) error {
		start := time.Now()
		n := 0
		last := make(map[string]productEvent)
		err := read(ctx, func(_ context.Context, e shared.Event) error {
			if !isProductEvent(e.Type) {
				return nil
			}
			d, err := parseEventData(e)
			if err != nil {
				return err
			}
			n++
			k := productKey(d)
			if prev, ok := last[k]; ok && d.Version > 0 && d.Version <= prev.d.Version {
				return nil // published again after a newer one, as the consumer's catalog.stale drops
			}
			last[k] = productEvent{e.Type, d}
			return nil
		})
		if err != nil {
			return fmt.Errorf("catalog warm-up: %w", err)
		}
		c.mu.Lock()
		c.catalog.adopt(last)
		c.mu.Unlock()
		c.logger.InfoContext(ctx, "catalog warmed up", "events", n, "products", len(last), "took", time.Since(start).String())
		return nil
	}
}

// route decides who gets an event besides admins, from the catalog as it was before the event:
//   - product.created and product.updated: everyone when the event says the product is active;
//   - product.deleted and inventory.updated: everyone when the SKU is a released product;
//   - announcement: everyone;
//   - any other event with a user_id: that user (every order.*, inventory.reserved/rejected/...);
//   - anything else (inventory.low_stock, events about unreleased products): admins only.
//
// Connections that subscribed to some SKUs or categories get only those of the public ones.
func (c *catalog) route(typ string, d eventData) audience {
	public := false
	switch typ {
	case evProductCreated, evProductUpdated:
		public = d.Active != nil && *d.Active
	case evProductDeleted:
		public = c.released(d.SKU) || c.released(c.skuOf[d.ProductID])
	case evInventoryUpdated:
		public = c.released(d.SKU)
	case evAnnouncement:
		public = true
	}
	if public {
		return audience{public: true, sku: d.SKU, category: d.Category}
	}
	switch typ {
	case evProductCreated, evProductUpdated, evProductDeleted, evInventoryUpdated:
		return audience{} // about an unreleased product: admins only
	}
	return audience{userID: d.UserID}
}
