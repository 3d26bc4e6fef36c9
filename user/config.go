package main

import (
	"fmt"
	"time"

	"github.com/goshop/platform/shared"
)

// Config is the user service's configuration, read once at start from the environment
// (docs/config.md): the common block, with HTTP_ADDR 127.0.0.1:3001 and MONGO_DB "user", and what
// the order mails need.
type Config struct {
	shared.BackendConfig
	// Mail is the SMTP server, sender and shop identity of the order mails (SMTP_ADDR, MAIL_FROM,
	// SHOP_NAME, ...); an empty Addr keeps mail queued.
	Mail shared.MailConfig
	// StorefrontURL is the storefront as browsers reach it (STOREFRONT_PUBLIC_URL, default
	// http://localhost:3000): mails link to its order and account pages.
	StorefrontURL string
	// PublicAPIURL is the gateway as mail providers reach it (PUBLIC_API_URL, default
	// http://localhost:3008): the one-click unsubscribe link is this + /user/users/{id}/unsubscribe.
	PublicAPIURL string
	// UnsubscribeSecret keys the unsubscribe links (UNSUBSCRIBE_SECRET, 32+ characters); empty: a
	// random key per start, so links in mails sent before a restart stop working.
	UnsubscribeSecret string
	// OrderMailMaxAge skips the mail of an order event older than this (ORDER_MAIL_MAX_AGE, default
	// 24h): the first start of the mail consumer reads order.events from its beginning and must not
	// mail every past order; an outage longer than this loses its mails (each skip is logged). Its
	// ceiling (720h) must stay within shared.MailRetention, which is how long a sent mail's ID is
	// remembered against a redelivered event.
	OrderMailMaxAge time.Duration
}

// minSecretLen is the shortest UNSUBSCRIBE_SECRET accepted: 32 characters.
const minSecretLen = 32

// loadConfig reads the configuration through getenv, applying defaults, and reports every bad value at
// once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{
		BackendConfig:     env.Backend("user", "127.0.0.1:3001"),
		Mail:              env.Mail(),
		StorefrontURL:     env.BaseURL("STOREFRONT_PUBLIC_URL", "http://localhost:3000"),
		PublicAPIURL:      env.BaseURL("PUBLIC_API_URL", "http://localhost:3008"),
		UnsubscribeSecret: env.Secret("UNSUBSCRIBE_SECRET"),
		OrderMailMaxAge:   env.Duration("ORDER_MAIL_MAX_AGE", 24*time.Hour, time.Minute, 30*24*time.Hour),
	}
	if n := len(cfg.UnsubscribeSecret); n > 0 && n < minSecretLen {
		env.Errorf("UNSUBSCRIBE_SECRET", "want at least %d characters", minSecretLen)
	}
	if err := env.Err(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
