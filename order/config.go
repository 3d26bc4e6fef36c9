package main

import (
	"fmt"
	"math"
	"time"

	"github.com/goshop/platform/shared"
)

// Config is the order service's configuration, read once at start by loadConfig. Env names follow
// docs/config.md; TAX_RATE_BPS, SHIPPING_FLAT_CENTS,
// FREE_SHIPPING_OVER_CENTS, OUTBOX_POLL and ORDER_RECONCILE_AFTER are this service's own (docs/order.md).
type Config struct {
	shared.BackendConfig        // HTTP_ADDR 127.0.0.1:5003, MONGO_DB "order"
	ProductURL           string // PRODUCT_URL, default http://127.0.0.1:3002
	UserURL              string // USER_URL, default http://127.0.0.1:3001
	// TaxRateBPS is the sales tax in basis points of the subtotal (TAX_RATE_BPS, default 800 = 8.00%,
	// 0..10000). Tax is rounded half up to the cent.
	TaxRateBPS int64
	// Shipping is the flat shipping charge and the subtotal from which shipping is free
	// (SHIPPING_FLAT_CENTS, default 499; FREE_SHIPPING_OVER_CENTS, default 5000; both 0..shared.MaxCents).
	Shipping shippingRule
	// OutboxPoll is how often the relay looks for unsent events when nothing woke it
	// (OUTBOX_POLL, default 1s).
	OutboxPoll time.Duration
	// ReconcileAfter is how long an order may wait in pending, its events sent, before order.created
	// is queued again so inventory re-answers (ORDER_RECONCILE_AFTER, default 30s; 0 turns it off).
	// Passes run every ReconcileAfter/3, at least every second.
	ReconcileAfter time.Duration
	// RequireVerifiedEmail refuses POST /orders (403 email_unverified) to a caller whose access token
	// does not say email_verified (REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT, default false: unverified
	// customers can shop).
	RequireVerifiedEmail bool
}

// loadConfig reads the configuration through getenv, applying defaults and reporting every bad value
// at once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{
		BackendConfig: env.Backend("order", "127.0.0.1:5003"),
		ProductURL:    env.BaseURL("PRODUCT_URL", "http://127.0.0.1:3002"),
		UserURL:       env.BaseURL("USER_URL", "http://127.0.0.1:3001"),
		TaxRateBPS:    env.Int64("TAX_RATE_BPS", 800, 0, 10000),
		Shipping: shippingRule{FlatCents: env.Int64("SHIPPING_FLAT_CENTS", 499, 0, int64(shared.MaxCents)),
			FreeOverCents: env.Int64("FREE_SHIPPING_OVER_CENTS", 5000, 0, int64(shared.MaxCents))},
		OutboxPoll:     env.Duration("OUTBOX_POLL", time.Second, time.Nanosecond, math.MaxInt64),
		ReconcileAfter: env.Duration("ORDER_RECONCILE_AFTER", 30*time.Second, 0, math.MaxInt64),
	}
	cfg.RequireVerifiedEmail = env.Bool("REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT", false)
	if err := env.Err(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
