package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is realtime's whole API. /ws accepts anonymous callers; a third-party client's token
// needs scope orders:read there (checked in handleWS, which finds the identity itself).
func addRoutes(mux *http.ServeMux, logger *slog.Logger, cfg Config, metrics *shared.Metrics, ready *shared.Readiness, h *hub,
	cons *consumer, verifier shared.Verifier, sessions sessionResolver, live *conns) {
	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", ready.Handler())
	mux.Handle("GET /metrics", metrics.Handler())

	mux.Handle("GET /ws", handleWS(logger, h, verifier, sessions, newOriginPolicy(cfg.AllowedOrigins), cfg.Conn, live))
	mux.Handle("GET /stats", handleStats(cfg, h, cons))
	mux.Handle("POST /broadcast", shared.RequireRole(shared.RoleAdmin)(handleBroadcast(logger, h)))
	mux.Handle("POST /debug/gc", shared.RequireRole(shared.RoleAdmin)(handleGC()))
}
