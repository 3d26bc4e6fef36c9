package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
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
	HTTPAddr       string
	Brokers        []string
	JWKSURL        string
	Issuer         string
	AuthURL        string
	AllowedOrigins []string
	LogLevel       string
	InstanceID     string

	Hub  hubConfig
	Conn connConfig
	// MaxEventAge skips events older than this on arrival (default: the buffer age, 5 min).
	MaxEventAge time.Duration
	// ShutdownGrace bounds the wait for connections to close on shutdown (default 5 s).
	ShutdownGrace time.Duration
	// CommitInterval is how often consumed offsets are committed to Kafka (default 1 s), in the
	// background: committing each event synchronously cost a broker round trip per event, ~40 % of
	// realtime's CPU per event and most of its p99 at 1,000 events/s (docs/realtime.md, Numbers). A
	// crash redelivers up to an interval of events; the new process has a new epoch, so clients
	// resync anyway, and within a process redeliveries are dropped by event ID.
	CommitInterval time.Duration
}

// ConsumerGroup is the Kafka consumer group of this instance.
func (c Config) ConsumerGroup() string { return "realtime-" + c.InstanceID }

func loadConfig(getenv func(string) string) (Config, error) {
	env := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		HTTPAddr:      env("HTTP_ADDR", "127.0.0.1:3009"),
		Brokers:       shared.ParseBrokers(env("KAFKA_BROKERS", "127.0.0.1:9092")),
		JWKSURL:       env("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		Issuer:        env("AUTH_ISSUER", "http://localhost:3008/auth"),
		AuthURL:       env("AUTH_URL", "http://127.0.0.1:4000"),
		LogLevel:      env("LOG_LEVEL", "info"),
		Hub:           hubConfig{BufferSize: 1000, BufferAge: 5 * time.Minute, SendQueue: 256, AdminSendQueue: 4096, MaxPerUser: 32},
		Conn:          connConfig{PingInterval: 25 * time.Second, PongTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second},
		MaxEventAge:   5 * time.Minute,
		ShutdownGrace: 5 * time.Second,

		CommitInterval: time.Second,
	}
	for _, o := range strings.Split(env("ALLOWED_ORIGINS", "localhost:3000,127.0.0.1:3000,localhost:3008,127.0.0.1:3008"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, o)
		}
	}

	var errs []error
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		errs = append(errs, fmt.Errorf("HTTP_ADDR %q: want host:port", cfg.HTTPAddr))
	}
	if len(cfg.Brokers) == 0 {
		errs = append(errs, errors.New("KAFKA_BROKERS: no broker"))
	}
	for _, k := range []string{"JWKS_URL", "AUTH_URL"} {
		if u, err := url.Parse(env(k, "")); err != nil || (getenv(k) != "" && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "")) {
			errs = append(errs, fmt.Errorf("%s %q: want an http(s) URL", k, getenv(k)))
		}
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", cfg.LogLevel))
	}
	cfg.InstanceID = env("REALTIME_INSTANCE_ID", "")
	if cfg.InstanceID == "" {
		cfg.InstanceID = env("HOSTNAME", "local") + "-" + port
	}
	for _, r := range cfg.InstanceID {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			errs = append(errs, fmt.Errorf("REALTIME_INSTANCE_ID %q: letters, digits, '-', '_' and '.' only", cfg.InstanceID))
			break
		}
	}
	return cfg, errors.Join(errs...)
}
