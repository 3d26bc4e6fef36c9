package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
)

// TestTwoCopiesOneStore: two inventory copies consume one group's events over the store they share
// (docs/events.md § Partitions, keys and many copies). Kafka hands one order's events to one copy at a
// time, but across a rebalance the new owner may get events the old one applied and had not
// committed, and two product relays may publish one product.created twice. Three deliveries are
// mixed: a clean handover (copy 1 reserves, copy 2 pays or cancels), a handover with redelivery (copy
// 2 gets order.created again first), and a double publish (both copies get everything). Whatever copy
// an event reaches, each order is reserved once and settled once, the stock moves once per order, and
// both copies see the same result.
func TestTwoCopiesOneStore(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, db stockStore) {
		store1, store2 := db, db // copy 1's and copy 2's view of the inventory database
		c1, c2 := newTestInventory(store1), newTestInventory(store2)
		sku := "TWO-" + strings.ToUpper(shared.NewID()[:8])
		created := productEvent(t, "product.created", sku, 100)
		mustHandle(t, c1.handleEvent, created)
		mustHandle(t, c2.handleEvent, created) // the second product relay's copy

		const orders = 12
		paid := 0
		for i := range orders {
			id := fmt.Sprintf("o-%s-%d", sku, i)
			reserve := orderEvent(t, "order.created", id, orderLine{sku, 2})
			settle := orderEvent(t, "order.cancelled", id)
			if i%2 == 0 {
				settle = orderEvent(t, "order.paid", id)
				paid++
			}
			var to1, to2 []shared.Event
			switch i % 3 {
			case 0: // handover: copy 1 applied and committed order.created, copy 2 owns the rest
				to1, to2 = []shared.Event{reserve}, []shared.Event{settle}
			case 1: // handover with redelivery of what copy 1 had not committed
				to1, to2 = []shared.Event{reserve}, []shared.Event{reserve, settle}
			case 2: // double publish: both copies see both events
				to1, to2 = []shared.Event{reserve, settle}, []shared.Event{reserve, settle}
			}
			for _, e := range to1 {
				mustHandle(t, c1.handleEvent, e)
			}
			for _, e := range to2 {
				mustHandle(t, c2.handleEvent, e)
			}
		}

		for copyName, s := range map[string]stockStore{"copy 1": store1, "copy 2": store2} {
			t.Run(copyName, func(t *testing.T) {
				checkItem(t, s, sku, 100-2*int64(paid), 0)
				for i := range orders {
					id := fmt.Sprintf("o-%s-%d", sku, i)
					want := stateReleased
					if i%2 == 0 {
						want = stateCommitted
					}
					if got := state(t, s, id); got != want {
						t.Errorf("order %s: reservation %s, want %s", id, got, want)
					}
				}
				for typ, want := range map[string]int{"inventory.reserved": orders, "inventory.committed": paid, "inventory.released": orders - paid} {
					perOrder := map[string]int{}
					for _, e := range outboxOf(t, s, typ) {
						if strings.HasPrefix(e.AggregateID, "o-"+sku+"-") {
							perOrder[e.AggregateID]++
						}
					}
					if len(perOrder) != want {
						t.Errorf("%s for %d orders, want %d", typ, len(perOrder), want)
					}
					for id, n := range perOrder {
						if n != 1 {
							t.Errorf("order %s: %d %s events, want 1", id, n, typ)
						}
					}
				}
			})
		}
	})
}

// TestTwoCopiesExpireHoldOnce: two inventory copies run their reservation sweepers over the store
// they share, on the same interval, so their sweeps coincide. Holds taken through either copy
// expire after the TTL exactly once: one inventory.released each, the stock back once, and both
// copies see it.
func TestTwoCopiesExpireHoldOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		db := newMemStore()
		store1, store2 := db, db                                     // copy 1's and copy 2's view of the inventory database
		c1, c2 := newTestInventory(store1), newTestInventory(store2) // TTL 15m
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, c := range []*inventory{c1, c2} {
			wg.Go(func() { c.sweeper(ctx, 5*time.Second) })
		}
		defer func() { cancel(); wg.Wait() }()

		mustHandle(t, c1.handleEvent, productEvent(t, "product.created", "HOLD", 40))
		mustHandle(t, c2.handleEvent, productEvent(t, "product.created", "HOLD", 40))
		const orders = 10
		for i := range orders {
			c := []*inventory{c1, c2}[i%2]
			mustHandle(t, c.handleEvent, orderEvent(t, "order.created", fmt.Sprint("hold-", i), orderLine{"HOLD", 2}))
		}
		time.Sleep(16 * time.Minute)
		synctest.Wait()
		for name, s := range map[string]stockStore{"copy 1": store1, "copy 2": store2} {
			checkItem(t, s, "HOLD", 40, 0)
			released := map[string]int{}
			for _, e := range outboxOf(t, s, evReleased) {
				released[e.AggregateID]++
			}
			for i := range orders {
				if id := fmt.Sprint("hold-", i); released[id] != 1 {
					t.Errorf("%s: order %s released %d times, want once", name, id, released[id])
				}
			}
		}
		if got := c1.results.Value("released_expired") + c2.results.Value("released_expired"); got != orders {
			t.Errorf("released_expired over both copies = %d, want %d", got, orders)
		}
	})
}
