package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// deps are the collaborators NewServer wires into the routes.
type deps struct {
	checkout  *checkout
	pricing   pricing
	verifier  shared.Verifier
	metrics   *shared.Metrics
	readiness *shared.Readiness
}

// NewServer returns the order service's HTTP handler: the routes of routes.go inside the platform's
// middleware stack (request ID, security headers, access log, metrics, recover, authentication).
func NewServer(logger *slog.Logger, cfg Config, d deps) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, cfg, d)
	return shared.Stack(logger, d.metrics, mux, shared.Authenticate(d.verifier))
}
