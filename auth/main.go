// Command auth owns accounts, credentials, sessions and tokens, and is the platform's OpenID Connect
// provider. See docs/auth.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "auth:", err)
		os.Exit(1)
	}
}

// run starts auth and blocks until ctx ends, then shuts down in order: HTTP, consumers and relays,
// Kafka flush, Mongo and Redis. `auth rotate-keys` instead adds a signing key to
// AUTH_SIGNING_KEYS_DIR and exits.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// `auth -healthcheck` probes the running instance's /readyz: the container healthcheck.
	if shared.IsHealthcheck(args) {
		return shared.Probe(ctx, cfg.HTTPAddr)
	}
	if len(args) > 1 && args[1] == "rotate-keys" {
		return rotateKeys(cfg, stdout)
	}
	logger := shared.NewLogger(stdout, "auth", cfg.LogLevel)
	metrics := shared.NewMetrics("auth")
	ready := shared.NewReadiness()

	keys, err := openKeyring(cfg, logger)
	if err != nil {
		return err
	}

	var accounts accountStore
	prepare := func(context.Context) error { return nil }
	closeMongo := func() error { return nil }
	if cfg.MongoURI == "" {
		logger.Warn("MONGO_URI not set: in-memory store, data is not persisted")
		accounts = newMemAccountStore()
	} else {
		client, err := shared.ConnectMongo(ctx, cfg.MongoURI, shared.MongoOptions{AppName: "auth"}, false)
		if err != nil {
			return err
		}
		closeMongo = func() error { return client.Disconnect(context.Background()) }
		store := newMongoAccountStore(client.Database(cfg.MongoDB))
		accounts, prepare = store, store.EnsureIndexes
		ready.Add("mongo", shared.MongoPing(client))
	}

	rdb, err := shared.NewRedis(shared.RedisConfig{URL: cfg.RedisURL, Host: cfg.RedisHost, Port: cfg.RedisPort,
		Password: cfg.RedisPassword, DB: cfg.RedisDB})
	if err != nil {
		return errors.Join(err, closeMongo())
	}
	ready.Add("redis", shared.RedisPing(rdb))

	pub := shared.NewKafkaPublisher(cfg.KafkaBrokers)
	ready.Add("kafka", shared.KafkaPing(cfg.KafkaBrokers))

	start := time.Now()
	h, err := newHasher(cfg.BcryptCost)
	if err != nil {
		return errors.Join(err, pub.Close(), rdb.Close(), closeMongo())
	}
	logger.Info("bcrypt", "cost", cfg.BcryptCost, "hash_ms", time.Since(start).Milliseconds())

	ob := newOutbox(logger, accounts, pub)
	d := deps{
		accounts:       accounts,
		sessions:       &redisSessionStore{rdb: rdb},
		grants:         &redisGrantStore{rdb: rdb},
		accountLimiter: &redisLimiter{rdb: rdb, prefix: "auth:rl:", policy: accountPolicy},
		ipLimiter:      &redisLimiter{rdb: rdb, prefix: "auth:rl:", policy: ipPolicy},
		hasher:         h,
		keys:           keys,
		outbox:         ob,
		metrics:        metrics,
		ready:          ready,
	}
	srv := shared.NewHTTPServer(NewServer(logger, cfg, d), logger)
	ln, err := shared.Listen(ctx, cfg.HTTPAddr)
	if err != nil {
		return errors.Join(err, pub.Close(), rdb.Close(), closeMongo())
	}

	g, gctx := errgroup.WithContext(ctx)
	// Workers stop only after HTTP has drained, so in-flight requests can still publish.
	workers, stopWorkers := context.WithCancel(context.WithoutCancel(gctx))
	defer stopWorkers()
	go func() {
		<-gctx.Done()
		if ctx.Err() == nil {
			stopWorkers() // a worker failed: stop the rest too
		}
	}()
	g.Go(func() error {
		defer stopWorkers()
		return shared.Serve(gctx, logger, srv, ln, ready)
	})
	g.Go(func() error { return ob.Run(workers) })
	g.Go(func() error {
		return shared.Consume(workers, logger, shared.ConsumerConfig{Brokers: cfg.KafkaBrokers, Group: "auth",
			Topics: []string{shared.TopicUser}}, handleUserEvent(logger, accounts, d.sessions, d.grants))
	})
	// Not ready until the indexes and the seeded accounts exist: before that the unique email index
	// is missing and the accounts `make run` prints would answer 401.
	var setUp atomic.Bool
	ready.Add("setup", func(context.Context) error {
		if !setUp.Load() {
			return errors.New("creating indexes and seeded accounts")
		}
		return nil
	})
	g.Go(func() error {
		err := seed(workers, logger, cfg, prepare, accounts, h, ob)
		setUp.Store(workers.Err() == nil)
		return err
	})

	err = g.Wait()
	logger.Info("stopped serving; closing clients")
	return errors.Join(err, pub.Close(), rdb.Close(), closeMongo())
}

// openKeyring loads the signing keys from AUTH_SIGNING_KEYS_DIR, or generates two in memory.
func openKeyring(cfg Config, logger *slog.Logger) (*keyring, error) {
	if cfg.KeysDir == "" {
		logger.Warn("AUTH_SIGNING_KEYS_DIR not set: signing keys generated in memory; tokens die with this process")
		return newMemKeyring(2)
	}
	kr, err := loadKeyring(cfg.KeysDir)
	if err != nil {
		return nil, err
	}
	logger.Info("signing keys", "dir", cfg.KeysDir, "published", len(kr.keys), "current_kid", kr.current().kid)
	return kr, nil
}

func rotateKeys(cfg Config, stdout io.Writer) error {
	if cfg.KeysDir == "" {
		return errors.New("rotate-keys: AUTH_SIGNING_KEYS_DIR is not set")
	}
	if _, err := loadKeyring(cfg.KeysDir); err != nil {
		return err
	}
	name, err := addKeyFile(cfg.KeysDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %s; restart auth to sign with the previous next key\n", name)
	return nil
}
