package main

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// countingPublisher counts Publish calls and fails while down is set.
type countingPublisher struct {
	sharedtest.Publisher
	calls atomic.Int32
	down  atomic.Bool
}

func (p *countingPublisher) Publish(ctx context.Context, topic string, evs ...shared.Event) error {
	p.calls.Add(1)
	if p.down.Load() {
		return errors.New("kafka: connection refused")
	}
	return p.Publisher.Publish(ctx, topic, evs...)
}

// TestRelayBackoff checks, on a fake clock, that the relay retries with doubling waits while Kafka is
// down, publishes everything in order once it is back, and stops when its context ends.
func TestRelayBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := newMemProductStore()
		pub := &countingPublisher{}
		pub.down.Store(true)
		ob := newOutbox(store, pub, shared.NewLogger(io.Discard, "product", "error"), shared.NewMetrics("product"))
		p, _, _ := demoInput(demoCatalog[0]).toProduct(true)
		p, err := createProduct(t.Context(), store, p, 7)
		if err != nil {
			t.Fatal(err)
		}
		upd := p
		upd.Name = "Renamed"
		ev, _ := updatedEvent(upd, now().Add(time.Millisecond))
		if _, err := store.Update(t.Context(), upd, ev); err != nil {
			t.Fatal(err)
		}

		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { ob.relay(ctx) })

		// Attempts at 1 s (inside the grace period: skipped, no publish), 2 s, then after waits of
		// 2, 4, 8 s: at 4 s, 8 s, 16 s.
		for _, c := range []struct {
			at    time.Duration
			calls int32
		}{{1500 * time.Millisecond, 0}, {2500 * time.Millisecond, 1}, {3900 * time.Millisecond, 1}, {4500 * time.Millisecond, 2}, {8500 * time.Millisecond, 3}, {15 * time.Second, 3}, {16500 * time.Millisecond, 4}} {
			sleepUntil(c.at)
			synctest.Wait()
			if got := pub.calls.Load(); got != c.calls {
				t.Fatalf("at %v: %d publish attempts, want %d", c.at, got, c.calls)
			}
		}
		pub.down.Store(false)
		sleepUntil(33 * time.Second) // next attempt after a 16 s wait, at 32 s
		synctest.Wait()
		if got := pub.Types(shared.TopicProduct); len(got) != 2 || got[0] != evProductCreated || got[1] != evProductUpdated {
			t.Errorf("published %v, want created then updated", got)
		}
		if ps, _ := store.Pending(t.Context(), 10); len(ps) != 0 {
			t.Errorf("pending after recovery = %d, want 0", len(ps))
		}
		cancel()
		wg.Wait()
	})
}

// sleepUntil sleeps until d after the start of the synctest bubble (its clock starts at 2000-01-01 UTC).
func sleepUntil(d time.Duration) {
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	time.Sleep(time.Until(start.Add(d)))
}

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
	ob := newOutbox(store, pub, logger, shared.NewMetrics("product"))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := seedDemo(t.Context(), logger, store, ob); err != nil {
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
