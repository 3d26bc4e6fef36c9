package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRun starts the real program with every dependency down: it must serve liveness and its keys,
// report the dependencies in /readyz, and stop cleanly when ctx is cancelled.
func TestRun(t *testing.T) {
	t.Parallel()
	dead := sharedtest.ClosedAddr
	keysDir := filepath.Join(t.TempDir(), "keys")
	env := map[string]string{
		"HTTP_ADDR":             sharedtest.FreeAddr(t),
		"REDIS_URL":             "redis://" + dead + "/0",
		"KAFKA_BROKERS":         dead,
		"AUTH_SIGNING_KEYS_DIR": keysDir,
		"AUTH_BCRYPT_COST":      "4",
		"AUTH_ISSUER":           "http://issuer.test/auth",
		"LOG_LEVEL":             "error",
	}
	p := sharedtest.Start(t, run, []string{"auth"}, env, "/healthz", 20*time.Second)
	base := p.Base

	ready := sharedtest.GetReadyz(t, base)
	// "setup" (indexes and seeded accounts) may still be running: bcrypt takes a while.
	if failed := strings.TrimSuffix(strings.Join(ready.Failed, ","), ",setup"); ready.Status != http.StatusServiceUnavailable || failed != "kafka,redis" {
		t.Errorf("GET /readyz: %d %v, want 503 naming kafka and redis", ready.Status, ready.Failed)
	}
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set shared.JWKS
	json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if len(set.Keys) != 2 {
		t.Errorf("JWKS has %d keys, want 2 (current + next)", len(set.Keys))
	}
	// Login needs Redis: 503 in the error shape, never 500.
	resp, err = http.Post(base+"/login", "application/json", strings.NewReader(`{"email":"admin@shop.local","password":"admin-Passw0rd!"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST /login with Redis down: status = %d, want 503", resp.StatusCode)
	}

	if err := p.Stop(t); err != nil {
		t.Fatalf("run returned %v, want nil", err)
	}

	// The keys persisted: a restart publishes the same kids.
	kr, err := loadKeyring(keysDir)
	if err != nil || len(kr.keys) != 2 || kr.JWKS().Keys[0].Kid != set.Keys[0].Kid {
		t.Fatalf("keys after restart: %v, %v", kr, err)
	}
}

// TestRotateKeys: `auth rotate-keys` adds a key; the previous "next" signs from then on.
func TestRotateKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	before, err := loadKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	next := before.keys[len(before.keys)-1].kid
	var out bytes.Buffer
	getenv := func(k string) string { return map[string]string{"AUTH_SIGNING_KEYS_DIR": dir}[k] }
	if err := run(context.Background(), []string{"auth", "rotate-keys"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	after, err := loadKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.keys) != 3 || after.current().kid != next {
		t.Fatalf("after rotation: %d keys, current %s; want 3 and %s", len(after.keys), after.current().kid, next)
	}
	// Files are private.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, _ := e.Info(); info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:4000" || cfg.Issuer != "http://localhost:3008/auth" || cfg.Redis.DB != 0 ||
		cfg.AccessTTL != 15*time.Minute || !cfg.SeedDemoData || cfg.AdminEmail != "admin@shop.local" || len(cfg.Clients) != 2 {
		t.Errorf("defaults = %+v", cfg)
	}
	bad := map[string]string{"AUTH_BCRYPT_COST": "99", "REDIS_PORT": "x", "SEED_DEMO_DATA": "maybe",
		"AUTH_ISSUER": "ftp://x", "TRUSTED_PROXIES": "nope", "AUTH_CLIENTS": "[{}]", "ADMIN_EMAIL": "bad",
		"AUTH_LOGIN_URL": "javascript:alert(1)", "LOG_LEVEL": "loud", "AUTH_ACCESS_TTL": "30s", "KAFKA_BROKERS": " , ", "MONGO_URI": "http://m",
		"REDIS_DB": "16", "AUTH_SESSION_MAX_TTL": "1h"}
	sharedtest.CheckBadConfig(t, loadConfig, bad)
}

// TestRunWithRedis drives the real program against the Redis of REDIS_TEST_URL: the seeded demo
// account logs in, its cookie gives a fresh token at /session, and logout ends it.
func TestRunWithRedis(t *testing.T) {
	t.Parallel()
	redisURL := os.Getenv("REDIS_TEST_URL")
	if redisURL == "" {
		t.Skip("REDIS_TEST_URL not set")
	}
	env := map[string]string{"HTTP_ADDR": sharedtest.FreeAddr(t), "REDIS_URL": redisURL, "KAFKA_BROKERS": sharedtest.ClosedAddr,
		"AUTH_BCRYPT_COST": "4", "LOG_LEVEL": "error", "DEMO_EMAIL": "run-" + shared.NewID()[:8] + "@example.com"}
	p := sharedtest.Start(t, run, []string{"auth"}, env, "/healthz", 20*time.Second)
	base := p.Base

	body := `{"email":"` + env["DEMO_EMAIL"] + `","password":"demo-Passw0rd!"}`
	var resp *http.Response
	deadline := time.Now().Add(20 * time.Second)
	for { // seeding runs in the background
		var err error
		resp, err = http.Post(base+"/login", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /login: status = %d, want 200", resp.StatusCode)
	}
	var sid string
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			sid = c.Value
		}
	}
	get := func(method, path string) int {
		req, _ := http.NewRequest(method, base+path, nil)
		req.Header.Set("X-Session-ID", sid)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if st := get("GET", "/session"); st != http.StatusOK {
		t.Errorf("GET /session: status = %d, want 200", st)
	}
	if st := get("POST", "/logout"); st != http.StatusNoContent {
		t.Errorf("POST /logout: status = %d, want 204", st)
	}
	if st := get("GET", "/session"); st != http.StatusUnauthorized {
		t.Errorf("GET /session after logout: status = %d, want 401", st)
	}
	if err := p.Stop(t); err != nil {
		t.Fatalf("run returned %v", err)
	}
}
