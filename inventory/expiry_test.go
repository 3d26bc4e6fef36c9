package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestReservationExpiry runs the sweeper in a synctest bubble: a reservation not paid within the
// TTL is released with reason "expired" and its stock comes back; a paid one is not touched.
func TestReservationExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newMemStore()
		inv := newTestInventory(s) // TTL 15m
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { inv.sweeper(ctx, 5*time.Second) })
		defer func() { cancel(); wg.Wait() }()

		mustCreate(t, s, "A", 10)
		mustHandle(t, inv.handleOrderEvent, orderEvent(t, "order.created", "unpaid", orderLine{"A", 3}))
		mustHandle(t, inv.handleOrderEvent, orderEvent(t, "order.created", "paid", orderLine{"A", 4}))
		checkItem(t, s, "A", 10, 7)

		time.Sleep(14 * time.Minute)
		synctest.Wait()
		if st := state(t, s, "unpaid"); st != stateHeld {
			t.Fatalf("after 14m: state = %s, want held", st)
		}
		mustHandle(t, inv.handleOrderEvent, orderEvent(t, "order.paid", "paid"))

		time.Sleep(time.Minute + 5*time.Second) // past the TTL and one sweep interval
		synctest.Wait()
		if st := state(t, s, "unpaid"); st != stateReleased {
			t.Fatalf("after 15m05s: state = %s, want released", st)
		}
		checkItem(t, s, "A", 6, 0)
		d, _ := oneEvent[releasedData](t, s, evReleased)
		if d.Reason != reasonExpired || d.OrderID != "unpaid" {
			t.Errorf("released = %+v, want order unpaid reason expired", d)
		}
		// A payment that arrives after expiry (order took it before: the event was late) takes the
		// stock again and commits it (TestPaymentAfterExpiry).
		mustHandle(t, inv.handleOrderEvent, orderEvent(t, "order.paid", "unpaid"))
		checkItem(t, s, "A", 3, 0)
	})
}

// TestPaymentAfterExpiry: order accepted a payment before the reservation expired, but order.paid
// reached inventory after the sweeper had released it (Kafka or inventory down, a rebalance). The
// stock is taken again and committed when it is still there; when it is gone the reservation is
// rejected, so order cancels and refunds the order. Before, the payment committed nothing: a paid
// order with its units back on sale. A reservation released by a cancellation stays released.
func TestPaymentAfterExpiry(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		inv := newTestInventory(s)
		ctx := context.Background()
		mustCreate(t, s, "A", 10)
		mustCreate(t, s, "B", 2)
		inv.ttl = -time.Second // due at once
		deliver(t, inv, "order.created", "late", orderLine{"A", 3})
		deliver(t, inv, "order.created", "gone", orderLine{"B", 2})
		if n, err := inv.Sweep(ctx, 100); err != nil || n != 2 {
			t.Fatalf("Sweep = %d, %v; want both released", n, err)
		}
		checkItem(t, s, "A", 10, 0)
		inv.ttl = 15 * time.Minute
		deliver(t, inv, "order.created", "other", orderLine{"B", 2}) // B sold out meanwhile
		deliver(t, inv, "order.created", "cx", orderLine{"A", 1})
		deliver(t, inv, "order.cancelled", "cx")

		for range 2 { // the second delivery changes nothing
			deliver(t, inv, "order.paid", "late")
			if st := state(t, s, "late"); st != stateCommitted {
				t.Fatalf("late payment with the stock there: state %s, want committed", st)
			}
			checkItem(t, s, "A", 7, 0)
		}
		if r, err := s.GetReservation(ctx, "late"); err != nil || r.SettledAt != nil || r.Reason != reasonPaidAfterExpiry {
			t.Errorf("retaken reservation = settled_at %v reason %q, %v; want no settled_at (the TTL index would remove it) and reason %q", r.SettledAt, r.Reason, err, reasonPaidAfterExpiry)
		}
		deliver(t, inv, "order.paid", "gone")
		if st := state(t, s, "gone"); st != stateRejected {
			t.Fatalf("late payment with the stock gone: state %s, want rejected", st)
		}
		checkItem(t, s, "B", 2, 2)
		var found bool
		for _, e := range outboxOf(t, s, evRejected) {
			var d rejectedData
			if json.Unmarshal(e.Data, &d) == nil && d.OrderID == "gone" {
				found = len(d.Shortages) == 1 && d.Shortages[0] == Shortage{SKU: "B", Requested: 2, Available: 0}
			}
		}
		if !found {
			t.Errorf("no inventory.rejected for order gone with the shortage of B")
		}
		deliver(t, inv, "order.paid", "cx")
		if st := state(t, s, "cx"); st != stateReleased {
			t.Errorf("payment of a cancelled order: state %s, want released", st)
		}
		checkItem(t, s, "A", 7, 0)
	})
}

// TestSweepSeveralInstances runs four sweepers of two instances on one store at once: every expired
// reservation is released exactly once.
func TestSweepSeveralInstances(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		const orders = 60
		skipIfNotAtomic(t, s)
		a, b := newTestInventory(s), newTestInventory(s)
		a.ttl = -time.Second // every reservation is due at once
		mustCreate(t, s, "A", orders)
		for i := range orders {
			if st, err := a.Reserve(context.Background(), orderData{OrderID: fmt.Sprint("o", i), UserID: "u", Items: []orderLine{{"A", 1}}}); err != nil || st != stateHeld {
				t.Fatalf("Reserve = %s, %v", st, err)
			}
		}
		checkItem(t, s, "A", orders, orders)
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total int
		)
		for _, inv := range []*inventory{a, b, a, b} {
			wg.Go(func() {
				n, err := inv.Sweep(context.Background(), 7)
				if err != nil {
					t.Errorf("Sweep: %v", err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			})
		}
		wg.Wait()
		checkItem(t, s, "A", orders, 0)
		if total != orders {
			t.Errorf("sweeps released %d in total, want %d (each exactly once)", total, orders)
		}
		if got := a.results.Value("released_expired") + b.results.Value("released_expired"); got != orders {
			t.Errorf("released_expired = %d, want %d", got, orders)
		}
	})
}
