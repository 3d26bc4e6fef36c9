package main

import (
	"fmt"
	"time"

	"github.com/goshop/platform/shared"
)

// Config is everything inventory reads from the environment, once, at start.
type Config struct {
	// HTTPAddr is the listen address; default 127.0.0.1:3003.
	HTTPAddr string
	// MongoURI selects the MongoDB store; empty means the in-memory store (nothing persists).
	MongoURI string
	// MongoDB is the database name; default "inventory".
	MongoDB string
	// KafkaBrokers come from KAFKA_BROKERS; default 127.0.0.1:9092.
	KafkaBrokers []string
	// JWKSURL is auth's key set; AuthIssuer the expected "iss" of access tokens.
	JWKSURL    string
	AuthIssuer string
	LogLevel   string
	// ReservationTTL is how long a reservation holds stock before the sweeper releases it; default 15m.
	ReservationTTL time.Duration
	// SweepInterval is how often the expiry sweeper looks for due reservations; default 5s.
	SweepInterval time.Duration
	// LowStockThreshold is the threshold of new stock items; default 5.
	LowStockThreshold int64
}

// loadConfig reads the configuration through getenv, applies defaults and reports every bad value at
// once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{
		HTTPAddr:          env.HostPort("HTTP_ADDR", "127.0.0.1:3003"),
		MongoURI:          env.MongoURI(),
		MongoDB:           env.String("MONGO_DB", "inventory"),
		KafkaBrokers:      env.HostPorts("KAFKA_BROKERS", "127.0.0.1:9092"),
		JWKSURL:           env.URL("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		AuthIssuer:        env.BaseURL("AUTH_ISSUER", "http://localhost:3008/auth"),
		LogLevel:          env.LogLevel(),
		ReservationTTL:    env.Duration("RESERVATION_TTL", 15*time.Minute, time.Second, 7*24*time.Hour),
		SweepInterval:     env.Duration("RESERVATION_SWEEP_INTERVAL", 5*time.Second, 10*time.Millisecond, time.Hour),
		LowStockThreshold: env.Int64("LOW_STOCK_THRESHOLD", 5, 0, maxQuantity),
	}
	if err := env.Err(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
