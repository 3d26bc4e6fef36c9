package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

// TestRun starts the whole program with a "broker" that accepts connections but speaks no Kafka: it
// must serve, seed the demo catalog (events wait in the outbox), pass its container healthcheck, report
// Kafka in /readyz once the broker is gone, and stop cleanly when its context ends. It runs on the in-memory store, and
// also on MongoDB when MONGO_TEST_URI is set.
func TestRun(t *testing.T) {
	t.Parallel()
	sharedtest.EachStore(t, "product_run_", testRun)
}

func testRun(t *testing.T, extra map[string]string) {
	iss := sharedtest.NewIssuer(t)
	broker, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := broker.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	env := map[string]string{
		"HTTP_ADDR":     sharedtest.FreeAddr(t),
		"KAFKA_BROKERS": broker.Addr().String(),
		"JWKS_URL":      iss.URL,
		"AUTH_ISSUER":   iss.Name,
		"LOG_LEVEL":     "warn",
	}
	for k, v := range extra {
		env[k] = v
	}
	p := sharedtest.Start(t, run, nil, env, "/healthz", 5*time.Second)
	base := p.Base

	// The catalog is seeded in the background; wait for it with a deadline (generous: the contract
	// run's FerretDB answers one command at a time for every package's tests at once).
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/products?limit=1")
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Total int }
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if list.Total == len(demoCatalog) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /products: total = %d, want %d within 30s", list.Total, len(demoCatalog))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The container healthcheck probes /readyz: 200 while the broker (and Mongo) answer, not after.
	healthcheck := func() error {
		return run(context.Background(), []string{"product", "-healthcheck"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}
	deadline = time.Now().Add(10 * time.Second)
	for err := healthcheck(); err != nil; err = healthcheck() {
		if time.Now().After(deadline) {
			t.Fatalf("run -healthcheck = %v, want nil within 10s", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	broker.Close()
	if err := healthcheck(); err == nil {
		t.Error("run -healthcheck with the broker gone = nil, want an error")
	}

	_, mongo := extra["MONGO_URI"]
	sharedtest.CheckReadyKafkaDown(t, base, mongo)

	if err := p.Stop(t); err != nil {
		t.Errorf("run returned %v, want nil", err)
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatalf("loadConfig(defaults): %v", err)
	}
	if cfg.HTTPAddr != "127.0.0.1:3002" || cfg.MongoDB != "product" || !cfg.SeedDemoData || len(cfg.KafkaBrokers) != 1 || cfg.LogLevel != "info" {
		t.Errorf("defaults = %+v", cfg)
	}
	bad := map[string]string{"HTTP_ADDR": "nope", "SEED_DEMO_DATA": "maybe", "LOG_LEVEL": "loud", "MONGO_URI": "http://x", "KAFKA_BROKERS": "a",
		"JWKS_URL": "/jwks", "AUTH_ISSUER": "issuer"}
	sharedtest.CheckBadConfig(t, loadConfig, bad)
	off, _ := loadConfig(func(k string) string { return map[string]string{"SEED_DEMO_DATA": "false"}[k] })
	if off.SeedDemoData {
		t.Error("SEED_DEMO_DATA=false: SeedDemoData = true")
	}
}
