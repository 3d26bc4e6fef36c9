package main

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// hitPath answers the gateway's commonest request before the middleware stack runs: an anonymous GET
// or HEAD of a cached route whose entry is in the in-process layer. The answer is the one the stack
// gives (request ID, security headers, HSTS, the IP rate limit, the entry with X-Cache-Status and
// Age, the request metrics and access log line), without the stack's per-layer work: a context and
// a copy of the request for the request ID, a status recorder, the mux lookup, the identity step.
// Measured gain: 29% less handler CPU per HIT than the stack, about 5% of a HIT (docs/gateway.md).
//
// Anything it is not sure of goes to the stack unchanged: credentials or any cookie, CORS (Origin),
// conditional requests, upgrades, a body, an escaped or unclean path, an L1 miss, and a rate limit
// that needs more than a token from the in-process lease (a refill, a 429).
// TestHitPathSameAnswers sends the same requests through both and compares the answers.
type hitPath struct {
	cache   *responseCache
	limiter *rateLimiter
	trusted shared.TrustedProxies
	logger  *slog.Logger
	metrics *shared.Metrics
	// patterns maps each service to its mux pattern, the request metrics' route label.
	patterns map[string]string
	next     http.Handler
}

func newHitPath(gw *gateway, trusted shared.TrustedProxies, logger *slog.Logger, metrics *shared.Metrics, next http.Handler) *hitPath {
	p := &hitPath{cache: gw.cache, limiter: gw.limiter, trusted: trusted, logger: logger, metrics: metrics,
		patterns: map[string]string{}, next: next}
	for _, s := range gw.services {
		p.patterns[s] = "/" + s + "/" // as addRoutes registers it
	}
	return p
}

func (p *hitPath) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.serve(w, r) {
		p.next.ServeHTTP(w, r)
	}
}

// serve answers r from the in-process layer and returns true, or returns false having written
// nothing.
func (p *hitPath) serve(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || r.ContentLength != 0 || r.URL.RawPath != "" {
		return false
	}
	h := r.Header
	if h["Authorization"] != nil || h["Cookie"] != nil || h["Origin"] != nil || h["Upgrade"] != nil ||
		h["If-None-Match"] != nil {
		return false
	}
	service, path, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok {
		return false
	}
	pattern, ok := p.patterns[service]
	if !ok {
		return false
	}
	path = "/" + path
	if strings.Contains(path, "//") || strings.Contains(path, "/.") { // the mux would redirect
		return false
	}
	route, ok := p.cache.route(service, path)
	if !ok {
		return false
	}
	now := time.Now()
	e, ok := p.cache.l1.Get(route.key(service, path, r), now)
	if !ok || !p.limiter.takeLeased(w, r) {
		return false
	}
	wh := w.Header()
	id := h.Get(shared.RequestIDHeader)
	if shared.SaneRequestID(id) {
		wh[requestIDHeaderKey] = h[requestIDHeaderKey][:1:1]
	} else {
		id = shared.NewRequestID()
		wh[requestIDHeaderKey] = []string{id}
	}
	shared.SetSecurityHeaders(wh)
	if p.trusted.IsHTTPS(r) {
		wh["Strict-Transport-Security"] = hstsValue
	}
	p.cache.serveEntry(w, r, service, e, cacheHit, now)
	took := time.Since(now)
	p.metrics.Observe(pattern, r.Method, e.Status, took)
	if ctx := r.Context(); p.logger.Enabled(ctx, slog.LevelInfo) {
		var n int64
		if r.Method != http.MethodHead {
			n = int64(len(e.Body))
		}
		shared.LogAccess(ctx, p.logger, slog.LevelInfo, r, id, pattern, e.Status, n, took)
	}
	return true
}

// requestIDHeaderKey is X-Request-ID as a canonical header key.
var requestIDHeaderKey = http.CanonicalHeaderKey(shared.RequestIDHeader)
