package main

import (
	"time"

	"github.com/goshop/platform/shared"
)

// Config is realtime's configuration, read once at start (docs/config.md).
//
// InstanceID names this instance's Kafka consumer group "realtime-<InstanceID>": every instance must
// see every event (each holds its own connections), so instances cannot share one group. Default:
// REALTIME_INSTANCE_ID, else "<HOSTNAME>-<port>" (stable across restarts of one container/process, so
// the group's committed offsets are reused), else "local-<port>".
type Config struct {
	shared.ServiceConfig // HTTP_ADDR 127.0.0.1:3009, LOG_LEVEL, OTEL_*, PPROF_ADDR

	Brokers        []string
	JWKSURL        string
	Issuer         string
	AuthURL        string
	AllowedOrigins []string
	// TrustedProxies are the peers whose X-Forwarded-For is believed (TRUSTED_PROXIES, default
	// loopback: the gateway on the same machine), for the client address of anonymous connections.
	TrustedProxies shared.TrustedProxies
	InstanceID     string
	// Redis keeps the notification centre: REDIS_URL, or REDIS_HOST, REDIS_PORT, REDIS_PASSWORD,
	// REDIS_DB (default 5, ARCHITECTURE.md).
	Redis shared.RedisConfig

	Hub  hubConfig
	Conn connConfig
	// MaxEventAge skips events older than this on arrival (default: the buffer age, 5 min).
	MaxEventAge time.Duration
	// ShutdownGrace bounds the wait for connections to close on shutdown (default 5 s).
	ShutdownGrace time.Duration
	// CommitInterval is how often consumed offsets are committed to Kafka (default 1 s), in the
	// background: committing each event synchronously costs a broker round trip before the next
	// event can be handled (docs/realtime.md has the numbers). A crash redelivers up to an interval
	// of events; the new process has a new epoch, so clients resync anyway, and within a process
	// redeliveries are dropped by event ID.
	CommitInterval time.Duration
}

// ConsumerGroup is this instance's Kafka consumer group for liveTopics.
func (c Config) ConsumerGroup() string { return "realtime-" + c.InstanceID }

// CatalogGroup is this instance's Kafka consumer group for catalogTopics.
func (c Config) CatalogGroup() string { return c.ConsumerGroup() + "-catalog" }

// loadConfig reads the configuration through getenv, applying defaults, and reports every bad value
// at once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{
		ServiceConfig:  env.Service("127.0.0.1:3009"),
		Brokers:        env.HostPorts("KAFKA_BROKERS", "127.0.0.1:9092"),
		JWKSURL:        env.URL("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		Issuer:         env.BaseURL("AUTH_ISSUER", "http://localhost:3008/auth"),
		AuthURL:        env.BaseURL("AUTH_URL", "http://127.0.0.1:4000"),
		AllowedOrigins: env.List("ALLOWED_ORIGINS", "localhost:3000,127.0.0.1:3000,localhost:3008,127.0.0.1:3008"),
		TrustedProxies: shared.NewTrustedProxies(env.Prefixes("TRUSTED_PROXIES", shared.DefaultTrustedProxies)),
		Redis:          env.Redis(5),
		Hub: hubConfig{BufferSize: 1000, BufferAge: 5 * time.Minute, SendQueue: 256, AdminSendQueue: 4096, MaxPerUser: 32,
			MaxAnonPerAddress: env.Int("REALTIME_MAX_ANONYMOUS_PER_ADDRESS", 256, 1, 1_000_000)},
		Conn:           connConfig{PingInterval: 25 * time.Second, PongTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second},
		MaxEventAge:    5 * time.Minute,
		ShutdownGrace:  5 * time.Second,
		CommitInterval: time.Second,
	}
	cfg.InstanceID = env.InstanceID("REALTIME_INSTANCE_ID", cfg.HTTPAddr)
	return cfg, env.Err()
}
