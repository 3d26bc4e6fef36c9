package main

import (
	"context"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// lateAfter is how far behind its due time an arrival may start and still count as on time: the
// scheduler's own wake-up jitter on a busy machine is below it, a client that cannot keep up is not.
const lateAfter = 2 * time.Millisecond

// arrivals is what the open-loop scheduler did.
type arrivals struct {
	Due     int           // arrivals whose time fell inside the run
	Started int           // of those, started (Due = Started + Dropped)
	Late    int           // started more than lateAfter behind their due time
	MaxLate time.Duration // the largest such delay
	Dropped int           // not started: maxInFlight arrivals were still unanswered
}

// openLoop starts fire(ctx, i) in a goroutine of its own at start + i/rate for every i whose time falls
// before start+d, without waiting for earlier calls to return: the arrival rate is the load's, not the
// platform's answer rate (no coordinated omission). An arrival due while maxInFlight calls are still
// running is dropped and counted, so a platform that stops answering cannot exhaust the client; an
// arrival the scheduler reaches late (the client itself is short of CPU) still starts, and is
// counted as late. openLoop returns when every started call has returned; ctx ending stops new
// arrivals. rate must be > 0 and maxInFlight ≥ 1.
func openLoop(ctx context.Context, rate float64, d time.Duration, maxInFlight int, fire func(ctx context.Context, i int)) arrivals {
	var a arrivals
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; ; i++ {
		// Each due time from start, not from the previous one, so rounding never accumulates.
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
		if due.Sub(start) >= d || !shared.SleepCtx(ctx, time.Until(due)) || ctx.Err() != nil {
			break
		}
		a.Due++
		if late := time.Since(due); late > lateAfter {
			a.Late++
			a.MaxLate = max(a.MaxLate, late)
		}
		select {
		case sem <- struct{}{}:
			a.Started++
			wg.Go(func() {
				defer func() { <-sem }()
				fire(ctx, i)
			})
		default:
			a.Dropped++
		}
	}
	wg.Wait()
	return a
}
