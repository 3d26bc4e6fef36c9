package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Config is everything auth reads from the environment, once, at start. Names of the shared variables
// are those of docs/config.md; the AUTH_* ones are auth's own and listed in docs/auth.md.
type Config struct {
	HTTPAddr string
	LogLevel string

	MongoURI string
	MongoDB  string

	RedisURL      string
	RedisHost     string
	RedisPort     int
	RedisDB       int
	RedisPassword string

	KafkaBrokers []string

	// Issuer is the "iss" of every token and the base of the discovery document's endpoints
	// (default http://localhost:3008/auth, the gateway's view of auth).
	Issuer string

	SeedDemoData  bool
	AdminEmail    string
	AdminPassword string
	DemoEmail     string
	DemoPassword  string

	// BcryptCost is the bcrypt work factor for new password hashes (default 11: about 135 ms of CPU
	// per hash on this machine, see docs/auth.md).
	BcryptCost int
	// AccessTTL is the lifetime of access tokens (fixed by contract: 15 min).
	AccessTTL time.Duration
	// SessionIdleTTL is how long a session lives without use; every use slides it (default 24 h).
	SessionIdleTTL time.Duration
	// SessionMaxTTL caps a session's life however often it is used (default 30 days).
	SessionMaxTTL time.Duration
	// RefreshTTL is the lifetime of one refresh token family (default 30 days).
	RefreshTTL time.Duration
	// KeysDir holds the ES256 signing keys as PEM files; empty = keys generated in memory at start.
	KeysDir string
	// LoginURL is where /authorize sends a browser without a session (return_to=the authorize URL);
	// empty = 401 JSON.
	LoginURL string
	// CookieSecure forces the Secure flag on the session cookie; it is also set when the request came
	// over TLS (directly or per X-Forwarded-Proto from a trusted proxy).
	CookieSecure bool
	// TrustedProxies are the peers whose X-Forwarded-For / X-Forwarded-Proto are believed (default
	// loopback: the gateway on the same machine).
	TrustedProxies []netip.Prefix
	// Clients are the registered OIDC clients (default: storefront, demo-app, order-service).
	Clients []client
}

// loadConfig reads the configuration through getenv, applying defaults, and reports every bad value
// at once.
func loadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	str := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	num := func(name string, def, lo, hi int) int {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s=%q: want an integer in [%d, %d]", name, v, lo, hi))
			return def
		}
		return n
	}
	boolean := func(name string, def bool) bool {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
			return def
		}
		return b
	}
	dur := func(name string, def, lo time.Duration) time.Duration {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < lo {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration of at least %s", name, v, lo))
			return def
		}
		return d
	}

	cfg := Config{
		HTTPAddr:       str("HTTP_ADDR", "127.0.0.1:4000"),
		LogLevel:       str("LOG_LEVEL", "info"),
		MongoURI:       str("MONGO_URI", ""),
		MongoDB:        str("MONGO_DB", "auth"),
		RedisURL:       str("REDIS_URL", ""),
		RedisHost:      str("REDIS_HOST", "127.0.0.1"),
		RedisPort:      num("REDIS_PORT", 6379, 1, 65535),
		RedisDB:        num("REDIS_DB", 0, 0, 15),
		RedisPassword:  getenv("REDIS_PASSWORD"),
		KafkaBrokers:   splitList(str("KAFKA_BROKERS", "127.0.0.1:9092")),
		Issuer:         strings.TrimRight(str("AUTH_ISSUER", "http://localhost:3008/auth"), "/"),
		SeedDemoData:   boolean("SEED_DEMO_DATA", true),
		AdminEmail:     str("ADMIN_EMAIL", "admin@shop.local"),
		AdminPassword:  str("ADMIN_PASSWORD", "admin-Passw0rd!"),
		DemoEmail:      str("DEMO_EMAIL", "demo@shop.local"),
		DemoPassword:   str("DEMO_PASSWORD", "demo-Passw0rd!"),
		BcryptCost:     num("AUTH_BCRYPT_COST", 11, bcrypt.MinCost, 16),
		AccessTTL:      dur("AUTH_ACCESS_TTL", 15*time.Minute, time.Minute),
		SessionIdleTTL: dur("AUTH_SESSION_IDLE_TTL", 24*time.Hour, time.Minute),
		SessionMaxTTL:  dur("AUTH_SESSION_MAX_TTL", 30*24*time.Hour, time.Minute),
		RefreshTTL:     dur("AUTH_REFRESH_TTL", 30*24*time.Hour, time.Minute),
		KeysDir:        str("AUTH_SIGNING_KEYS_DIR", ""),
		LoginURL:       str("AUTH_LOGIN_URL", ""),
		CookieSecure:   boolean("AUTH_COOKIE_SECURE", false),
	}
	if len(cfg.KafkaBrokers) == 0 {
		errs = append(errs, errors.New("KAFKA_BROKERS: no broker"))
	}
	if u, err := url.Parse(cfg.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("AUTH_ISSUER=%q: want an http(s) URL without query or fragment", cfg.Issuer))
	}
	if cfg.LoginURL != "" {
		if u, err := url.Parse(cfg.LoginURL); err != nil || !u.IsAbs() {
			errs = append(errs, fmt.Errorf("AUTH_LOGIN_URL=%q: want an absolute URL", cfg.LoginURL))
		}
	}
	if cfg.SessionMaxTTL < cfg.SessionIdleTTL {
		errs = append(errs, errors.New("AUTH_SESSION_MAX_TTL must not be shorter than AUTH_SESSION_IDLE_TTL"))
	}
	for _, e := range []struct{ name, v string }{{"ADMIN_EMAIL", cfg.AdminEmail}, {"DEMO_EMAIL", cfg.DemoEmail}} {
		if _, err := normalizeEmail(e.v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %v", e.name, e.v, err))
		}
	}
	for _, p := range splitList(str("AUTH_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")) {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("AUTH_TRUSTED_PROXIES: %q: %v", p, err))
			continue
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, pfx.Masked())
	}
	if raw := strings.TrimSpace(getenv("AUTH_CLIENTS")); raw != "" {
		var cs []client
		if err := json.Unmarshal([]byte(raw), &cs); err != nil {
			errs = append(errs, fmt.Errorf("AUTH_CLIENTS: %v", err))
		}
		cfg.Clients = cs
	} else {
		cfg.Clients = defaultClients(getenv("AUTH_SERVICE_CLIENT_SECRET"))
	}
	if err := validateClients(cfg.Clients); err != nil {
		errs = append(errs, fmt.Errorf("AUTH_CLIENTS: %w", err))
	}
	return cfg, errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
