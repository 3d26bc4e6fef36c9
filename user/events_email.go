package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/goshop/platform/shared"
)

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
		return fmt.Errorf("%w: %v", shared.ErrPoison, err)
	}
	d.Email = strings.TrimSpace(d.Email)
	if !validID(d.UserID) || d.Email == "" || len(d.Email) > 254 {
		return fmt.Errorf("%w: %s %s: user_id %q email %q", shared.ErrPoison, e.Type, e.ID, d.UserID, d.Email)
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
