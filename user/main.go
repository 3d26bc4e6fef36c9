// Command user serves user profiles, addresses and preferences, and the admin's user list.
// Profiles are created from auth's user.registered events, or lazily from the caller's token.
package main

import (
	"context"
	"io"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("user", run) }

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
	s := shared.NewService(stdout, "user", cfg.LogLevel)
	logger, metrics := s.Logger, s.Metrics
	db, err := s.OpenMongo(ctx, cfg.MongoURI, cfg.MongoDB)
	if err != nil {
		return err
	}
	var profiles profileStore
	if db == nil {
		profiles = newMemProfileStore()
	} else {
		ms := newMongoProfileStore(db)
		s.Setup("mongo_indexes", ms.EnsureIndexes)
		profiles = ms
	}
	pub := s.OpenKafkaPublisher(cfg.KafkaBrokers)

	relay := shared.NewRelay(logger, profileOutbox{profiles}, pub, metrics, shared.RelayConfig{})
	s.Go("outbox", relay.Run)
	s.Go("consumer", func(ctx context.Context) error {
		return shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: cfg.KafkaBrokers, Group: "user", Topics: []string{shared.TopicUser}},
			countEvents(metrics, handleUserEvent(logger, profiles)))
	})
	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, "")
	return s.Run(ctx, cfg.HTTPAddr, NewServer(logger, metrics, s.Ready, profiles, relay.Wake, verifier))
}
