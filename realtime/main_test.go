package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/goshop/platform/shared/sharedtest"
)

// TestRun starts the program with Kafka down (it must still serve; /readyz says why) and stops it.
func TestRun(t *testing.T) {
	t.Parallel()
	addr := sharedtest.FreeAddr(t)
	env := map[string]string{
		"HTTP_ADDR":     addr,
		"KAFKA_BROKERS": sharedtest.FreeAddr(t), // nothing listens there
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
	// A live connection is closed with going-away on shutdown, and run still returns nil.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	c, _, err := websocket.Dial(dctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatalf("GET /ws: %v", err)
	}
	defer c.CloseNow()
	if _, p, err := c.Read(dctx); err != nil || !strings.Contains(string(p), `"hello"`) {
		t.Fatalf("first message = %s, %v; want hello", p, err)
	}
	cancel()
	if _, _, err := c.Read(dctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("on shutdown: err = %v, want close %d", err, websocket.StatusGoingAway)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
