// Command order serves orders and runs the checkout saga: it prices orders with the product service,
// asks inventory to reserve stock through order.created, follows inventory's answers, takes payment
// (a stub) and publishes every change through a transactional outbox. See docs/order.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/mongo"
	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "order:", err)
		os.Exit(1)
	}
}

// run starts the order service and blocks until ctx ends, then shuts down in order: HTTP, the
// consumer and relay, the Kafka writer, Mongo. It starts even when Mongo or Kafka are down;
// /readyz reports them until they return.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	// `order -healthcheck` probes the running instance's /readyz: the container healthcheck.
	if shared.IsHealthcheck(args) {
		return shared.Probe(ctx, cfg.HTTPAddr)
	}
	logger := shared.NewLogger(stdout, "order", cfg.LogLevel)
	metrics := shared.NewMetrics("order")
	ready := shared.NewReadiness()

	var (
		store       orderStore
		mongoClient *mongo.Client
	)
	if cfg.MongoURI != "" {
		mongoClient, err = shared.ConnectMongo(ctx, cfg.MongoURI, shared.MongoOptions{AppName: "order"}, false)
		if err != nil {
			return err
		}
		ms := newMongoOrderStore(mongoClient.Database(cfg.MongoDB))
		ready.Add("mongo", ms.ready)
		store = ms
	} else {
		logger.Warn("MONGO_URI not set: in-memory store, data is not persisted")
		store = newMemOrderStore()
	}
	ready.Add("kafka", shared.KafkaPing(cfg.Brokers))

	publisher := shared.NewKafkaPublisher(cfg.Brokers)
	rl := newRelay(logger, store, publisher, metrics, cfg.OutboxPoll)
	co := newCheckout(logger, store, newStubPayments(), metrics, rl.Notify)
	handler := NewServer(logger, cfg, deps{
		checkout:  co,
		pricing:   pricing{catalog: newHTTPCatalog(cfg.ProductURL), addresses: newHTTPAddressBook(cfg.UserURL), taxBPS: cfg.TaxRateBPS},
		verifier:  shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, ""),
		metrics:   metrics,
		readiness: ready,
	})

	ln, err := shared.Listen(ctx, cfg.HTTPAddr)
	if err != nil {
		return errors.Join(err, closeMongo(mongoClient))
	}
	srv := shared.NewHTTPServer(handler, logger)

	// Background work has its own context so HTTP drains before the consumer and relay stop.
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()
	var bg errgroup.Group
	bg.Go(func() error { return rl.Run(bgCtx) })
	bg.Go(func() error {
		return shared.Consume(bgCtx, logger, shared.ConsumerConfig{Brokers: cfg.Brokers, Group: "order", Topics: []string{shared.TopicInventory}}, co.handleInventoryEvent)
	})

	serveErr := shared.Serve(ctx, logger, srv, ln, ready)
	stopBg()
	bgErr := bg.Wait()
	// One last relay pass so events written by the final requests leave now if Kafka is up; whatever
	// fails stays in the outbox for the next start.
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := rl.pass(fctx); err != nil {
		logger.Warn("final outbox pass failed; events stay in the outbox", "err", err)
	}
	pubErr := publisher.Close()
	if pubErr != nil {
		logger.Warn("kafka writer close", "err", pubErr)
	}
	err = errors.Join(serveErr, bgErr, closeMongo(mongoClient))
	if err == nil {
		logger.Info("stopped")
	}
	return err
}

func closeMongo(c *mongo.Client) error {
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongo disconnect: %w", err)
	}
	return nil
}
