package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/goshop/platform/shared"
)

// Config is the user service's configuration, read once at start from the environment
// (docs/config.md).
type Config struct {
	HTTPAddr   string   // HTTP_ADDR, default 127.0.0.1:3001
	MongoURI   string   // MONGO_URI, default empty: in-memory store
	MongoDB    string   // MONGO_DB, default "user"
	Brokers    []string // KAFKA_BROKERS, default 127.0.0.1:9092
	JWKSURL    string   // JWKS_URL, default http://127.0.0.1:4000/.well-known/jwks.json
	AuthIssuer string   // AUTH_ISSUER, default http://localhost:3008/auth
	LogLevel   string   // LOG_LEVEL, default info
}

// loadConfig reads the configuration through getenv, applying defaults, and reports every bad value at
// once.
func loadConfig(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		HTTPAddr:   get("HTTP_ADDR", "127.0.0.1:3001"),
		MongoURI:   get("MONGO_URI", ""),
		MongoDB:    get("MONGO_DB", "user"),
		Brokers:    shared.ParseBrokers(get("KAFKA_BROKERS", "127.0.0.1:9092")),
		JWKSURL:    get("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		AuthIssuer: get("AUTH_ISSUER", "http://localhost:3008/auth"),
		LogLevel:   strings.ToLower(get("LOG_LEVEL", "info")),
	}
	var errs []error
	if _, _, err := net.SplitHostPort(cfg.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("HTTP_ADDR %q: want host:port", cfg.HTTPAddr))
	}
	if cfg.MongoURI != "" && !strings.HasPrefix(cfg.MongoURI, "mongodb://") && !strings.HasPrefix(cfg.MongoURI, "mongodb+srv://") {
		errs = append(errs, errors.New("MONGO_URI: want a mongodb:// or mongodb+srv:// URI"))
	}
	if len(cfg.Brokers) == 0 {
		errs = append(errs, errors.New("KAFKA_BROKERS: no broker given"))
	}
	for _, b := range cfg.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("KAFKA_BROKERS: %q: want host:port", b))
		}
	}
	if u, err := url.Parse(cfg.JWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("JWKS_URL %q: want an absolute http(s) URL", cfg.JWKSURL))
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", cfg.LogLevel))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
