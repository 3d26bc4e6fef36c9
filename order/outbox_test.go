package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// seedOrders stores n orders, each with order.created and order.confirmed in its outbox.
func seedOrders(tb testing.TB, s orderStore, n int) []string {
	tb.Helper()
	var ids []string
	for i := range n {
		o := testOrder(tb, "u1", fmt.Sprint("k", i, shared.NewID()), time.Now().UTC())
		if err := s.Create(context.Background(), o); err != nil {
			tb.Fatal(err)
		}
		ev := newOrderEvent(o, StatusConfirmed, "", time.Now().UTC())
		if _, err := s.Transition(context.Background(), o.ID, transition{From: StatusPending, To: StatusConfirmed, Event: ev, At: time.Now().UTC()}); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	return ids
}

// checkPublished asserts every order's two events were published, in order per order.
func checkPublished(t *testing.T, pub *sharedtest.Publisher, s orderStore, ids []string) {
	t.Helper()
	seen := map[string][]string{}
	for _, e := range pub.Events(shared.TopicOrder) {
		seen[e.AggregateID] = append(seen[e.AggregateID], e.Type)
	}
	for _, id := range ids {
		got := seen[id]
		if len(got) < 2 || got[0] != "order.created" || got[len(got)-1] != "order.confirmed" {
			t.Errorf("order %s: published %v, want order.created then order.confirmed", id, got)
		}
	}
	if un, _ := s.Unsent(context.Background(), 1000); len(un) != 0 {
		t.Errorf("%d orders still have unsent events", len(un))
	}
}

// crashingStore fails MarkSent once, as a relay crashing between publish and mark would.
type crashingStore struct {
	orderStore
	crashed atomic.Bool
}

func (c *crashingStore) MarkSent(ctx context.Context, id string, upTo int) error {
	if c.crashed.CompareAndSwap(false, true) {
		return errors.New("crash before mark")
	}
	return c.orderStore.MarkSent(ctx, id, upTo)
}

// TestRelayCrashBetweenPublishAndMark: the unmarked events are sent again with the same IDs, so
// consumers that remember event IDs drop them; nothing is lost.
func TestRelayCrashBetweenPublishAndMark(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		mem := newMemOrderStore()
		s := &crashingStore{orderStore: mem}
		pub := &sharedtest.Publisher{}
		r := newRelay(slog.New(slog.DiscardHandler), s, pub, shared.NewMetrics("order"), time.Second)
		ids := seedOrders(t, mem, 3)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go r.Run(ctx)
		time.Sleep(time.Minute)
		synctest.Wait()
		checkPublished(t, pub, mem, ids)
		evs := pub.Events(shared.TopicOrder)
		if len(evs) != 12 {
			t.Fatalf("published %d events, want 12 (the unmarked batch of 6 re-sent)", len(evs))
		}
		byID := map[string]int{}
		for _, e := range evs {
			byID[e.ID]++
		}
		if len(byID) != 6 {
			t.Errorf("%d distinct event IDs, want 6: duplicates must keep their ID", len(byID))
		}
	})
}
