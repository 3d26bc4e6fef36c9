package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRedisIndexDropsExpiredEntries: the purge index keeps only live entries, so distinct query
// strings cannot grow it without bound between product writes. Needs REDIS_TEST_URL.
func TestRedisIndexDropsExpiredEntries(t *testing.T) {
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	kv := newRedisStore(rdb, 0)
	ctx := t.Context()
	prefix := "gwtest:" + shared.NewID() + ":"
	index := prefix + "idx"
	defer kv.Purge(ctx, index)
	for i := range 50 {
		if err := kv.Set(ctx, fmt.Sprintf("%sshort%d", prefix, i), []byte("x"), 5*time.Millisecond, index); err != nil {
			t.Fatal(err)
		}
	}
	// Redis keeps real time: wait until the short entries have expired, then one more Set trims them.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := kv.Get(ctx, prefix+"short49"); errors.Is(err, errCacheMiss) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("short entries did not expire")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := kv.Set(ctx, prefix+"long", []byte("y"), time.Minute, index); err != nil {
		t.Fatal(err)
	}
	if n, err := kv.indexLen(ctx, index); err != nil || n != 1 {
		t.Errorf("index members = %d, %v; want 1 (only the live entry)", n, err)
	}
}

// TestRedisIndexAcrossCopies: gateway copies whose clocks differ share the purge indexes. An entry
// one copy stored must stay in its index, whatever the next copy's clock says, until it expires in
// Redis: otherwise the next product write's purge misses it and the old answer is served on. The
// first copy runs in a synctest bubble, whose clock stands at 2000-01-01. Needs REDIS_TEST_URL.
func TestRedisIndexAcrossCopies(t *testing.T) {
	t.Parallel()
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	kv := newRedisStore(rdb, 0)
	ctx := context.Background()
	prefix := "gwtest:" + shared.NewID() + ":"
	index := prefix + "idx"
	t.Cleanup(func() { kv.Purge(ctx, index); rdb.Del(ctx, prefix+"behind", prefix+"here") })
	synctest.Test(t, func(t *testing.T) {
		if err := kv.Set(ctx, prefix+"behind", []byte("old"), time.Minute, index); err != nil {
			t.Fatal(err)
		}
	})
	if err := kv.Set(ctx, prefix+"here", []byte("new"), time.Minute, index); err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(ctx, index); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"behind", "here"} {
		if b, err := kv.Get(ctx, prefix+k); !errors.Is(err, errCacheMiss) {
			t.Errorf("Get %s after the purge = %q, %v; want errCacheMiss", k, b, err)
		}
	}
}

// TestStoreContract runs one contract against the in-memory store always and against Redis when
// REDIS_TEST_URL is set (e.g. redis://127.0.0.1:6379/15; the test deletes only its own keys).
func TestStoreContract(t *testing.T) {
	t.Parallel()
	stores := map[string]kvStore{"mem": newMemStore()}
	if rdb := sharedtest.Redis(t); rdb != nil {
		stores["redis"] = newRedisStore(rdb, 0)
	}
	for name, kv := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			prefix := "gwtest:" + shared.NewID() + ":"
			index := prefix + "idx"
			t.Cleanup(func() { kv.Purge(ctx, index) })

			if _, err := kv.Get(ctx, prefix+"a"); !errors.Is(err, errCacheMiss) {
				t.Fatalf("Get absent: err = %v, want errCacheMiss", err)
			}
			if err := kv.Set(ctx, prefix+"a", []byte("A"), time.Minute, index); err != nil {
				t.Fatal(err)
			}
			if err := kv.Set(ctx, prefix+"b", []byte("B"), time.Minute, index); err != nil {
				t.Fatal(err)
			}
			if b, err := kv.Get(ctx, prefix+"a"); err != nil || string(b) != "A" {
				t.Fatalf("Get a = %q, %v; want A", b, err)
			}
			if err := kv.Purge(ctx, index); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"a", "b"} {
				if _, err := kv.Get(ctx, prefix+k); !errors.Is(err, errCacheMiss) {
					t.Errorf("Get %s after Purge: err = %v, want errCacheMiss", k, err)
				}
			}

			// SetNX stores only over nothing: a logout's tombstone is never overwritten by a fill.
			if ok, err := kv.SetNX(ctx, prefix+"nx", []byte("1"), time.Minute); !ok || err != nil {
				t.Fatalf("SetNX on an absent key = %v, %v; want true", ok, err)
			}
			if ok, err := kv.SetNX(ctx, prefix+"nx", []byte("2"), time.Minute); ok || err != nil {
				t.Fatalf("SetNX on a present key = %v, %v; want false", ok, err)
			}
			if b, _ := kv.Get(ctx, prefix+"nx"); string(b) != "1" {
				t.Errorf("after a refused SetNX: value = %q, want 1", b)
			}
			if err := kv.Set(ctx, prefix+"nx", nil, time.Millisecond); err != nil {
				t.Fatal(err)
			}

			// An entry in two indexes goes with either; a purge of one index leaves the other's own.
			other, both := prefix+"idx2", prefix+"idx3"
			t.Cleanup(func() { kv.Purge(ctx, other, both) })
			if err := kv.Set(ctx, prefix+"c", []byte("C"), time.Minute, index, both); err != nil {
				t.Fatal(err)
			}
			if err := kv.Set(ctx, prefix+"d", []byte("D"), time.Minute, other); err != nil {
				t.Fatal(err)
			}
			if err := kv.Purge(ctx, both, prefix+"absent"); err != nil {
				t.Fatal(err)
			}
			if _, err := kv.Get(ctx, prefix+"c"); !errors.Is(err, errCacheMiss) {
				t.Errorf("Get c after purging one of its indexes: err = %v, want errCacheMiss", err)
			}
			if b, err := kv.Get(ctx, prefix+"d"); err != nil || string(b) != "D" {
				t.Errorf("Get d (another index) after the purge = %q, %v; want D", b, err)
			}

			// Token bucket: burst 3 at 1 per second. The mem store runs on the caller's clock; Redis
			// on its own (shared by every gateway copy), so there "later" is a real wait.
			spec := rateSpec{Rate: 1, Per: time.Second, Burst: 3}
			now := time.Now()
			later := func(d time.Duration) time.Time {
				if name == "redis" {
					time.Sleep(d)
				}
				return now.Add(d)
			}
			for i := range 3 {
				r, err := kv.Take(ctx, prefix+"rl", spec, 1, now)
				if err != nil || !r.Allowed || r.Remaining != 2-i {
					t.Fatalf("Take #%d = %+v, %v; want allowed with %d remaining", i+1, r, err, 2-i)
				}
			}
			r, err := kv.Take(ctx, prefix+"rl", spec, 1, now)
			if err != nil || r.Allowed || r.RetryAfter > time.Second || r.RetryAfter < time.Second-100*time.Millisecond {
				t.Fatalf("Take over the burst = %+v, %v; want refused, retry after 1s", r, err)
			}
			r, err = kv.Take(ctx, prefix+"rl", spec, 1, later(time.Second))
			if err != nil || !r.Allowed || r.Remaining != 0 {
				t.Fatalf("Take 1 s later = %+v, %v; want allowed with 0 remaining", r, err)
			}
			// Several at once: as many as are there.
			spec = rateSpec{Rate: 10, Per: time.Second, Burst: 10}
			for _, step := range []struct{ want, granted, remaining int }{{4, 4, 6}, {4, 4, 2}, {4, 2, 0}, {4, 0, 0}} {
				r, err := kv.Take(ctx, prefix+"lease", spec, step.want, now)
				if err != nil || r.Granted != step.granted || r.Remaining != step.remaining || r.Allowed != (step.granted > 0) {
					t.Fatalf("Take(want %d) = %+v, %v; want %d granted, %d remaining", step.want, r, err, step.granted, step.remaining)
				}
			}
			if err := kv.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
		})
	}
}

// TestStoreBoundsIndex: an index holds at most maxPerIndex live entries; a Set over the bound deletes
// the entries that expire soonest (memory always, Redis with REDIS_TEST_URL).
func TestStoreBoundsIndex(t *testing.T) {
	t.Parallel()
	mem := newMemStore()
	mem.maxPerIndex = 3
	stores := map[string]kvStore{"mem": mem}
	if rdb := sharedtest.Redis(t); rdb != nil {
		stores["redis"] = newRedisStore(rdb, 3)
	}
	for name, kv := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			prefix := "gwtest:" + shared.NewID() + ":"
			index, other := prefix+"idx", prefix+"other"
			t.Cleanup(func() { kv.Purge(context.WithoutCancel(ctx), index, other) })
			// Entry i expires after i+1 minutes, so the soonest to expire are the first ones.
			for i := range 5 {
				if err := kv.Set(ctx, fmt.Sprintf("%s%d", prefix, i), []byte("x"), time.Duration(i+1)*time.Minute, index); err != nil {
					t.Fatal(err)
				}
			}
			if err := kv.Set(ctx, prefix+"o", []byte("o"), time.Second, other); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				_, err := kv.Get(ctx, fmt.Sprintf("%s%d", prefix, i))
				if kept := err == nil; kept != (i >= 2) {
					t.Errorf("entry %d of 5 (index bound 3): kept = %v (%v), want %v", i, kept, err, i >= 2)
				}
			}
			if _, err := kv.Get(ctx, prefix+"o"); err != nil {
				t.Errorf("another index's entry: %v, want kept", err)
			}
		})
	}
}

// TestRateLimitClockSkew: two gateway copies share one bucket in Redis; their clocks differ (here
// by 30 s either way). Behind the copy that is ahead, the copy that is behind must not see the
// bucket as spent for the skew (every request of a client the load balancer sends both ways refused),
// nor the copy ahead see it as full again (a fresh burst per alternation). Needs REDIS_TEST_URL.
func TestRateLimitClockSkew(t *testing.T) {
	t.Parallel()
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	kv := newRedisStore(rdb, 0)
	ctx := t.Context()
	spec := rateSpec{Rate: 50, Per: time.Second, Burst: 200} // the default GATEWAY_RATE_LIMIT
	key := "gwtest:" + shared.NewID() + ":skew"
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	now := time.Now()
	if r, err := kv.Take(ctx, key, spec, 10, now); err != nil || r.Granted != 10 {
		t.Fatalf("Take 10 at the first copy = %+v, %v", r, err)
	}
	if r, err := kv.Take(ctx, key, spec, 10, now.Add(-30*time.Second)); err != nil || r.Granted != 10 {
		t.Errorf("Take 10 at a copy 30 s behind = %+v, %v; want 10 granted (180 left in the bucket)", r, err)
	}
	if r, err := kv.Take(ctx, key, spec, 200, now.Add(30*time.Second)); err != nil || r.Granted > 181 {
		t.Errorf("Take 200 at a copy 30 s ahead = %+v, %v; want at most the 180 left", r, err)
	}
}
