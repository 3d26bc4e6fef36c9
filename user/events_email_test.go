package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// TestEmailVerifiedEvent: user.email_verified sets the address and the flag; a replay, or an older
// event arriving late, changes nothing; a malformed one is poison; an unknown profile is skipped.
func TestEmailVerifiedEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	profiles := newMemProfileStore()
	handle := handleUserEvent(discardLogger(), profiles)
	if err := handle(ctx, registered(t, userRegistered{UserID: "u1", Email: "old@example.com", Name: "Ann"})); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	verified := func(email string, at time.Time) shared.Event {
		e, err := shared.NewEvent(eventUserEmailVerified, "u1", userEmailVerified{UserID: "u1", Email: email})
		if err != nil {
			t.Fatal(err)
		}
		e.OccurredAt = at
		return e
	}
	newer, older := verified("new@example.com", t0.Add(time.Second)), verified("old@example.com", t0)
	for _, e := range []shared.Event{newer, newer, older} {
		if err := handle(ctx, e); err != nil {
			t.Fatalf("deliver %s: %v", e.ID, err)
		}
	}
	p, _ := profiles.Get(ctx, "u1")
	if p.Email != "new@example.com" || !p.EmailVerified || !viewProfile(p).EmailVerified {
		t.Errorf("profile after the events: email %q verified %v, want new@example.com true", p.Email, p.EmailVerified)
	}
	bad := verified("", t0.Add(time.Hour))
	if err := handle(ctx, bad); !errors.Is(err, shared.ErrPoison) {
		t.Errorf("event without an address: err = %v, want ErrPoison", err)
	}
	unknown, _ := shared.NewEvent(eventUserEmailVerified, "u2", userEmailVerified{UserID: "u2", Email: "x@example.com"})
	if err := handle(ctx, unknown); err != nil {
		t.Errorf("unknown profile: err = %v, want skipped", err)
	}
}
