// Command user serves user profiles, addresses and preferences, and the admin's user list (issue 3).
// Profiles are created from auth's user.registered events, or lazily from the caller's token.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/mongo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run starts the service and blocks until ctx is cancelled, then shuts down in order: HTTP, consumer
// and outbox relay, Kafka publisher flush, Mongo. It starts even when Kafka or Mongo are down; /readyz
// reports them until they return.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	// `user -healthcheck` probes the running instance's /readyz: the container healthcheck.
	if shared.IsHealthcheck(args) {
		return shared.Probe(ctx, cfg.HTTPAddr)
	}
	logger := shared.NewLogger(stdout, "user", cfg.LogLevel)
	metrics := shared.NewMetrics("user")
	ready := shared.NewReadiness()

	var (
		profiles profileStore
		mongoCli *mongo.Client
	)
	if cfg.MongoURI != "" {
		mongoCli, err = shared.ConnectMongo(ctx, cfg.MongoURI, shared.MongoOptions{AppName: "user"}, false)
		if err != nil {
			return err
		}
		ready.Add("mongo", shared.MongoPing(mongoCli))
		profiles = newMongoProfileStore(mongoCli.Database(cfg.MongoDB))
	} else {
		logger.Warn("MONGO_URI not set: in-memory store, data is not persisted")
		profiles = newMemProfileStore()
	}

	pub := shared.NewKafkaPublisher(cfg.Brokers)
	ready.Add("kafka", shared.KafkaPing(cfg.Brokers))
	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, "")
	relay := newOutboxRelay(logger, profiles, pub, metrics)

	ln, err := shared.Listen(ctx, cfg.HTTPAddr)
	if err != nil {
		return errors.Join(err, closeAll(logger, pub, mongoCli))
	}

	// Background work stops after HTTP, so requests in flight can still kick the relay.
	bgCtx, bgCancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var consumeErr error
	wg.Go(func() {
		consumeErr = shared.Consume(bgCtx, logger, shared.ConsumerConfig{
			Brokers: cfg.Brokers, Group: "user", Topics: []string{shared.TopicUser},
		}, countEvents(metrics, handleUserEvent(logger, profiles)))
	})
	wg.Go(func() { relay.Run(bgCtx) })
	if ms, ok := profiles.(*mongoProfileStore); ok {
		wg.Go(func() { ensureIndexes(bgCtx, logger, ms) })
	}

	srv := shared.NewHTTPServer(NewServer(logger, metrics, ready, profiles, relay.Kick, verifier), logger)
	serveErr := shared.Serve(ctx, logger, srv, ln, ready)

	bgCancel()
	wg.Wait()
	// One last attempt for events written by the final requests; what fails stays in the outbox
	// (Mongo) for the next start.
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := relay.Flush(fctx); err != nil {
		logger.Warn("outbox not empty at shutdown", "err", err)
	}
	cancel()
	return errors.Join(serveErr, consumeErr, closeAll(logger, pub, mongoCli))
}

// ensureIndexes creates the Mongo indexes, retrying with backoff while Mongo is unreachable.
func ensureIndexes(ctx context.Context, logger *slog.Logger, s *mongoProfileStore) {
	backoff := time.Second
	for {
		err := s.EnsureIndexes(ctx)
		if err == nil {
			return
		}
		logger.Warn("mongo indexes not created yet", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// closeAll flushes the publisher and disconnects Mongo.
func closeAll(logger *slog.Logger, pub *shared.KafkaPublisher, mongoCli *mongo.Client) error {
	var errs []error
	if err := pub.Close(); err != nil {
		errs = append(errs, fmt.Errorf("kafka close: %w", err))
	}
	if mongoCli != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := mongoCli.Disconnect(ctx); err != nil {
			errs = append(errs, fmt.Errorf("mongo disconnect: %w", err))
		}
	}
	logger.Info("stopped")
	return errors.Join(errs...)
}
