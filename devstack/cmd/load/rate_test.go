package main

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestOpenLoopArrivalsIgnoreAnswers: at 100/s for 1 s every arrival starts exactly on its 10 ms tick,
// even though each call takes 50 ms, i.e. five are always in flight.
func TestOpenLoopArrivalsIgnoreAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		at := map[int]time.Duration{}
		a := openLoop(t.Context(), 100, time.Second, 1000, func(ctx context.Context, i int) {
			mu.Lock()
			at[i] = time.Since(start)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		})
		if a != (arrivals{Due: 100, Started: 100}) {
			t.Errorf("arrivals %+v, want 100 due and started, none late or dropped", a)
		}
		for i := range 100 {
			if want := time.Duration(i) * 10 * time.Millisecond; at[i] != want {
				t.Errorf("arrival %d at %v, want %v", i, at[i], want)
			}
		}
		// openLoop waited for the last call (due at 990 ms, 50 ms long).
		if got := time.Since(start); got != 1040*time.Millisecond {
			t.Errorf("returned after %v, want 1.04s", got)
		}
	})
}

// TestOpenLoopDropsWhenFull: calls that never answer within the run fill the in-flight limit; later
// arrivals are dropped and counted instead of queued.
func TestOpenLoopDropsWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := openLoop(t.Context(), 50, time.Second, 10, func(ctx context.Context, i int) {
			time.Sleep(5 * time.Second)
		})
		if a != (arrivals{Due: 50, Started: 10, Dropped: 40}) {
			t.Errorf("arrivals %+v, want 50 due, 10 started, 40 dropped", a)
		}
	})
}

// TestOpenLoopFractionalRate: 3/s over 1 s is arrivals at 0, 333.3 and 666.6 ms, without drift.
func TestOpenLoopFractionalRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		a := openLoop(t.Context(), 3, time.Second, 1, func(ctx context.Context, i int) {
			mu.Lock()
			at = append(at, time.Since(start))
			mu.Unlock()
		})
		want := []time.Duration{0, 333333333, 666666666}
		if a.Due != 3 || a.Started != 3 || len(at) != 3 || at[1] != want[1] || at[2] != want[2] {
			t.Errorf("arrivals %+v at %v, want 3 at %v", a, at, want)
		}
	})
}

// TestOpenLoopStopsOnCancel: ending ctx stops new arrivals at once.
func TestOpenLoopStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(95*time.Millisecond, cancel)
		a := openLoop(ctx, 100, time.Hour, 100, func(ctx context.Context, i int) {})
		if a.Due != 10 || a.Started != 10 {
			t.Errorf("arrivals %+v, want 10 (0–90 ms) before the cancel at 95 ms", a)
		}
	})
}
