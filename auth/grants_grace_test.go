package main

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestGrantGrace is the contract of the reuse grace (AUTH_REFRESH_REUSE_GRACE): the mem store under
// synctest's clock, Redis (REDIS_TEST_URL) with a clock of the test's.
func TestGrantGrace(t *testing.T) {
	t.Parallel()
	t.Run("mem", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			s := newMemGrantStore()
			s.grace = 30 * time.Second
			testGrantGraceContract(t, s, time.Sleep)
		})
	})
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		return
	}
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		now := time.Now()
		s := &redisGrantStore{rdb: rdb, grace: 30 * time.Second, now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		}}
		testGrantGraceContract(t, s, func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
		})
	})
}

// testGrantGraceContract: s has a 30 s grace; advance moves its clock on.
func testGrantGraceContract(t *testing.T, s grantStore, advance func(time.Duration)) {
	ctx := context.Background()
	g := grant{UserID: "u-" + shared.NewID(), AuthTime: time.Now().UTC(), ExpiresAt: time.Now().Add(time.Hour).UTC()}
	start := func() (string, func() string) {
		t.Helper()
		rt, fam := newFamilyToken()
		if err := s.StartFamily(ctx, g, rt); err != nil {
			t.Fatalf("StartFamily: %v", err)
		}
		return rt, func() string { return fam + "." + shared.RandomToken() }
	}
	rotate := func(what, token, next string, want error) {
		t.Helper()
		_, err := s.Rotate(ctx, token, next)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Fatalf("%s: Rotate err = %v, want %v", what, err, want)
		}
	}
	peek := func(what, token string, want error) {
		t.Helper()
		_, err := s.Peek(ctx, token)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Fatalf("%s: Peek err = %v, want %v", what, err, want)
		}
	}

	// The answer of a rotation was lost: the client comes back with the old token 20 s later.
	rt0, next := start()
	rt1, rt2 := next(), next()
	rotate("first rotation", rt0, rt1, nil)
	advance(20 * time.Second)
	peek("rotated token within the grace", rt0, nil)
	if g, _ := s.Peek(ctx, rt0); !g.Rotated {
		t.Fatalf("Peek of a rotated token within the grace: Rotated false, want true")
	}
	if g, _ := s.Peek(ctx, rt1); g.Rotated {
		t.Fatalf("Peek of the live token: Rotated true, want false")
	}
	rotate("lost answer, within the grace", rt0, rt2, nil)
	peek("the new token", rt2, nil)
	// Never two live tokens: the successor nobody saw is a used token now; its window is the first
	// rotation's, not a new one.
	peek("replaced successor within the window", rt1, nil)
	advance(11 * time.Second)
	peek("replaced successor after the window", rt1, shared.ErrNotFound)
	rotate("replaced successor after the window", rt1, next(), errRefreshReused)
	peek("family after the reuse", rt2, shared.ErrNotFound)

	// The successor was used: the old token is a reuse at once, grace or not.
	rt0, next = start()
	rt1, rt2 = next(), next()
	rotate("first rotation", rt0, rt1, nil)
	rotate("successor used", rt1, rt2, nil)
	rotate("old token after its successor was used", rt0, next(), errRefreshReused)
	peek("family after the reuse", rt2, shared.ErrNotFound)

	// After the grace, a rotated token is a reuse even when its successor was never used.
	rt0, next = start()
	rt1 = next()
	rotate("first rotation", rt0, rt1, nil)
	advance(30 * time.Second)
	peek("rotated token after the grace", rt0, shared.ErrNotFound)
	rotate("rotated token after the grace", rt0, next(), errRefreshReused)
	peek("family after the reuse", rt1, shared.ErrNotFound)

	// A reuse check (next == token, the handler's probe of a token Peek did not find) never rotates.
	rt0, next = start()
	rt1 = next()
	rotate("first rotation", rt0, rt1, nil)
	rotate("reuse check within the grace", rt0, rt0, errRefreshReused)
	peek("family after the reuse check", rt1, shared.ErrNotFound)
}

// TestRefreshLostAnswer: POST /token with a refresh token whose rotation's answer was lost. Within the
// grace the client keeps its sign-in; once the new token was used, the old one is a reuse.
func TestRefreshLostAnswer(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(_ *Config, d *deps) {
		s := newMemGrantStore()
		s.grace = time.Minute
		d.grants = s
	})
	env.addAccount(t, "demo@shop.local", "demo-Passw0rd!", shared.RoleCustomer)
	lr, _ := env.login(t, "demo@shop.local", "demo-Passw0rd!")
	c := newOIDCClient(t, env)
	refresh := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	}
	st, out := c.token(refresh(lr.RefreshToken))
	if st != 200 || out["refresh_token"] == nil {
		t.Fatalf("refresh: %d %v", st, out)
	}
	// The rotated token may rotate once more, but it is no live token for introspection.
	svc := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("internal-service:service-secret-123"))}
	for tok, want := range map[string]bool{lr.RefreshToken: false, out["refresh_token"].(string): true} {
		w := env.do(t, "POST", "/introspect", url.Values{"token": {tok}}, svc...)
		if got := sharedtest.Decode[map[string]any](t, w); w.Code != 200 || got["active"] != want {
			t.Errorf("introspect within the grace: %d %v, want active=%v", w.Code, got, want)
		}
	}
	// That answer is lost: the client refreshes with the same token again.
	st, out = c.token(refresh(lr.RefreshToken))
	if st != 200 || out["refresh_token"] == nil || out["access_token"] == nil {
		t.Fatalf("refresh again after a lost answer: %d %v; want 200 (the family was revoked)", st, out)
	}
	kept := out["refresh_token"].(string)
	st, out = c.token(refresh(kept))
	if st != 200 || out["refresh_token"] == nil {
		t.Fatalf("refresh with the token of the retry: %d %v", st, out)
	}
	live := out["refresh_token"].(string)
	st, out = c.token(refresh(lr.RefreshToken))
	wantOAuthError(t, "old token after its successor's successor was used", st, out, 400, "invalid_grant")
	st, out = c.token(refresh(live))
	wantOAuthError(t, "family after the reuse", st, out, 400, "invalid_grant")
}

// TestGrantGraceAcrossCopies: two auth copies share the refresh families in Redis, and their clocks
// differ. The copy that rotated a token and the copy that gets the lost answer's retry must agree on
// how long ago the rotation was: a retry a moment later is within the 30 s grace whatever the copies'
// clocks say. The first copy runs in a synctest bubble, whose clock stands at 2000-01-01 (decades
// behind the other), the crudest skew there is. Needs REDIS_TEST_URL.
func TestGrantGraceAcrossCopies(t *testing.T) {
	t.Parallel()
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	behind, here := &redisGrantStore{rdb: rdb, grace: 30 * time.Second}, &redisGrantStore{rdb: rdb, grace: 30 * time.Second}
	ctx := context.Background()
	g := grant{UserID: "u-" + shared.NewID(), AuthTime: time.Now().UTC(), ExpiresAt: time.Now().Add(time.Hour).UTC()}
	rt0, fam := newFamilyToken()
	if err := here.StartFamily(ctx, g, rt0); err != nil {
		t.Fatalf("StartFamily: %v", err)
	}
	rt1, rt2 := fam+"."+shared.RandomToken(), fam+"."+shared.RandomToken()
	synctest.Test(t, func(t *testing.T) {
		if _, err := behind.Rotate(ctx, rt0, rt1); err != nil {
			t.Fatalf("rotation at the copy behind: %v", err)
		}
	})
	if _, err := here.Peek(ctx, rt0); err != nil {
		t.Errorf("Peek of the just rotated token at the other copy: %v, want it within the grace", err)
	}
	if _, err := here.Rotate(ctx, rt0, rt2); err != nil {
		t.Errorf("the lost answer's retry at the other copy: %v, want a rotation (errRefreshReused revokes the family)", err)
	}
	if _, err := here.Peek(ctx, rt2); errors.Is(err, shared.ErrNotFound) {
		t.Errorf("the family is gone after a retry within the grace")
	}
}
