package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// NewServer returns the product service's handler: its routes inside the platform middleware (request
// ID, security headers, access log, metrics, recovery, bearer-token authentication).
func NewServer(logger *slog.Logger, metrics *shared.Metrics, ready *shared.Readiness, verifier shared.Verifier, store productStore, wake func()) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, metrics, ready, store, wake)
	return shared.Stack(logger, metrics, mux, shared.Authenticate(verifier))
}
