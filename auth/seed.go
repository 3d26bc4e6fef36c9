package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/goshop/platform/shared"
)

// seed prepares the store (indexes) and creates the admin and demo accounts of ARCHITECTURE.md when
// they are absent (SEED_DEMO_DATA). Mongo may be down at start, so every step retries with backoff
// (1 s doubling to 30 s) until it succeeds or ctx ends; it returns nil either way.
func seed(ctx context.Context, logger *slog.Logger, cfg Config, prepare func(context.Context) error,
	accounts accountStore, h *hasher, ob *outbox) error {
	steps := []func(context.Context) error{prepare}
	if cfg.SeedDemoData {
		for _, s := range []struct{ email, password, name, role string }{
			{cfg.AdminEmail, cfg.AdminPassword, "Admin", shared.RoleAdmin},
			{cfg.DemoEmail, cfg.DemoPassword, "Demo Customer", shared.RoleCustomer},
		} {
			steps = append(steps, func(ctx context.Context) error {
				return seedAccount(ctx, logger, accounts, h, ob, s.email, s.password, s.name, s.role)
			})
		}
	}
	for _, step := range steps {
		backoff := time.Second
		for {
			err := step(ctx)
			if err == nil {
				break
			}
			logger.Warn("seed: will retry", "err", err, "backoff", backoff.String())
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			backoff = min(backoff*2, 30*time.Second)
		}
	}
	return nil
}

func seedAccount(ctx context.Context, logger *slog.Logger, accounts accountStore, h *hasher, ob *outbox,
	email, password, name, role string) error {
	email, err := normalizeEmail(email)
	if err != nil {
		return err
	}
	if _, err := accounts.ByEmail(ctx, email); err == nil {
		return nil
	} else if !errors.Is(err, shared.ErrNotFound) {
		return err
	}
	a, err := createAccount(ctx, accounts, h, email, password, name, role)
	if errors.Is(err, shared.ErrConflict) {
		return nil // another instance seeded it first
	}
	if err != nil {
		return err
	}
	logger.Info("seed: account created", "email", email, "role", role, "user_id", a.ID)
	if err := ob.publishNow(ctx, a); err != nil {
		logger.Warn("seed: user.registered deferred to outbox", "user_id", a.ID, "err", err)
	}
	return nil
}
