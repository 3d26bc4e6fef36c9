package main

import (
	"context"
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
		// A payment that arrives after expiry commits nothing.
		mustHandle(t, inv.handleOrderEvent, orderEvent(t, "order.paid", "unpaid"))
		checkItem(t, s, "A", 6, 0)
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
