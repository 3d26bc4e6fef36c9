package main

import (
	"encoding/json"
	"fmt"

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
}

// parseEventData decodes e's data; data that is not a JSON object of the right field types is a
// poison event.
func parseEventData(e shared.Event) (eventData, error) {
	var d eventData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return eventData{}, fmt.Errorf("event %s %s: data: %v: %w", e.Type, e.ID, err, shared.ErrPoison)
	}
	return d, nil
}

// catalog remembers which SKUs belong to released (active) products, learned from product.events,
// so that public messages carry only what the public API shows: GET /products/{id} answers 404 for
// an inactive product, so nothing about it (name, price, stock, even its SKU) may reach anonymous or
// customer connections. Admins get everything anyway.
//
// The catalog fails closed: an SKU it has not seen in a product event is treated as unreleased. The
// consumer teaches it every product event, stale ones included, so a process whose consumer group
// starts at the first offset rebuilds it from the topic. An instance that resumes committed offsets
// starts empty: stock of a product it has not seen since goes to admins only until the product's
// next product.* event (docs/realtime.md, Routing).
//
// A catalog is not safe for concurrent use: the consumer guards it with its mutex.
type catalog struct {
	active map[string]bool   // by SKU; absent: never seen
	skuOf  map[string]string // product ID -> its SKU, to forget the old SKU when a product's changes
}

func newCatalog() *catalog {
	return &catalog{active: make(map[string]bool), skuOf: make(map[string]string)}
}

// released reports whether sku belongs to a product the catalog knows as active.
func (c *catalog) released(sku string) bool { return sku != "" && c.active[sku] }

// learn applies a product event to the catalog; other events change nothing. An event without the
// "active" field counts as inactive (fail closed).
func (c *catalog) learn(typ string, d eventData) {
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
