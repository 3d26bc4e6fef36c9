package main

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestTwoCopiesRelays runs the outbox relays of two order copies over the one store they share
// (docs/events.md § Partitions, keys and many copies). First copy 2 writes orders and dies before its
// relay ran: copy 1's relay publishes them, because the outbox is in the shared store, not in the
// process. Then both relays run at once while both copies write: every event is published at least
// once, each relay keeps one order's events in order, and nothing stays unsent.
func TestTwoCopiesRelays(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		db := newMemOrderStore()
		store1, store2 := db, db // copy 1's and copy 2's view of the orders database
		logger := slog.New(slog.DiscardHandler)
		pub1, pub2 := &sharedtest.Publisher{}, &sharedtest.Publisher{}
		relay1 := newRelay(logger, store1, pub1, shared.NewMetrics("order"), time.Second)
		relay2 := newRelay(logger, store2, pub2, shared.NewMetrics("order"), time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()

		orphans := seedOrders(t, store2, 5) // copy 2 wrote these, then died before its relay ran
		go relay1.Run(ctx)
		time.Sleep(2 * time.Second) // one poll of copy 1's relay
		synctest.Wait()
		checkPublished(t, pub1, store2, orphans)

		go relay2.Run(ctx)
		var ids []string
		for i := range 10 { // both copies keep writing, each waking its own relay
			s, r := store1, relay1
			if i%2 == 1 {
				s, r = store2, relay2
			}
			ids = append(ids, seedOrders(t, s, 3)...)
			r.Wake()
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		for _, p := range []*sharedtest.Publisher{pub1, pub2} {
			checkOrderPerOrder(t, p)
		}
		checkPublishedByEither(t, pub1, pub2, store1, append(ids, orphans...))
	})
}

// checkPublishedByEither asserts that each order's order.created and order.confirmed were each
// published by one relay or the other, and that nothing stays unsent. It does not look at the order
// across the two publishers: one relay may publish an order's order.created and the other, after it
// was marked sent, its order.confirmed, and two lists cannot say which came first
// (checkOrderPerOrder checks the order per relay).
func checkPublishedByEither(t *testing.T, pub1, pub2 *sharedtest.Publisher, s orderStore, ids []string) {
	t.Helper()
	seen := map[string]map[string]bool{}
	for _, p := range []*sharedtest.Publisher{pub1, pub2} {
		for _, e := range p.Events(shared.TopicOrder) {
			if seen[e.AggregateID] == nil {
				seen[e.AggregateID] = map[string]bool{}
			}
			seen[e.AggregateID][e.Type] = true
		}
	}
	for _, id := range ids {
		if !seen[id]["order.created"] || !seen[id]["order.confirmed"] {
			t.Errorf("order %s: published %v, want order.created and order.confirmed", id, seen[id])
		}
	}
	if un, _ := s.Unsent(context.Background(), 1000); len(un) != 0 {
		t.Errorf("%d orders still have unsent events", len(un))
	}
}

// checkOrderPerOrder asserts that one relay never publishes an order's order.created after that
// order's order.confirmed: what one relay publishes for one order keeps the write order.
func checkOrderPerOrder(t *testing.T, p *sharedtest.Publisher) {
	t.Helper()
	confirmed := map[string]bool{}
	for _, e := range p.Events(shared.TopicOrder) {
		switch e.Type {
		case "order.confirmed":
			confirmed[e.AggregateID] = true
		case "order.created":
			if confirmed[e.AggregateID] {
				t.Errorf("order %s: order.created published after order.confirmed", e.AggregateID)
			}
		}
	}
}
