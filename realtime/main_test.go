package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

// freeAddr returns a free 127.0.0.1 port.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRun starts the program with Kafka down (it must still serve; /readyz says why) and stops it.
func TestRun(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	env := map[string]string{
		"HTTP_ADDR":     addr,
		"KAFKA_BROKERS": freeAddr(t), // nothing listens there
		"LOG_LEVEL":     "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"realtime"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	sharedtest.WaitReady(t, "http://"+addr+"/healthz", 10*time.Second)

	for _, tc := range []struct {
		path string
		want int
	}{
		{"/healthz", http.StatusOK},
		{"/readyz", http.StatusServiceUnavailable},
		{"/metrics", http.StatusOK},
		{"/stats", http.StatusOK},
		{"/client.js", http.StatusOK},
	} {
		resp, err := http.Get("http://" + addr + tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: status = %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
