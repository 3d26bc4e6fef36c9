package main

import (
	"context"
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
	env := map[string]string{
		"HTTP_ADDR":     sharedtest.FreeAddr(t),
		"KAFKA_BROKERS": sharedtest.ClosedAddr,
		"LOG_LEVEL":     "warn",
	}
	p := sharedtest.Start(t, run, []string{"realtime"}, env, "/healthz", 10*time.Second)

	for _, tc := range []struct {
		path string
		want int
	}{
		{"/healthz", http.StatusOK},
		{"/readyz", http.StatusServiceUnavailable},
		{"/metrics", http.StatusOK},
		{"/stats", http.StatusOK},
	} {
		if status, _ := sharedtest.Get(t, p.Base+tc.path); status != tc.want {
			t.Errorf("GET %s: status = %d, want %d", tc.path, status, tc.want)
		}
	}
	// A live connection is closed with going-away on shutdown, and run still returns nil.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	c, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(p.Base, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("GET /ws: %v", err)
	}
	defer c.CloseNow()
	if _, msg, err := c.Read(dctx); err != nil || !strings.Contains(string(msg), `"hello"`) {
		t.Fatalf("first message = %s, %v; want hello", msg, err)
	}
	p.Cancel()
	if _, _, err := c.Read(dctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("on shutdown: err = %v, want close %d", err, websocket.StatusGoingAway)
	}
	if err := p.Stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
}
