package main

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func TestLimitPolicy(t *testing.T) {
	t.Parallel()
	p := limitPolicy{Threshold: 5, Base: time.Second, Max: 10 * time.Second, Window: time.Minute}
	tests := []struct {
		n    int
		want time.Duration
	}{{1, 0}, {4, 0}, {5, time.Second}, {6, 2 * time.Second}, {7, 4 * time.Second}, {8, 8 * time.Second}, {9, 10 * time.Second}, {1000, 10 * time.Second}}
	for _, tt := range tests {
		if got := p.lockFor(tt.n); got != tt.want {
			t.Errorf("lockFor(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
}

// TestLimiter runs the limiter contract on synctest's fake clock for the in-memory limiter, and on the
// real clock (short policy) for Redis when REDIS_TEST_URL is set.
func TestLimiter(t *testing.T) {
	t.Parallel()
	t.Run("mem", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			testLimiterContract(t, newMemLimiter(accountPolicy), accountPolicy)
		})
	})
	if rc := redisClientForTest(t); rc != nil {
		t.Run("redis", func(t *testing.T) {
			t.Parallel()
			testLimiterScript(t, rc.limiter)
		})
	}
}

func testLimiterContract(t *testing.T, l limiter, p limitPolicy) {
	ctx := context.Background()
	key := "acct:a@example.com"
	for i := 1; i < p.Threshold; i++ {
		if lock, _ := l.Fail(ctx, key); lock != 0 {
			t.Fatalf("failure %d locked for %s, want no lock before %d", i, lock, p.Threshold)
		}
	}
	if st, _ := l.State(ctx, key); st != (limitState{Failures: p.Threshold - 1}) {
		t.Fatalf("State before threshold = %+v, want %d failures and no wait", st, p.Threshold-1)
	}
	if lock, _ := l.Fail(ctx, key); lock != p.Base {
		t.Fatalf("failure %d: lock = %s, want %s", p.Threshold, lock, p.Base)
	}
	if st, _ := l.State(ctx, key); st != (limitState{Failures: p.Threshold, Wait: p.Base}) {
		t.Fatalf("State = %+v, want %d failures and %s", st, p.Threshold, p.Base)
	}
	if st, _ := l.State(ctx, "acct:other@example.com"); st != (limitState{}) {
		t.Fatalf("another key is counted too: %+v", st)
	}
	time.Sleep(p.Base)
	if st, _ := l.State(ctx, key); st.Wait != 0 {
		t.Fatalf("Wait after lockout = %s, want 0", st.Wait)
	}
	// Every further failure doubles the lockout.
	if lock, _ := l.Fail(ctx, key); lock != 2*p.Base {
		t.Fatalf("next failure: lock = %s, want %s", lock, 2*p.Base)
	}
	if lock, _ := l.Fail(ctx, key); lock != 4*p.Base {
		t.Fatalf("next failure: lock = %s, want %s", lock, 4*p.Base)
	}
	// After a window without failures the count is forgotten.
	time.Sleep(p.Window)
	if lock, _ := l.Fail(ctx, key); lock != 0 {
		t.Fatalf("failure after quiet window: lock = %s, want 0", lock)
	}
	// Success resets.
	for range p.Threshold {
		l.Fail(ctx, key)
	}
	l.Reset(ctx, key)
	if st, _ := l.State(ctx, key); st != (limitState{}) {
		t.Fatalf("State after Reset = %+v, want zero", st)
	}
}

// testLimiterScript checks the Redis script's arithmetic matches lockFor, on the real clock.
func testLimiterScript(t *testing.T, l limiter) {
	ctx := context.Background()
	key := "k"
	for i := 1; i <= accountPolicy.Threshold+3; i++ {
		lock, err := l.Fail(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if want := accountPolicy.lockFor(i); lock != want {
			t.Fatalf("failure %d: lock = %s, want %s", i, lock, want)
		}
	}
	if st, err := l.State(ctx, key); err != nil || st.Failures != accountPolicy.Threshold+3 || st.Wait <= 0 ||
		st.Wait > accountPolicy.lockFor(accountPolicy.Threshold+3) {
		t.Fatalf("State = %+v, %v", st, err)
	}
	if err := l.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.State(ctx, key); st != (limitState{}) {
		t.Fatalf("State after Reset = %+v", st)
	}
}

// TestLoginThrottling drives POST /login on synctest's clock: after 5 wrong passwords the account is
// locked with a growing Retry-After, even the right password is refused while locked, an unknown
// email is throttled the same way (no enumeration), and a success after the lockout resets the count.
func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		env := newTestEnv(t)
		env.addAccount(t, "victim@example.com", "right-password", shared.RoleCustomer)
		wrong := `{"email":"victim@example.com","password":"wrong-password"}`
		right := `{"email":"victim@example.com","password":"right-password"}`
		for i := 1; i <= accountPolicy.Threshold; i++ {
			if w := env.do(t, "POST", "/login", wrong); w.Code != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: status = %d, want 401", i, w.Code)
			}
		}
		w := env.do(t, "POST", "/login", right)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
			t.Fatalf("right password while locked: status = %d Retry-After %q, want 429 and 1", w.Code, w.Header().Get("Retry-After"))
		}
		if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); e.Error.Code != "too_many_requests" {
			t.Fatalf("429 code = %q", e.Error.Code)
		}
		time.Sleep(time.Second)
		if w := env.do(t, "POST", "/login", wrong); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password after lockout: status = %d, want 401", w.Code)
		}
		w = env.do(t, "POST", "/login", right)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" {
			t.Fatalf("second lockout: status = %d Retry-After %q, want 429 and 2", w.Code, w.Header().Get("Retry-After"))
		}
		time.Sleep(2 * time.Second)
		if w := env.do(t, "POST", "/login", right); w.Code != http.StatusOK {
			t.Fatalf("right password after lockout: status = %d, want 200", w.Code)
		}
		// Reset: five more failures are needed before the next lock.
		for i := 1; i < accountPolicy.Threshold; i++ {
			env.do(t, "POST", "/login", wrong)
		}
		if w := env.do(t, "POST", "/login", right); w.Code != http.StatusOK {
			t.Fatalf("after reset, 4 failures locked the account: status = %d", w.Code)
		}

		// Unknown emails are throttled exactly like real ones.
		ghost := `{"email":"ghost@example.com","password":"wrong-password"}`
		for range accountPolicy.Threshold {
			env.do(t, "POST", "/login", ghost)
		}
		if w := env.do(t, "POST", "/login", ghost); w.Code != http.StatusTooManyRequests {
			t.Fatalf("unknown email after 5 failures: status = %d, want 429", w.Code)
		}
	})
}

func TestIPLimitKey(t *testing.T) {
	t.Parallel()
	for ip, want := range map[string]string{
		"192.0.2.1":            "ip:192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "ip:2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "ip:2001:db8:1:2::/64",
		"not-an-ip":            "ip:not-an-ip",
	} {
		if got := ipLimitKey(ip); got != want {
			t.Errorf("ipLimitKey(%s) = %s, want %s", ip, got, want)
		}
	}
}

// TestLimiterAcrossCopies: auth copies share the login throttle in Redis, and their clocks differ. A
// lockout one copy sets must last as long at every other copy: not void at a copy ahead (a guesser
// the load balancer spreads over both gets twice the tries), not longer at a copy behind (the holder
// who mistyped waits the skew on top). The other copy runs in a synctest bubble, whose clock stands at
// 2000-01-01, decades behind. Needs REDIS_TEST_URL.
func TestLimiterAcrossCopies(t *testing.T) {
	t.Parallel()
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	l := &redisLimiter{rdb: rdb, prefix: "test:" + shared.NewID() + ":", policy: accountPolicy}
	ctx := context.Background()
	fail := func(t *testing.T, key string) {
		t.Helper()
		for range accountPolicy.Threshold {
			if _, err := l.Fail(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(t *testing.T, where, key string) {
		t.Helper()
		st, err := l.State(ctx, key)
		if err != nil || st.Wait <= 0 || st.Wait > accountPolicy.Base {
			t.Errorf("%s: State = %+v, %v; want a wait of at most %s", where, st, err, accountPolicy.Base)
		}
	}
	fail(t, "locked-here")
	synctest.Test(t, func(t *testing.T) {
		check(t, "a lockout from a copy ahead, at the copy behind", "locked-here")
		fail(t, "locked-behind")
	})
	check(t, "a lockout from a copy behind, at the copy ahead", "locked-behind")
}
