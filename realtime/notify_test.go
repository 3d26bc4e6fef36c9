package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestNotificationFor: which events make which notification, in whose list, with what words and link.
func TestNotificationFor(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	order := `"order_id":"0123456789abcdef","user_id":"u1","total_cents":12345,"currency":"USD"`
	tests := []struct {
		typ, data                  string
		wantOK                     bool
		wantType, wantTitle, wantL string // wantL: list kind[:user]
		wantBody, wantLink         string
	}{
		{"order.confirmed", `{` + order + `}`, true, "order.confirmed", "Order confirmed", "user:u1", "Order #01234567 ($123.45) is confirmed. Pay to complete it.", "/orders/0123456789abcdef"},
		{"order.rejected", `{` + order + `,"reason":"out of stock"}`, true, "order.rejected", "Order rejected", "user:u1", "Order #01234567 could not be placed. Reason: out of stock.", "/orders/0123456789abcdef"},
		{"order.paid", `{` + order + `}`, true, "order.paid", "Payment received", "user:u1", "We received $123.45 for order #01234567.", "/orders/0123456789abcdef"},
		{"order.shipped", `{` + order + `}`, true, "order.shipped", "Order shipped", "user:u1", "Order #01234567 is on its way.", "/orders/0123456789abcdef"},
		{"order.delivered", `{` + order + `}`, true, "order.delivered", "Order delivered", "user:u1", "Order #01234567 was delivered.", "/orders/0123456789abcdef"},
		{"order.cancelled", `{` + order + `,"previous_status":"confirmed","reason":"changed my mind"}`, true, "order.cancelled", "Order cancelled", "user:u1", "Order #01234567 was cancelled. Reason: changed my mind.", "/orders/0123456789abcdef"},
		{"order.cancelled", `{` + order + `,"previous_status":"paid"}`, true, "order.refunded", "Refund issued", "user:u1", "Order #01234567 was cancelled and $123.45 refunded.", "/orders/0123456789abcdef"},
		{"order.created", `{` + order + `}`, true, "order.created", "New order", "admins", "Order #01234567 was placed: $123.45.", "/admin/orders/0123456789abcdef"},
		{"inventory.low_stock", `{"sku":"MUG-1","available":2,"low_stock_threshold":5}`, true, "inventory.low_stock", "Low stock: MUG-1", "admins", "Only 2 left (alert at 5).", "/admin/inventory"},
		{"product.created", `{"product_id":"p1","sku":"MUG-1","name":"Mug","active":false}`, true, "product.created", "Product created", "admins", "Mug (MUG-1) was created.", "/admin/products/p1/edit"},
		{"product.updated", `{"product_id":"p1","sku":"MUG-1","name":"Mug","active":true}`, true, "product.updated", "Product updated", "admins", "Mug (MUG-1) was updated.", "/admin/products/p1/edit"},
		// No notification: not a notification event, or one missing whom or what it is about.
		{"order.paid", `{"order_id":"o1"}`, false, "", "", "", "", ""},
		{"order.paid", `{"user_id":"u1"}`, false, "", "", "", "", ""},
		{"order.created", `{"user_id":"u1"}`, false, "", "", "", "", ""},
		// Repeats asking inventory to act again (previous_status = status), not changes: order's
		// reconciliation of an order placed long ago, the release of a late reservation.
		{"order.created", `{` + order + `,"status":"pending","previous_status":"pending","reason":"asking inventory again: no answer yet"}`, false, "", "", "", "", ""},
		{"order.cancelled", `{` + order + `,"status":"cancelled","previous_status":"cancelled","reason":"late reservation released"}`, false, "", "", "", "", ""},
		{"order.cancelled", `{` + order + `,"status":"rejected","previous_status":"rejected","reason":"late reservation released"}`, false, "", "", "", "", ""},
		{"product.created", `{"sku":"MUG-1"}`, false, "", "", "", "", ""},
		{"inventory.low_stock", `{"available":2}`, false, "", "", "", "", ""},
		{"inventory.updated", `{"sku":"MUG-1","available":2}`, false, "", "", "", "", ""},
		{"inventory.reserved", `{"order_id":"o1","user_id":"u1"}`, false, "", "", "", "", ""},
		{"user.updated", `{"user_id":"u1"}`, false, "", "", "", "", ""},
		{"order.paid", `[1,2]`, false, "", "", "", "", ""},
	}
	for _, tt := range tests {
		id := shared.NewID()
		n, l, ok := notificationFor(shared.Event{ID: id, Type: tt.typ, Data: json.RawMessage(tt.data), OccurredAt: at})
		if ok != tt.wantOK {
			t.Errorf("%s %s: ok = %v, want %v", tt.typ, tt.data, ok, tt.wantOK)
			continue
		}
		if !ok {
			continue
		}
		gotL := l.kind
		if l.userID != "" {
			gotL += ":" + l.userID
		}
		if n.ID != id || n.Type != tt.wantType || n.Title != tt.wantTitle || gotL != tt.wantL || n.Body != tt.wantBody ||
			n.Link != tt.wantLink || !n.CreatedAt.Equal(at) || n.Read {
			t.Errorf("%s %s: %+v in %s, want %s %q %q %q in %s", tt.typ, tt.data, n, gotL, tt.wantType, tt.wantTitle, tt.wantBody, tt.wantLink, tt.wantL)
		}
	}
}

// TestNotificationID: platform IDs are kept, anything else becomes a safe 32-hex-digit ID.
// TestNotificationTypes: the notifier's Types are exactly the events of its topics that make a
// notification, given data with every field a notification reads.
func TestNotificationTypes(t *testing.T) {
	t.Parallel()
	data := notifyData{OrderID: "0123456789abcdef", UserID: "u1", TotalCents: 100, Currency: "USD", ProductID: "p1",
		SKU: "MUG-1", Name: "Mug", Available: 1, Threshold: 5}
	sharedtest.CheckConsumerTypes(t, notifyTopics, notificationTypes, data, func(e shared.Event) bool {
		_, _, ok := notificationFor(e)
		return ok
	})
}

func TestNotificationID(t *testing.T) {
	t.Parallel()
	id := shared.NewID()
	for in, want := range map[string]bool{id: true, "evt-1": false, "../x y": false, "": false} {
		got := notificationID(in)
		if (got == in) != want || !shared.ValidID(got) || !validNotificationID(got) {
			t.Errorf("notificationID(%q) = %q", in, got)
		}
	}
}
