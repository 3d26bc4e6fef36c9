package main

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// BenchmarkReserve measures reservations per second on the in-memory store: each op is one
// order.created of two lines through Reserve (idempotency record, two conditional holds, the
// final transition, and the outbox write of its events), with the relay draining the outbox into
// a publisher that discards, as in steady state. Run with -cpu 1 for the one-core number.
func BenchmarkReserve(b *testing.B) {
	s := newMemStore()
	logger := slog.New(slog.DiscardHandler)
	relay := shared.NewRelay(logger, s, discardPublisher{}, shared.NewMetrics("inventory"), shared.RelayConfig{Batch: 500})
	inv := newInventory(logger, s, shared.NewMetrics("inventory"), 15*time.Minute, 5, relay.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		relay.Run(ctx)
	}()
	defer func() { cancel(); <-relayDone }()
	for _, sku := range []string{"B-1", "B-2", "B-3", "B-4"} {
		mustCreateB(b, s, sku)
	}
	skus := []string{"B-1", "B-2", "B-3", "B-4"}
	var n atomic.Int64
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			o := orderData{OrderID: "bench-" + strconv.FormatInt(i, 10), UserID: "u",
				Items: []orderLine{{skus[i%4], 1}, {skus[(i+1)%4], 2}}}
			if st, err := inv.Reserve(ctx, o); err != nil || st != stateHeld {
				b.Fatalf("Reserve = %s, %v", st, err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
	// The machine is shared, so wall time overstates the cost; CPU time consumed by the process
	// (all goroutines, GC included) gives the rate one dedicated core would reach.
	if cpu := (cpuTime(b) - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu, "reservations/cpu-s")
	}
}

// cpuTime is the user+system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mustCreateB(b *testing.B, s stockStore, sku string) {
	b.Helper()
	if _, err := s.CreateItem(context.Background(), StockItem{SKU: sku, OnHand: maxOnHand, UpdatedAt: t0}, Movement{Delta: maxOnHand, At: t0}); err != nil {
		b.Fatal(err)
	}
}

// discardPublisher accepts every event and keeps none.
type discardPublisher struct{}

func (discardPublisher) Publish(context.Context, string, ...shared.Event) error { return nil }
