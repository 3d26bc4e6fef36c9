package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
)

// lossyInventory answers order.created like the real inventory (the first one reserves, a repeat
// re-emits the same outcome under its fixed event ID), but the first answer for each order in lose
// never reaches the order service: the event lost in a fault.
type lossyInventory struct {
	co *checkout

	mu      sync.Mutex
	lose    map[string]bool
	created map[string]int // order.created seen per order
}

func (l *lossyInventory) Publish(_ context.Context, _ string, events ...shared.Event) error {
	for _, e := range events {
		if e.Type != "order.created" {
			continue
		}
		var d orderEventData
		json.Unmarshal(e.Data, &d)
		l.mu.Lock()
		l.created[d.OrderID]++
		drop := l.lose[d.OrderID]
		l.lose[d.OrderID] = false
		l.mu.Unlock()
		if drop {
			continue
		}
		answer, _ := shared.NewEvent(evReserved, d.OrderID, map[string]any{"order_id": d.OrderID, "expires_at": time.Now().Add(15 * time.Minute)})
		answer.ID = "reserved-" + d.OrderID // inventory's outcome IDs are fixed per order
		if err := l.co.handleInventoryEvent(context.Background(), answer); err != nil {
			return err
		}
	}
	return nil
}

func (l *lossyInventory) asked(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.created[id]
}

// TestReconcileRecoversLostReservation: inventory's inventory.reserved for one order is lost. Without
// reconciliation that order stays pending forever; with it, order.created is queued again once the
// order has waited ORDER_RECONCILE_AFTER, inventory re-answers, and the order is confirmed. Orders
// that got their answer are never asked twice, and a confirmed order is not asked again later.
func TestReconcileRecoversLostReservation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const after = 30 * time.Second
		store := newMemOrderStore()
		metrics := shared.NewMetrics("order")
		logger := slog.New(slog.DiscardHandler)
		co := newCheckout(logger, store, newStubPayments(), metrics, nil)
		inv := &lossyInventory{co: co, lose: map[string]bool{}, created: map[string]int{}}
		r := newRelay(logger, store, inv, metrics, time.Second)
		co.wake = r.Wake
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go r.Run(ctx)
		go co.reconcile(ctx, after, after/3)

		lost := testOrder(t, "u-demo", "lost", co.now())
		fine := testOrder(t, "u-demo", "fine", co.now())
		inv.lose[lost.ID] = true
		for _, o := range []Order{lost, fine} {
			if err := store.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		r.Wake()
		synctest.Wait()
		status := func(id string) Status {
			o, err := store.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return o.Status
		}
		if s := status(lost.ID); s != StatusPending {
			t.Fatalf("order whose answer was lost: %s, want pending", s)
		}
		time.Sleep(after - time.Second)
		synctest.Wait()
		if n := inv.asked(lost.ID); n != 1 || status(lost.ID) != StatusPending {
			t.Fatalf("before %s: asked %d times, status %s; want 1, pending", after, n, status(lost.ID))
		}
		time.Sleep(after/3 + time.Second)
		synctest.Wait()
		if s := status(lost.ID); s != StatusConfirmed {
			t.Fatalf("%s after the lost answer: %s, want confirmed (reconciled)", after+after/3, s)
		}
		time.Sleep(5 * after)
		synctest.Wait()
		if n := inv.asked(lost.ID); n != 2 {
			t.Errorf("order.created for the reconciled order sent %d times, want 2", n)
		}
		if n := inv.asked(fine.ID); n != 1 || status(fine.ID) != StatusConfirmed {
			t.Errorf("answered order: asked %d times, %s; want 1, confirmed", n, status(fine.ID))
		}
		if n := co.reconciled.Value(); n != 1 {
			t.Errorf("order_reconcile_nudges_total = %d, want 1", n)
		}
		cancel()
	})
}

// TestReconcileWaitsForTheOutbox: while the broker is down the order's own order.created is still
// unsent; asking again would only pile up copies, so nothing is queued until the outbox drained.
func TestReconcileWaitsForTheOutbox(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := newMemOrderStore()
		co := newCheckout(slog.New(slog.DiscardHandler), store, newStubPayments(), shared.NewMetrics("order"), nil)
		o := testOrder(t, "u-demo", "k", co.now())
		if err := store.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		if n, err := co.nudgeStale(t.Context(), 30*time.Second); n != 0 || err != nil {
			t.Fatalf("nudge with order.created unsent: %d, %v; want 0", n, err)
		}
		store.MarkSent(t.Context(), o.ID, 1)
		if n, err := co.nudgeStale(t.Context(), 30*time.Second); n != 1 || err != nil {
			t.Fatalf("nudge after the outbox drained: %d, %v; want 1", n, err)
		}
		if n, _ := co.nudgeStale(t.Context(), 30*time.Second); n != 0 {
			t.Errorf("nudge right again: %d, want 0 (the nudge refreshed updated_at)", n)
		}
		// The nudge is a question to inventory, not a second placement: its previous_status (and
		// reason) say so, so realtime does not announce the order again (a "New order" for every
		// nudge while inventory is down).
		got, err := store.Get(t.Context(), o.ID)
		if err != nil || len(got.Events) != 2 {
			t.Fatalf("after one nudge: %d events, %v; want 2", len(got.Events), err)
		}
		for i, want := range []string{"", reasonAskAgain} {
			var d orderEventData
			wantPrev := Status("")
			if want != "" {
				wantPrev = StatusPending // a repeat: the order did not move (previous_status = status)
			}
			if err := json.Unmarshal([]byte(got.Events[i].Data), &d); err != nil || got.Events[i].Type != "order.created" || d.Reason != want || d.PreviousStatus != wantPrev {
				t.Errorf("event %d: %s reason %q previous_status %q (%v), want order.created reason %q previous_status %q", i, got.Events[i].Type, d.Reason, d.PreviousStatus, err, want, wantPrev)
			}
		}
	})
}

// unansweredOrder stores a pending order whose order.created was published (and never answered), for
// a checkout without a relay: tests call nudgeStale themselves.
func unansweredOrder(t *testing.T) (*checkout, *memOrderStore, Order) {
	t.Helper()
	store := newMemOrderStore()
	co := newCheckout(slog.New(slog.DiscardHandler), store, newStubPayments(), shared.NewMetrics("order"), nil)
	o := testOrder(t, "u-demo", "k", co.now())
	if err := store.Create(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	store.MarkSent(t.Context(), o.ID, 1)
	return co, store, o
}

// TestReconcileBacksOff: while inventory never answers, an order is asked again after 30 s, then
// 1 m, 2 m, ... up to 32 m apart, not every 30 s: each nudge stays on the order document, which a
// day-long outage would otherwise grow by ~2,900 events.
func TestReconcileBacksOff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const after = 30 * time.Second
		co, store, o := unansweredOrder(t)
		var at []time.Duration // when each nudge went out, since the order was placed
		start := time.Now()
		for time.Since(start) < 3*time.Hour {
			time.Sleep(after / 3) // the reconcile interval
			n, err := co.nudgeStale(t.Context(), after)
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				at = append(at, time.Since(start))
				got, _ := store.Get(t.Context(), o.ID)
				store.MarkSent(t.Context(), o.ID, got.EventSeq) // the relay published it
			}
		}
		var gaps []time.Duration
		for i := 1; i < len(at); i++ {
			gaps = append(gaps, at[i]-at[i-1])
		}
		want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute}
		// The first pass after 30 s unchanged (updated_at must be strictly older): 40 s.
		if len(at) == 0 || at[0] != after+after/3 || len(gaps) < len(want)+1 {
			t.Fatalf("nudges at %v, want the first at %s and more than %d after it", at, after+after/3, len(want))
		}
		for i, w := range want {
			if gaps[i] != w {
				t.Errorf("gap %d = %s, want %s (all: %v)", i+1, gaps[i], w, gaps)
			}
		}
		for _, g := range gaps[len(want):] {
			if g != 32*time.Minute {
				t.Errorf("gap after the cap = %s, want 32m (all: %v)", g, gaps)
			}
		}
	})
}

// TestReconcileGivesUp: an order inventory never answers is asked again reconcileGiveUp times, about
// a day, and then cancelled with reasonNoAnswer (order.cancelled queued, which releases whatever
// inventory may hold and tells the customer). Before, it was asked every 32 minutes for good, each
// nudge growing the order's document (a 50-line order passed MongoDB's 16 MB in about two months).
// An order that moves on in the meantime is left alone.
func TestReconcileGivesUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const after = 30 * time.Second
		co, store, o := unansweredOrder(t)
		start := time.Now()
		for time.Since(start) < 3*24*time.Hour {
			time.Sleep(after / 3) // the reconcile interval
			if _, err := co.nudgeStale(t.Context(), after); err != nil {
				t.Fatal(err)
			}
			got, _ := store.Get(t.Context(), o.ID)
			store.MarkSent(t.Context(), o.ID, got.EventSeq) // the relay published it
			if got.Status != StatusPending {
				break
			}
		}
		got, _ := store.Get(t.Context(), o.ID)
		if got.Status != StatusCancelled || got.StatusReason != reasonNoAnswer {
			t.Fatalf("after %s: status %s (%q), want cancelled (%q)", time.Since(start).Round(time.Minute), got.Status, got.StatusReason, reasonNoAnswer)
		}
		if took := time.Since(start); took < 20*time.Hour || took > 30*time.Hour {
			t.Errorf("cancelled %s after it was placed, want about a day", took.Round(time.Minute))
		}
		if n := got.nudges(); n != reconcileGiveUp {
			t.Errorf("asked %d times before giving up, want %d", n, reconcileGiveUp)
		}
		if last := got.Events[len(got.Events)-1]; last.Type != "order.cancelled" {
			t.Errorf("last event %s, want order.cancelled", last.Type)
		}
		events := len(got.Events)
		time.Sleep(2 * time.Hour)
		if _, err := co.nudgeStale(t.Context(), after); err != nil {
			t.Fatal(err)
		}
		if got, _ := store.Get(t.Context(), o.ID); len(got.Events) != events {
			t.Errorf("a cancelled order grew from %d to %d events", events, len(got.Events))
		}
	})
}
