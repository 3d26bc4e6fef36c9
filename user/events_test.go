package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func registered(t *testing.T, d userRegistered) shared.Event {
	t.Helper()
	e, err := shared.NewEvent(eventUserRegistered, d.UserID, d)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestUserRegisteredIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	profiles := newMemProfileStore()
	handle := handleUserEvent(discardLogger(), profiles)
	e := registered(t, userRegistered{UserID: "u1", Email: "ann@example.com", Name: "Ann", Role: "admin"})

	if err := handle(ctx, e); err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	first, err := profiles.Get(ctx, "u1")
	if err != nil {
		t.Fatalf("profile not created: %v", err)
	}
	if first.Email != "ann@example.com" || first.Name != "Ann" || first.Role != shared.RoleAdmin || first.Status != statusActive {
		t.Errorf("created %+v, want ann@example.com Ann admin active", first)
	}
	// The user edits the profile; a redelivered event must not undo that.
	if _, err := profiles.Update(ctx, "u1", func(p *Profile) error { p.Name = "Ann Edited"; return nil }); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := handle(ctx, e); err != nil {
			t.Fatalf("redelivery: %v", err)
		}
	}
	// A different event ID with the same user (auth retried its publish) is a no-op too.
	if err := handle(ctx, registered(t, userRegistered{UserID: "u1", Email: "other@example.com", Name: "Other"})); err != nil {
		t.Fatalf("second event for the same user: %v", err)
	}
	got, _ := profiles.Get(ctx, "u1")
	if got.Name != "Ann Edited" || got.Email != "ann@example.com" || got.Version != 1 {
		t.Errorf("after redeliveries: name %q email %q version %d, want unchanged", got.Name, got.Email, got.Version)
	}
}

func TestUserEventHandler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		event  shared.Event
		poison bool
	}{
		{"other type ignored", shared.Event{ID: "e1", Type: eventUserStatusChanged, Data: []byte(`{"user_id":"u1","status":"suspended"}`)}, false},
		{"malformed data", shared.Event{ID: "e2", Type: eventUserRegistered, Data: []byte(`{"user_id":`)}, true},
		{"wrong type of field", shared.Event{ID: "e3", Type: eventUserRegistered, Data: []byte(`{"user_id":7}`)}, true},
		{"missing user_id", shared.Event{ID: "e4", Type: eventUserRegistered, Data: []byte(`{"email":"a@b.c"}`)}, true},
		{"bad user_id", shared.Event{ID: "e5", Type: eventUserRegistered, Data: []byte(`{"user_id":"a/b"}`)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			profiles := newMemProfileStore()
			err := handleUserEvent(discardLogger(), profiles)(ctx, tt.event)
			if got := errors.Is(err, shared.ErrPoison); got != tt.poison {
				t.Errorf("err = %v, poison %v, want poison %v", err, got, tt.poison)
			}
			if !tt.poison && err != nil {
				t.Errorf("err = %v, want nil", err)
			}
			if ps, _, _ := profiles.List(ctx, listFilter{Page: 1, Limit: 10}); len(ps) != 0 {
				t.Errorf("event created %d profiles, want none", len(ps))
			}
		})
	}
}

// failingStore makes Create fail as when Mongo is down, so the consumer retries instead of committing.
type failingStore struct{ *memProfileStore }

func (failingStore) Create(context.Context, Profile) error { return shared.ErrUnavailable }

func TestUserRegisteredStoreDownIsRetried(t *testing.T) {
	t.Parallel()
	err := handleUserEvent(discardLogger(), failingStore{newMemProfileStore()})(context.Background(),
		registered(t, userRegistered{UserID: "u1", Email: "a@example.com"}))
	if err == nil || errors.Is(err, shared.ErrPoison) {
		t.Errorf("err = %v, want a retryable (non-poison) error", err)
	}
}

// TestEventTimesIncrease: back-to-back changes get strictly increasing occurred_at in whole
// milliseconds, since auth applies a status event only if it is newer than the last one applied.
func TestEventTimesIncrease(t *testing.T) {
	t.Parallel()
	p := newProfile("u1", "a@example.com", "A", shared.RoleCustomer, time.Now())
	p.LastEventAt = time.Now().Add(time.Hour) // a clock that went backwards must not matter
	for _, s := range []string{statusSuspended, statusActive, statusSuspended} {
		if err := addEvent(&p, eventUserStatusChanged, userStatusChanged{UserID: "u1", Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	for i, o := range p.Outbox {
		if !o.OccurredAt.Equal(o.OccurredAt.Truncate(time.Millisecond)) {
			t.Errorf("event %d occurred_at %v has sub-millisecond precision", i, o.OccurredAt)
		}
		if i > 0 && !o.OccurredAt.After(p.Outbox[i-1].OccurredAt) {
			t.Errorf("event %d occurred_at %v not after event %d's %v", i, o.OccurredAt, i-1, p.Outbox[i-1].OccurredAt)
		}
	}
	if !p.LastEventAt.Equal(p.Outbox[2].OccurredAt) {
		t.Errorf("LastEventAt = %v, want the last event's time", p.LastEventAt)
	}
}

// TestConsumedTypes: each consumer's Types are exactly the events its handler acts on.
func TestConsumedTypes(t *testing.T) {
	t.Parallel()
	sharedtest.CheckConsumerTypes(t, []string{shared.TopicUser}, userTypes, sharedtest.Undecodable,
		sharedtest.RefusesUndecodable(handleUserEvent(discardLogger(), newMemProfileStore())))
	sharedtest.CheckConsumerTypes(t, []string{shared.TopicOrder}, orderMailTypes, sharedtest.Undecodable,
		sharedtest.RefusesUndecodable(newMailEnv(t).om.handle))
}

func TestCountEvents(t *testing.T) {
	t.Parallel()
	metrics := shared.NewMetrics("user")
	h := countEvents(metrics, handleUserEvent(discardLogger(), newMemProfileStore()))
	ctx := context.Background()
	h(ctx, registered(t, userRegistered{UserID: "u1"}))
	h(ctx, shared.Event{ID: "e", Type: eventUserRegistered, Data: []byte(`{`)})
	c := metrics.Counter("user_events_consumed_total", "", "type", "result")
	if ok, poison := c.Value(eventUserRegistered, "ok"), c.Value(eventUserRegistered, "poison"); ok != 1 || poison != 1 {
		t.Errorf("consumed ok = %d poison = %d, want 1 and 1", ok, poison)
	}
}
