package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// NewServer returns realtime's HTTP handler: the routes of routes.go inside the platform middleware
// stack, with bearer tokens verified by verifier; notes keeps the notification centre.
func NewServer(logger *slog.Logger, cfg Config, metrics *shared.Metrics, ready *shared.Readiness, h *hub, cons *consumer,
	verifier shared.Verifier, sessions sessionResolver, live *conns, notes notificationStore) http.Handler {
	metrics.Gauge("realtime_connections", "Open WebSocket connections.", func() float64 { return float64(h.stats().Connections) })
	metrics.Gauge("realtime_users", "Distinct signed-in users connected.", func() float64 { return float64(h.stats().Users) })
	h.instrument(metrics)
	cons.instrument(metrics)
	metrics.Gauge("realtime_last_event_lag_seconds", "Age of the last consumed event on arrival.", func() float64 { _, _, _, l := cons.counts(); return l.Seconds() })

	mux := http.NewServeMux()
	addRoutes(mux, logger, cfg, metrics, ready, h, cons, verifier, sessions, live, notes)
	return shared.Stack(logger, metrics, mux, shared.Authenticate(verifier))
}
