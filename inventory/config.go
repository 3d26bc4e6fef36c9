package main

import (
	"fmt"
	"time"

	"github.com/goshop/platform/shared"
)

// Config is everything inventory reads from the environment, once, at start.
type Config struct {
	shared.BackendConfig // HTTP_ADDR 127.0.0.1:3003, MONGO_DB "inventory"
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
		BackendConfig:     env.Backend("inventory", "127.0.0.1:3003"),
		ReservationTTL:    env.Duration("RESERVATION_TTL", 15*time.Minute, time.Second, 7*24*time.Hour),
		SweepInterval:     env.Duration("RESERVATION_SWEEP_INTERVAL", 5*time.Second, 10*time.Millisecond, time.Hour),
		LowStockThreshold: env.Int64("LOW_STOCK_THRESHOLD", 5, 0, maxQuantity),
	}
	if err := env.Err(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
