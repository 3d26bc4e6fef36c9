package main

import (
	"fmt"
	"math"
	"time"

	"github.com/goshop/platform/shared"
)

// Config is the order service's configuration, read once at start by loadConfig. Env names follow
// docs/config.md; TAX_RATE_BPS, OUTBOX_POLL and ORDER_RECONCILE_AFTER are this service's own (docs/order.md).
type Config struct {
	HTTPAddr   string   // HTTP_ADDR, default 127.0.0.1:5003
	MongoURI   string   // MONGO_URI, empty = in-memory store
	MongoDB    string   // MONGO_DB, default "order"
	Brokers    []string // KAFKA_BROKERS, default 127.0.0.1:9092
	JWKSURL    string   // JWKS_URL
	AuthIssuer string   // AUTH_ISSUER
	ProductURL string   // PRODUCT_URL, default http://127.0.0.1:3002
	UserURL    string   // USER_URL, default http://127.0.0.1:3001
	LogLevel   string   // LOG_LEVEL, default info
	// TaxRateBPS is the sales tax in basis points of the subtotal (TAX_RATE_BPS, default 800 = 8.00%,
	// 0..10000). Tax is rounded half up to the cent.
	TaxRateBPS int64
	// OutboxPoll is how often the relay looks for unsent events when nothing woke it
	// (OUTBOX_POLL, default 1s).
	OutboxPoll time.Duration
	// ReconcileAfter is how long an order may wait in pending, its events sent, before order.created
	// is queued again so inventory re-answers (ORDER_RECONCILE_AFTER, default 30s; 0 turns it off).
	// Passes run every ReconcileAfter/3, at least every second.
	ReconcileAfter time.Duration
}

// loadConfig reads the configuration through getenv, applying defaults and reporting every bad value
// at once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{
		HTTPAddr:       env.HostPort("HTTP_ADDR", "127.0.0.1:5003"),
		MongoURI:       env.MongoURI(),
		MongoDB:        env.String("MONGO_DB", "order"),
		Brokers:        env.HostPorts("KAFKA_BROKERS", "127.0.0.1:9092"),
		JWKSURL:        env.URL("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		AuthIssuer:     env.BaseURL("AUTH_ISSUER", "http://localhost:3008/auth"),
		ProductURL:     env.BaseURL("PRODUCT_URL", "http://127.0.0.1:3002"),
		UserURL:        env.BaseURL("USER_URL", "http://127.0.0.1:3001"),
		LogLevel:       env.LogLevel(),
		TaxRateBPS:     env.Int64("TAX_RATE_BPS", 800, 0, 10000),
		OutboxPoll:     env.Duration("OUTBOX_POLL", time.Second, time.Nanosecond, math.MaxInt64),
		ReconcileAfter: env.Duration("ORDER_RECONCILE_AFTER", 30*time.Second, 0, math.MaxInt64),
	}
	if err := env.Err(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
