package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// Event types this service consumes and produces on user.events (docs/events.md).
const (
	eventUserRegistered    = "user.registered"
	eventUserStatusChanged = "user.status_changed"
	eventUserUpdated       = "user.updated"
)

// userRegistered is the data of user.registered, published by auth.
type userRegistered struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
}

// userStatusChanged is the data of user.status_changed; auth ends the sessions of a suspended user.
type userStatusChanged struct {
	UserID string `json:"user_id"`
	Status string `json:"status"`
}

// userUpdated is the data of user.updated, published when a user's name changes.
type userUpdated struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
}

// newProfile returns an active profile as created from user.registered or from a token's claims.
func newProfile(id, email, name, role string, now time.Time) Profile {
	if role != shared.RoleAdmin {
		role = shared.RoleCustomer
	}
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > maxNameLen {
		name = string(r[:maxNameLen])
	}
	now = now.UTC().Truncate(time.Millisecond)
	return Profile{ID: id, Email: strings.TrimSpace(email), Name: name, Role: role, Status: statusActive,
		Preferences: Preferences{Currency: defaultCurrency}, Addresses: []Address{}, CreatedAt: now, UpdatedAt: now}
}

// handleUserEvent applies user.events to the store: user.registered creates the profile if it does
// not exist yet. It is idempotent by state: a replayed event, or one arriving after GET /users/me
// created the profile from the token, finds the profile there and changes nothing. Other types (our
// own events among them) are ignored.
//
// userTypes are the types it acts on, the consumer's ConsumerConfig.Types (TestConsumedTypes checks
// them against the handler).
func handleUserEvent(logger *slog.Logger, profiles profileStore) shared.EventHandler {
	return func(ctx context.Context, e shared.Event) error {
		if e.Type == eventUserEmailVerified {
			return applyEmailVerified(ctx, logger, profiles, e)
		}
		if e.Type != eventUserRegistered {
			return nil
		}
		var d userRegistered
		if err := e.Decode(&d); err != nil {
			return err
		}
		if !validID(d.UserID) {
			return e.Poison("bad user_id %q", d.UserID)
		}
		err := profiles.Create(ctx, newProfile(d.UserID, d.Email, d.Name, d.Role, time.Now()))
		switch {
		case errors.Is(err, shared.ErrConflict):
			logger.DebugContext(ctx, "profile exists, user.registered ignored", "user_id", d.UserID, "event_id", e.ID)
			return nil
		case err != nil:
			return fmt.Errorf("user.registered %s: %w", e.ID, err)
		}
		logger.InfoContext(ctx, "profile created", "user_id", d.UserID, "event_id", e.ID)
		return nil
	}
}

// userTypes are the user.events types handleUserEvent acts on.
var userTypes = []string{eventUserRegistered, eventUserEmailVerified}

// addEvent appends an event to p's outbox; the store writes it with the change itself, and the relay
// publishes it afterwards. occurred_at is in whole milliseconds (what Mongo keeps) and strictly
// increases per user, so a consumer that keeps only newer events never drops a quick second change.
func addEvent(p *Profile, typ string, data any) error {
	e, err := shared.NewEvent(typ, p.ID, data)
	if err != nil {
		return err
	}
	at := e.OccurredAt.UTC().Truncate(time.Millisecond)
	if !at.After(p.LastEventAt) {
		at = p.LastEventAt.Truncate(time.Millisecond).Add(time.Millisecond)
	}
	e.OccurredAt, p.LastEventAt = at, at
	p.Outbox = append(p.Outbox, newOutboxEvent(shared.TopicUser, e))
	return nil
}

// profileOutbox is the profiles' outbox as shared.Relay reads it: every profile keeps the events of
// its changes, in order, in its own Outbox, written in the same atomic update as the change.
type profileOutbox struct {
	profiles profileStore
}

var _ shared.OutboxStore = profileOutbox{}

// PendingOutbox returns the outbox events of up to limit profiles, each profile's in write order.
func (ob profileOutbox) PendingOutbox(ctx context.Context, limit int) ([]shared.OutboxEntry, error) {
	ps, err := ob.profiles.Pending(ctx, limit)
	if err != nil {
		return nil, err
	}
	var out []shared.OutboxEntry
	for _, p := range ps {
		for _, o := range p.Outbox {
			out = append(out, shared.OutboxEntry{Topic: o.Topic, Event: o.event()})
		}
	}
	return out, nil
}

// MarkPublished removes the entries' events from their profiles' outboxes, one update per profile.
func (ob profileOutbox) MarkPublished(ctx context.Context, entries []shared.OutboxEntry) error {
	for id, es := range shared.ByAggregate(entries) {
		done := map[string]bool{}
		for _, e := range es {
			done[e.Event.ID] = true
		}
		_, err := ob.profiles.Update(ctx, id, func(q *Profile) error {
			q.Outbox = slices.DeleteFunc(q.Outbox, func(o outboxEvent) bool { return done[o.ID] })
			return nil
		})
		if err != nil {
			return fmt.Errorf("outbox %s: ack: %w", id, err)
		}
	}
	return nil
}

// countEvents wraps h to count consumed events by type and result (ok, poison, error) in
// user_events_consumed_total (user.events and, for the mails, order.events).
func countEvents(metrics *shared.Metrics, h shared.EventHandler) shared.EventHandler {
	c := metrics.Counter("user_events_consumed_total", "Events the user service consumed, by type and result.", "type", "result")
	return func(ctx context.Context, e shared.Event) error {
		err := h(ctx, e)
		result := "ok"
		switch {
		case errors.Is(err, shared.ErrPoison):
			result = "poison"
		case err != nil:
			result = "error"
		}
		c.Inc(e.Type, result)
		return err
	}
}

// eventUserEmailVerified is published by auth when a user follows a verification link: the account's
// e-mail is now Email (unchanged, or the new address of a change), verified.
const eventUserEmailVerified = "user.email_verified"

type userEmailVerified struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

// applyEmailVerified sets the profile's email and EmailVerified from user.email_verified, only when
// the event is newer than the one applied last, so a replay or a late duplicate changes nothing and
// two quick changes of address end on the newer. A profile that does not exist is logged and skipped:
// user.registered comes first on the same partition, so only a poisoned registration leads here.
func applyEmailVerified(ctx context.Context, logger *slog.Logger, profiles profileStore, e shared.Event) error {
	var d userEmailVerified
	if err := e.Decode(&d); err != nil {
		return err
	}
	d.Email = strings.TrimSpace(d.Email)
	if !validID(d.UserID) || d.Email == "" || len(d.Email) > 254 {
		return e.Poison("user_id %q email %q", d.UserID, d.Email)
	}
	at := e.OccurredAt.UTC()
	_, err := profiles.Update(ctx, d.UserID, func(p *Profile) error {
		if !at.After(p.EmailVerifiedAt) {
			return errStale
		}
		p.Email, p.EmailVerified, p.EmailVerifiedAt = d.Email, true, at
		return nil
	})
	switch {
	case errors.Is(err, errStale):
		logger.DebugContext(ctx, "user.email_verified not newer, ignored", "user_id", d.UserID, "event_id", e.ID)
		return nil
	case errors.Is(err, shared.ErrNotFound):
		logger.WarnContext(ctx, "user.email_verified for unknown profile", "user_id", d.UserID, "event_id", e.ID)
		return nil
	case err != nil:
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	logger.InfoContext(ctx, "email verified", "user_id", d.UserID, "event_id", e.ID)
	return nil
}

// errStale aborts an update for an event older than what the profile holds.
var errStale = errors.New("stale event")
