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
		ev, _ := newOrderEvent(o, StatusConfirmed, "", time.Now().UTC())
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

// TestRelayKafkaDownThenUp: while publishing fails nothing leaves the outbox and the relay backs
// off; when Kafka returns, every event goes out in order and the outbox empties.
func TestRelayKafkaDownThenUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newMemOrderStore()
		pub := &sharedtest.Publisher{}
		pub.SetErr(errors.New("kafka: connection refused"))
		m := shared.NewMetrics("order")
		r := newRelay(slog.New(slog.DiscardHandler), s, pub, m, time.Second)
		r.batch = 7 // several passes per round
		ids := seedOrders(t, s, 20)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()

		time.Sleep(5 * time.Minute) // Kafka down for five minutes
		synctest.Wait()
		if n := len(pub.Events(shared.TopicOrder)); n != 0 {
			t.Fatalf("%d events published while Kafka was down", n)
		}
		if un, _ := s.Unsent(context.Background(), 1000); len(un) != 20 {
			t.Fatalf("%d orders with unsent events, want 20", len(un))
		}
		// Backoff doubles from 100 ms to 30 s: about 17 attempts in five minutes, not thousands.
		if f := r.failures.Value(); f < 10 || f > 30 {
			t.Errorf("publish attempts while down = %d, want backoff (10..30)", f)
		}

		pub.SetErr(nil)
		time.Sleep(relayMaxBackoff)
		synctest.Wait()
		checkPublished(t, pub, s, ids)
		if n := len(pub.Events(shared.TopicOrder)); n != 40 {
			t.Errorf("published %d events, want 40 (each once)", n)
		}

		// A new order is sent at once when the relay is notified, without waiting for the poll.
		more := seedOrders(t, s, 1)
		r.Notify()
		synctest.Wait()
		checkPublished(t, pub, s, append(ids, more...))

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
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
