package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/goshop/platform/shared"
)

// Config is everything the storefront reads from the environment, once, at start.
type Config struct {
	// HTTPAddr is where the pages are served. Default 127.0.0.1:3000.
	HTTPAddr string
	// GatewayURL is the public API the server calls. Default http://127.0.0.1:3008.
	GatewayURL string
	// Secret keys the CSRF tokens (STOREFRONT_SECRET, at least 32 bytes). Default: random per process,
	// logged as a warning, since open forms then fail after a restart and instances cannot share them.
	Secret []byte
	// Redis holds the sessions (carts, sign-in state): REDIS_URL, or REDIS_HOST, REDIS_PORT,
	// REDIS_PASSWORD, REDIS_DB (default 6). When none of them is set the sessions live in memory
	// (one instance only, lost at restart; logged as a warning).
	Redis shared.RedisConfig
	// RedisConfigured reports whether any REDIS_* variable was set.
	RedisConfigured bool
	// ClientID is the storefront's OAuth client at auth (STOREFRONT_CLIENT_ID). Default storefront.
	ClientID string
	// PublicURL is the storefront as the browser reaches it (STOREFRONT_PUBLIC_URL); the OAuth
	// redirect URI is PublicURL + "/auth/callback" and must be registered at auth. Default
	// http://localhost:3000.
	PublicURL string
	// Issuer is auth's issuer (AUTH_ISSUER), checked against the iss of every authorization
	// response. Default http://localhost:3008/auth.
	Issuer string
	// CookieSecure adds the Secure flag to every cookie (STOREFRONT_COOKIE_SECURE). Default false, so
	// the shop works on http://localhost; set it to true behind TLS.
	CookieSecure bool
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string

	secretGenerated bool
}

// loadConfig reads the configuration through getenv, applies defaults and reports every bad value at once.
func loadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{
		HTTPAddr:   "127.0.0.1:3000",
		GatewayURL: "http://127.0.0.1:3008",
		LogLevel:   "info",
	}
	var errs []error
	if v := getenv("HTTP_ADDR"); v != "" {
		cfg.HTTPAddr = v
	}
	if v := getenv("GATEWAY_URL"); v != "" {
		cfg.GatewayURL = v
	}
	cfg.GatewayURL = strings.TrimRight(cfg.GatewayURL, "/")
	if err := checkBaseURL(cfg.GatewayURL); err != nil {
		errs = append(errs, fmt.Errorf("GATEWAY_URL: %w", err))
	}
	if v := getenv("STOREFRONT_SECRET"); v != "" {
		if len(v) < 32 {
			errs = append(errs, errors.New("STOREFRONT_SECRET: must be at least 32 characters"))
		}
		cfg.Secret = []byte(v)
	} else {
		cfg.Secret = make([]byte, 32)
		rand.Read(cfg.Secret)
		cfg.secretGenerated = true
	}
	cfg.Redis = shared.RedisConfig{DB: 6, Password: getenv("REDIS_PASSWORD"), URL: getenv("REDIS_URL"), Host: getenv("REDIS_HOST")}
	for _, name := range []string{"REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB"} {
		if getenv(name) != "" {
			cfg.RedisConfigured = true
		}
	}
	for name, dst := range map[string]*int{"REDIS_PORT": &cfg.Redis.Port, "REDIS_DB": &cfg.Redis.DB} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 65535 {
				errs = append(errs, fmt.Errorf("%s: %q is not a valid number", name, v))
			}
			*dst = n
		}
	}
	// A URL without a database would silently mean DB 0 (auth's sessions); ours is REDIS_DB (6).
	if u, err := shared.RedisURLWithDB(cfg.Redis.URL, cfg.Redis.DB); err != nil {
		errs = append(errs, err)
	} else {
		cfg.Redis.URL = u
	}
	cfg.ClientID, cfg.PublicURL, cfg.Issuer = "storefront", "http://localhost:3000", "http://localhost:3008/auth"
	if v := getenv("STOREFRONT_CLIENT_ID"); v != "" {
		cfg.ClientID = v
	}
	if v := getenv("STOREFRONT_PUBLIC_URL"); v != "" {
		cfg.PublicURL = strings.TrimRight(v, "/")
		if err := checkBaseURL(cfg.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("STOREFRONT_PUBLIC_URL: %w", err))
		}
	}
	if v := getenv("AUTH_ISSUER"); v != "" {
		cfg.Issuer = strings.TrimRight(v, "/")
		if err := checkBaseURL(cfg.Issuer); err != nil {
			errs = append(errs, fmt.Errorf("AUTH_ISSUER: %w", err))
		}
	}
	if v := getenv("STOREFRONT_COOKIE_SECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("STOREFRONT_COOKIE_SECURE: %q is not a boolean", v))
		}
		cfg.CookieSecure = b
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		switch v {
		case "debug", "info", "warn", "error":
			cfg.LogLevel = v
		default:
			errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not debug, info, warn or error", v))
		}
	}
	return cfg, errors.Join(errs...)
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q must be an http(s) URL with a host", s)
	}
	return nil
}

// redirectURI is the storefront's OAuth callback as registered at auth.
func (c Config) redirectURI() string { return c.PublicURL + "/auth/callback" }
