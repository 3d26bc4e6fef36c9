package main

import (
	"encoding/json"
	"math"
	"net/url"
	"time"

	"github.com/goshop/platform/shared"
	"golang.org/x/crypto/bcrypt"
)

// Config is everything auth reads from the environment, once, at start. Names of the shared variables
// are those of docs/config.md; the AUTH_* ones are auth's own and listed in docs/auth.md.
type Config struct {
	shared.ServiceConfig // HTTP_ADDR 127.0.0.1:4000, LOG_LEVEL, OTEL_*, PPROF_ADDR

	MongoURI string
	MongoDB  string

	// Redis holds sessions, grants and rate limits (REDIS_*, default DB 0).
	Redis shared.RedisConfig

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
	// RefreshGrace is how long a rotated refresh token may rotate again while the token that replaced
	// it was never used: the client lost the answer (default 30 s; 0 = every second use is a reuse).
	RefreshGrace time.Duration
	// KeysDir holds the ES256 signing keys as PEM files; empty = keys generated in memory at start.
	KeysDir string
	// LoginURL is where /authorize sends a browser without a session (return_to=the authorize URL);
	// empty = 401 JSON.
	LoginURL string
	// CookieSecure forces the Secure flag on the session cookie; it is also set when the request came
	// over TLS (directly or per X-Forwarded-Proto from a trusted proxy).
	CookieSecure bool
	// TrustedProxies are the peers whose X-Forwarded-For / X-Forwarded-Proto are believed
	// (TRUSTED_PROXIES, default loopback: the gateway on the same machine).
	TrustedProxies shared.TrustedProxies
	// Clients are the registered OIDC clients (default: storefront, demo-app, and internal-service when
	// AUTH_SERVICE_CLIENT_SECRET is set).
	Clients []client
	// StorefrontURL is the storefront as browsers reach it (STOREFRONT_PUBLIC_URL, default
	// http://localhost:3000): mailed links lead to its /reset-password and /verify-email pages.
	StorefrontURL string
	// Mail is the SMTP server and sender of account mails (SMTP_ADDR, MAIL_FROM, SHOP_NAME ...; see
	// docs/config.md). An empty Addr keeps mail queued until one is configured.
	Mail shared.MailConfig
}

// loadConfig reads the configuration through getenv, applying defaults, and reports every bad value
// at once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	const atLeastMinute, forever = time.Minute, time.Duration(math.MaxInt64)
	cfg := Config{
		ServiceConfig:  env.Service("127.0.0.1:4000"),
		MongoURI:       env.MongoURI(),
		MongoDB:        env.String("MONGO_DB", "auth"),
		Redis:          env.Redis(0),
		KafkaBrokers:   env.HostPorts("KAFKA_BROKERS", "127.0.0.1:9092"),
		Issuer:         env.BaseURL("AUTH_ISSUER", "http://localhost:3008/auth"),
		SeedDemoData:   env.Bool("SEED_DEMO_DATA", true),
		AdminEmail:     env.String("ADMIN_EMAIL", "admin@shop.local"),
		AdminPassword:  env.String("ADMIN_PASSWORD", "admin-Passw0rd!"),
		DemoEmail:      env.String("DEMO_EMAIL", "demo@shop.local"),
		DemoPassword:   env.String("DEMO_PASSWORD", "demo-Passw0rd!"),
		BcryptCost:     env.Int("AUTH_BCRYPT_COST", 11, bcrypt.MinCost, 16),
		AccessTTL:      env.Duration("AUTH_ACCESS_TTL", 15*time.Minute, atLeastMinute, forever),
		SessionIdleTTL: env.Duration("AUTH_SESSION_IDLE_TTL", 24*time.Hour, atLeastMinute, forever),
		SessionMaxTTL:  env.Duration("AUTH_SESSION_MAX_TTL", 30*24*time.Hour, atLeastMinute, forever),
		RefreshTTL:     env.Duration("AUTH_REFRESH_TTL", 30*24*time.Hour, atLeastMinute, forever),
		RefreshGrace:   env.Duration("AUTH_REFRESH_REUSE_GRACE", 30*time.Second, 0, 5*time.Minute),
		KeysDir:        env.String("AUTH_SIGNING_KEYS_DIR", ""),
		LoginURL:       env.URL("AUTH_LOGIN_URL", ""),
		CookieSecure:   env.Bool("AUTH_COOKIE_SECURE", false),
		TrustedProxies: shared.NewTrustedProxies(env.Prefixes("TRUSTED_PROXIES", shared.DefaultTrustedProxies)),
		StorefrontURL:  env.BaseURL("STOREFRONT_PUBLIC_URL", "http://localhost:3000"),
		Mail:           env.Mail(),
	}
	// The issuer is the base of the discovery document's endpoints: a query or fragment would break them.
	if u, err := url.Parse(cfg.Issuer); err == nil && (u.RawQuery != "" || u.Fragment != "") {
		env.Errorf("AUTH_ISSUER", "%q: want no query or fragment", cfg.Issuer)
	}
	if cfg.SessionMaxTTL < cfg.SessionIdleTTL {
		env.Errorf("AUTH_SESSION_MAX_TTL", "must not be shorter than AUTH_SESSION_IDLE_TTL")
	}
	for _, e := range []struct{ name, v string }{{"ADMIN_EMAIL", cfg.AdminEmail}, {"DEMO_EMAIL", cfg.DemoEmail}} {
		if _, err := normalizeEmail(e.v); err != nil {
			env.Errorf(e.name, "%q: %v", e.v, err)
		}
	}
	serviceSecret := env.Secret("AUTH_SERVICE_CLIENT_SECRET")
	cfg.Clients = shared.EnvParse(env, "AUTH_CLIENTS", "JSON list of clients", "", func(s string) ([]client, error) {
		if s == "" {
			return defaultClients(serviceSecret), nil
		}
		var cs []client
		err := json.Unmarshal([]byte(s), &cs)
		return cs, err
	})
	if err := validateClients(cfg.Clients); err != nil {
		env.Errorf("AUTH_CLIENTS", "%v", err)
	}
	return cfg, env.Err()
}
