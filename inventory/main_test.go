package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRun starts the program as main does (in-memory store, and MongoDB too when MONGO_TEST_URI is
// set; Kafka unreachable), waits until it serves, checks /readyz reports Kafka, then cancels and
// expects a clean shutdown.
func TestRun(t *testing.T) {
	t.Parallel()
	stores := map[string]map[string]string{"mem": {}}
	if uri := os.Getenv("MONGO_TEST_URI"); uri != "" {
		db := "inventory_run_" + shared.NewID()[:12]
		stores["mongo"] = map[string]string{"MONGO_URI": uri, "MONGO_DB": db}
		t.Cleanup(func() { dropDB(t, uri, db) })
	}
	for name, extra := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRun(t, extra)
		})
	}
}

func dropDB(t *testing.T, uri, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := shared.ConnectMongo(ctx, uri, shared.MongoOptions{}, false)
	if err != nil {
		t.Logf("drop %s: %v", db, err)
		return
	}
	client.Database(db).Drop(ctx)
	client.Disconnect(ctx)
}

func testRun(t *testing.T, extra map[string]string) {
	addr := sharedtest.FreeAddr(t)
	env := map[string]string{
		"HTTP_ADDR":     addr,
		"KAFKA_BROKERS": sharedtest.FreeAddr(t), // nothing listens there
		"LOG_LEVEL":     "warn",
	}
	for k, v := range extra {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out sharedtest.LogBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"inventory"}, func(k string) string { return env[k] }, &out, &out) }()

	base := "http://" + addr
	sharedtest.WaitReady(t, base+"/healthz", 10*time.Second)
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || ready.Checks["kafka"] == "ok" || ready.Checks["kafka"] == "" {
		t.Errorf("GET /readyz without Kafka: status = %d, checks %v, want %d naming kafka", resp.StatusCode, ready.Checks, http.StatusServiceUnavailable)
	}
	if _, mongo := env["MONGO_URI"]; mongo && ready.Checks["mongo"] != "ok" {
		t.Errorf("GET /readyz: mongo check = %q, want ok", ready.Checks["mongo"])
	}
	resp, err = http.Get(base + "/inventory")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /inventory: status = %d, want %d", resp.StatusCode, http.StatusOK)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run returned %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return within 20s of cancel")
	}
	_, mongo := env["MONGO_URI"]
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
	_, err = loadConfig(func(k string) string { return bad[k] })
	if err == nil {
		t.Fatal("loadConfig accepted bad values")
	}
	for k := range bad {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not name %s: %v", k, err)
		}
	}
}
