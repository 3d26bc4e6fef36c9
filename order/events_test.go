package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func TestSaga(t *testing.T) {
	t.Parallel()
	reserved := func(id string) map[string]any {
		return map[string]any{"order_id": id, "user_id": "u-demo", "items": []any{}, "expires_at": "2999-01-01T00:00:00Z"}
	}
	released := func(id, reason string) map[string]any {
		return map[string]any{"order_id": id, "user_id": "u-demo", "reason": reason}
	}
	rejected := func(id string) map[string]any {
		return map[string]any{"order_id": id, "user_id": "u-demo", "reason": "insufficient stock",
			"shortages": []map[string]any{{"sku": "MUG-1", "requested": 3, "available": 1}, {"sku": "TSHIRT-1", "requested": 1, "available": 0}}}
	}
	type step struct {
		eventID, typ string
		data         func(id string) map[string]any
		pay, cancel  bool // instead of an event: the customer pays / cancels
	}
	tests := []struct {
		name       string
		steps      []step
		wantStatus Status
		wantReason string
		wantEvents string
	}{
		{"happy path", []step{{typ: evReserved, data: reserved}, {pay: true}, {typ: "inventory.committed", data: func(id string) map[string]any { return released(id, "") }}},
			StatusPaid, "", "order.created,order.confirmed,order.paid"},
		{"out of stock names the short lines", []step{{typ: evRejected, data: rejected}},
			StatusRejected, "out of stock: MUG-1 (requested 3, available 1), TSHIRT-1 (requested 1, available 0)", "order.created,order.rejected"},
		{"reservation expired", []step{{typ: evReserved, data: reserved}, {typ: evReleased, data: func(id string) map[string]any { return released(id, "expired") }}},
			StatusCancelled, reasonExpired, "order.created,order.confirmed,order.cancelled"},
		{"expired before reserved arrives", []step{{typ: evReleased, data: func(id string) map[string]any { return released(id, "expired") }}},
			StatusCancelled, reasonExpired, "order.created,order.cancelled"},
		{"own release changes nothing", []step{{typ: evReserved, data: reserved}, {cancel: true}, {typ: evReleased, data: func(id string) map[string]any { return released(id, "cancelled") }}},
			StatusCancelled, "cancelled by the customer", "order.created,order.confirmed,order.cancelled"},
		{"duplicate reserved", []step{{eventID: "e1", typ: evReserved, data: reserved}, {eventID: "e1", typ: evReserved, data: reserved}, {typ: evReserved, data: reserved}},
			StatusConfirmed, "", "order.created,order.confirmed"},
		{"duplicate rejected", []step{{eventID: "e1", typ: evRejected, data: rejected}, {eventID: "e1", typ: evRejected, data: rejected}},
			StatusRejected, "", "order.created,order.rejected"},
		{"late reserved after cancel releases, no resurrection", []step{{cancel: true}, {eventID: "late", typ: evReserved, data: reserved}, {eventID: "late", typ: evReserved, data: reserved}},
			StatusCancelled, "cancelled by the customer", "order.created,order.cancelled,order.cancelled"},
		{"late reserved after rejection releases", []step{{typ: evRejected, data: rejected}, {typ: evReserved, data: reserved}},
			StatusRejected, "", "order.created,order.rejected,order.cancelled"},
		{"rejected after confirmed is ignored", []step{{typ: evReserved, data: reserved}, {typ: evRejected, data: rejected}},
			StatusConfirmed, "", "order.created,order.confirmed"},
		{"expiry after payment is ignored", []step{{typ: evReserved, data: reserved}, {pay: true}, {typ: evReleased, data: func(id string) map[string]any { return released(id, "expired") }}},
			StatusPaid, "", "order.created,order.confirmed,order.paid"},
		// inventory took the stock again for the late payment (retake) and it was gone: refunded.
		{"rejected after payment cancels", []step{{typ: evReserved, data: reserved}, {pay: true}, {typ: evReleased, data: func(id string) map[string]any { return released(id, "expired") }},
			{typ: evRejected, data: rejected}},
			StatusCancelled, reasonPaidTooLate + "out of stock: MUG-1 (requested 3, available 1), TSHIRT-1 (requested 1, available 0)", "order.created,order.confirmed,order.paid,order.cancelled"},
		{"other event types are ignored", []step{{typ: "inventory.updated", data: func(string) map[string]any { return map[string]any{"sku": "MUG-1"} }}},
			StatusPending, "", "order.created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			id := h.create("k", `[{"sku":"MUG-1","quantity":1}]`).ID
			for i, s := range tt.steps {
				switch {
				case s.pay:
					if code, body, _ := h.do("POST", "/orders/"+id+"/pay", h.customer, payJSON); code != http.StatusOK {
						t.Fatalf("step %d pay: %d %s", i, code, body)
					}
				case s.cancel:
					if code, body, _ := h.do("POST", "/orders/"+id+"/cancel", h.customer, ""); code != http.StatusOK {
						t.Fatalf("step %d cancel: %d %s", i, code, body)
					}
				default:
					if err := h.inventoryEvent(s.eventID, s.typ, s.data(id)); err != nil {
						t.Fatalf("step %d %s: %v", i, s.typ, err)
					}
				}
			}
			o, _ := h.store.Get(context.Background(), id)
			if o.Status != tt.wantStatus || tt.wantReason != "" && o.StatusReason != tt.wantReason {
				t.Errorf("status %s reason %q, want %s %q", o.Status, o.StatusReason, tt.wantStatus, tt.wantReason)
			}
			if got := strings.Join(h.outboxTypes(id), ","); got != tt.wantEvents {
				t.Errorf("outbox = %s, want %s", got, tt.wantEvents)
			}
		})
	}
}

// TestRepeatEventsSayNoChange: the order.cancelled that releases a late reservation repeats a move
// made earlier; its data says so (previous_status = status), so the services that tell people
// (user's mails, realtime's notifications) do not report a second cancellation, or a cancellation
// of a rejected order.
func TestRepeatEventsSayNoChange(t *testing.T) {
	t.Parallel()
	reserved := map[string]any{"user_id": "u-demo", "items": []any{}, "expires_at": "2999-01-01T00:00:00Z"}
	for _, first := range []Status{StatusCancelled, StatusRejected} {
		h := newHarness(t)
		id := h.create("k", `[{"sku":"MUG-1","quantity":1}]`).ID
		if first == StatusCancelled {
			if code, body, _ := h.do("POST", "/orders/"+id+"/cancel", h.customer, ""); code != http.StatusOK {
				t.Fatalf("cancel: %d %s", code, body)
			}
		} else if err := h.inventoryEvent("", evRejected, map[string]any{"order_id": id, "user_id": "u-demo", "reason": "x"}); err != nil {
			t.Fatal(err)
		}
		reserved["order_id"] = id
		if err := h.inventoryEvent("late", evReserved, reserved); err != nil {
			t.Fatal(err)
		}
		o, _ := h.store.Get(context.Background(), id)
		last := o.Events[len(o.Events)-1]
		var d orderEventData
		if err := json.Unmarshal([]byte(last.Data), &d); err != nil || last.Type != "order.cancelled" || d.Status != first || d.PreviousStatus != first {
			t.Errorf("%s order, late reservation: last event %s status %q previous_status %q (%v), want order.cancelled %s %s",
				first, last.Type, d.Status, d.PreviousStatus, err, first, first)
		}
	}
}

func TestSagaBadEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, typ := range []string{evReserved, evRejected, evReleased} {
		e := shared.Event{ID: "x", Type: typ, Data: []byte(`{"order_id":5}`)}
		if err := h.co.handleInventoryEvent(context.Background(), e); !errors.Is(err, shared.ErrPoison) {
			t.Errorf("%s with bad data: err = %v, want ErrPoison", typ, err)
		}
		e.Data = []byte(`{}`)
		if err := h.co.handleInventoryEvent(context.Background(), e); !errors.Is(err, shared.ErrPoison) {
			t.Errorf("%s without order_id: err = %v, want ErrPoison", typ, err)
		}
	}
	if err := h.inventoryEvent("", evReserved, map[string]any{"order_id": shared.NewID()}); err != nil {
		t.Errorf("event for unknown order: err = %v, want nil (skipped)", err)
	}
}

// TestInventoryTypes: the consumer's Types are exactly the inventory events the handler acts on.
func TestInventoryTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sharedtest.CheckConsumerTypes(t, []string{shared.TopicInventory}, inventoryTypes, sharedtest.Undecodable,
		sharedtest.RefusesUndecodable(h.co.handleInventoryEvent))
}

// failingStore makes Get fail, as a Mongo outage would.
type failingStore struct{ orderStore }

func (failingStore) Get(context.Context, string) (Order, error) {
	return Order{}, errors.New("mongo down")
}

func TestSagaStoreDownIsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.co.store = failingStore{h.store}
	if err := h.inventoryEvent("", evReserved, map[string]any{"order_id": shared.NewID()}); err == nil || errors.Is(err, shared.ErrPoison) {
		t.Errorf("event while the store is down: err = %v, want a retryable error", err)
	}
}

// TestSagaRaceCancelAndReserve delivers inventory.reserved while the customer cancels: whichever
// wins, the order ends cancelled and inventory is told to release (order.cancelled is last).
func TestSagaRaceCancelAndReserve(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range 20 {
		id := h.create(shared.NewID(), `[{"sku":"MUG-1","quantity":1}]`).ID
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := h.inventoryEvent("", evReserved, map[string]any{"order_id": id}); err != nil {
				t.Errorf("reserved: %v", err)
			}
		})
		wg.Go(func() {
			if code, body, _ := h.do("POST", "/orders/"+id+"/cancel", h.customer, ""); code != http.StatusOK {
				t.Errorf("cancel: %d %s", code, body)
			}
		})
		wg.Wait()
		types := h.outboxTypes(id)
		if h.status(id) != StatusCancelled || types[len(types)-1] != "order.cancelled" {
			t.Fatalf("round %d: status %s events %v", i, h.status(id), types)
		}
	}
}

// flakyRefunds fails the first refund, then refunds through the stub.
type flakyRefunds struct {
	*stubPayments
	mu    sync.Mutex
	calls int
}

func (f *flakyRefunds) Refund(ctx context.Context, chargeID string) (string, error) {
	f.mu.Lock()
	f.calls++
	first := f.calls == 1
	f.mu.Unlock()
	if first {
		return "", fmt.Errorf("provider down: %w", shared.ErrUnavailable)
	}
	return f.stubPayments.Refund(ctx, chargeID)
}

// TestPaidOrderRejectedIsRefunded: inventory rejects a paid order's reservation (the payment reached
// it after the reservation expired and the stock was gone). The order is cancelled once and its
// payment refunded; a failing refund fails the event, and the redelivery refunds without moving the
// order again. Before, the order stayed paid with no stock behind it.
func TestPaidOrderRejectedIsRefunded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.create("k", `[{"sku":"MUG-1","quantity":1}]`).ID
	h.confirm(id)
	if code, body, _ := h.do("POST", "/orders/"+id+"/pay", h.customer, payJSON); code != http.StatusOK {
		t.Fatalf("pay: %d %s", code, body)
	}
	pay := &flakyRefunds{stubPayments: h.pay}
	h.co.payments = pay
	rejected := map[string]any{"order_id": id, "user_id": "u-demo", "reason": "insufficient stock",
		"shortages": []map[string]any{{"sku": "MUG-1", "requested": 1, "available": 0}}}
	if err := h.inventoryEvent("rej-1", evRejected, rejected); err == nil {
		t.Fatal("inventory.rejected with the refund failing: nil error, want one (so the consumer retries)")
	}
	o, _ := h.store.Get(context.Background(), id)
	if o.Status != StatusCancelled || o.Payment == nil || o.Payment.RefundID != "" {
		t.Fatalf("after a failed refund: status %s payment %+v, want cancelled, not refunded yet", o.Status, o.Payment)
	}
	for range 2 { // the redelivery refunds; one more changes nothing
		if err := h.inventoryEvent("rej-1", evRejected, rejected); err != nil {
			t.Fatalf("redelivered inventory.rejected: %v", err)
		}
	}
	o, _ = h.store.Get(context.Background(), id)
	if o.Status != StatusCancelled || o.Payment.RefundID == "" || !strings.HasPrefix(o.StatusReason, reasonPaidTooLate) {
		t.Errorf("after the redelivery: status %s reason %q refund %q, want cancelled, refunded, reason %q...", o.Status, o.StatusReason, o.Payment.RefundID, reasonPaidTooLate)
	}
	if pay.calls != 2 {
		t.Errorf("refund calls = %d, want 2 (the failure, then one refund)", pay.calls)
	}
	if got := strings.Join(h.outboxTypes(id), ","); got != "order.created,order.confirmed,order.paid,order.cancelled" {
		t.Errorf("outbox = %s, want one order.cancelled after order.paid", got)
	}
}
