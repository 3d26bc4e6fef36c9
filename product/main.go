// Command product is the catalog service: products, categories and search for shoppers, product
// management for admins, and product.events for inventory, order and realtime. See docs/product.md.
package main

import (
	"context"
	"fmt"
	"io"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("product", run) }

// run starts the service and blocks until ctx is cancelled, then shuts down in order: HTTP, the outbox
// relay (one last flush) and seeder, the Kafka publisher (flushed), MongoDB. `product -healthcheck`
// instead probes the running instance's /readyz (the container healthcheck) and returns nil when it
// answers 200.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	s, err := shared.Start(ctx, "product", args, stdout, cfg.ServiceConfig)
	if s == nil {
		return err // `product -healthcheck` answered, or the start failed
	}
	logger, metrics := s.Logger, s.Metrics
	db, err := s.OpenMongo(ctx, cfg.MongoURI, cfg.MongoDB)
	if err != nil {
		return err
	}
	var (
		store productStore
		// prepare creates the Mongo indexes; it runs before seeding.
		prepare = func(context.Context) error { return nil }
	)
	if db == nil {
		store = newMemProductStore()
	} else {
		ms := newMongoProductStore(db, logger)
		store, prepare = ms, ms.EnsureIndexes
		s.Ready.AddOwn("mongo_indexes", ms.IndexCheck)
	}
	publisher := s.OpenKafkaPublisher(cfg.KafkaBrokers)

	relay := shared.NewRelay(logger, productOutbox{store}, publisher, metrics, shared.RelayConfig{})
	s.Go("outbox", relay.Run)
	// Realtime and inventory read product.events from its start (shared.KeepTopic). Kafka's state does
	// not gate readiness: the catalog serves without it, so this retries in the background.
	s.Go("topic_retention", func(ctx context.Context) error {
		shared.Retry(ctx, logger, "keeping every product event", func(ctx context.Context) error {
			did, err := shared.KeepTopic(ctx, cfg.KafkaBrokers, shared.TopicProduct)
			if did != "" {
				logger.Info("product.events keeps every event", "did", did)
			}
			return err
		})
		return nil // done, or shutting down
	})
	// Whether to seed is decided once, on the count at start, so a retry after a half-done seed
	// finishes it.
	seed := false
	s.Setup("setup", prepare, func(ctx context.Context) error {
		if !cfg.SeedDemoData {
			return nil
		}
		count, err := store.Count(ctx)
		if count > 0 {
			logger.Info("catalog not empty, demo data not seeded", "products", count)
		}
		seed = err == nil && count == 0
		return err
	}, func(ctx context.Context) error {
		if !seed {
			return nil
		}
		return seedDemo(ctx, logger, store, relay.Wake)
	})
	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, "")
	return s.Run(ctx, cfg.HTTPAddr, NewServer(logger, metrics, s.Ready, verifier, store, relay.Wake))
}
