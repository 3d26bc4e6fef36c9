package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/goshop/platform/shared"
)

// Event types auth produces and consumes on user.events (docs/events.md).
const (
	eventUserRegistered    = "user.registered"
	eventUserStatusChanged = "user.status_changed"
	eventUserEmailVerified = "user.email_verified"
	eventUserUpdated       = "user.updated"
)

// consumedTypes are the user.events types handleUserEvent acts on, its consumer's
// ConsumerConfig.Types: auth's own registrations and the rest are skipped before they are decoded.
var consumedTypes = []string{eventUserStatusChanged, eventUserUpdated}

type userRegistered struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
}

// userUpdated is the data of user.updated: the user service owns the name, and auth keeps a copy
// for its mails, the login answer and the ID token.
type userUpdated struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
}

// userEmailVerified is the data of user.email_verified: the account's e-mail is now Email, verified
// (a first verification, or a change of address, which applies only once the new one is verified).
type userEmailVerified struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

// accountOutbox is the accounts' outbox as shared.Relay reads it: an account's user.registered is
// pending while its EventPending flag is set, which Create sets in the same insert as the account, so
// the user service always gets the profile even when Kafka was down at registration. Its
// user.email_verified is pending while EmailEventPending is set, by the same write as the
// verification; it follows user.registered, so the profile exists when it arrives.
type accountOutbox struct {
	accounts accountStore
}

var _ shared.OutboxStore = accountOutbox{}

// PendingOutbox returns the user.registered events of up to limit accounts, oldest first.
func (ob accountOutbox) PendingOutbox(ctx context.Context, limit int) ([]shared.OutboxEntry, error) {
	pending, err := ob.accounts.PendingEvents(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]shared.OutboxEntry, 0, len(pending))
	for _, a := range pending {
		if a.EventPending {
			e, err := registeredEvent(a)
			if err != nil {
				return nil, err
			}
			out = append(out, shared.OutboxEntry{Topic: shared.TopicUser, Event: e})
		}
		if a.EmailEventPending {
			e, err := emailVerifiedEvent(a)
			if err != nil {
				return nil, err
			}
			out = append(out, shared.OutboxEntry{Topic: shared.TopicUser, Event: e})
		}
	}
	return out, nil
}

// MarkPublished clears the accounts' EventPending flags. An account deleted meanwhile is skipped.
func (ob accountOutbox) MarkPublished(ctx context.Context, entries []shared.OutboxEntry) error {
	for _, e := range entries {
		var err error
		if e.Event.Type == eventUserEmailVerified {
			err = ob.accounts.MarkEmailPublished(ctx, e.Event.AggregateID, e.Event.OccurredAt)
		} else {
			err = ob.accounts.MarkPublished(ctx, e.Event.AggregateID)
		}
		if err != nil && !errors.Is(err, shared.ErrNotFound) {
			return err
		}
	}
	return nil
}

// emailVerifiedEvent is a's user.email_verified. Like registeredEvent its ID and time derive from the
// account (the verification's time), so a re-publish is a duplicate, and a later verification (a
// second change of address) is a new event that consumers apply after it.
func emailVerifiedEvent(a account) (shared.Event, error) {
	e, err := shared.NewEvent(eventUserEmailVerified, a.ID, userEmailVerified{UserID: a.ID, Email: a.Email})
	at := a.EmailVerifiedAt.UTC()
	e.ID, e.OccurredAt = fmt.Sprintf("user.email_verified-%s-%d", a.ID, at.UnixMilli()), at
	return e, err
}

// registeredEvent is a's user.registered. Its ID and time derive from the account, so every publish
// of it (a retry after a lost acknowledgement, two relays racing) is the same event, which consumers
// drop as a duplicate.
func registeredEvent(a account) (shared.Event, error) {
	e, err := shared.NewEvent(eventUserRegistered, a.ID, userRegistered{UserID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role})
	e.ID, e.OccurredAt = "user.registered-"+a.ID, a.CreatedAt.UTC()
	return e, err
}

type userStatusChanged struct {
	UserID string `json:"user_id"`
	Status string `json:"status"`
}

// handleUserEvent applies user.status_changed: it stores the status on the account (only when the
// event is newer than the status applied last, so replays and reordering change nothing) and, while
// the account is suspended, ends its sessions and refresh-token families. Ending them again on a
// replay is harmless, and it is what makes a retry after a Redis failure complete the job.
func handleUserEvent(logger *slog.Logger, accounts accountStore, sessions sessionStore, grants grantStore) shared.EventHandler {
	return func(ctx context.Context, e shared.Event) error {
		if e.Type == eventUserUpdated {
			return applyNameChange(ctx, logger, accounts, e)
		}
		if e.Type != eventUserStatusChanged {
			return nil
		}
		var d userStatusChanged
		if err := e.Decode(&d); err != nil {
			return err
		}
		if d.UserID == "" || (d.Status != statusActive && d.Status != statusSuspended) {
			return e.Poison("user_id %q status %q", d.UserID, d.Status)
		}
		applied, err := accounts.SetStatus(ctx, d.UserID, d.Status, e.OccurredAt)
		if errors.Is(err, shared.ErrNotFound) {
			logger.WarnContext(ctx, "status change for unknown account", "user_id", d.UserID, "event_id", e.ID)
			return nil
		}
		if err != nil {
			return err
		}
		a, err := accounts.ByID(ctx, d.UserID)
		if err != nil {
			return err
		}
		if a.suspended() {
			n, err := sessions.DeleteUser(ctx, a.ID)
			if err != nil {
				return err
			}
			if err := grants.RevokeUser(ctx, a.ID); err != nil {
				return err
			}
			logger.InfoContext(ctx, "account suspended: sessions ended", "user_id", a.ID, "sessions", n, "event_id", e.ID)
		} else if applied {
			logger.InfoContext(ctx, "account status", "user_id", a.ID, "status", a.Status, "event_id", e.ID)
		}
		return nil
	}
}

// applyNameChange copies a user.updated name to the account, unless a newer one was applied (an
// older event published late by another copy's relay changes nothing). An unknown account is
// skipped; a name auth would refuse at registration is poison.
func applyNameChange(ctx context.Context, logger *slog.Logger, accounts accountStore, e shared.Event) error {
	var d userUpdated
	if err := e.Decode(&d); err != nil {
		return err
	}
	if d.UserID == "" || checkName(d.Name) != nil {
		return e.Poison("user_id %q or name not acceptable", d.UserID)
	}
	applied, err := accounts.SetName(ctx, d.UserID, d.Name, e.OccurredAt)
	if errors.Is(err, shared.ErrNotFound) {
		logger.WarnContext(ctx, "name change for unknown account", "user_id", d.UserID, "event_id", e.ID)
		return nil
	}
	if err == nil && applied {
		logger.InfoContext(ctx, "account name changed", "user_id", d.UserID, "event_id", e.ID)
	}
	return err
}
