package main

import (
	"io"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRouteScopes: every route of routes.go against every kind of token; the socket is open to
// anonymous callers, but a third-party token must hold orders:read to receive the user's events.
func TestRouteScopes(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	iss := sharedtest.NewIssuer(t)
	h := newHub(cfg.Hub, nil)
	t.Cleanup(h.shutdown)
	logger := shared.NewLogger(io.Discard, "realtime", "error")
	handler := NewServer(logger, cfg, shared.NewMetrics("realtime"), shared.NewReadiness(), h,
		newConsumer(h, logger, cfg.MaxEventAge, nil), iss.Verifier(), fakeSessions{}, &conns{})
	sharedtest.CheckScopes(t, handler, iss, "routes.go", map[string]string{
		"GET /ws":         sharedtest.AccessOptional(shared.ScopeOrdersRead),
		"GET /stats":      sharedtest.AccessPublic,
		"POST /broadcast": sharedtest.AccessAdmin,
		"POST /debug/gc":  sharedtest.AccessAdmin,
	})
}
