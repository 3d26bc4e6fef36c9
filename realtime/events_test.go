package main

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

func TestConsumerDedupAndStale(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := newHub(hubConfig{}, func() time.Time { return now })
	c := newConsumer(h, shared.NewLogger(io.Discard, "realtime", "error"), 5*time.Minute, func() time.Time { return now })
	fresh := shared.Event{ID: "e1", Type: "inventory.updated", OccurredAt: now.Add(-time.Second), Data: json.RawMessage(`{"sku":"S"}`)}
	old := shared.Event{ID: "e2", Type: "inventory.updated", OccurredAt: now.Add(-time.Hour), Data: json.RawMessage(`{"sku":"S"}`)}
	for _, e := range []shared.Event{fresh, fresh, old} {
		if err := c.handle(context.Background(), e); err != nil {
			t.Fatalf("handle %s: %v", e.ID, err)
		}
	}
	consumed, dup, stale, _ := c.counts()
	if consumed != 2 || dup != 1 || stale != 1 {
		t.Fatalf("consumed, duplicate, stale = %d, %d, %d; want 2, 1, 1", consumed, dup, stale)
	}
	if s := h.stats(); s.Seq != 1 {
		t.Fatalf("hub seq = %d, want 1 (one fresh, distinct event published)", s.Seq)
	}
	// The dedup memory is bounded: after dedupSize other events, e1 is forgotten.
	for i := range dedupSize {
		c.handle(context.Background(), shared.Event{ID: "x" + string(rune('a'+i%26)) + time.Duration(i).String(), Type: "product.updated", OccurredAt: now, Data: json.RawMessage(`{}`)})
	}
	if len(c.seen) != dedupSize {
		t.Fatalf("remembered %d IDs, want %d", len(c.seen), dedupSize)
	}
	if err := c.handle(context.Background(), fresh); err != nil {
		t.Fatal(err)
	}
	if _, dup2, _, _ := c.counts(); dup2 != 1 {
		t.Fatalf("duplicates = %d, want 1: e1 should have been forgotten", dup2)
	}
}

// TestConsumerSkipsRepeats: while inventory does not answer, order queues order.created again every
// ORDER_RECONCILE_AFTER (a question to inventory, not a new order); a reservation that arrives after
// the order was cancelled makes order queue order.cancelled again. Their data says "no change"
// (previous_status = status), and they reach nobody: customer and admins were told of the move.
func TestConsumerSkipsRepeats(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := newHub(hubConfig{}, func() time.Time { return now })
	c := newConsumer(h, shared.NewLogger(io.Discard, "realtime", "error"), 5*time.Minute, func() time.Time { return now })
	data := `{"order_id":"0123456789abcdef0123456789abcdef","user_id":"u1","status":"pending","total_cents":100,"currency":"USD"`
	placed := shared.Event{ID: "e1", Type: "order.created", OccurredAt: now, Data: json.RawMessage(data + `}`)}
	asked := shared.Event{ID: "e2", Type: "order.created", OccurredAt: now, Data: json.RawMessage(data + `,"previous_status":"pending","reason":"asking inventory again: no answer yet"}`)}
	release := shared.Event{ID: "e3", Type: "order.cancelled", OccurredAt: now,
		Data: json.RawMessage(strings.Replace(data, `"pending"`, `"cancelled"`, 1) + `,"previous_status":"cancelled","reason":"late reservation released"}`)}
	for _, e := range []shared.Event{placed, asked, asked, release} {
		if err := c.handle(context.Background(), e); err != nil {
			t.Fatalf("handle %s: %v", e.ID, err)
		}
	}
	if s := h.stats(); s.Seq != 2 {
		t.Fatalf("hub seq = %d, want 2 (the placement and its notification, nothing for the repeats)", s.Seq)
	}
}

// TestLiveAndCatalogTopics checks that the instance's two groups read every topic, each once, and
// that order.events, the checkout's last step, is read without a wait.
func TestLiveAndCatalogTopics(t *testing.T) {
	t.Parallel()
	got := append(slices.Clone(liveTopics), catalogTopics...)
	slices.Sort(got)
	want := slices.Sorted(slices.Values(shared.AllTopics()))
	if !slices.Equal(got, want) {
		t.Errorf("live %v + catalog %v = %v, want every topic once: %v", liveTopics, catalogTopics, got, want)
	}
	if !slices.Contains(liveTopics, shared.TopicOrder) || !slices.Contains(liveTopics, shared.TopicUser) {
		t.Errorf("liveTopics %v: want order.events and user.events read at once", liveTopics)
	}
}

// TestConsumerDropsOlderProductVersions: a product event whose version is not newer than the one the
// catalog applied (a second product copy's relay published it again, under another offset and after
// the dedup memory forgot its ID) is neither learnt nor published: an older "active" would otherwise
// send a product switched off since to every public socket.
func TestConsumerDropsOlderProductVersions(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := newHub(hubConfig{}, func() time.Time { return now })
	c := newConsumer(h, shared.NewLogger(io.Discard, "realtime", "error"), 5*time.Minute, func() time.Time { return now })
	ev := func(id, typ, data string) shared.Event {
		return shared.Event{ID: id, Type: typ, OccurredAt: now, Data: json.RawMessage(data)}
	}
	steps := []struct {
		e             shared.Event
		wantReleased  bool
		wantPublished bool // the hub sent something for it
	}{
		{ev("e1", "product.created", `{"product_id":"p","sku":"S","active":true,"version":1}`), true, true},
		{ev("e2", "product.updated", `{"product_id":"p","sku":"S","active":false,"version":2}`), false, true},
		{ev("e1-again", "product.created", `{"product_id":"p","sku":"S","active":true,"version":1}`), false, false},
		{ev("e3", "product.updated", `{"product_id":"p","sku":"S","active":true,"version":3}`), true, true},
		{ev("e2-again", "product.updated", `{"product_id":"p","sku":"S","active":false,"version":2}`), true, false},
		{ev("e4", "product.deleted", `{"product_id":"p","sku":"S","version":4}`), false, true},
		{ev("e3-again", "product.updated", `{"product_id":"p","sku":"S","active":true,"version":3}`), false, false},
		// Events from before the field are applied in arrival order, as before.
		{ev("o1", "product.created", `{"product_id":"q","sku":"T","active":true}`), true, true},
	}
	var seq uint64
	for i, s := range steps {
		if err := c.handle(context.Background(), s.e); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		sku := "S"
		if i == len(steps)-1 {
			sku = "T"
		}
		if got := c.catalog.released(sku); got != s.wantReleased {
			t.Errorf("step %d (%s): released(%s) = %v, want %v", i, s.e.ID, sku, got, s.wantReleased)
		}
		if now := h.stats().Seq; (now > seq) != s.wantPublished {
			t.Errorf("step %d (%s): published %v, want %v", i, s.e.ID, now > seq, s.wantPublished)
		}
		seq = h.stats().Seq
	}
	if _, dup, _, _ := c.counts(); dup != 3 {
		t.Errorf("duplicates = %d, want the 3 older versions", dup)
	}
}
