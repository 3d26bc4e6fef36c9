package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// NewServer returns the user service's HTTP handler: the routes of routes.go inside the platform's
// middleware stack (request ID, security headers, access log, metrics, recover, bearer-token
// authentication). kick tells the outbox relay that a handler wrote an event; unsub checks the
// one-click unsubscribe links of the order mails.
func NewServer(logger *slog.Logger, metrics *shared.Metrics, ready *shared.Readiness, profiles profileStore, kick func(), verifier shared.Verifier, unsub unsubscribeKey) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, metrics, ready, profiles, kick, unsub)
	return shared.Stack(logger, metrics, mux, shared.Authenticate(verifier))
}
