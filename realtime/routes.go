package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/goshop/platform/shared"
)

// addRoutes is realtime's whole API. /ws accepts anonymous callers; a third-party client's token
// needs scope orders:read there (checked in handleWS, which finds the identity itself). The
// notification routes take a bearer token only (the gateway turns the session cookie into one, behind
// its cross-site guard); a third-party token needs orders:read, since they tell the user's orders.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, cfg Config, metrics *shared.Metrics, ready *shared.Readiness, h *hub,
	cons *consumer, verifier shared.Verifier, sessions sessionResolver, live *conns, notes notificationStore) {
	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", ready.Handler())
	mux.Handle("GET /metrics", metrics.Handler())
	mux.Handle("GET /openapi.json", shared.Document(openAPIDocument))

	mux.Handle("GET /ws", handleWS(logger, h, verifier, sessions, newOriginPolicy(cfg.AllowedOrigins), cfg.TrustedProxies, cfg.Conn, live))
	mux.Handle("GET /stats", handleStats(cfg, h, cons))
	mux.Handle("POST /broadcast", shared.RequireRole(shared.RoleAdmin)(handleBroadcast(logger, h, notes)))
	mux.Handle("GET /notifications", shared.RequireScope(shared.ScopeOrdersRead)(handleNotifications(logger, notes, time.Now)))
	mux.Handle("POST /notifications/read", shared.RequireScope(shared.ScopeOrdersRead)(handleMarkRead(logger, notes, time.Now)))
	mux.Handle("POST /debug/gc", shared.RequireRole(shared.RoleAdmin)(handleGC()))
}
