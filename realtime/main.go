// Command realtime pushes platform events to browsers over WebSocket: order progress to the order's
// owner, stock and catalog changes to everyone, everything to admins, with resume after reconnects.
package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("realtime", run) }

// run starts realtime and blocks until ctx ends, then shuts down in order: HTTP (readiness turns
// 503), then the consumer, the sweeper and the open WebSockets (closed going-away, waited for up to
// SHUTDOWN_GRACE).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	s, err := shared.Start(ctx, "realtime", args, stdout, cfg.ServiceConfig)
	if s == nil {
		return err // `realtime -healthcheck` answered, or the start failed
	}
	logger := s.Logger
	s.Ready.Add("kafka", shared.KafkaPing(cfg.Brokers))

	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.Issuer, "")
	h := newHub(cfg.Hub, nil)
	cons := newConsumer(h, logger, cfg.MaxEventAge, nil)
	live := &conns{}
	rdb, err := s.OpenRedis(cfg.Redis)
	if err != nil {
		return s.Abort(err)
	}
	notes := &redisNotifications{rdb: rdb}
	notify := &notifier{store: notes, logger: logger, now: time.Now,
		count: s.Metrics.Counter("realtime_notifications_total", "Events the notifier handled, by result: added, duplicate, old.", "result")}
	handler := NewServer(logger, cfg, s.Metrics, s.Ready, h, cons, verifier, newAuthSessions(cfg.AuthURL, verifier), live, notes)

	s.Setup("catalog", cons.warmUp(func(ctx context.Context, fn shared.EventHandler) error {
		return shared.ReadTopic(ctx, logger, cfg.Brokers, shared.TopicProduct, 0, fn)
	}))
	// The live push reads in two groups of this instance's (liveTopics, catalogTopics say why).
	s.Go("consumer", func(ctx context.Context) error {
		return shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: cfg.Brokers, Group: cfg.ConsumerGroup(), Topics: liveTopics,
			CommitInterval: cfg.CommitInterval, Tracing: s.Tracing}, cons.handle)
	})
	s.Go("catalog consumer", func(ctx context.Context) error {
		return shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: cfg.Brokers, Group: cfg.CatalogGroup(), Topics: catalogTopics,
			CommitInterval: cfg.CommitInterval, FetchWait: catalogFetchWait, Tracing: s.Tracing}, cons.handle)
	})
	// The notification centre's writer: one group for every instance, retrying while Redis is down
	// without holding up the live push above.
	s.Go("notifier", func(ctx context.Context) error {
		return shared.ConsumeBatches(ctx, logger, shared.ConsumerConfig{Brokers: cfg.Brokers, Group: notifyGroup, Topics: notifyTopics,
			Types: notificationTypes, CommitInterval: cfg.CommitInterval, FetchWait: notifyFetchWait, BatchWait: notifyBatchWait, Tracing: s.Tracing}, notify.handle)
	})
	s.Go("sweeper", func(ctx context.Context) error {
		shared.Every(ctx, time.Minute, func(context.Context) { h.sweep() })
		return nil
	})
	// http.Server.Shutdown does not wait for hijacked connections, so HTTP has drained while the
	// WebSockets are still open: close them ourselves, going-away, so clients reconnect (to another
	// instance) at once, and wait up to the grace for them to go.
	s.Go("websockets", func(ctx context.Context) error {
		<-ctx.Done()
		h.shutdown()
		return live.wait(cfg.ShutdownGrace)
	})
	logger.Info("starting", "addr", cfg.HTTPAddr, "consumer_groups", []string{cfg.ConsumerGroup(), cfg.CatalogGroup()}, "brokers", cfg.Brokers)
	return s.Run(ctx, cfg.HTTPAddr, handler)
}
