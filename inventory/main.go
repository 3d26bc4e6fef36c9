// Command inventory keeps stock levels and reservations: one stock item per SKU, created from
// product.events, reserved, committed and released from order.events, exact under any concurrency.
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
	"go.mongodb.org/mongo-driver/mongo"
	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "inventory:", err)
		os.Exit(1)
	}
}

// run starts inventory and blocks until ctx ends, then shuts down in order: HTTP, consumers and
// sweeper, the outbox relay (one last flush), the Kafka writer, Mongo.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	// `inventory -healthcheck` probes the running instance's /readyz: the container healthcheck.
	if shared.IsHealthcheck(args) {
		return shared.Probe(ctx, cfg.HTTPAddr)
	}
	logger := shared.NewLogger(stdout, "inventory", cfg.LogLevel)
	metrics := shared.NewMetrics("inventory")
	ready := shared.NewReadiness()

	var (
		store  stockStore
		client *mongo.Client
	)
	if cfg.MongoURI != "" {
		client, err = shared.ConnectMongo(ctx, cfg.MongoURI, shared.MongoOptions{AppName: "inventory"}, false)
		if err != nil {
			return err
		}
		store = newMongoStore(client.Database(cfg.MongoDB))
		ready.Add("mongo", shared.MongoPing(client))
	} else {
		logger.Warn("MONGO_URI not set: in-memory store, data is not persisted")
		store = newMemStore()
	}
	pub := shared.NewKafkaPublisher(cfg.KafkaBrokers)
	ready.Add("kafka", shared.KafkaPing(cfg.KafkaBrokers))
	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, "")

	inv := newInventory(logger, store, metrics, cfg.ReservationTTL, cfg.LowStockThreshold)
	published := metrics.Counter("inventory_events_published_total", "Events the outbox relay published, by topic.", "topic")
	metrics.Gauge("inventory_outbox_pending", "Events waiting in the outbox.", func() float64 {
		gctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, _ := store.OutboxLen(gctx)
		return float64(n)
	})

	ln, err := shared.Listen(ctx, cfg.HTTPAddr)
	if err != nil {
		return errors.Join(err, disconnect(client))
	}
	srv := shared.NewHTTPServer(NewServer(logger, inv, metrics, ready, verifier), logger)

	// Background work outlives the HTTP server a little: it stops when stopWork is called after
	// Serve returned, so requests in flight can still change stock.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	g, gctx := errgroup.WithContext(workCtx)
	if ms, ok := store.(*mongoStore); ok {
		g.Go(func() error { ensureIndexes(gctx, logger, ms); return nil })
	}
	g.Go(func() error { return consume(gctx, logger, cfg.KafkaBrokers, inv.handleEvent) })
	g.Go(func() error { inv.sweeper(gctx, cfg.SweepInterval); return nil })

	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRelay()
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		inv.relay(relayCtx, pub, relayConfig{}, published)
	}()

	serveErr := shared.Serve(ctx, logger, srv, ln, ready)
	stopWork()
	workErr := g.Wait()
	stopRelay()
	<-relayDone
	pubErr := pub.Close()
	if pubErr != nil {
		pubErr = fmt.Errorf("kafka close: %w", pubErr)
	}
	return errors.Join(serveErr, workErr, pubErr, disconnect(client))
}

// ensureIndexes creates the Mongo indexes, retrying with backoff while Mongo is down at start, and
// then the retention index, once (a server may not support TTL indexes: a warning, not a failure).
func ensureIndexes(ctx context.Context, logger *slog.Logger, s *mongoStore) {
	backoff := 500 * time.Millisecond
	for {
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.EnsureIndexes(ictx)
		if err == nil {
			if rerr := s.EnsureRetention(ictx); rerr != nil {
				logger.Warn("no TTL index on settled reservations: they are kept", "err", rerr)
			}
		}
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		logger.Warn("mongo indexes not created yet, retrying", "err", err, "backoff", backoff.String())
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func disconnect(client *mongo.Client) error {
	if client == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongo disconnect: %w", err)
	}
	return nil
}
