package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// NewServer returns inventory's HTTP handler: the routes of addRoutes inside the platform's
// middleware stack (request ID, security headers, access log, metrics, recovery, authentication).
func NewServer(logger *slog.Logger, inv *inventory, metrics *shared.Metrics, ready *shared.Readiness, verifier shared.Verifier) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, inv, metrics, ready)
	return shared.Stack(logger, metrics, mux, shared.Authenticate(verifier))
}
