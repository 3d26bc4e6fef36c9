// Command auth owns accounts, credentials, sessions and tokens, and is the platform's OpenID Connect
// provider. See docs/auth.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("auth", run) }

// run starts auth and blocks until ctx ends, then shuts down in order: HTTP, consumer and outbox
// relay, Kafka flush, Redis and Mongo. `auth rotate-keys` instead adds a signing key to
// AUTH_SIGNING_KEYS_DIR and exits.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(args) > 1 && args[1] == "rotate-keys" {
		return rotateKeys(cfg, stdout)
	}
	s, err := shared.Start(ctx, "auth", args, stdout, cfg.ServiceConfig)
	if s == nil {
		return err // `auth -healthcheck` answered, or the start failed
	}
	logger := s.Logger

	keys, err := openKeyring(cfg, logger)
	if err != nil {
		return err
	}
	db, err := s.OpenMongo(ctx, cfg.MongoURI, cfg.MongoDB)
	if err != nil {
		return err
	}
	var accounts accountStore
	var links linkStore
	var mailQueue shared.MailQueue
	prepare := []func(context.Context) error{}
	if db == nil {
		accounts, links, mailQueue = newMemAccountStore(), newMemLinkStore(), shared.NewMemMailQueue()
	} else {
		store, ls, mq := newMongoAccountStore(db), newMongoLinkStore(db), shared.NewMongoMailQueue(db.Collection("mails"))
		accounts, links, mailQueue = store, ls, mq
		prepare = append(prepare, store.EnsureIndexes, ls.EnsureIndexes, mq.EnsureIndexes, func(ctx context.Context) error {
			if err := mq.EnsureRetention(ctx); err != nil {
				logger.Warn("no TTL index on finished mails: they are kept", "err", err)
			}
			return nil
		})
	}
	rdb, err := s.OpenRedis(cfg.Redis)
	if err != nil {
		return s.Abort(err)
	}
	pub := s.OpenKafkaPublisher(cfg.KafkaBrokers)

	start := time.Now()
	h, err := newHasher(cfg.BcryptCost)
	if err != nil {
		return s.Abort(err)
	}
	logger.Info("bcrypt", "cost", cfg.BcryptCost, "hash_ms", time.Since(start).Milliseconds())

	relay := shared.NewRelay(logger, accountOutbox{accounts}, pub, s.Metrics, shared.RelayConfig{})
	mailer := shared.NewMailer(cfg.Mail)
	s.OnClose("smtp", mailer.Close)
	mailRelay := shared.NewMailRelay(logger, mailQueue, mailer, s.Metrics)
	mail, err := newAccountMail(mailQueue, mailRelay.Wake, cfg.Mail, cfg.StorefrontURL)
	if err != nil {
		return s.Abort(err)
	}
	d := deps{
		accounts:       accounts,
		sessions:       &redisSessionStore{rdb: rdb},
		grants:         &redisGrantStore{rdb: rdb, grace: cfg.RefreshGrace},
		accountLimiter: &redisLimiter{rdb: rdb, prefix: "auth:rl:", policy: accountPolicy},
		ipLimiter:      &redisLimiter{rdb: rdb, prefix: "auth:rl:", policy: ipPolicy},
		mailLimiter:    &redisLimiter{rdb: rdb, prefix: "auth:rl:", policy: mailPolicy},
		mailIPLimiter:  &redisLimiter{rdb: rdb, prefix: "auth:rl:", policy: mailIPPolicy},
		links:          links,
		mail:           mail,
		hasher:         h,
		keys:           keys,
		wake:           relay.Wake,
		metrics:        s.Metrics,
		ready:          s.Ready,
	}
	s.Go("outbox", relay.Run)
	s.Go("mail", mailRelay.Run)
	// The consumer acts on user.status_changed and user.updated (the name) and skips the rest of
	// user.events, mostly registrations. Its handler is idempotent by state (a status or name older
	// than the stored one changes nothing; ending a suspended account's sessions again is harmless), so offsets are committed once
	// a second rather than per message, and a crash repeats at most a second of events. It has no
	// FetchWait: a suspension must refuse logins and refreshes at once, no later than the gateway's
	// deny list refuses the account's tokens (TestSecurityEdgeSuspension).
	s.Go("consumer", func(ctx context.Context) error {
		return shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: cfg.KafkaBrokers, Group: "auth", Tracing: s.Tracing,
			Topics: []string{shared.TopicUser}, Types: consumedTypes, CommitInterval: time.Second},
			handleUserEvent(logger, accounts, d.sessions, d.grants))
	})
	// Not ready until the indexes and the seeded accounts exist: before that the unique email index
	// is missing and the accounts `make run` prints would answer 401.
	s.Setup("setup", append(prepare, seedSteps(logger, cfg, accounts, h, relay.Wake)...)...)
	return s.Run(ctx, cfg.HTTPAddr, NewServer(logger, cfg, d))
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
