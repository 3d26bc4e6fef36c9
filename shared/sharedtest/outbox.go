package sharedtest

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/goshop/platform/shared"
)

// OutboxContract is the contract every service store's outbox keeps for shared.Relay. A service's store
// test fills it in and calls Run once per store implementation (the in-memory fake always, Mongo when
// MONGO_TEST_URI is set), each time on an empty store.
type OutboxContract struct {
	Store shared.OutboxStore
	// Write makes the store write one event of the aggregate the test calls key ("a", "b", ...),
	// through the service's own write path (creating the aggregate on its first event), and returns
	// the event's ID.
	Write func(t *testing.T, key string) string
	// SingleEvent says the store keeps at most one event per aggregate (auth's user.registered): every
	// Write then names a new aggregate, and there is no per-aggregate order to check.
	SingleEvent bool
}

// Run checks: what Write stored is pending with its topic, type and aggregate, in write order per
// aggregate; MarkPublished removes exactly the entries given and is harmless twice; an event written
// after PendingOutbox read the outbox stays pending when the entries read are marked.
func (c OutboxContract) Run(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	a1 := c.Write(t, "a")
	second := "a"
	if c.SingleEvent {
		second = "c"
	}
	a2 := c.Write(t, second)
	b1 := c.Write(t, "b")

	got := c.pending(t, ctx)
	if ids := eventIDs(got); !sameSet(ids, []string{a1, a2, b1}) {
		t.Fatalf("PendingOutbox = %v, want %v", ids, []string{a1, a2, b1})
	}
	for _, e := range got {
		if e.Topic == "" || e.Event.Type == "" || e.Event.AggregateID == "" || e.Event.OccurredAt.IsZero() {
			t.Errorf("pending entry %+v: want topic, type, aggregate and time set", e)
		}
	}
	if ids := eventIDs(got); !c.SingleEvent && slices.Index(ids, a1) > slices.Index(ids, a2) {
		t.Errorf("PendingOutbox order = %v, want %s before %s (write order)", ids, a1, a2)
	}

	first := pick(got, a1, b1)
	for range 2 { // twice: acknowledging again changes nothing
		if err := c.Store.MarkPublished(ctx, first); err != nil {
			t.Fatalf("MarkPublished(%v): %v", eventIDs(first), err)
		}
		if ids := eventIDs(c.pending(t, ctx)); !sameSet(ids, []string{a2}) {
			t.Fatalf("after marking %v: pending = %v, want [%s]", eventIDs(first), ids, a2)
		}
	}

	read := c.pending(t, ctx)
	third := "a"
	if c.SingleEvent {
		third = "d"
	}
	a3 := c.Write(t, third)
	if err := c.Store.MarkPublished(ctx, read); err != nil {
		t.Fatalf("MarkPublished: %v", err)
	}
	if ids := eventIDs(c.pending(t, ctx)); !sameSet(ids, []string{a3}) {
		t.Fatalf("an event written after the read: pending = %v, want [%s]", ids, a3)
	}
	if err := c.Store.MarkPublished(ctx, c.pending(t, ctx)); err != nil {
		t.Fatalf("MarkPublished: %v", err)
	}
	if ids := eventIDs(c.pending(t, ctx)); len(ids) != 0 {
		t.Fatalf("after marking everything: pending = %v, want none", ids)
	}
}

func (c OutboxContract) pending(t *testing.T, ctx context.Context) []shared.OutboxEntry {
	t.Helper()
	got, err := c.Store.PendingOutbox(ctx, 100)
	if err != nil {
		t.Fatalf("PendingOutbox: %v", err)
	}
	return got
}

func eventIDs(entries []shared.OutboxEntry) []string {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Event.ID
	}
	return ids
}

func pick(entries []shared.OutboxEntry, ids ...string) []shared.OutboxEntry {
	var out []shared.OutboxEntry
	for _, e := range entries {
		if slices.Contains(ids, e.Event.ID) {
			out = append(out, e)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// FlushOnWake returns a wake function for handlers under test that flushes r at once, one flush at a
// time, so a handler's events are published by the time its response is: tests read the publisher
// without waiting. A failed flush leaves the events pending, as the running relay would until its
// next attempt.
func FlushOnWake(r *shared.Relay) func() {
	var mu sync.Mutex
	return func() {
		mu.Lock()
		defer mu.Unlock()
		r.Flush(context.Background())
	}
}
