package main

import (
	"bytes"
	"github.com/goshop/platform/shared/sharedtest"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRun starts the real program on a free port with an upstream for product and a Redis address
// nothing listens on, proxies one request, and checks a clean shutdown.
func TestRun(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "product:"+r.URL.Path)
	}))
	defer upstream.Close()
	env := map[string]string{
		"HTTP_ADDR":            sharedtest.FreeAddr(t),
		"REDIS_URL":            "redis://" + sharedtest.ClosedAddr + "/2",
		"PRODUCT_SERVICE_URLS": upstream.URL,
		"KAFKA_BROKERS":        sharedtest.ClosedAddr, // Kafka down too: the consumer retries quietly
		"LOG_LEVEL":            "error",
	}
	p := sharedtest.Start(t, run, []string{"gateway"}, env, "/readyz", 5*time.Second)
	base := p.Base
	resp, err := http.Get(base + "/product/products?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "product:/products" {
		t.Errorf("GET /product/products: status = %d, body %q, want 200 %q", resp.StatusCode, body, "product:/products")
	}
	if got := resp.Header.Get("X-Cache-Status"); got != cacheBypass {
		t.Errorf("GET /product/products with Redis down: X-Cache-Status = %q, want %q", got, cacheBypass)
	}
	if err := p.Stop(t); err != nil {
		t.Fatalf("run returned %v, want nil; log:\n%s", err, p.Logs)
	}
}

func TestRunBadConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PRODUCT_SERVICE_URLS": "ftp://x", "GATEWAY_RATE_LIMIT": "lots"}
	err := run(t.Context(), nil, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("run with bad config: err = nil, want an error")
	}
	for _, want := range []string{"PRODUCT_SERVICE_URLS", "GATEWAY_RATE_LIMIT"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("run with bad config: error %q does not mention %s", err, want)
		}
	}
}
