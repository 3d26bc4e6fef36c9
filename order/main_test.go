package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

// syncBuffer is a goroutine-safe log sink for run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRun starts the real program with Kafka unreachable: it must serve /healthz, report Kafka in
// /readyz as 503, and stop cleanly when its context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	kafka := freeAddr(t) // nothing listens there
	env := map[string]string{"HTTP_ADDR": addr, "KAFKA_BROKERS": kafka, "LOG_LEVEL": "debug", "OUTBOX_POLL": "50ms"}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"order"}, func(k string) string { return env[k] }, &out, &out) }()

	sharedtest.WaitReady(t, "http://"+addr+"/healthz", 10*time.Second)
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with Kafka down: status = %d, want %d", resp.StatusCode, http.StatusServiceUnavailable)
	}
	resp, err = http.Get("http://" + addr + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /orders anonymous: status = %d, want %d", resp.StatusCode, http.StatusUnauthorized)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("run did not return after cancel\n%s", out.String())
	}
	if !bytes.Contains([]byte(out.String()), []byte("MONGO_URI not set")) {
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
	bad := map[string]string{"TAX_RATE_BPS": "-1", "LOG_LEVEL": "loud", "PRODUCT_URL": "ftp://x", "OUTBOX_POLL": "soon", "KAFKA_BROKERS": " , "}
	_, err = loadConfig(func(k string) string { return bad[k] })
	if err == nil {
		t.Fatal("loadConfig with bad values: err = nil")
	}
	for k := range bad {
		if !bytes.Contains([]byte(err.Error()), []byte(k)) {
			t.Errorf("error %q does not name %s", err, k)
		}
	}
}
