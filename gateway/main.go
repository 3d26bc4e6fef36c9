// Command gateway is the shop's single public entry point: it routes /{service}/... to that service's
// instances with round-robin load balancing, active health checks and a circuit breaker per instance,
// turns the session cookie into a bearer token, caches shareable responses in Redis with an
// in-process layer in front, and rate-limits per client IP.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("gateway", run) }

// run starts the gateway and blocks until ctx is cancelled, then shuts down: HTTP first (in-flight
// requests drain), then health checks, the purge subscription and the event consumer, then Redis.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	s, err := shared.Start(ctx, "gateway", args, stdout, cfg.ServiceConfig)
	if s == nil {
		return err // `gateway -healthcheck` answered, or the start failed
	}
	logger := s.Logger
	if getenv("GOGC") == "" {
		// The gateway's live heap is small (caches are bounded; a few MB) and it allocates per request,
		// so the default GOGC=100 collects very often: 400 trades some MB of heap for CPU (numbers in
		// docs/gateway.md). GOGC in the environment still wins.
		debug.SetGCPercent(400)
	}

	// Redis is optional at run time: when it is down the cache bypasses and rate limits fail open, so
	// it is reported by /health/detailed and not by /readyz (the gateway still serves).
	rdb, err := shared.NewRedis(cfg.Redis)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	s.OnClose("redis", func(context.Context) error { return rdb.Close() })
	store := newRedisStore(rdb, cfg.CacheMaxEntries)

	gw := newGateway(logger, cfg, s.Metrics, store)
	gw.kafkaPing = shared.KafkaPing(cfg.Brokers)
	bus := &redisBus{rdb: rdb}
	gw.cache.bus = bus
	s.Go("health checks", func(ctx context.Context) error {
		runHealthChecks(ctx, gw.pools, &http.Client{Transport: newTransport(2 * time.Second)}, cfg.HealthInterval)
		return nil
	})
	s.Go("purge bus", func(ctx context.Context) error { bus.Run(ctx, gw.cache.dropLocal); return nil })
	// Kafka is optional at run time too: while it is down the consumer retries by itself and cached
	// answers live at most their TTL; requests never wait for it. Purges and status changes are
	// idempotent, so offsets are committed once a second rather than per event: a crash repeats at
	// most a second of them.
	s.Go("consumer", func(ctx context.Context) error {
		return shared.ConsumeBatches(ctx, logger, shared.ConsumerConfig{Brokers: cfg.Brokers, Group: cfg.ConsumerGroup(), Topics: consumedTopics(cfg.CacheRoutes),
			Types: consumedTypes(cfg.CacheRoutes), Tracing: s.Tracing, CommitInterval: time.Second, FetchWait: purgeFetchWait, BatchWait: purgeBatchWait}, gw.handleEvents)
	})
	logger.Info("gateway starting", "addr", cfg.HTTPAddr, "redis_db", cfg.Redis.DB, "auth_url", cfg.AuthURL,
		"consumer_group", cfg.ConsumerGroup(), "brokers", cfg.Brokers)

	return s.Run(ctx, cfg.HTTPAddr, NewServer(logger, cfg, s.Metrics, s.Ready, gw))
}
