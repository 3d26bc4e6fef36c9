// Command order serves orders and runs the checkout saga: it prices orders with the product service,
// asks inventory to reserve stock through order.created, follows inventory's answers, takes payment
// (a stub) and publishes every change through a transactional outbox. See docs/order.md.
package main

import (
	"context"
	"io"
	"time"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("order", run) }

// run starts the order service and blocks until ctx ends, then shuts down in order: HTTP, the
// consumer and the relay (one last flush), the Kafka writer, Mongo. It starts even when Mongo or
// Kafka are down; /readyz reports them until they return.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	s, err := shared.Start(ctx, "order", args, stdout, cfg.ServiceConfig)
	if s == nil {
		return err // `order -healthcheck` answered, or the start failed
	}
	logger, metrics := s.Logger, s.Metrics
	db, err := s.OpenMongo(ctx, cfg.MongoURI, cfg.MongoDB)
	if err != nil {
		return err
	}
	var store orderStore
	if db == nil {
		store = newMemOrderStore()
	} else {
		ms := newMongoOrderStore(db)
		s.Setup("mongo_indexes", ms.ensureIndexes)
		s.Setup("created_day", ms.backfillCreatedDay)
		store = ms
	}
	publisher := s.OpenKafkaPublisher(cfg.KafkaBrokers)

	relay := newRelay(logger, store, publisher, metrics, cfg.OutboxPoll)
	co := newCheckout(logger, store, newStubPayments(), metrics, relay.Wake)
	s.Go("outbox", relay.Run)
	s.Go("reconcile", func(ctx context.Context) error {
		return co.reconcile(ctx, cfg.ReconcileAfter, max(cfg.ReconcileAfter/3, time.Second))
	})
	s.Go("consumer", func(ctx context.Context) error {
		return shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: cfg.KafkaBrokers, Group: "order", Topics: []string{shared.TopicInventory},
			Types: inventoryTypes, CommitInterval: shared.SagaCommitInterval, Tracing: s.Tracing}, co.handleInventoryEvent)
	})
	return s.Run(ctx, cfg.HTTPAddr, NewServer(logger, cfg, deps{
		checkout:  co,
		pricing:   pricing{catalog: newHTTPCatalog(cfg.ProductURL), addresses: newHTTPAddressBook(cfg.UserURL), taxBPS: cfg.TaxRateBPS, shipping: cfg.Shipping},
		verifier:  shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, ""),
		metrics:   metrics,
		readiness: s.Ready,
	}))
}
