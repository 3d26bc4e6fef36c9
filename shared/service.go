package shared

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/mongo"
)

// Service is what every program's run() starts with once its configuration is read: the JSON logger,
// the metrics, the readiness checks behind /readyz and the Program that runs and stops it all. Its
// Open* methods connect the clients several programs share and register each one's readiness check
// and closer, so a run() keeps only what is its own:
//
//	s, err := shared.Start(ctx, "user", args, stdout, cfg.ServiceConfig)
//	...
//	db, err := s.OpenMongo(ctx, cfg.MongoURI, cfg.MongoDB)
//	pub := s.OpenKafkaPublisher(cfg.Brokers)
//	...
//	return s.Run(ctx, cfg.HTTPAddr, NewServer(s.Logger, s.Metrics, s.Ready, ...))
type Service struct {
	*Program
	Name    string
	Logger  *slog.Logger
	Metrics *Metrics
	Ready   *Readiness
	// Tracing makes the program's spans once StartTracing ran; nil (tracing off) until then or
	// without OTEL_EXPORTER_OTLP_ENDPOINT.
	Tracing *Tracing
}

// ServiceConfig is the block every program reads to start (Start): where it serves, how much it
// logs, where its spans go and its profiling listener. A program's Config embeds it (BackendConfig
// does), read by Env.Service.
type ServiceConfig struct {
	HTTPAddr  string        // HTTP_ADDR, host:port to listen on; default the program's port on 127.0.0.1
	LogLevel  string        // LOG_LEVEL, default info (see Env.LogLevel)
	Tracing   TracingConfig // OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_BSP_SCHEDULE_DELAY (see Env.Tracing)
	PprofAddr string        // PPROF_ADDR, the profiling listener (Service.ServePprof); default empty: off
}

// Service reads the ServiceConfig of a program whose default HTTP_ADDR is httpAddr.
func (e *Env) Service(httpAddr string) ServiceConfig {
	return ServiceConfig{
		HTTPAddr:  e.HostPort("HTTP_ADDR", httpAddr),
		LogLevel:  e.LogLevel(),
		Tracing:   e.Tracing(),
		PprofAddr: e.Pprof(),
	}
}

// Start is how every program's run() begins once its configuration is read, so that the rest of
// run() is its own wiring:
//
//	s, err := shared.Start(ctx, "order", args, stdout, cfg.ServiceConfig)
//	if s == nil {
//		return err // a healthcheck's answer, or a failed start
//	}
//
// Started as `<name> -healthcheck` (IsHealthcheck), it only probes the running instance's /readyz
// (Probe: the container healthcheck) and returns a nil Service with the probe's error, nil when the
// instance is ready. Otherwise it returns the Service of the program called name (NewService) with
// tracing started (StartTracing) and the pprof listener open (ServePprof); if either fails, the
// closers registered so far run and the Service is nil. So a nil Service always means: return err.
func Start(ctx context.Context, name string, args []string, stdout io.Writer, cfg ServiceConfig) (*Service, error) {
	if IsHealthcheck(args) {
		return nil, Probe(ctx, cfg.HTTPAddr)
	}
	s := NewService(stdout, name, cfg.LogLevel)
	if err := s.StartTracing(ctx, cfg.Tracing); err != nil {
		return nil, s.Abort(err)
	}
	if err := s.ServePprof(cfg.PprofAddr); err != nil {
		return nil, s.Abort(err)
	}
	return s, nil
}

// NewService returns the Service of the program called name, logging JSON to stdout at level
// (LOG_LEVEL; an unknown level means info) with "service": name on every line.
func NewService(stdout io.Writer, name, level string) *Service {
	logger := NewLogger(stdout, name, level)
	ready := NewReadiness()
	return &Service{Program: NewProgram(logger, ready), Name: name, Logger: logger, Metrics: NewMetrics(name), Ready: ready}
}

// StartTracing turns tracing on when cfg names an OTLP receiver (Env.Tracing); call it before the
// Open* methods and Run, which use it: Run then starts a server span per request, the Kafka publisher
// a producer span per event. Spans still waiting are sent at shutdown, after every other closer
// registered later (the Kafka flush makes spans too). The error is an exporter that cannot be built.
func (s *Service) StartTracing(ctx context.Context, cfg TracingConfig) error {
	t, err := NewTracing(ctx, s.Name, cfg)
	if err != nil || t == nil {
		return err
	}
	s.Tracing = t
	s.OnClose("tracing", t.Shutdown)
	endpoint := cfg.Endpoint
	if u, err := url.Parse(endpoint); err == nil {
		endpoint = u.Redacted() // a collector URL may carry a password
	}
	s.Logger.Info("tracing on", "otlp_endpoint", endpoint)
	return nil
}

// Run is Program.Run with the handler inside Tracing.Handler, so every request gets its server span.
func (s *Service) Run(ctx context.Context, addr string, handler http.Handler) error {
	return s.Program.Run(ctx, addr, s.Tracing.Handler(handler))
}

// OpenMongo connects to uri (MONGO_URI) without waiting for the server, which may come up later, and
// returns database db; the client disconnects at shutdown and /readyz checks it as "mongo". With uri
// empty it logs that data is kept in memory and returns nil, nil: the program then uses its in-memory
// store. The error is a malformed URI.
func (s *Service) OpenMongo(ctx context.Context, uri, db string) (*mongo.Database, error) {
	if uri == "" {
		s.Logger.Warn("MONGO_URI not set: in-memory store, data is not persisted")
		return nil, nil
	}
	client, err := ConnectMongo(ctx, uri, MongoOptions{AppName: s.Name}, false)
	if err != nil {
		return nil, err
	}
	s.OnClose("mongo", client.Disconnect)
	s.Ready.Add("mongo", MongoPing(client))
	return client.Database(db), nil
}

// OpenKafkaPublisher returns a publisher to brokers (it connects lazily), flushed and closed at
// shutdown; /readyz checks the brokers as "kafka".
func (s *Service) OpenKafkaPublisher(brokers []string) *KafkaPublisher {
	pub := NewKafkaPublisher(brokers)
	pub.tracing = s.Tracing
	s.OnClose("kafka", func(context.Context) error { return pub.Close() })
	s.Ready.Add("kafka", KafkaPing(brokers))
	return pub
}

// OpenRedis returns a client for cfg, closed at shutdown; /readyz checks it as "redis". The error is
// a bad configuration (NewRedis); a server that is down is only reported by /readyz.
func (s *Service) OpenRedis(cfg RedisConfig) (*redis.Client, error) {
	rdb, err := NewRedis(cfg)
	if err != nil {
		return nil, err
	}
	s.OnClose("redis", func(context.Context) error { return rdb.Close() })
	s.Ready.Add("redis", RedisPing(rdb))
	return rdb, nil
}
