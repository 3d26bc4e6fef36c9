// Command storefront serves the shop and the admin console as server-rendered HTML. Every page is
// built from the public API at GATEWAY_URL; the storefront's own data is the visitors' sessions (cart
// and sign-in tokens) in Redis DB 6, named by a random ID in an HttpOnly cookie.
package main

import (
	"context"
	"embed"
	"fmt"
	"io"

	"github.com/goshop/platform/shared"
)

// assets holds the page templates and the static files (CSS, the live-update script, images), so the
// binary is all a deployment needs.
//
//go:embed templates static
var assets embed.FS

func main() { shared.Main("storefront", run) }

// run loads the configuration, parses every page template (a broken template fails start-up, not a
// request), and serves until ctx is cancelled; then HTTP drains and the Redis and gateway clients
// close. args only says `-healthcheck`: everything else is configured by environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	s, err := shared.Start(ctx, "storefront", args, stdout, cfg.ServiceConfig)
	if s == nil {
		return err // `storefront -healthcheck` answered, or the start failed
	}
	logger := s.Logger
	if cfg.secretGenerated {
		logger.Warn("STOREFRONT_SECRET not set: using a random key, open forms fail after a restart and instances cannot share them")
	}
	pages, err := parsePages(assets)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	gw := newGatewayClient(cfg.GatewayURL, s.Metrics)
	s.OnClose("gateway client", func(context.Context) error { gw.close(); return nil })
	s.Ready.Add("gateway", gw.ping)
	var store sessionStore
	if cfg.RedisConfigured {
		rdb, err := s.OpenRedis(cfg.Redis)
		if err != nil {
			return s.Abort(fmt.Errorf("redis: %w", err))
		}
		store = &redisSessionStore{rdb: rdb}
	} else {
		logger.Warn("no REDIS_URL or REDIS_HOST: carts and sign-ins are kept in memory, lost at restart and not shared between instances")
		store = newMemSessionStore()
	}
	logger.Info("storefront starting", "addr", cfg.HTTPAddr, "gateway", cfg.GatewayURL)
	return s.Run(ctx, cfg.HTTPAddr, NewServer(logger, cfg, s.Metrics, s.Ready, pages, gw, store))
}
