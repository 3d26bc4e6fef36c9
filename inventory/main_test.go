package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

// TestRun starts the program as main does (in-memory store, and MongoDB too when MONGO_TEST_URI is
// set; Kafka unreachable), waits until it serves, checks /readyz reports Kafka, then cancels and
// expects a clean shutdown.
func TestRun(t *testing.T) {
	t.Parallel()
	sharedtest.EachStore(t, "inventory_run_", testRun)
}

func testRun(t *testing.T, extra map[string]string) {
	env := map[string]string{
		"HTTP_ADDR":     sharedtest.FreeAddr(t),
		"KAFKA_BROKERS": sharedtest.ClosedAddr,
		"LOG_LEVEL":     "warn",
	}
	for k, v := range extra {
		env[k] = v
	}
	p := sharedtest.Start(t, run, []string{"inventory"}, env, "/healthz", 10*time.Second)
	base, out := p.Base, p.Logs
	_, mongo := env["MONGO_URI"]
	sharedtest.CheckReadyKafkaDown(t, base, mongo)
	resp, err := http.Get(base + "/inventory")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /inventory: status = %d, want %d", resp.StatusCode, http.StatusOK)
	}

	if err := p.Stop(t); err != nil {
		t.Fatalf("run returned %v, want nil", err)
	}
	if warned := strings.Contains(out.String(), "MONGO_URI not set"); warned == mongo {
		t.Errorf("in-memory warning logged = %v with MONGO_URI set = %v:\n%s", warned, mongo, out.String())
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:3003" || cfg.ReservationTTL != 15*time.Minute || cfg.MongoDB != "inventory" {
		t.Errorf("defaults = %+v", cfg)
	}
	bad := map[string]string{"RESERVATION_TTL": "soon", "LOW_STOCK_THRESHOLD": "-1", "LOG_LEVEL": "loud", "KAFKA_BROKERS": " , ",
		"RESERVATION_SWEEP_INTERVAL": "1ms", "HTTP_ADDR": "3003"}
	sharedtest.CheckBadConfig(t, loadConfig, bad)
}
