package shared

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestEvery runs in a synctest bubble: calls come one interval apart starting one interval in, the
// call after a slow one comes as soon as it returns (not overlapping it) and then the schedule
// resumes, and Every returns when its context ends.
func TestEvery(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second+time.Millisecond)
		defer cancel()
		var at []time.Duration
		Every(ctx, 2*time.Second, func(context.Context) {
			at = append(at, time.Since(start))
			if len(at) == 2 {
				time.Sleep(3 * time.Second) // slower than the interval: the 6 s tick waits until 7 s
			}
		})
		if ended := time.Since(start); ended != 10*time.Second+time.Millisecond {
			t.Errorf("Every returned after %v, want when its context ended (10.001s)", ended)
		}
		want := []time.Duration{2 * time.Second, 4 * time.Second, 7 * time.Second, 8 * time.Second, 10 * time.Second}
		if len(at) != len(want) {
			t.Fatalf("calls at %v, want %v", at, want)
		}
		for i := range want {
			if at[i] != want[i] {
				t.Errorf("calls at %v, want %v", at, want)
				break
			}
		}
	})
}
