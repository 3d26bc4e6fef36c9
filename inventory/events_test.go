package main

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestEventPayloads pins the data of every published event to the keys of docs/events.md, and the
// message key (aggregate ID) to the order ID or SKU.
func TestEventPayloads(t *testing.T) {
	t.Parallel()
	s := newMemStore()
	inv := newTestInventory(s)
	ctx := context.Background()
	mustHandle(t, inv.handleEvent, productEvent(t, "product.created", "P-1", 6))
	deliver(t, inv, "order.created", "o1", orderLine{"P-1", 2})  // reserved, low_stock
	deliver(t, inv, "order.created", "o2", orderLine{"P-1", 50}) // rejected
	deliver(t, inv, "order.paid", "o1")                          // committed
	deliver(t, inv, "order.cancelled", "o1")                     // released
	deliver(t, inv, "order.shipped", "o1")                       // ignored
	deliver(t, inv, "user.registered", "o1")                     // ignored

	want := map[string]struct {
		keys      []string
		aggregate string
	}{
		evReserved:  {[]string{"expires_at", "items", "order_id", "user_id"}, "o1"},
		evRejected:  {[]string{"order_id", "reason", "shortages", "user_id"}, "o2"},
		evReleased:  {[]string{"order_id", "reason", "user_id"}, "o1"},
		evCommitted: {[]string{"order_id", "user_id"}, "o1"},
		evUpdated:   {[]string{"available", "on_hand", "reserved", "sku"}, "P-1"},
		evLowStock:  {[]string{"available", "low_stock_threshold", "sku"}, "P-1"},
	}
	seen := map[string]bool{}
	for _, e := range outboxOf(t, s, "") {
		w, ok := want[e.Type]
		if !ok {
			t.Errorf("unexpected event type %s", e.Type)
			continue
		}
		seen[e.Type] = true
		var data map[string]any
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatal(err)
		}
		if keys := slices.Sorted(maps.Keys(data)); !slices.Equal(keys, w.keys) {
			t.Errorf("%s data keys = %v, want %v", e.Type, keys, w.keys)
		}
		if e.AggregateID != w.aggregate || e.ID == "" || e.Version != 1 || e.OccurredAt.IsZero() {
			t.Errorf("%s envelope = id %q aggregate %q version %d at %v", e.Type, e.ID, e.AggregateID, e.Version, e.OccurredAt)
		}
	}
	for typ := range want {
		if !seen[typ] {
			t.Errorf("no %s event was published", typ)
		}
	}
	if it, _ := s.Get(ctx, "P-1"); it.OnHand != 6 || it.Reserved != 0 {
		t.Errorf("after reserve, pay and refund: %+v, want on hand 6, reserved 0", it)
	}
}

// TestConsumedTypes: the consumer's Types are exactly the product and order events the handler acts on.
func TestConsumedTypes(t *testing.T) {
	t.Parallel()
	inv := newTestInventory(newMemStore())
	sharedtest.CheckConsumerTypes(t, []string{shared.TopicProduct, shared.TopicOrder}, consumedTypes, sharedtest.Undecodable,
		sharedtest.RefusesUndecodable(inv.handleEvent))
}
