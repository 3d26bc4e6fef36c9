package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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

// TestRun starts the program as main does (in-memory store, Kafka unreachable), waits until it
// serves, checks it reports Kafka in /readyz, then cancels and expects a clean shutdown.
func TestRun(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	env := map[string]string{
		"HTTP_ADDR":     addr,
		"KAFKA_BROKERS": freeAddr(t), // nothing listens there
		"LOG_LEVEL":     "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"inventory"}, func(k string) string { return env[k] }, &out, &out) }()

	base := "http://" + addr
	sharedtest.WaitReady(t, base+"/healthz", 10*time.Second)
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz without Kafka: status = %d, want %d", resp.StatusCode, http.StatusServiceUnavailable)
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
	if !strings.Contains(out.String(), "MONGO_URI not set") {
		t.Errorf("log lacks the in-memory store warning:\n%s", out.String())
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
	bad := map[string]string{"RESERVATION_TTL": "soon", "LOW_STOCK_THRESHOLD": "-1", "LOG_LEVEL": "loud", "KAFKA_BROKERS": " , "}
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
