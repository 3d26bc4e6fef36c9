package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// routeServer is realtime's whole handler over a hub with no consumer, and the issuer it trusts.
func routeServer(tb testing.TB) (http.Handler, *sharedtest.Issuer) {
	tb.Helper()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		tb.Fatal(err)
	}
	iss := sharedtest.NewIssuer(tb)
	h := newHub(cfg.Hub, nil)
	tb.Cleanup(h.shutdown)
	logger := shared.NewLogger(io.Discard, "realtime", "error")
	return NewServer(logger, cfg, shared.NewMetrics("realtime"), shared.NewReadiness(), h,
		newConsumer(h, logger, cfg.MaxEventAge, nil), iss.Verifier(), fakeSessions{}, &conns{}, newMemNotifications(nil)), iss
}

// TestRouteScopes: every route of routes.go against every kind of token; the socket is open to
// anonymous callers, but a third-party token must hold orders:read to receive the user's events.
func TestRouteScopes(t *testing.T) {
	t.Parallel()
	handler, iss := routeServer(t)
	sharedtest.CheckScopes(t, handler, iss, "routes.go", map[string]string{
		"GET /ws":         sharedtest.AccessOptional(shared.ScopeOrdersRead),
		"GET /stats":      sharedtest.AccessPublic,
		"POST /broadcast": sharedtest.AccessAdmin,
		"POST /debug/gc":  sharedtest.AccessAdmin,
		// The notification centre tells the user's orders: a third-party token needs orders:read.
		"GET /notifications":       shared.ScopeOrdersRead,
		"POST /notifications/read": shared.ScopeOrdersRead,
	})
}

// TestRouteBodies: every body-taking route of routes.go answers 413 to a 2 MiB body and 400 to invalid
// UTF-8 in a text field (which encoding/json would otherwise store as U+FFFD).
func TestRouteBodies(t *testing.T) {
	t.Parallel()
	handler, iss := routeServer(t)
	sharedtest.CheckBodies(t, handler, "routes.go", map[string]sharedtest.BodyCase{
		"POST /broadcast": {Header: []string{"Authorization", iss.Bearer(t, sharedtest.Admin)}, Body: `{"message":"hello` + sharedtest.Marker + `"}`},
		"POST /debug/gc":  {},
		// An ID that names nothing of the caller's is accepted and changes nothing.
		"POST /notifications/read": {Header: []string{"Authorization", iss.Bearer(t, sharedtest.Customer)}, Body: `{"ids":["abc` + sharedtest.Marker + `"]}`},
	})
}
