package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/goshop/platform/shared"
)

// seedSteps are the start-up steps that create the admin and demo accounts of ARCHITECTURE.md when
// they are absent (none unless SEED_DEMO_DATA). Each is idempotent, so Program.Setup may retry it.
func seedSteps(logger *slog.Logger, cfg Config, accounts accountStore, h *hasher, wake func()) []func(context.Context) error {
	if !cfg.SeedDemoData {
		return nil
	}
	var steps []func(context.Context) error
	for _, s := range []struct{ email, password, name, role string }{
		{cfg.AdminEmail, cfg.AdminPassword, "Admin", shared.RoleAdmin},
		{cfg.DemoEmail, cfg.DemoPassword, "Demo Customer", shared.RoleCustomer},
	} {
		steps = append(steps, func(ctx context.Context) error {
			return seedAccount(ctx, logger, accounts, h, wake, s.email, s.password, s.name, s.role)
		})
	}
	return steps
}

func seedAccount(ctx context.Context, logger *slog.Logger, accounts accountStore, h *hasher, wake func(),
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
	wake()
	return nil
}
