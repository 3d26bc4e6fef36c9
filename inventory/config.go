package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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
func loadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{
		HTTPAddr:          "127.0.0.1:3003",
		MongoDB:           "inventory",
		KafkaBrokers:      []string{"127.0.0.1:9092"},
		JWKSURL:           "http://127.0.0.1:4000/.well-known/jwks.json",
		AuthIssuer:        "http://localhost:3008/auth",
		LogLevel:          "info",
		ReservationTTL:    15 * time.Minute,
		SweepInterval:     5 * time.Second,
		LowStockThreshold: 5,
	}
	var errs []error
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration, lo, hi time.Duration) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration between %s and %s", name, v, lo, hi))
			return
		}
		*dst = d
	}
	str("HTTP_ADDR", &cfg.HTTPAddr)
	str("MONGO_URI", &cfg.MongoURI)
	str("MONGO_DB", &cfg.MongoDB)
	str("JWKS_URL", &cfg.JWKSURL)
	str("AUTH_ISSUER", &cfg.AuthIssuer)
	str("LOG_LEVEL", &cfg.LogLevel)
	if v := getenv("KAFKA_BROKERS"); strings.TrimSpace(v) != "" {
		cfg.KafkaBrokers = shared.ParseBrokers(v)
		if len(cfg.KafkaBrokers) == 0 {
			errs = append(errs, fmt.Errorf("KAFKA_BROKERS: %q names no broker", v))
		}
	}
	dur("RESERVATION_TTL", &cfg.ReservationTTL, time.Second, 7*24*time.Hour)
	dur("RESERVATION_SWEEP_INTERVAL", &cfg.SweepInterval, 10*time.Millisecond, time.Hour)
	if v := strings.TrimSpace(getenv("LOW_STOCK_THRESHOLD")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxQuantity {
			errs = append(errs, fmt.Errorf("LOW_STOCK_THRESHOLD: %q is not an integer between 0 and %d", v, maxQuantity))
		} else {
			cfg.LowStockThreshold = n
		}
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", cfg.LogLevel))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
