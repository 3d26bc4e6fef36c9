package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// Config is the order service's configuration, read once at start by loadConfig. Env names follow
// docs/config.md; TAX_RATE_BPS and OUTBOX_POLL are this service's own (docs/order.md).
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
}

// loadConfig reads the configuration through getenv, applying defaults and reporting every bad value
// at once.
func loadConfig(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		HTTPAddr:   get("HTTP_ADDR", "127.0.0.1:5003"),
		MongoURI:   get("MONGO_URI", ""),
		MongoDB:    get("MONGO_DB", "order"),
		Brokers:    shared.ParseBrokers(get("KAFKA_BROKERS", "127.0.0.1:9092")),
		JWKSURL:    get("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		AuthIssuer: get("AUTH_ISSUER", "http://localhost:3008/auth"),
		ProductURL: strings.TrimRight(get("PRODUCT_URL", "http://127.0.0.1:3002"), "/"),
		UserURL:    strings.TrimRight(get("USER_URL", "http://127.0.0.1:3001"), "/"),
		LogLevel:   get("LOG_LEVEL", "info"),
	}
	var errs []error
	if len(cfg.Brokers) == 0 {
		errs = append(errs, errors.New("KAFKA_BROKERS: no broker given"))
	}
	for name, v := range map[string]string{"JWKS_URL": cfg.JWKSURL, "PRODUCT_URL": cfg.ProductURL, "USER_URL": cfg.UserURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", name, v))
		}
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not debug, info, warn or error", cfg.LogLevel))
	}
	bps, err := strconv.ParseInt(get("TAX_RATE_BPS", "800"), 10, 64)
	if err != nil || bps < 0 || bps > 10000 {
		errs = append(errs, fmt.Errorf("TAX_RATE_BPS: %q is not an integer from 0 to 10000", getenv("TAX_RATE_BPS")))
	}
	cfg.TaxRateBPS = bps
	poll, err := time.ParseDuration(get("OUTBOX_POLL", "1s"))
	if err != nil || poll <= 0 {
		errs = append(errs, fmt.Errorf("OUTBOX_POLL: %q is not a positive duration", getenv("OUTBOX_POLL")))
	}
	cfg.OutboxPoll = poll
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
