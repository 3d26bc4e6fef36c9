package main

import (
	"crypto/rand"
	"slices"

	"github.com/goshop/platform/shared"
)

// Config is everything the storefront reads from the environment, once, at start.
type Config struct {
	// ServiceConfig is where the pages are served (HTTP_ADDR, default 127.0.0.1:3000), LOG_LEVEL,
	// OTEL_* and PPROF_ADDR.
	shared.ServiceConfig
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
	// TrustedProxies are the peers (a TLS-terminating proxy) whose X-Forwarded-For / -Proto are
	// believed (TRUSTED_PROXIES, default loopback). Behind one that says https, every cookie is Secure
	// and HSTS is sent even without CookieSecure.
	TrustedProxies shared.TrustedProxies

	secretGenerated bool
}

// loadConfig reads the configuration through getenv, applies defaults and reports every bad value at once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{
		ServiceConfig:   env.Service("127.0.0.1:3000"),
		GatewayURL:      env.BaseURL("GATEWAY_URL", "http://127.0.0.1:3008"),
		RedisConfigured: slices.ContainsFunc([]string{"REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB"}, env.IsSet),
		Redis:           env.Redis(6),
		ClientID:        env.String("STOREFRONT_CLIENT_ID", "storefront"),
		PublicURL:       env.BaseURL("STOREFRONT_PUBLIC_URL", "http://localhost:3000"),
		Issuer:          env.BaseURL("AUTH_ISSUER", "http://localhost:3008/auth"),
		CookieSecure:    env.Bool("STOREFRONT_COOKIE_SECURE", false),
		TrustedProxies:  shared.NewTrustedProxies(env.Prefixes("TRUSTED_PROXIES", shared.DefaultTrustedProxies)),
	}
	if secret := env.Secret("STOREFRONT_SECRET"); secret != "" {
		if len(secret) < 32 {
			env.Errorf("STOREFRONT_SECRET", "must be at least 32 characters")
		}
		cfg.Secret = []byte(secret)
	} else {
		cfg.Secret = make([]byte, 32)
		rand.Read(cfg.Secret)
		cfg.secretGenerated = true
	}
	return cfg, env.Err()
}

// redirectURI is the storefront's OAuth callback as registered at auth.
func (c Config) redirectURI() string { return c.PublicURL + "/auth/callback" }
