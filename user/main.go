// Command user serves user profiles, addresses and preferences, and the admin's user list.
// Profiles are created from auth's user.registered events, or lazily from the caller's token.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/goshop/platform/shared"
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
// and outbox relay (one last flush), Kafka publisher flush, Mongo. It starts even when Kafka or Mongo
// are down; /readyz reports them until they return.
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
	p := shared.NewProgram(logger, ready)

	var profiles profileStore
	if cfg.MongoURI != "" {
		client, err := shared.ConnectMongo(ctx, cfg.MongoURI, shared.MongoOptions{AppName: "user"}, false)
		if err != nil {
			return err
		}
		p.OnClose("mongo", client.Disconnect)
		ready.Add("mongo", shared.MongoPing(client))
		ms := newMongoProfileStore(client.Database(cfg.MongoDB))
		p.Setup("mongo_indexes", ms.EnsureIndexes)
		profiles = ms
	} else {
		logger.Warn("MONGO_URI not set: in-memory store, data is not persisted")
		profiles = newMemProfileStore()
	}
	pub := shared.NewKafkaPublisher(cfg.Brokers)
	p.OnClose("kafka", func(context.Context) error { return pub.Close() })
	ready.Add("kafka", shared.KafkaPing(cfg.Brokers))

	relay := shared.NewRelay(logger, profileOutbox{profiles}, pub, metrics, shared.RelayConfig{})
	p.Go("outbox", relay.Run)
	p.Go("consumer", func(ctx context.Context) error {
		return shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: cfg.Brokers, Group: "user", Topics: []string{shared.TopicUser}},
			countEvents(metrics, handleUserEvent(logger, profiles)))
	})
	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, "")
	return p.Run(ctx, cfg.HTTPAddr, NewServer(logger, metrics, ready, profiles, relay.Wake, verifier))
}
