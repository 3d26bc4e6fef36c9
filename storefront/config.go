package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Config is everything the storefront reads from the environment, once, at start.
type Config struct {
	// HTTPAddr is where the pages are served. Default 127.0.0.1:3000.
	HTTPAddr string
	// GatewayURL is the public API the server calls. Default http://127.0.0.1:3008.
	GatewayURL string
	// GatewayPublicURL is the gateway as the browser reaches it, for the live-update WebSocket
	// (GATEWAY_PUBLIC_URL). Default: GatewayURL.
	GatewayPublicURL string
	// Secret signs the cart cookie and the CSRF tokens (STOREFRONT_SECRET, at least 32 bytes). Default:
	// random per process, logged as a warning, since carts then do not survive a restart.
	Secret []byte
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
	cfg.GatewayPublicURL = cfg.GatewayURL
	if v := getenv("GATEWAY_PUBLIC_URL"); v != "" {
		cfg.GatewayPublicURL = strings.TrimRight(v, "/")
		if err := checkBaseURL(cfg.GatewayPublicURL); err != nil {
			errs = append(errs, fmt.Errorf("GATEWAY_PUBLIC_URL: %w", err))
		}
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

// wsURL is the gateway's realtime WebSocket as the browser reaches it.
func (c Config) wsURL() string {
	u, _ := url.Parse(c.GatewayPublicURL)
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/realtime/ws"
	return u.String()
}

// wsOrigin is the scheme://host the CSP must allow for the WebSocket.
func (c Config) wsOrigin() string {
	u, _ := url.Parse(c.wsURL())
	return u.Scheme + "://" + u.Host
}
