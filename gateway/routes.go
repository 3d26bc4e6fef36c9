package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is the gateway's whole API. Every /{service}/ route runs, outermost first: the per-IP
// rate limit, the cross-site guard (cookie-authenticated writes only from allowed origins, as JSON),
// the body limit, the identity step (client identity headers deleted, session cookie →
// bearer token, suspended accounts refused, logouts ended at every copy), the response cache, and the load-balanced proxy.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, cfg Config, metrics *shared.Metrics, ready *shared.Readiness, gw *gateway) {
	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", ready.Handler())
	mux.Handle("GET /metrics", metrics.Handler())

	mux.Handle("GET /health", handleHealth())
	mux.Handle("GET /health/detailed", handleHealthDetailed(gw))
	mux.Handle("GET /health/services/{service}", handleHealthService(gw))

	// The merged API document builds from the upstreams, so it is rate limited like their routes.
	mux.Handle("GET /openapi.json", gw.limiter.limit(newAPIDocs(logger, gw, cfg.UpstreamTimeout)))
	docs := handleDocs()
	mux.Handle("GET /docs", docs)
	mux.Handle("GET /docs/{file}", docs)

	for _, service := range gw.services {
		chain := gw.limiter.limit(
			gw.guard.handler(
				bodyLimit(cfg.maxBody(service),
					identity(gw.limiter.creds, gw.sessions, gw.suspended,
						gw.cache.handle(service, gw.proxies[service])))))
		mux.Handle("/"+service+"/", chain)
		// A program's probes and metrics are for the operator on its own port (ARCHITECTURE.md), not
		// the public: the metrics count the business (orders by status, events by type) and a
		// readiness answer pings Kafka and Redis, once per request. ServeMux matches the cleaned,
		// decoded path, so no spelling of these reaches the proxy.
		for _, p := range internalPaths {
			mux.Handle("/"+service+p, internalRoute)
		}
		if service == "auth" {
			// The original platform's clients look for discovery and the key set at the site's
			// root. They are auth's documents, answered by auth (its Cache-Control included) through
			// the same chain as /auth/...; the proxy leaves a path without the /auth prefix as it is.
			for _, p := range wellKnownPaths {
				mux.Handle("GET "+p, chain)
			}
		}
	}
}

// internalPaths are every program's operator endpoints, which the gateway does not forward.
var internalPaths = []string{"/metrics", "/healthz", "/readyz"}

// internalRoute answers an operator endpoint asked through the gateway: 404 in the error shape, as
// any path the public API does not have.
var internalRoute = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	shared.WriteError(w, r, nil, shared.Errorf(shared.CodeNotFound, "not found"))
})

// wellKnownPaths are auth's documents also served at the gateway's root.
var wellKnownPaths = []string{"/.well-known/openid-configuration", "/.well-known/jwks.json"}
