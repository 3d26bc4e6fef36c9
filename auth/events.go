package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/goshop/platform/shared"
)

// Event types auth produces and consumes on user.events (docs/events.md).
const (
	eventUserRegistered    = "user.registered"
	eventUserStatusChanged = "user.status_changed"
)

type userRegistered struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
}

// outbox publishes user.registered for accounts whose EventPending flag is set. Register publishes at
// once and clears the flag; when Kafka is down the flag stays, and Run retries with backoff until the
// broker acknowledges, so the user service always gets the profile.
type outbox struct {
	logger   *slog.Logger
	accounts accountStore
	pub      shared.Publisher
	wake     chan struct{}
}

func newOutbox(logger *slog.Logger, accounts accountStore, pub shared.Publisher) *outbox {
	return &outbox{logger: logger, accounts: accounts, pub: pub, wake: make(chan struct{}, 1)}
}

// inlineTimeout bounds the publish a request makes itself, so a Kafka outage slows a registration
// by at most this much before the relay takes over.
const inlineTimeout = 3 * time.Second

// publishNow tries to publish a's user.registered now; on failure it leaves the account pending and
// nudges Run.
func (o *outbox) publishNow(ctx context.Context, a account) error {
	if err := o.publish(ctx, a); err != nil {
		o.nudge()
		return err
	}
	return nil
}

func (o *outbox) publish(ctx context.Context, a account) error {
	ctx, cancel := context.WithTimeout(ctx, inlineTimeout)
	defer cancel()
	e, err := shared.NewEvent(eventUserRegistered, a.ID, userRegistered{UserID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role})
	if err != nil {
		return err
	}
	// The event ID is derived from the account, so a retry after a lost acknowledgement carries the
	// same ID and consumers drop the duplicate.
	e.ID = "user.registered-" + a.ID
	if err := o.pub.Publish(ctx, shared.TopicUser, e); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := o.accounts.MarkPublished(ctx, a.ID); err != nil {
		// Published but not marked: Run publishes again with the same event ID, harmless.
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

func (o *outbox) nudge() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run drains pending events until ctx ends: every 30 s, on a nudge, and after a failure with backoff
// from 1 s doubling to 30 s (nudges do not cut a backoff short).
func (o *outbox) Run(ctx context.Context) error {
	const idle = 30 * time.Second
	wait := time.Duration(0)
	backoff := time.Second
	for {
		t := time.NewTimer(wait)
		wake := o.wake
		if backoff > time.Second {
			wake = nil // backing off
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		case <-wake:
			t.Stop()
		}
		if err := o.drain(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			o.logger.Warn("outbox: will retry", "err", err, "backoff", backoff.String())
			wait = backoff
			backoff = min(backoff*2, idle)
			continue
		}
		wait, backoff = idle, time.Second
	}
}

func (o *outbox) drain(ctx context.Context) error {
	for {
		pending, err := o.accounts.PendingEvents(ctx, 100)
		if err != nil {
			return err
		}
		for _, a := range pending {
			if err := o.publish(ctx, a); err != nil {
				return err
			}
			o.logger.Info("outbox: published", "type", eventUserRegistered, "user_id", a.ID)
		}
		if len(pending) < 100 {
			return nil
		}
	}
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
		if e.Type != eventUserStatusChanged {
			return nil
		}
		var d userStatusChanged
		if err := e.Decode(&d); err != nil {
			return fmt.Errorf("%w: %v", shared.ErrPoison, err)
		}
		if d.UserID == "" || (d.Status != statusActive && d.Status != statusSuspended) {
			return fmt.Errorf("%w: user_id %q status %q", shared.ErrPoison, d.UserID, d.Status)
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
