package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
)

// busInventory is an in-memory event bus plus an inventory that behaves like the real one on the
// saga's edges: order.created reserves for ttl (then releases with reason "expired"), order.paid
// commits, order.cancelled releases. Its answers go straight to the saga's consumer.
type busInventory struct {
	co  *checkout
	ttl time.Duration

	mu     sync.Mutex
	timers map[string]*time.Timer
	final  map[string]string // order ID → committed | expired | released
}

func (b *busInventory) deliver(typ, orderID string, data map[string]any) {
	data["order_id"] = orderID
	e, _ := shared.NewEvent(typ, orderID, data)
	if err := b.co.handleInventoryEvent(context.Background(), e); err != nil {
		panic(err) // the in-memory store does not fail
	}
}

func (b *busInventory) Publish(_ context.Context, _ string, events ...shared.Event) error {
	for _, e := range events {
		var d orderEventData
		json.Unmarshal(e.Data, &d)
		id := d.OrderID
		b.mu.Lock()
		t := b.timers[id]
		switch e.Type {
		case "order.created":
			if t == nil {
				b.timers[id] = time.AfterFunc(b.ttl, func() {
					b.mu.Lock()
					b.final[id] = "expired"
					b.mu.Unlock()
					b.deliver(evReleased, id, map[string]any{"reason": "expired"})
				})
			}
		case "order.paid", "order.cancelled":
			if t != nil && t.Stop() {
				b.final[id] = map[string]string{"order.paid": "committed", "order.cancelled": "released"}[e.Type]
			}
		}
		b.mu.Unlock()
		switch e.Type {
		case "order.created":
			if t == nil {
				b.deliver(evReserved, id, map[string]any{"expires_at": time.Now().Add(b.ttl)})
			}
		case "order.cancelled":
			b.deliver(evReleased, id, map[string]any{"reason": "cancelled"})
		}
	}
	return nil
}

// TestSagaOnBus runs whole checkouts on the in-memory bus under synctest: payment declined then
// approved, reservation expiry after 15 minutes (and pay refused just before it), owner cancel.
func TestSagaOnBus(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := newMemOrderStore()
		pay := newStubPayments()
		metrics := shared.NewMetrics("order")
		co := newCheckout(slog.New(slog.DiscardHandler), store, pay, metrics, nil)
		inv := &busInventory{co: co, ttl: 15 * time.Minute, timers: map[string]*time.Timer{}, final: map[string]string{}}
		r := newRelay(slog.New(slog.DiscardHandler), store, inv, metrics, time.Second)
		co.wake = r.Wake
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go r.Run(ctx)

		place := func(key string) string {
			o := testOrder(t, "u-demo", key, co.now())
			if err := store.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			r.Wake()
			synctest.Wait()
			return o.ID
		}
		status := func(id string) Order {
			o, err := store.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		good := card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2031, CVC: "123"}
		bad := card{Number: declineCard, ExpMonth: 12, ExpYear: 2031, CVC: "123"}

		// Declined, then approved.
		a := place("a")
		if s := status(a).Status; s != StatusConfirmed {
			t.Fatalf("order a after order.created: %s, want confirmed", s)
		}
		if _, err := co.pay(ctx, a, bad); err == nil || !strings.Contains(err.Error(), "declined") {
			t.Fatalf("pay with declining card: err = %v", err)
		}
		if s := status(a).Status; s != StatusConfirmed {
			t.Fatalf("order a after decline: %s, want confirmed", s)
		}
		if _, err := co.pay(ctx, a, good); err != nil {
			t.Fatalf("pay: %v", err)
		}

		// Left unpaid: pay is refused just before expiry, then inventory expires the reservation.
		b := place("b")
		c := place("c")
		if _, err := co.cancel(ctx, c, actorOwner, "changed my mind"); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		time.Sleep(15*time.Minute - 3*time.Second)
		var se *shared.Error
		if _, err := co.pay(ctx, b, good); !errors.As(err, &se) || se.Code != shared.CodeConflict || !strings.Contains(se.Message, "expired") {
			t.Errorf("pay 3 s before expiry: err = %v, want 409 reservation expired", err)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()

		want := map[string]struct {
			status Status
			reason string
			inv    string
			events string
		}{
			a: {StatusPaid, "", "committed", "order.created,order.confirmed,order.paid"},
			b: {StatusCancelled, reasonExpired, "expired", "order.created,order.confirmed,order.cancelled"},
			c: {StatusCancelled, "changed my mind", "released", "order.created,order.confirmed,order.cancelled"},
		}
		for id, w := range want {
			o := status(id)
			var types []string
			for _, e := range o.Events {
				types = append(types, e.Type)
			}
			inv.mu.Lock()
			final := inv.final[id]
			inv.mu.Unlock()
			if o.Status != w.status || o.StatusReason != w.reason || final != w.inv || strings.Join(types, ",") != w.events || o.SentSeq != len(o.Events) {
				t.Errorf("order %s: %s %q, inventory %s, events %v (sent %d); want %s %q %s %s", id, o.Status, o.StatusReason, final, types, o.SentSeq, w.status, w.reason, w.inv, w.events)
			}
		}
		if n := pay.chargeCount(); n != 1 {
			t.Errorf("charges = %d, want 1", n)
		}
	})
}
