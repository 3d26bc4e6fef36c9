package shared

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestSleepCtx(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if !SleepCtx(t.Context(), time.Hour) || time.Since(start) != time.Hour {
			t.Errorf("SleepCtx(1h) = false or woke after %v, want true after 1h", time.Since(start))
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		start = time.Now()
		if SleepCtx(ctx, time.Hour) || time.Since(start) != time.Minute {
			t.Errorf("SleepCtx(1h) with a 1m deadline = true or woke after %v, want false after 1m", time.Since(start))
		}
	})
}
