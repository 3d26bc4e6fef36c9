package main

import (
	"io"
	"sync"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestSeedDemo: the demo catalog is valid, large enough, and seeding it from two instances at once
// creates and announces each product exactly once, with its stock.
func TestSeedDemo(t *testing.T) {
	t.Parallel()
	cats := map[string]int{}
	for _, d := range demoCatalog {
		cats[d.Category]++
	}
	if len(demoCatalog) < 24 || len(cats) < 4 {
		t.Fatalf("demo catalog has %d products in %d categories, want at least 24 in 4", len(demoCatalog), len(cats))
	}
	store := newMemProductStore()
	pub := &sharedtest.Publisher{}
	logger := shared.NewLogger(io.Discard, "product", "error")
	wake := sharedtest.FlushOnWake(shared.NewRelay(logger, productOutbox{store}, pub, shared.NewMetrics("product"), shared.RelayConfig{}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := seedDemo(t.Context(), logger, store, wake); err != nil {
				t.Errorf("seedDemo: %v", err)
			}
		})
	}
	wg.Wait()
	if n, _ := store.Count(t.Context()); n != len(demoCatalog) {
		t.Errorf("products after two seeds = %d, want %d", n, len(demoCatalog))
	}
	evs := pub.Events(shared.TopicProduct)
	if len(evs) != len(demoCatalog) {
		t.Fatalf("product.created events = %d, want %d", len(evs), len(demoCatalog))
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		var d productEventData
		if err := ev.Decode(&d); err != nil || ev.Type != evProductCreated || d.Stock == nil || d.PriceCents <= 0 || seen[d.SKU] {
			t.Errorf("event %s %+v (err %v): want one product.created with stock per SKU", ev.Type, d, err)
		}
		seen[d.SKU] = true
	}
}
