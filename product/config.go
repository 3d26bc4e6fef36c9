package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/goshop/platform/shared"
)

// Config is the product service's configuration, read once at start (docs/config.md).
type Config struct {
	HTTPAddr     string   // HTTP_ADDR, default 127.0.0.1:3002
	MongoURI     string   // MONGO_URI; empty = in-memory store
	MongoDB      string   // MONGO_DB, default "product"
	KafkaBrokers []string // KAFKA_BROKERS, default 127.0.0.1:9092
	JWKSURL      string   // JWKS_URL, default http://127.0.0.1:4000/.well-known/jwks.json
	AuthIssuer   string   // AUTH_ISSUER, default http://localhost:3008/auth
	SeedDemoData bool     // SEED_DEMO_DATA, default true
	LogLevel     string   // LOG_LEVEL, default info
}

// loadConfig reads the configuration through getenv, applying defaults and reporting every bad value.
func loadConfig(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		HTTPAddr:     get("HTTP_ADDR", "127.0.0.1:3002"),
		MongoURI:     get("MONGO_URI", ""),
		MongoDB:      get("MONGO_DB", "product"),
		KafkaBrokers: shared.ParseBrokers(get("KAFKA_BROKERS", "127.0.0.1:9092")),
		JWKSURL:      get("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		AuthIssuer:   get("AUTH_ISSUER", "http://localhost:3008/auth"),
		LogLevel:     strings.ToLower(get("LOG_LEVEL", "info")),
	}
	var errs []error
	if _, _, err := net.SplitHostPort(cfg.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("HTTP_ADDR %q: %w", cfg.HTTPAddr, err))
	}
	if cfg.MongoURI != "" && !strings.HasPrefix(cfg.MongoURI, "mongodb://") && !strings.HasPrefix(cfg.MongoURI, "mongodb+srv://") {
		errs = append(errs, fmt.Errorf("MONGO_URI must start with mongodb:// or mongodb+srv://"))
	}
	if len(cfg.KafkaBrokers) == 0 {
		errs = append(errs, errors.New("KAFKA_BROKERS: no broker given"))
	}
	for _, b := range cfg.KafkaBrokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("KAFKA_BROKERS %q: %w", b, err))
		}
	}
	if !strings.HasPrefix(cfg.JWKSURL, "http://") && !strings.HasPrefix(cfg.JWKSURL, "https://") {
		errs = append(errs, fmt.Errorf("JWKS_URL %q must be an http(s) URL", cfg.JWKSURL))
	}
	seed, err := strconv.ParseBool(get("SEED_DEMO_DATA", "true"))
	if err != nil {
		errs = append(errs, fmt.Errorf("SEED_DEMO_DATA %q: want true or false", getenv("SEED_DEMO_DATA")))
	}
	cfg.SeedDemoData = seed
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", cfg.LogLevel))
	}
	return cfg, errors.Join(errs...)
}
