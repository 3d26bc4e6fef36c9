package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

// TestRun starts the whole program with Kafka unreachable and no Mongo: it must serve, answer an
// authenticated request, report Kafka in /readyz, and stop cleanly when its context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	iss := sharedtest.NewIssuer(t)
	env := map[string]string{
		"HTTP_ADDR":     sharedtest.FreeAddr(t),
		"KAFKA_BROKERS": sharedtest.ClosedAddr,
		"JWKS_URL":      iss.URL,
		"AUTH_ISSUER":   iss.Name,
		"LOG_LEVEL":     "debug",
	}
	p := sharedtest.Start(t, run, nil, env, "/healthz", 10*time.Second)

	req, _ := http.NewRequest(http.MethodGet, p.Base+"/users/me", nil)
	req.Header.Set("Authorization", iss.Bearer(t, sharedtest.Customer))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /users/me: status = %d, want %d", resp.StatusCode, http.StatusOK)
	}
	sharedtest.CheckReadyKafkaDown(t, p.Base, false)
	if !strings.Contains(p.Logs.String(), "MONGO_URI not set") {
		t.Errorf("no warning about the in-memory store in the logs")
	}
	if err := p.Stop(t); err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunBadConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HTTP_ADDR": "nonsense", "LOG_LEVEL": "loud", "JWKS_URL": "ftp://x", "KAFKA_BROKERS": " , "}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("run with bad config: err = nil")
	}
	for _, name := range []string{"HTTP_ADDR", "LOG_LEVEL", "JWKS_URL", "KAFKA_BROKERS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("config error %q does not mention %s", err, name)
		}
	}
}

// TestRunMongo drives the program against MONGO_TEST_URI (skipped without it): profile creation and
// an address go through the real store, and /readyz reports Mongo healthy.
func TestRunMongo(t *testing.T) {
	uri := os.Getenv("MONGO_TEST_URI")
	if uri == "" {
		t.Skip("MONGO_TEST_URI not set")
	}
	t.Parallel()
	iss := sharedtest.NewIssuer(t)
	env := map[string]string{"HTTP_ADDR": sharedtest.FreeAddr(t), "KAFKA_BROKERS": sharedtest.ClosedAddr, "JWKS_URL": iss.URL,
		"AUTH_ISSUER": iss.Name, "MONGO_URI": uri, "MONGO_DB": sharedtest.MongoDB(t, uri, "user_run_")}
	p := sharedtest.Start(t, run, nil, env, "/healthz", 10*time.Second)
	base := p.Base

	call := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", iss.Bearer(t, sharedtest.Customer))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := call(http.MethodGet, "/users/me", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /users/me: status = %d, want 200", resp.StatusCode)
	}
	if resp := call(http.MethodPost, "/users/me/addresses", homeJSON); resp.StatusCode != http.StatusCreated {
		t.Errorf("POST /users/me/addresses: status = %d, want 201", resp.StatusCode)
	}
	sharedtest.CheckReadyKafkaDown(t, base, true)
	if err := p.Stop(t); err != nil {
		t.Errorf("run: %v", err)
	}
}
