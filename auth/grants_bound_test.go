package main

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRotationMarkersBounded: a family remembers its newest usedTokensKept rotated tokens, however
// often it rotates. Before, every rotation left a marker for the family's whole life (30 days): a
// customer rotating on purpose at the token endpoint's 50 a second added about 900 MB a day to the
// Redis that also holds sessions and rate limits. A token older than that is refused as unknown, and
// its family lives on; a recent one is still a reuse that revokes the family. Revoking a family
// deletes its markers. Mem always, Redis when REDIS_TEST_URL is set (there the keys are counted too).
func TestRotationMarkersBounded(t *testing.T) {
	t.Parallel()
	t.Run("mem", func(t *testing.T) {
		t.Parallel()
		s := newMemGrantStore()
		testRotationMarkersBounded(t, s, func(fam string) int {
			s.mu.Lock()
			defer s.mu.Unlock()
			if f := s.families[fam]; f != nil {
				return max(len(f.used), len(f.order))
			}
			return 0
		})
	})
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		return
	}
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		s := &redisGrantStore{rdb: rdb}
		testRotationMarkersBounded(t, s, func(fam string) int {
			return int(max(rdb.HLen(ctx, "auth:rtu:"+fam).Val(), rdb.LLen(ctx, "auth:rtq:"+fam).Val()))
		})

		// A marker written before the per-family hash (its own key auth:rtu:<h>) still detects a reuse.
		rt, fam := newFamilyToken()
		if err := s.StartFamily(ctx, grant{UserID: "u", ExpiresAt: time.Now().Add(time.Hour)}, rt); err != nil {
			t.Fatal(err)
		}
		next := fam + "." + shared.RandomToken()
		if _, err := s.Rotate(ctx, rt, next); err != nil {
			t.Fatal(err)
		}
		h := tokenHash(rt)
		marker := rdb.HGet(ctx, "auth:rtu:"+fam, h).Val()
		rdb.Del(ctx, "auth:rtu:"+fam, "auth:rtq:"+fam)
		rdb.Set(ctx, "auth:rtu:"+h, marker, time.Hour)
		if _, err := s.Rotate(ctx, rt, fam+"."+shared.RandomToken()); !errors.Is(err, errRefreshReused) {
			t.Errorf("reuse of a token marked the old way: err = %v, want errRefreshReused", err)
		}
	})
}

// testRotationMarkersBounded rotates one family past usedTokensKept; markers tells how many rotated
// tokens the store holds for a family.
func testRotationMarkersBounded(t *testing.T, s grantStore, markers func(fam string) int) {
	ctx := context.Background()
	g := grant{UserID: "u-" + shared.NewID(), ExpiresAt: time.Now().Add(time.Hour).UTC()}
	rt, fam := newFamilyToken()
	if err := s.StartFamily(ctx, g, rt); err != nil {
		t.Fatal(err)
	}
	toks := []string{rt}
	for range usedTokensKept + 20 {
		next := fam + "." + shared.RandomToken()
		if _, err := s.Rotate(ctx, toks[len(toks)-1], next); err != nil {
			t.Fatalf("rotation %d: %v", len(toks), err)
		}
		toks = append(toks, next)
	}
	if n := markers(fam); n != usedTokensKept {
		t.Errorf("after %d rotations the family holds %d rotated tokens, want %d", len(toks)-1, n, usedTokensKept)
	}
	if _, err := s.Rotate(ctx, toks[0], fam+"."+shared.RandomToken()); !errors.Is(err, shared.ErrNotFound) {
		t.Errorf("the first token, past the kept ones: err = %v, want ErrNotFound", err)
	}
	live := toks[len(toks)-1]
	if _, err := s.Peek(ctx, live); err != nil {
		t.Fatalf("the live token after an old token was refused: %v (the family must live on)", err)
	}
	if _, err := s.Rotate(ctx, toks[len(toks)-3], fam+"."+shared.RandomToken()); !errors.Is(err, errRefreshReused) {
		t.Errorf("a recent rotated token: err = %v, want errRefreshReused", err)
	}
	if _, err := s.Peek(ctx, live); !errors.Is(err, shared.ErrNotFound) {
		t.Errorf("Peek of the live token after a reuse: err = %v, want ErrNotFound", err)
	}
	if n := markers(fam); n != 0 {
		t.Errorf("a revoked family still holds %d rotated tokens", n)
	}

	// RevokeFamily deletes the markers too.
	rt, fam = newFamilyToken()
	if err := s.StartFamily(ctx, g, rt); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, rt, fam+"."+shared.RandomToken()); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeFamily(ctx, fam); err != nil {
		t.Fatal(err)
	}
	if n := markers(fam); n != 0 {
		t.Errorf("after RevokeFamily the family still holds %d rotated tokens", n)
	}
}

// TestMemGrantsPruned: the memory store drops expired families and codes every pruneEvery writes,
// also those nobody asks for again (it kept every family and code ever made).
func TestMemGrantsPruned(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newMemGrantStore()
		for range pruneEvery {
			rt, _ := newFamilyToken()
			s.StartFamily(ctx, grant{UserID: "u", ExpiresAt: time.Now().Add(time.Minute)}, rt)
			code, _ := newFamilyToken()
			s.SaveCode(ctx, code, authCode{ClientID: "c"}, time.Minute)
		}
		time.Sleep(time.Minute)
		for range pruneEvery {
			code, _ := newFamilyToken()
			s.SaveCode(ctx, code, authCode{ClientID: "c"}, time.Hour)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.families) != 0 || len(s.codes) > pruneEvery {
			t.Errorf("after expiry and %d writes: %d families and %d codes kept, want 0 and at most %d",
				2*pruneEvery, len(s.families), len(s.codes), pruneEvery)
		}
	})
}
