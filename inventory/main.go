// Command inventory keeps stock levels and reservations: one stock item per SKU, created from
// product.events, reserved, committed and released from order.events, exact under any concurrency.
package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("inventory", run) }

// run starts inventory and blocks until ctx ends, then shuts down in order: HTTP, consumers, sweeper
// and the outbox relay (one last flush), the Kafka writer, Mongo.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	s, err := shared.Start(ctx, "inventory", args, stdout, cfg.ServiceConfig)
	if s == nil {
		return err // `inventory -healthcheck` answered, or the start failed
	}
	logger, metrics := s.Logger, s.Metrics
	db, err := s.OpenMongo(ctx, cfg.MongoURI, cfg.MongoDB)
	if err != nil {
		return err
	}
	var store stockStore
	if db == nil {
		store = newMemStore()
	} else {
		ms := newMongoStore(db)
		s.Setup("mongo_indexes", func(ctx context.Context) error { return ensureIndexes(ctx, logger, ms) })
		store = ms
	}
	pub := s.OpenKafkaPublisher(cfg.KafkaBrokers)
	relay := shared.NewRelay(logger, store, pub, metrics, shared.RelayConfig{})
	inv := newInventory(logger, store, metrics, cfg.ReservationTTL, cfg.LowStockThreshold, relay.Wake)
	if db != nil {
		s.Setup("active_flags", func(ctx context.Context) error {
			return inv.adoptActiveFlags(ctx, func(ctx context.Context, h shared.EventHandler) error {
				return shared.ReadTopic(ctx, logger, cfg.KafkaBrokers, shared.TopicProduct, 0, h)
			})
		})
	}

	s.Go("outbox", relay.Run)
	s.Go("consumer", func(ctx context.Context) error {
		return consume(ctx, logger, cfg.KafkaBrokers, s.Tracing, inv.handleEvent)
	})
	s.Go("sweeper", func(ctx context.Context) error { inv.sweeper(ctx, cfg.SweepInterval); return nil })
	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, "")
	return s.Run(ctx, cfg.HTTPAddr, NewServer(logger, inv, metrics, s.Ready, verifier))
}

// ensureIndexes creates the Mongo indexes and then the retention index, whose failure is only a
// warning (a server may not support TTL indexes).
func ensureIndexes(ctx context.Context, logger *slog.Logger, s *mongoStore) error {
	if err := s.EnsureIndexes(ctx); err != nil {
		return err
	}
	if err := s.EnsureRetention(ctx); err != nil {
		logger.Warn("no TTL index on settled reservations: they are kept", "err", err)
	}
	return nil
}
