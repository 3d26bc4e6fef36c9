package shared_test

import (
	"bytes"
	"context"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestServiceOpen: each Open* registers its readiness check (and a closer that Abort runs cleanly);
// no MONGO_URI means no Mongo, a warning and no "mongo" check; a bad Redis URL is an error and
// registers nothing. Nothing here needs a server: clients connect lazily.
func TestServiceOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mongoURI    string
		redis             shared.RedisConfig
		wantDB, wantRedis bool // a database from OpenMongo, a client from OpenRedis
		wantChecks        []string
		wantLog           string // "": nothing logged
	}{
		{name: "memory", redis: shared.RedisConfig{Port: 1}, wantRedis: true,
			wantChecks: []string{"kafka", "redis"}, wantLog: "MONGO_URI not set"},
		{name: "mongo", mongoURI: "mongodb://127.0.0.1:1", redis: shared.RedisConfig{Port: 1}, wantDB: true, wantRedis: true,
			wantChecks: []string{"kafka", "mongo", "redis"}},
		{name: "bad redis url", redis: shared.RedisConfig{URL: "redis://[::1"},
			wantChecks: []string{"kafka"}, wantLog: "MONGO_URI not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			s := shared.NewService(&out, "svc", "info")
			db, err := s.OpenMongo(t.Context(), tt.mongoURI, "svcdb")
			if err != nil {
				t.Fatalf("OpenMongo(%q): %v", tt.mongoURI, err)
			}
			if (db != nil) != tt.wantDB || db != nil && db.Name() != "svcdb" {
				t.Errorf("OpenMongo(%q) = %v, want a database: %v", tt.mongoURI, db, tt.wantDB)
			}
			s.OpenKafkaPublisher([]string{"127.0.0.1:1"})
			rdb, err := s.OpenRedis(tt.redis)
			if (err == nil) != tt.wantRedis || (rdb != nil) != tt.wantRedis {
				t.Errorf("OpenRedis(%+v) = %v, %v; want a client: %v", tt.redis, rdb, err, tt.wantRedis)
			}

			ctx, cancel := context.WithCancel(t.Context())
			cancel() // only the names matter: every check fails at once
			results, _ := s.Ready.Check(ctx)
			if got := slices.Sorted(maps.Keys(results)); !slices.Equal(got, tt.wantChecks) {
				t.Errorf("readiness checks = %v, want %v", got, tt.wantChecks)
			}
			if err := s.Abort(nil); err != nil {
				t.Errorf("Abort: closers failed: %v", err)
			}
			log := out.String()
			if tt.wantLog != "" && !strings.Contains(log, tt.wantLog) || tt.wantLog == "" && log != "" {
				t.Errorf("log = %q, want it to contain %q (or be empty)", log, tt.wantLog)
			}
			if tt.wantLog != "" && !strings.Contains(log, `"service":"svc"`) {
				t.Errorf("log = %q, want every line to name the service", log)
			}
		})
	}
}

// TestStartHealthcheck: `<program> -healthcheck` only probes HTTP_ADDR's /readyz: a nil Service, the
// probe's answer as the error, and nothing logged (no Service was made).
func TestStartHealthcheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		status  int
		wantErr bool
	}{
		{"ready", http.StatusOK, false},
		{"not ready", http.StatusServiceUnavailable, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			probed := make(chan string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				probed <- r.URL.Path
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			var out bytes.Buffer
			cfg := shared.ServiceConfig{HTTPAddr: srv.Listener.Addr().String(), LogLevel: "info"}
			s, err := shared.Start(t.Context(), "svc", []string{"svc", "-healthcheck"}, &out, cfg)
			if s != nil {
				t.Errorf("Start(-healthcheck) returned a Service, want nil")
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("Start(-healthcheck) against a %d = %v, want an error: %v", tt.status, err, tt.wantErr)
			}
			select {
			case path := <-probed:
				if path != "/readyz" {
					t.Errorf("probed %s, want /readyz", path)
				}
			default:
				t.Error("the healthcheck never reached the instance")
			}
			if out.Len() != 0 {
				t.Errorf("healthcheck logged %q, want nothing", out.String())
			}
		})
	}
}

// TestStart: a normal start returns the named Service with tracing and pprof on as configured; an
// exporter that cannot be built or a taken pprof port fails start-up with a nil Service.
func TestStart(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() }) // after the parallel subtests, not when TestStart returns
	tracing := shared.TracingConfig{Endpoint: "http://127.0.0.1:1", BatchDelay: time.Second}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel() // the exporter is built with ctx: a cancelled one fails it

	tests := []struct {
		name        string
		ctx         context.Context
		cfg         shared.ServiceConfig
		wantErr     string // "": a Service
		wantTracing bool
		wantPprof   bool
	}{
		{name: "plain", ctx: t.Context(), cfg: shared.ServiceConfig{LogLevel: "info"}},
		{name: "tracing and pprof", ctx: t.Context(), cfg: shared.ServiceConfig{LogLevel: "info", Tracing: tracing, PprofAddr: "127.0.0.1:0"},
			wantTracing: true, wantPprof: true},
		{name: "tracing fails", ctx: cancelled, cfg: shared.ServiceConfig{LogLevel: "info", Tracing: tracing}, wantErr: "tracing"},
		{name: "pprof port taken", ctx: t.Context(), cfg: shared.ServiceConfig{LogLevel: "info", Tracing: tracing, PprofAddr: taken.Addr().String()},
			wantErr: "pprof"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			s, err := shared.Start(tt.ctx, "svc", []string{"svc"}, &out, tt.cfg)
			if tt.wantErr != "" {
				if s != nil || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Start = %v, %v; want no Service and a %s error", s, err, tt.wantErr)
				}
				return
			}
			if s == nil || err != nil {
				t.Fatalf("Start = %v, %v; want a Service", s, err)
			}
			defer s.Abort(nil)
			if s.Name != "svc" || (s.Tracing != nil) != tt.wantTracing {
				t.Errorf("Service %q with tracing %v, want \"svc\" with tracing %v", s.Name, s.Tracing != nil, tt.wantTracing)
			}
			log := out.String()
			if strings.Contains(log, "tracing on") != tt.wantTracing || strings.Contains(log, "pprof on") != tt.wantPprof {
				t.Errorf("start-up log = %q, want tracing on: %v, pprof on: %v", log, tt.wantTracing, tt.wantPprof)
			}
		})
	}
}

// TestEnvService: the block's variables and defaults, and bad values reported by name.
func TestEnvService(t *testing.T) {
	t.Parallel()
	env := shared.NewEnv(func(string) string { return "" })
	got := env.Service("127.0.0.1:3001")
	want := shared.ServiceConfig{HTTPAddr: "127.0.0.1:3001", LogLevel: "info", Tracing: shared.TracingConfig{BatchDelay: 5 * time.Second}}
	if got != want || env.Err() != nil {
		t.Errorf("Service defaults = %+v, %v; want %+v", got, env.Err(), want)
	}
	var names []string
	for _, v := range env.Vars() {
		names = append(names, v.Name)
	}
	if strings.Join(names, " ") != "HTTP_ADDR LOG_LEVEL OTEL_EXPORTER_OTLP_ENDPOINT OTEL_BSP_SCHEDULE_DELAY PPROF_ADDR" {
		t.Errorf("Service read %v", names)
	}
	load := func(getenv func(string) string) (shared.ServiceConfig, error) {
		env := shared.NewEnv(getenv)
		return env.Service("127.0.0.1:3001"), env.Err()
	}
	sharedtest.CheckBadConfig(t, load, map[string]string{"HTTP_ADDR": "nocolon", "LOG_LEVEL": "loud", "PPROF_ADDR": "x",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318", "OTEL_BSP_SCHEDULE_DELAY": "0"})
}
