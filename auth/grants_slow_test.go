package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRotateSurvivesSlowRedis: a refresh whose rotation Redis applied but answered after the client's
// read timeout (1 s) is resent by go-redis on a new connection. Before, that second run found the
// token used and revoked the family: a Redis stall of a second logged the user out and was logged as
// a stolen refresh token. The repeat must be the same rotation.
func TestRotateSurvivesSlowRedis(t *testing.T) {
	t.Parallel()
	slow := sharedtest.NewSlowRedis(t, 1500*time.Millisecond)
	if slow == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	rdb := slow.Client
	ctx := context.Background()
	s := &redisGrantStore{rdb: rdb}
	user := "u-" + shared.NewID()
	rt, fam := newFamilyToken()
	g := grant{UserID: user, AuthTime: time.Now().UTC(), ExpiresAt: time.Now().Add(time.Hour).UTC()}
	if err := s.StartFamily(ctx, g, rt); err != nil {
		t.Fatalf("StartFamily: %v", err)
	}
	if err := rotateScript.Load(ctx, rdb).Err(); err != nil { // so the delayed reply is the rotation's
		t.Fatal(err)
	}
	slow.DelayNext()
	next := fam + "." + shared.RandomToken()
	if got, err := s.Rotate(ctx, rt, next); err != nil || got.UserID != user {
		t.Fatalf("Rotate with a late answer = %+v, %v; want the grant (errRefreshReused: the retry revoked it)", got, err)
	}
	if _, err := s.Peek(ctx, next); err != nil {
		t.Fatalf("Peek rotated-in token: %v, want it live", err)
	}
}

// TestTakeCodeSurvivesSlowRedis: as TestRotateSurvivesSlowRedis for the authorization code. Before,
// the resent script found the code taken and answered errCodeReused, so the storefront's sign-in
// (its code exchange) failed on a Redis stall of a second.
func TestTakeCodeSurvivesSlowRedis(t *testing.T) {
	t.Parallel()
	slow := sharedtest.NewSlowRedis(t, 1500*time.Millisecond)
	if slow == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	rdb := slow.Client
	ctx := context.Background()
	s := &redisGrantStore{rdb: rdb}
	code, fam := newFamilyToken()
	if err := s.SaveCode(ctx, code, authCode{ClientID: "c", UserID: "u-" + fam}, time.Minute); err != nil {
		t.Fatalf("SaveCode: %v", err)
	}
	if err := takeCodeScript.Load(ctx, rdb).Err(); err != nil {
		t.Fatal(err)
	}
	slow.DelayNext()
	c, err := s.TakeCode(ctx, code)
	if err != nil || c.ClientID != "c" || c.FamilyID != fam {
		t.Fatalf("TakeCode with a late answer = %+v, %v; want the code (errCodeReused: the retry refused it)", c, err)
	}
	if _, err := s.TakeCode(ctx, code); !errors.Is(err, errCodeReused) {
		t.Fatalf("TakeCode again: err = %v, want errCodeReused", err)
	}
}

// TestFailCountsOnceWithSlowRedis: a failed attempt whose count Redis applied but answered after the
// client's read timeout is resent by go-redis; before, the repeat counted the failure again, so a
// Redis stall of a second turned one wrong password into two and locked an account out early.
func TestFailCountsOnceWithSlowRedis(t *testing.T) {
	t.Parallel()
	slow := sharedtest.NewSlowRedis(t, 1500*time.Millisecond)
	if slow == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	ctx := context.Background()
	l := &redisLimiter{rdb: slow.Client, prefix: "t:slow:" + shared.NewID() + ":", policy: accountPolicy}
	if err := failScript.Load(ctx, slow.Client).Err(); err != nil { // so the delayed reply is the count's
		t.Fatal(err)
	}
	slow.DelayNext()
	if lock, err := l.Fail(ctx, "k"); err != nil || lock != 0 {
		t.Fatalf("Fail with a late answer = %v, %v; want no lockout, nil", lock, err)
	}
	if st, err := l.State(ctx, "k"); err != nil || st.Failures != 1 {
		t.Fatalf("State after one failure = %+v, %v; want 1 failure (the resent script counted it again)", st, err)
	}
}
