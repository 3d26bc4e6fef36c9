package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// history is product.events as a restarted instance finds it, oldest first.
func history(tb testing.TB) []shared.Event {
	tb.Helper()
	p := func(typ, id, sku string, active bool) shared.Event {
		return event(tb, typ, map[string]any{"product_id": id, "sku": sku, "name": "n", "active": active})
	}
	return []shared.Event{
		p("product.created", "p-rel", "REL", true),      // released
		p("product.created", "p-draft", "DRAFT", false), // draft
		p("product.created", "p-flip", "FLIP", false),   // draft, released, then withdrawn
		p("product.updated", "p-flip", "FLIP", true),    //
		p("product.updated", "p-flip", "FLIP", false),   //
		p("product.created", "p-late", "LATE", false),   // draft, released later
		p("product.updated", "p-late", "LATE", true),    //
		p("product.created", "p-gone", "GONE", true),    // released, then deleted
		event(tb, "product.deleted", map[string]any{"product_id": "p-gone", "sku": "GONE"}),
		p("product.created", "p-ren", "OLD", true),                                     // released, SKU changed
		p("product.updated", "p-ren", "NEW", true),                                     //
		event(tb, "inventory.updated", map[string]any{"sku": "DRAFT", "available": 1}), // not a product event
		{ID: "bad", Type: "product.updated", Data: json.RawMessage(`{"sku":7}`)},       // poison: skipped
		p("product.created", "p-end", "END", true),
	}
}

// replay is a reader that hands evs to fn as shared.ReadTopic does: poison events are skipped.
func replay(evs []shared.Event) func(context.Context, shared.EventHandler) error {
	return func(ctx context.Context, fn shared.EventHandler) error {
		for _, e := range evs {
			if err := fn(ctx, e); err != nil && !errors.Is(err, shared.ErrPoison) {
				return err
			}
		}
		return nil
	}
}

// skusUntil dials an anonymous (or admin) connection, consumes a stock event for each SKU of
// history and then for marker, and returns the SKUs the connection got before marker.
func skusUntil(tb testing.TB, e *testEnv, admin bool, marker string) []string {
	tb.Helper()
	var hdr map[string][]string
	if admin {
		hdr = e.bearer(tb, sharedtest.Admin)
	}
	e.release(tb, marker) // through the consumer: public whatever the warm-up did
	c, _ := e.dial(tb, "", hdr)
	for _, sku := range []string{"REL", "DRAFT", "FLIP", "LATE", "GONE", "OLD", "NEW", "END", marker} {
		e.consume(tb, event(tb, "inventory.updated", map[string]any{"sku": sku, "on_hand": 3, "reserved": 0, "available": 3}))
	}
	_, skus := untilSKU(tb, c, marker)
	return skus
}

// TestWarmUpAfterRestart: a restarted instance (fresh consumer, committed offsets past every product
// event) that warmed up from product.events sends live stock of released products to anonymous
// connections, and still nothing about drafts, withdrawn or deleted products, or a product's old SKU.
func TestWarmUpAfterRestart(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	if err := e.cons.warmUp(replay(history(t)))(context.Background()); err != nil {
		t.Fatalf("warmUp: %v", err)
	}
	if got, want := strings.Join(skusUntil(t, e, false, "MARK-1"), ","), "REL,LATE,NEW,END"; got != want {
		t.Errorf("anonymous got stock of %s, want %s", got, want)
	}
	if got, want := strings.Join(skusUntil(t, e, true, "MARK-2"), ","), "REL,DRAFT,FLIP,LATE,GONE,OLD,NEW,END"; got != want {
		t.Errorf("admin got stock of %s, want %s", got, want)
	}
}

// TestWarmUpYieldsToConsumer: the consumer runs while the warm-up reads. What the warm-up read is not
// trusted before it finished (a product it saw released may since have been withdrawn), and a product
// the consumer learned about meanwhile keeps the consumer's newer state.
func TestWarmUpYieldsToConsumer(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	released := func(sku string) bool {
		e.cons.mu.Lock()
		defer e.cons.mu.Unlock()
		return e.cons.catalog.released(sku)
	}
	read := func(ctx context.Context, fn shared.EventHandler) error {
		for _, ev := range history(t) {
			if err := fn(ctx, ev); err != nil && !errors.Is(err, shared.ErrPoison) {
				return err
			}
			if ev.Type == "product.created" && strings.Contains(string(ev.Data), `"p-rel"`) {
				if released("REL") {
					t.Error("REL released while the warm-up still reads")
				}
				// Meanwhile the consumer gets newer events: REL withdrawn, DRAFT released.
				e.consume(t,
					event(t, "product.updated", map[string]any{"product_id": "p-rel", "sku": "REL", "active": false}),
					event(t, "product.updated", map[string]any{"product_id": "p-draft", "sku": "DRAFT", "active": true}))
			}
		}
		return nil
	}
	if err := e.cons.warmUp(read)(context.Background()); err != nil {
		t.Fatalf("warmUp: %v", err)
	}
	for sku, want := range map[string]bool{"REL": false, "DRAFT": true, "LATE": true, "FLIP": false} {
		if got := released(sku); got != want {
			t.Errorf("after the warm-up released(%s) = %v, want %v", sku, got, want)
		}
	}
}

// TestWarmUpFailure: a read that fails teaches nothing (the retry starts over) and reports the error.
func TestWarmUpFailure(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	down := errors.New("kafka down")
	failing := func(ctx context.Context, fn shared.EventHandler) error {
		fn(ctx, history(t)[0])
		return down
	}
	if err := e.cons.warmUp(failing)(context.Background()); !errors.Is(err, down) {
		t.Fatalf("warmUp = %v, want %v", err, down)
	}
	e.cons.mu.Lock()
	defer e.cons.mu.Unlock()
	if e.cons.catalog.released("REL") || e.cons.catalog.live == nil {
		t.Error("a failed warm-up changed the catalog")
	}
}

// TestWarmUpSkipsRepublishedOlderEvent: a product copy's relay may publish an event again after a
// newer one (docs/events.md); the consumer drops it by version, and so must the warm-up, or every
// restart adopts the older state: a withdrawn product released again, a deleted one back.
func TestWarmUpSkipsRepublishedOlderEvent(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	p := func(typ, id, sku string, active bool, version int) shared.Event {
		return event(t, typ, map[string]any{"product_id": id, "sku": sku, "active": active, "version": version})
	}
	evs := []shared.Event{
		p("product.created", "p-wd", "WD", true, 1),
		p("product.updated", "p-wd", "WD", false, 2), // withdrawn
		p("product.created", "p-wd", "WD", true, 1),  // version 1 published again
		p("product.created", "p-del", "DEL", true, 1),
		event(t, "product.deleted", map[string]any{"product_id": "p-del", "sku": "DEL", "version": 2}),
		p("product.created", "p-del", "DEL", true, 1),
	}
	if err := e.cons.warmUp(replay(evs))(context.Background()); err != nil {
		t.Fatalf("warmUp: %v", err)
	}
	released := func(sku string) bool {
		e.cons.mu.Lock()
		defer e.cons.mu.Unlock()
		return e.cons.catalog.released(sku)
	}
	for _, sku := range []string{"WD", "DEL"} {
		if released(sku) {
			t.Errorf("after the warm-up released(%s) = true, want false", sku)
		}
	}
	// The deleted product's version survives the warm-up: version 1 once more, now through the
	// consumer, is stale too.
	e.consume(t, p("product.created", "p-del", "DEL", true, 1))
	if released("DEL") {
		t.Error("an older event of a deleted product, consumed after the warm-up, released it")
	}
}
