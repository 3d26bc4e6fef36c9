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

// redisClientForTest returns Redis-backed stores on REDIS_TEST_URL, or nil when it is unset. Nothing
// is flushed: every test uses random keys.
func redisClientForTest(t *testing.T) *redisTestClient {
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		return nil
	}
	return &redisTestClient{sessions: &redisSessionStore{rdb: rdb}, grants: &redisGrantStore{rdb: rdb},
		limiter: &redisLimiter{rdb: rdb, prefix: "test:" + shared.NewID() + ":", policy: accountPolicy}}
}

type redisTestClient struct {
	sessions sessionStore
	grants   grantStore
	limiter  limiter
}

// TestSessionStore is the contract of sessionStore: the in-memory store always, Redis when
// REDIS_TEST_URL is set.
func TestSessionStore(t *testing.T) {
	t.Parallel()
	t.Run("mem", func(t *testing.T) {
		t.Parallel()
		testSessionStoreContract(t, newMemSessionStore())
	})
	if rc := redisClientForTest(t); rc != nil {
		t.Run("redis", func(t *testing.T) {
			t.Parallel()
			testSessionStoreContract(t, rc.sessions)
		})
	}
}

func testSessionStoreContract(t *testing.T, s sessionStore) {
	ctx := context.Background()
	user := "u-" + shared.NewID()
	now := time.Now()
	a := session{ID: shared.RandomToken(), UserID: user, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	b := session{ID: shared.RandomToken(), UserID: user, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	other := session{ID: shared.RandomToken(), UserID: "other-" + user, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	for _, x := range []session{a, b, other} {
		if err := s.Create(ctx, x, time.Minute); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	got, err := s.Touch(ctx, a.ID, time.Minute)
	if err != nil || got.UserID != user || got.ID != a.ID {
		t.Fatalf("Touch = %+v, %v", got, err)
	}
	if _, err := s.Touch(ctx, "unknown", time.Minute); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Touch unknown: err = %v, want ErrNotFound", err)
	}
	if ok, err := s.Alive(ctx, sessionSID(a.ID)); err != nil || !ok {
		t.Fatalf("Alive by sid = %v, %v; want true", ok, err)
	}
	if ok, err := s.Alive(ctx, a.ID); err != nil || ok {
		t.Fatalf("Alive by the secret ID = %v, %v; want false (sessions are named by their sid)", ok, err)
	}
	if err := s.Delete(ctx, sessionSID(a.ID)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if ok, err := s.Alive(ctx, sessionSID(a.ID)); err != nil || ok {
		t.Fatalf("Alive after Delete = %v, %v; want false", ok, err)
	}
	if _, err := s.Touch(ctx, a.ID, time.Minute); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Touch after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, sessionSID(a.ID)); err != nil {
		t.Fatalf("Delete twice: %v", err)
	}
	n, err := s.DeleteUser(ctx, user)
	if err != nil || n != 1 {
		t.Fatalf("DeleteUser = %d, %v; want 1", n, err)
	}
	if _, err := s.Touch(ctx, b.ID, time.Minute); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Touch after DeleteUser: err = %v", err)
	}
	if _, err := s.Touch(ctx, other.ID, time.Minute); err != nil {
		t.Fatalf("DeleteUser ended another user's session: %v", err)
	}
}

// TestMemSessionSlidingExpiry checks idle expiry, sliding on use and the absolute cap on a fake clock.
func TestMemSessionSlidingExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newMemSessionStore()
		idle := 10 * time.Minute
		now := time.Now()
		sess := session{ID: shared.RandomToken(), UserID: "u", CreatedAt: now, ExpiresAt: now.Add(25 * time.Minute)}
		s.Create(ctx, sess, idle)
		for i := range 2 {
			time.Sleep(9 * time.Minute)
			if _, err := s.Touch(ctx, sess.ID, idle); err != nil {
				t.Fatalf("use %d after 9 min: %v (sliding expiry should keep it)", i, err)
			}
		}
		time.Sleep(8 * time.Minute) // 26 min: past the absolute end though used 8 min ago
		if _, err := s.Touch(ctx, sess.ID, idle); !errors.Is(err, shared.ErrNotFound) {
			t.Fatalf("Touch past absolute end: err = %v, want ErrNotFound", err)
		}
		idleOnly := session{ID: shared.RandomToken(), UserID: "u", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		s.Create(ctx, idleOnly, idle)
		time.Sleep(idle)
		if _, err := s.Touch(ctx, idleOnly.ID, idle); !errors.Is(err, shared.ErrNotFound) {
			t.Fatalf("Touch after idle TTL: err = %v, want ErrNotFound", err)
		}
	})
}

// TestGrantStore is the contract of grantStore: mem always, Redis when REDIS_TEST_URL is set.
func TestGrantStore(t *testing.T) {
	t.Parallel()
	t.Run("mem", func(t *testing.T) {
		t.Parallel()
		testGrantStoreContract(t, newMemGrantStore())
	})
	if rc := redisClientForTest(t); rc != nil {
		t.Run("redis", func(t *testing.T) {
			t.Parallel()
			testGrantStoreContract(t, rc.grants)
		})
	}
}

func testGrantStoreContract(t *testing.T, s grantStore) {
	ctx := context.Background()
	user := "u-" + shared.NewID()
	g := grant{UserID: user, ClientID: "c", SessionID: "sid-" + user, Scope: "openid", AuthTime: time.Now().UTC(),
		ExpiresAt: time.Now().Add(time.Hour).UTC()}

	// Codes are single-use; a second use revokes the family started with the first.
	code, fam := newFamilyToken()
	if err := s.SaveCode(ctx, code, authCode{ClientID: "c", UserID: user}, time.Minute); err != nil {
		t.Fatalf("SaveCode: %v", err)
	}
	c, err := s.TakeCode(ctx, code)
	if err != nil || c.ClientID != "c" || c.FamilyID != fam {
		t.Fatalf("TakeCode = %+v, %v", c, err)
	}
	rt1 := fam + "." + shared.RandomToken()
	if err := s.StartFamily(ctx, g, rt1); err != nil {
		t.Fatalf("StartFamily: %v", err)
	}
	if _, err := s.TakeCode(ctx, code); !errors.Is(err, errCodeReused) {
		t.Fatalf("TakeCode again: err = %v, want errCodeReused", err)
	}
	if _, err := s.Peek(ctx, rt1); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Peek after code reuse: err = %v, want ErrNotFound (family revoked)", err)
	}
	if _, err := s.TakeCode(ctx, "garbage"); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("TakeCode garbage: err = %v", err)
	}

	// Rotation: the old token stops working, reusing it revokes the family.
	rt, fam := newFamilyToken()
	if err := s.StartFamily(ctx, g, rt); err != nil {
		t.Fatal(err)
	}
	got, err := s.Peek(ctx, rt)
	if err != nil || got.UserID != user || got.FamilyID != fam || got.Scope != "openid" {
		t.Fatalf("Peek = %+v, %v", got, err)
	}
	next := fam + "." + shared.RandomToken()
	if got, err := s.Rotate(ctx, rt, next); err != nil || got.UserID != user {
		t.Fatalf("Rotate = %+v, %v", got, err)
	}
	if _, err := s.Peek(ctx, next); err != nil {
		t.Fatalf("Peek rotated-in token: %v", err)
	}
	// The same rotation again (a Redis client resending a script whose answer was late) is that
	// rotation, not a reuse: it must not revoke the family it just rotated.
	if got, err := s.Rotate(ctx, rt, next); err != nil || got.UserID != user {
		t.Fatalf("Rotate repeated with the same next token = %+v, %v; want the rotation's grant", got, err)
	}
	if _, err := s.Peek(ctx, next); err != nil {
		t.Fatalf("Peek rotated-in token after the repeat: %v", err)
	}
	if _, err := s.Rotate(ctx, rt, fam+"."+shared.RandomToken()); !errors.Is(err, errRefreshReused) {
		t.Fatalf("Rotate used token: err = %v, want errRefreshReused", err)
	}
	if _, err := s.Rotate(ctx, next, fam+"."+shared.RandomToken()); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Rotate after family revoked: err = %v, want ErrNotFound", err)
	}
	forged, _ := newFamilyToken()
	if _, err := s.Rotate(ctx, forged, forged); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Rotate unknown: err = %v", err)
	}

	// Revocation by family, session and user.
	for _, revoke := range []struct {
		name string
		fn   func() error
	}{
		{"family", nil},
		{"session", func() error { return s.RevokeSession(ctx, g.SessionID) }},
		{"user", func() error { return s.RevokeUser(ctx, user) }},
	} {
		tok, fam := newFamilyToken()
		if err := s.StartFamily(ctx, g, tok); err != nil {
			t.Fatal(err)
		}
		fn := revoke.fn
		if fn == nil {
			fn = func() error { return s.RevokeFamily(ctx, fam) }
		}
		if err := fn(); err != nil {
			t.Fatalf("revoke by %s: %v", revoke.name, err)
		}
		if _, err := s.Peek(ctx, tok); !errors.Is(err, shared.ErrNotFound) {
			t.Fatalf("Peek after revoke by %s: err = %v, want ErrNotFound", revoke.name, err)
		}
	}
}

// TestUserIndexesBounded: a user's index of refresh families (what RevokeUser walks) and of sessions
// (DeleteUser) keep only what has not reached its end, however often the user signs in; they used to
// keep everything ever started as long as one sign-in came within the lifetime. RevokeUser and
// DeleteUser still end what the older sets list. Redis only (REDIS_TEST_URL).
func TestUserIndexesBounded(t *testing.T) {
	t.Parallel()
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	ctx := context.Background()
	start := time.Now()
	now := start
	s := &redisGrantStore{rdb: rdb, now: func() time.Time { return now }}
	user := "u-" + shared.NewID()
	var toks []string
	for day := range 5 { // a sign-in a day, each family living two days
		now = start.Add(time.Duration(day) * 24 * time.Hour)
		tok, _ := newFamilyToken()
		g := grant{UserID: user, ExpiresAt: now.Add(48 * time.Hour)}
		if err := s.StartFamily(ctx, g, tok); err != nil {
			t.Fatalf("StartFamily: %v", err)
		}
		toks = append(toks, tok)
	}
	kept := rdb.ZCard(ctx, "auth:ufams:"+user).Val() + rdb.SCard(ctx, "auth:ufam:"+user).Val()
	if kept != 2 { // days 3 and 4: the others expired by day 4
		t.Errorf("the user's family index holds %d families after 5 daily sign-ins with a 2-day lifetime, want 2", kept)
	}
	if d := rdb.PTTL(ctx, "auth:ufams:"+user).Val(); d <= 0 {
		t.Errorf("the user's family index has TTL %v, want one", d)
	}
	// A family recorded in the older set before the upgrade.
	old, oldFam := newFamilyToken()
	if err := s.StartFamily(ctx, grant{UserID: user, ExpiresAt: time.Now().Add(time.Hour)}, old); err != nil {
		t.Fatal(err)
	}
	rdb.ZRem(ctx, "auth:ufams:"+user, oldFam)
	rdb.SAdd(ctx, "auth:ufam:"+user, oldFam)
	if err := s.RevokeUser(ctx, user); err != nil {
		t.Fatalf("RevokeUser: %v", err)
	}
	for _, tok := range append(toks[3:], old) {
		if _, err := s.Peek(ctx, tok); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Peek after RevokeUser: err = %v, want ErrNotFound", err)
		}
	}

	// Sessions: a sign-in a day, each session ending two days after it started.
	ss := &redisSessionStore{rdb: rdb, now: func() time.Time { return now }}
	var ids []string
	for day := range 5 {
		now = start.Add(time.Duration(day) * 24 * time.Hour)
		sess := session{ID: shared.RandomToken(), UserID: user, CreatedAt: now, ExpiresAt: now.Add(48 * time.Hour)}
		if err := ss.Create(ctx, sess, time.Hour); err != nil {
			t.Fatalf("Create: %v", err)
		}
		ids = append(ids, sess.ID)
	}
	kept = rdb.ZCard(ctx, "auth:usessz:"+user).Val() + rdb.SCard(ctx, "auth:usess:"+user).Val()
	if kept != 2 {
		t.Errorf("the user's session index holds %d sessions after 5 daily sign-ins with a 2-day lifetime, want 2", kept)
	}
	// A session recorded in the older set before the upgrade.
	oldSess := session{ID: shared.RandomToken(), UserID: user, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := ss.Create(ctx, oldSess, time.Hour); err != nil {
		t.Fatal(err)
	}
	rdb.ZRem(ctx, "auth:usessz:"+user, tokenHash(oldSess.ID))
	rdb.SAdd(ctx, "auth:usess:"+user, tokenHash(oldSess.ID))
	if n, err := ss.DeleteUser(ctx, user); err != nil || n != 3 {
		t.Errorf("DeleteUser = %d, %v; want 3 (two live sessions and the one in the older set)", n, err)
	}
	for _, id := range append(ids[3:], oldSess.ID) {
		if _, err := ss.Touch(ctx, id, time.Hour); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Touch after DeleteUser: err = %v, want ErrNotFound", err)
		}
	}
}

// TestMemGrantExpiry checks that codes and families expire on the fake clock.
func TestMemGrantExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newMemGrantStore()
		code, _ := newFamilyToken()
		s.SaveCode(ctx, code, authCode{ClientID: "c"}, codeTTL)
		time.Sleep(codeTTL)
		if _, err := s.TakeCode(ctx, code); !errors.Is(err, shared.ErrNotFound) {
			t.Fatalf("TakeCode after TTL: err = %v, want ErrNotFound", err)
		}
		rt, _ := newFamilyToken()
		s.StartFamily(ctx, grant{UserID: "u", ExpiresAt: time.Now().Add(time.Hour)}, rt)
		time.Sleep(time.Hour)
		if _, err := s.Peek(ctx, rt); !errors.Is(err, shared.ErrNotFound) {
			t.Fatalf("Peek after family expiry: err = %v, want ErrNotFound", err)
		}
	})
}
