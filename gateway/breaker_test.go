package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

var errBoom = errors.New("boom")

// admit admits one request and reports err, failing the test if the breaker refuses.
func admit(tb testing.TB, b *Breaker, err error) {
	tb.Helper()
	done, aerr := b.Allow()
	if aerr != nil {
		tb.Fatalf("Allow in state %s: %v, want admitted", b.State(), aerr)
	}
	done(err)
}

// toHalfOpen trips a breaker on default Settings (5 consecutive failures) and waits out its 30 s
// open timeout; call it inside a synctest bubble.
func toHalfOpen(tb testing.TB, b *Breaker) {
	tb.Helper()
	for range 5 {
		admit(tb, b, errBoom)
	}
	time.Sleep(30 * time.Second)
}

func TestBreakerLifecycle(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var transitions []string
		b := NewBreaker(Settings{Name: "x", OnStateChange: func(name string, from, to State) {
			transitions = append(transitions, from.String()+"->"+to.String())
		}})

		for i := range 4 {
			admit(t, b, errBoom)
			if st := b.State(); st != StateClosed {
				t.Fatalf("after %d failures: state = %s, want closed", i+1, st)
			}
		}
		admit(t, b, nil) // a success resets the consecutive count
		for range 4 {
			admit(t, b, errBoom)
		}
		if st := b.State(); st != StateClosed {
			t.Fatalf("after success then 4 failures: state = %s, want closed", st)
		}
		admit(t, b, errBoom)
		if st := b.State(); st != StateOpen {
			t.Fatalf("after 5 consecutive failures: state = %s, want open", st)
		}
		if _, err := b.Allow(); !errors.Is(err, ErrOpenState) {
			t.Fatalf("Allow when open: err = %v, want ErrOpenState", err)
		}
		if ra := b.RetryAfter(); ra != 30*time.Second {
			t.Errorf("RetryAfter just after opening = %s, want 30s", ra)
		}

		time.Sleep(30*time.Second - time.Nanosecond)
		if st := b.State(); st != StateOpen {
			t.Fatalf("just before 30 s: state = %s, want open", st)
		}
		time.Sleep(time.Nanosecond)
		if st := b.State(); st != StateHalfOpen {
			t.Fatalf("after 30 s: state = %s, want half-open", st)
		}

		// Half-open: three trials at once, a fourth is refused.
		var dones []func(error)
		for range 3 {
			d, err := b.Allow()
			if err != nil {
				t.Fatalf("half-open trial: %v", err)
			}
			dones = append(dones, d)
		}
		if _, err := b.Allow(); !errors.Is(err, ErrTooManyRequests) {
			t.Fatalf("fourth half-open request: err = %v, want ErrTooManyRequests", err)
		}
		for _, d := range dones {
			d(nil)
		}
		if st := b.State(); st != StateClosed {
			t.Fatalf("after 3 successful trials: state = %s, want closed", st)
		}
		want := []string{"closed->open", "open->half-open", "half-open->closed"}
		if !slices.Equal(transitions, want) {
			t.Errorf("transitions = %v, want %v", transitions, want)
		}
	})
}

func TestBreakerHalfOpenFailureReopens(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := NewBreaker(Settings{})
		toHalfOpen(t, b)
		admit(t, b, nil)
		admit(t, b, errBoom)
		if st := b.State(); st != StateOpen {
			t.Fatalf("failure in half-open: state = %s, want open", st)
		}
		if ra := b.RetryAfter(); ra != 30*time.Second {
			t.Errorf("RetryAfter after reopening = %s, want a fresh 30s", ra)
		}
	})
}

func TestBreakerIgnoresStaleGeneration(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := NewBreaker(Settings{})
		slow, err := b.Allow() // admitted while closed, answers much later
		if err != nil {
			t.Fatal(err)
		}
		toHalfOpen(t, b)
		if st := b.State(); st != StateHalfOpen {
			t.Fatalf("state = %s, want half-open", st)
		}
		slow(errBoom) // from the closed generation: must not reopen the breaker
		if st := b.State(); st != StateHalfOpen {
			t.Errorf("after a stale failure: state = %s, want still half-open", st)
		}
		if c := b.Counts(); c.TotalFailures != 0 {
			t.Errorf("after a stale failure: counts = %+v, want no failures", c)
		}
	})
}

func TestBreakerExcludesCancellation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := NewBreaker(Settings{})
		for range 20 {
			admit(t, b, context.Canceled)
			admit(t, b, fmt.Errorf("proxy: %w", context.Canceled))
		}
		if st, c := b.State(), b.Counts(); st != StateClosed || c.TotalFailures != 0 {
			t.Fatalf("after 40 client cancellations: state %s counts %+v, want closed with no failures", st, c)
		}
		// In half-open a cancelled trial gives its slot back.
		toHalfOpen(t, b)
		for range 10 {
			admit(t, b, context.Canceled)
		}
		if st := b.State(); st != StateHalfOpen {
			t.Errorf("after cancelled trials: state = %s, want half-open", st)
		}
	})
}

func TestBreakerInterval(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := NewBreaker(Settings{Interval: time.Minute, ReadyToTrip: func(c Counts) bool { return c.TotalFailures >= 3 }})
		admit(t, b, errBoom)
		admit(t, b, nil)
		admit(t, b, errBoom)
		time.Sleep(time.Minute)
		admit(t, b, errBoom) // the counts were cleared: 1 failure, not 3
		if st := b.State(); st != StateClosed {
			t.Fatalf("after the interval: state = %s, want closed", st)
		}
		admit(t, b, errBoom)
		admit(t, b, errBoom)
		if st := b.State(); st != StateOpen {
			t.Fatalf("3 failures in one interval: state = %s, want open", st)
		}
	})
}

func TestStateString(t *testing.T) {
	t.Parallel()
	for st, want := range map[State]string{StateClosed: "closed", StateHalfOpen: "half-open", StateOpen: "open", State(9): "unknown state 9"} {
		if got := st.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(st), got, want)
		}
	}
}
