// Command product is the catalog service: products, categories and search for shoppers, product
// management for admins, and product.events for inventory, order and realtime. See docs/product.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "product:", err)
		os.Exit(1)
	}
}

// run starts the service and blocks until ctx is cancelled, then shuts down in order: HTTP, the outbox
// relay and seeder, the Kafka publisher (flushed), MongoDB. `product -healthcheck` instead probes the
// running instance's /readyz (the container healthcheck) and returns nil when it answers 200.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if shared.IsHealthcheck(args) {
		return shared.Probe(ctx, cfg.HTTPAddr)
	}
	logger := shared.NewLogger(stdout, "product", cfg.LogLevel)
	metrics := shared.NewMetrics("product")
	ready := shared.NewReadiness()

	var (
		store   productStore
		closers []func(context.Context) error
		// prepare runs in the background before seeding: creating Mongo indexes, retried until Mongo
		// answers.
		prepare = func(context.Context) error { return nil }
	)
	if cfg.MongoURI != "" {
		client, err := shared.ConnectMongo(ctx, cfg.MongoURI, shared.MongoOptions{AppName: "product"}, false)
		if err != nil {
			return err
		}
		ready.Add("mongo", shared.MongoPing(client))
		ms := newMongoProductStore(client.Database(cfg.MongoDB), logger)
		store, prepare = ms, ms.EnsureIndexes
		ready.Add("mongo_indexes", ms.IndexCheck)
		closers = append(closers, func(ctx context.Context) error { return client.Disconnect(ctx) })
	} else {
		logger.Warn("MONGO_URI not set: in-memory store, data is not persisted")
		store = newMemProductStore()
	}

	publisher := shared.NewKafkaPublisher(cfg.KafkaBrokers)
	ready.Add("kafka", shared.KafkaPing(cfg.KafkaBrokers))
	ob := newOutbox(store, publisher, logger, metrics)
	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, "")

	ln, err := shared.Listen(ctx, cfg.HTTPAddr)
	if err != nil {
		return err
	}
	srv := shared.NewHTTPServer(NewServer(logger, metrics, ready, verifier, store, ob), logger)

	// Background work outlives ctx until HTTP has drained, so requests in flight can still publish.
	bgCtx, bgCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer bgCancel()
	g, gctx := errgroup.WithContext(bgCtx)
	g.Go(func() error {
		if err := retry(gctx, logger, "prepare store", prepare); err != nil {
			return nil // cancelled
		}
		if !cfg.SeedDemoData {
			return nil
		}
		var count int
		if err := retry(gctx, logger, "count products", func(ctx context.Context) (err error) {
			count, err = store.Count(ctx)
			return err
		}); err != nil {
			return nil // cancelled
		}
		if count > 0 {
			logger.Info("catalog not empty, demo data not seeded", "products", count)
			return nil
		}
		retry(gctx, logger, "seed demo catalog", func(ctx context.Context) error { return seedDemo(ctx, logger, store, ob) })
		return nil
	})
	g.Go(func() error { return ob.relay(gctx) })

	errs := []error{shared.Serve(ctx, logger, srv, ln, ready)}
	bgCancel()
	errs = append(errs, g.Wait())
	if err := publisher.Close(); err != nil {
		errs = append(errs, fmt.Errorf("kafka close: %w", err))
	}
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range closers {
		errs = append(errs, c(cctx))
	}
	logger.Info("stopped")
	return errors.Join(errs...)
}

// retry calls f until it succeeds or ctx ends, waiting 500 ms doubling to 5 s between attempts (short,
// because writes wait for the Mongo indexes).
// It returns ctx's error when cancelled.
func retry(ctx context.Context, logger *slog.Logger, what string, f func(context.Context) error) error {
	wait := 500 * time.Millisecond
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		logger.Warn(what+" failed, retrying", "err", err, "retry_in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, 5*time.Second)
	}
}
