package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func newTestInventory(s stockStore) *inventory {
	return newInventory(slog.New(slog.NewTextHandler(io.Discard, nil)), s, shared.NewMetrics("inventory"), 15*time.Minute, 5, nil)
}

// outboxOf returns the stored events of type typ (all types when typ is "").
func outboxOf(t *testing.T, s stockStore, typ string) []shared.Event {
	t.Helper()
	entries, err := s.PendingOutbox(context.Background(), 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []shared.Event
	for _, e := range entries {
		if typ == "" || e.Event.Type == typ {
			out = append(out, e.Event)
		}
	}
	return out
}

// oneEvent returns the one stored event of type typ and its data decoded into T; it stops the test
// when there is not exactly one or its data does not decode.
func oneEvent[T any](t *testing.T, s stockStore, typ string) (T, shared.Event) {
	t.Helper()
	var data T
	events := outboxOf(t, s, typ)
	if len(events) != 1 {
		t.Fatalf("%s events = %d, want 1", typ, len(events))
	}
	if err := json.Unmarshal(events[0].Data, &data); err != nil {
		t.Fatalf("%s data: %v", typ, err)
	}
	return data, events[0]
}

func orderEvent(t *testing.T, typ, orderID string, lines ...orderLine) shared.Event {
	t.Helper()
	e, err := shared.NewEvent(typ, orderID, map[string]any{"order_id": orderID, "user_id": "u1", "status": "pending",
		"items": lines, "total_cents": 100, "currency": "USD"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func productEvent(t *testing.T, typ, sku string, stock int64) shared.Event {
	t.Helper()
	e, err := shared.NewEvent(typ, "p-"+sku, map[string]any{"product_id": "p-" + sku, "sku": sku, "name": "x",
		"price_cents": 100, "currency": "USD", "category": "c", "active": true, "stock": stock})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustHandle(t *testing.T, h shared.EventHandler, e shared.Event) {
	t.Helper()
	if err := h(context.Background(), e); err != nil {
		t.Fatalf("handle %s: %v", e.Type, err)
	}
}

// deliver hands inv a new order event typ of orderID with lines, failing the test on an error.
func deliver(t *testing.T, inv *inventory, typ, orderID string, lines ...orderLine) {
	t.Helper()
	mustHandle(t, inv.handleEvent, orderEvent(t, typ, orderID, lines...))
}

func state(t *testing.T, s stockStore, orderID string) resState {
	t.Helper()
	r, err := s.GetReservation(context.Background(), orderID)
	if err != nil {
		t.Fatalf("GetReservation(%s): %v", orderID, err)
	}
	return r.State
}

func TestProductEvents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		inv := newTestInventory(s)
		created := productEvent(t, "product.created", "mug-1", 40)
		mustHandle(t, inv.handleEvent, created)
		mustHandle(t, inv.handleEvent, created) // the same event again
		checkItem(t, s, "MUG-1", 40, 0)
		if _, _, err := inv.Adjust(context.Background(), "MUG-1", -10, "broken", "admin", ""); err != nil {
			t.Fatal(err)
		}
		// A later duplicate (new event ID, same SKU) never resets stock.
		mustHandle(t, inv.handleEvent, productEvent(t, "product.created", "MUG-1", 40))
		checkItem(t, s, "MUG-1", 30, 0)
		if n := len(outboxOf(t, s, evUpdated)); n != 2 {
			t.Errorf("inventory.updated events = %d, want 2 (create, adjust)", n)
		}
		mustHandle(t, inv.handleEvent, productEvent(t, "product.created", "low-1", 3))
		if n := len(outboxOf(t, s, evLowStock)); n != 1 {
			t.Errorf("inventory.low_stock events after creating 3 with threshold 5 = %d, want 1", n)
		}
		del, _ := shared.NewEvent("product.deleted", "p-MUG-1", map[string]string{"product_id": "p-MUG-1", "sku": "MUG-1"})
		mustHandle(t, inv.handleEvent, del)
		if st, _ := inv.Reserve(context.Background(), orderData{OrderID: "o1", UserID: "u1", Items: []orderLine{{"MUG-1", 1}}}); st != stateRejected {
			t.Errorf("reserve of a deleted product = %s, want rejected", st)
		}
		for _, bad := range []string{`{"sku":{"$gt":""},"stock":1}`, `{"sku":"A","stock":-1}`, `not json`} {
			e := shared.Event{ID: "x", Type: "product.created", Data: json.RawMessage(bad)}
			if err := inv.handleProductEvent(context.Background(), e); !errors.Is(err, shared.ErrPoison) {
				t.Errorf("product.created %s: err = %v, want ErrPoison", bad, err)
			}
		}
	})
}

func TestReserveAllOrNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		inv := newTestInventory(s)
		mustCreate(t, s, "A", 5)
		mustCreate(t, s, "B", 2)
		mustCreate(t, s, "C", 1)
		mustCreate(t, s, "D", 20)
		deliver(t, inv, "order.created", "o1", orderLine{"a", 3}, orderLine{"B", 5}, orderLine{"C", 9}, orderLine{"ghost", 1})
		if st := state(t, s, "o1"); st != stateRejected {
			t.Fatalf("o1 state = %s, want rejected", st)
		}
		checkItem(t, s, "A", 5, 0) // the line taken first was given back
		checkItem(t, s, "B", 2, 0)
		d, rej := oneEvent[rejectedData](t, s, evRejected)
		want := []Shortage{{"B", 5, 2}, {"C", 9, 1}, {"GHOST", 1, 0}}
		if len(d.Shortages) != len(want) {
			t.Fatalf("shortages = %+v, want %+v", d.Shortages, want)
		}
		for i := range want {
			if d.Shortages[i] != want[i] {
				t.Errorf("shortage %d = %+v, want %+v", i, d.Shortages[i], want[i])
			}
		}
		if d.OrderID != "o1" || d.UserID != "u1" || rej.AggregateID != "o1" {
			t.Errorf("rejected event = %+v / %s", d, rej.AggregateID)
		}

		// Two lines of the same SKU are one hold of their sum.
		deliver(t, inv, "order.created", "o2", orderLine{"A", 2}, orderLine{"A", 3}, orderLine{"B", 2}, orderLine{"D", 16})
		if st := state(t, s, "o2"); st != stateHeld {
			t.Fatalf("o2 state = %s, want held", st)
		}
		checkItem(t, s, "A", 5, 5)
		checkItem(t, s, "B", 2, 2)
		rd, _ := oneEvent[reservedData](t, s, evReserved)
		if len(rd.Items) != 3 || rd.Items[0] != (Line{"A", 5}) || rd.ExpiresAt.IsZero() {
			t.Errorf("reserved event = %+v", rd)
		}
		if n := len(outboxOf(t, s, evLowStock)); n != 1 {
			t.Errorf("inventory.low_stock events = %d, want 1 (D fell from 20 to 4; A and B were low already)", n)
		}

		// Invalid lines are rejected with a reason, not dropped, so the order does not hang.
		deliver(t, inv, "order.created", "o3", orderLine{"A", 0})
		if st := state(t, s, "o3"); st != stateRejected {
			t.Errorf("o3 (quantity 0) state = %s, want rejected", st)
		}
		if err := inv.handleOrderEvent(context.Background(), orderEvent(t, "order.created", "bad.id$", orderLine{"A", 1})); !errors.Is(err, shared.ErrPoison) {
			t.Errorf("order with a bad ID: err = %v, want ErrPoison", err)
		}
	})
}

func TestOrderLifecycleOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		inv := newTestInventory(s)
		mustCreate(t, s, "A", 10)
		created := orderEvent(t, "order.created", "o1", orderLine{"A", 4})
		mustHandle(t, inv.handleEvent, created)
		mustHandle(t, inv.handleEvent, created) // duplicate delivery
		deliver(t, inv, "order.created", "o1", orderLine{"A", 4})
		checkItem(t, s, "A", 10, 4)
		if n := len(outboxOf(t, s, evReserved)); n != 1 {
			t.Errorf("inventory.reserved events after 3 deliveries = %d, want 1", n)
		}
		paid := orderEvent(t, "order.paid", "o1")
		mustHandle(t, inv.handleEvent, paid)
		mustHandle(t, inv.handleEvent, paid)
		checkItem(t, s, "A", 6, 0)
		if n := len(outboxOf(t, s, evCommitted)); n != 1 {
			t.Errorf("inventory.committed events = %d, want 1", n)
		}
		cancelled := orderEvent(t, "order.cancelled", "o1")
		mustHandle(t, inv.handleEvent, cancelled) // a refund: stock comes back
		mustHandle(t, inv.handleEvent, cancelled)
		mustHandle(t, inv.handleEvent, paid) // late duplicate payment changes nothing
		checkItem(t, s, "A", 10, 0)
		d, _ := oneEvent[releasedData](t, s, evReleased)
		if d.Reason != reasonCancelled || d.OrderID != "o1" {
			t.Errorf("released = %+v, want reason cancelled", d)
		}

		// Held then cancelled: the hold is released.
		deliver(t, inv, "order.created", "o2", orderLine{"A", 10})
		checkItem(t, s, "A", 10, 10)
		deliver(t, inv, "order.cancelled", "o2")
		deliver(t, inv, "order.cancelled", "o2")
		checkItem(t, s, "A", 10, 0)
	})
}

func TestOutOfOrderEvents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		inv := newTestInventory(s)
		mustCreate(t, s, "A", 10)

		// Cancelled before created: the late order.created reserves nothing.
		deliver(t, inv, "order.cancelled", "o1")
		deliver(t, inv, "order.created", "o1", orderLine{"A", 3})
		checkItem(t, s, "A", 10, 0)
		if st := state(t, s, "o1"); st != stateCancelled {
			t.Errorf("o1 state = %s, want cancelled", st)
		}

		// Paid before created: reserved and committed at once when created arrives.
		deliver(t, inv, "order.paid", "o2")
		checkItem(t, s, "A", 10, 0)
		deliver(t, inv, "order.created", "o2", orderLine{"A", 3})
		checkItem(t, s, "A", 7, 0)
		if st := state(t, s, "o2"); st != stateCommitted {
			t.Errorf("o2 state = %s, want committed", st)
		}
		if n := len(outboxOf(t, s, evCommitted)); n != 1 {
			t.Errorf("inventory.committed events = %d, want 1", n)
		}

		// Paid, then cancelled, then created: nothing is held.
		deliver(t, inv, "order.paid", "o3")
		deliver(t, inv, "order.cancelled", "o3")
		deliver(t, inv, "order.created", "o3", orderLine{"A", 3})
		checkItem(t, s, "A", 7, 0)

		// Paid after the reservation was rejected: nothing to commit.
		deliver(t, inv, "order.created", "o4", orderLine{"A", 100})
		deliver(t, inv, "order.paid", "o4")
		checkItem(t, s, "A", 7, 0)
		if st := state(t, s, "o4"); st != stateRejected {
			t.Errorf("o4 state = %s, want rejected", st)
		}
	})
}

// TestReserveResumesAfterCrash simulates an instance that died after holding some lines: the
// reservation is left in state reserving with a hold taken; the redelivered order.created finishes
// it without holding that line twice.
func TestReserveResumesAfterCrash(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		inv := newTestInventory(s)
		ctx := context.Background()
		mustCreate(t, s, "A", 10)
		mustCreate(t, s, "B", 10)
		s.CreateReservation(ctx, Reservation{OrderID: "o1", UserID: "u1", State: stateReserving,
			Items: []Line{{"A", 4}, {"B", 4}}, CreatedAt: t0, UpdatedAt: t0})
		s.Hold(ctx, "A", "o1", 4, t0)
		deliver(t, inv, "order.created", "o1", orderLine{"A", 4}, orderLine{"B", 4})
		checkItem(t, s, "A", 10, 4)
		checkItem(t, s, "B", 10, 4)
		if st := state(t, s, "o1"); st != stateHeld {
			t.Errorf("o1 state = %s, want held", st)
		}
		// A cancel while another attempt is mid-way is retried, not applied half.
		s.CreateReservation(ctx, Reservation{OrderID: "o2", State: stateReserving, CreatedAt: t0, UpdatedAt: t0})
		if _, err := inv.Release(ctx, "o2", "u1", reasonCancelled); !errors.Is(err, shared.ErrUnavailable) {
			t.Errorf("Release of a reserving order: err = %v, want a retryable ErrUnavailable", err)
		}
	})
}

// TestEventsKeepTrace: the events inventory writes keep the trace of what caused them (here the
// consumed order.created), so the relay's later publish continues it.
func TestEventsKeepTrace(t *testing.T) {
	t.Parallel()
	s := newMemStore()
	inv := newTestInventory(s)
	ctx, want := sharedtest.TracedContext(t)
	if _, err := inv.CreateItem(ctx, "SKU-T", 5, false, 1); err != nil {
		t.Fatal(err)
	}
	events := outboxOf(t, s, "")
	if len(events) == 0 {
		t.Fatal("no event written")
	}
	for _, e := range events {
		if e.TraceParent != want {
			t.Errorf("%s traceparent = %q, want %q", e.Type, e.TraceParent, want)
		}
	}
}
