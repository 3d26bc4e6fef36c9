package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

// TestRun starts the real program with Kafka unreachable, against the in-memory store and, when
// MONGO_TEST_URI is set, against MongoDB: it must serve /healthz, report Kafka in /readyz as 503,
// accept an order (kept in the outbox), and stop cleanly when its context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	sharedtest.EachStore(t, "order_run_", testRun)
}

func testRun(t *testing.T, mongoEnv map[string]string) {
	mongoURI := mongoEnv["MONGO_URI"]
	iss := sharedtest.NewIssuer(t)
	products := newFakeProducts(t)
	env := map[string]string{"HTTP_ADDR": sharedtest.FreeAddr(t), "KAFKA_BROKERS": sharedtest.ClosedAddr, "LOG_LEVEL": "debug", "OUTBOX_POLL": "50ms",
		"JWKS_URL": iss.URL, "AUTH_ISSUER": iss.Name, "PRODUCT_URL": products.srv.URL}
	maps.Copy(env, mongoEnv)
	p := sharedtest.Start(t, run, []string{"order"}, env, "/healthz", 10*time.Second)
	base, out := p.Base, p.Logs
	sharedtest.CheckReadyKafkaDown(t, base, mongoURI != "")

	req, _ := http.NewRequest("POST", base+"/orders", strings.NewReader(`{"items":[{"sku":"MUG-1","quantity":2}],"shipping_address":`+addrJSON+`}`))
	req.Header.Set("Authorization", iss.Bearer(t, sharedtest.Customer))
	req.Header.Set("Idempotency-Key", "run-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var v orderView
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || v.Total != 2119 || v.Status != StatusPending {
		t.Fatalf("POST /orders: status = %d order %+v, want 201 pending total 21.19 (15.00 + 1.20 tax + 4.99 default shipping)\n%s", resp.StatusCode, v, out.String())
	}
	req, _ = http.NewRequest("GET", base+"/orders/"+v.ID, nil)
	req.Header.Set("Authorization", iss.Bearer(t, sharedtest.Customer))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /orders/%s: status = %d, want 200", v.ID, resp.StatusCode)
	}

	if err := p.Stop(t); err != nil {
		t.Fatalf("run returned %v\n%s", err, out.String())
	}
	if mongoURI == "" && !strings.Contains(out.String(), "MONGO_URI not set") {
		t.Errorf("log lacks the in-memory warning:\n%s", out.String())
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:5003" || cfg.MongoDB != "order" || cfg.TaxRateBPS != 800 || cfg.ProductURL != "http://127.0.0.1:3002" {
		t.Errorf("defaults = %+v", cfg)
	}
	bad := map[string]string{"TAX_RATE_BPS": "-1", "LOG_LEVEL": "loud", "PRODUCT_URL": "ftp://x", "OUTBOX_POLL": "soon", "KAFKA_BROKERS": " , ",
		"USER_URL": "user", "JWKS_URL": "/jwks", "HTTP_ADDR": "5003", "MONGO_URI": "http://m",
		"ORDER_RECONCILE_AFTER": "-1s"}
	sharedtest.CheckBadConfig(t, loadConfig, bad)
}
