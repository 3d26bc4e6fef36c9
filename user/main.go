// Command user serves user profiles, addresses and preferences, and the admin's user list.
// Profiles are created from auth's user.registered events, or lazily from the caller's token.
package main

import (
	"context"
	"io"
	"time"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("user", run) }

// run starts the service and blocks until ctx is cancelled, then shuts down in order: HTTP, consumers,
// outbox and mail relays (one last flush each), Kafka publisher flush, Mongo. The order mails come
// from order.events (mail.go) through the mail queue (Mongo collection "mails"). It starts even when
// Kafka or Mongo are down; /readyz reports them until they return.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	s, err := shared.Start(ctx, "user", args, stdout, cfg.ServiceConfig)
	if s == nil {
		return err // `user -healthcheck` answered, or the start failed
	}
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
	var mails shared.MailQueue = shared.NewMemMailQueue()
	if db != nil {
		mq := shared.NewMongoMailQueue(db.Collection("mails"))
		s.Setup("mail_indexes", mq.EnsureIndexes, func(ctx context.Context) error {
			if err := mq.EnsureRetention(ctx); err != nil {
				logger.Warn("no TTL index on finished mails: they are kept", "err", err)
			}
			return nil
		})
		mails = mq
	}
	mailer := shared.NewMailer(cfg.Mail)
	s.OnClose("smtp", mailer.Close)
	mailRelay := shared.NewMailRelay(logger, mails, mailer, metrics)
	s.Go("mail", mailRelay.Run)
	unsub := newUnsubscribeKey(logger, cfg.UnsubscribeSecret)
	orderMail, err := newOrderMailer(logger, profiles, mails, mailRelay.Wake, cfg.Mail,
		links{storefront: cfg.StorefrontURL, api: cfg.PublicAPIURL, unsub: unsub}, cfg.OrderMailMaxAge)
	if err != nil {
		return s.Abort(err)
	}

	relay := shared.NewRelay(logger, profileOutbox{profiles}, pub, metrics, shared.RelayConfig{})
	s.Go("outbox", relay.Run)
	// Both consumers are off the checkout saga's path, so the broker gathers their events (FetchWait):
	// a profile follows user.registered within 0.5 s (GET /users/me creates it from the token before
	// that), and an order's mail is queued up to 250 ms later than its event allows.
	s.Go("consumer", func(ctx context.Context) error {
		return shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: cfg.KafkaBrokers, Group: "user", Topics: []string{shared.TopicUser}, Types: userTypes,
			FetchWait: 500 * time.Millisecond, Tracing: s.Tracing},
			countEvents(metrics, handleUserEvent(logger, profiles)))
	})
	s.Go("order_mail_consumer", func(ctx context.Context) error {
		return shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: cfg.KafkaBrokers, Group: orderMailGroup, Topics: []string{shared.TopicOrder},
			Types: orderMailTypes, CommitInterval: shared.SagaCommitInterval, FetchWait: 250 * time.Millisecond, Tracing: s.Tracing},
			countEvents(metrics, orderMail.handle))
	})
	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.AuthIssuer, "")
	return s.Run(ctx, cfg.HTTPAddr, NewServer(logger, metrics, s.Ready, profiles, relay.Wake, verifier, unsub))
}
