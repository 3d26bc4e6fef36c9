package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// gateway holds everything the routes need: a pool and a proxy per service, the response cache, the
// rate limiter and the session exchanger.
type gateway struct {
	cfg      Config
	services []string
	pools    []*pool
	proxies  map[string]*proxy
	kv       kvStore
	cache    *responseCache
	events   *eventPurger
	limiter  *rateLimiter
	sessions *sessionExchanger
	// suspended is the deny list of suspended accounts, fed by user.status_changed.
	suspended *suspensions
	guard     *crossSiteGuard
	// kafkaPing reports whether a broker answers, for /health/detailed; nil: not shown (tests).
	kafkaPing func(context.Context) error
	// health runs /health/detailed's Redis and Kafka checks, at most once a second.
	health *depChecks
}

// newGateway wires the gateway for cfg. kv is the Redis store (guarded here by a breaker and short
// timeouts); tests pass a memStore.
func newGateway(logger *slog.Logger, cfg Config, metrics *shared.Metrics, kv kvStore) *gateway {
	guarded := newGuardedStore(kv, logger)
	gw := &gateway{
		cfg:       cfg,
		proxies:   map[string]*proxy{},
		kv:        guarded,
		cache:     newResponseCache(guarded, cfg, logger, metrics),
		limiter:   newRateLimiter(guarded, cfg, logger, metrics),
		sessions:  newSessionExchanger(cfg.AuthURL, &http.Client{Transport: shared.TraceTransport(newTransport(3*time.Second), "auth")}, guarded, logger),
		suspended: newSuspensions(guarded, cfg.SuspensionTTL, logger),
		health:    newDepChecks(),
	}
	gw.sessions.ends = kv // a logout's tombstone may wait for a slow Redis (endSession)
	// loadConfig has checked the origins.
	gw.guard, _ = newCrossSiteGuard(cfg.AllowedOrigins)
	gw.events = newEventPurger(gw.cache, cfg.CacheRoutes, logger, metrics)
	buffers := &bufferPool{}
	for _, s := range cfg.Services {
		p := newPool(s.Name, s.URLs, cfg.BreakerFailures, cfg.BreakerTimeout, logger, metrics)
		gw.services = append(gw.services, s.Name)
		gw.pools = append(gw.pools, p)
		var transport http.RoundTripper = newTransport(cfg.UpstreamTimeout)
		if cfg.UpstreamTransport == "direct" {
			transport = newConnTransport(transport, cfg.UpstreamTimeout)
		}
		gw.proxies[s.Name] = newProxy(s.Name, p, transport, buffers, logger, metrics)
		gw.proxies[s.Name].tryTimeout = cfg.TryTimeout
	}
	return gw
}

func (gw *gateway) pool(service string) (*pool, bool) {
	i := slices.Index(gw.services, service)
	if i < 0 {
		return nil, false
	}
	return gw.pools[i], true
}

// NewServer returns the gateway's handler: in-process cache hits answered up front (hitPath), and
// everything else through the platform middleware stack and CORS around the routes.
func NewServer(logger *slog.Logger, cfg Config, metrics *shared.Metrics, ready *shared.Readiness, gw *gateway) http.Handler {
	return newHitPath(gw, cfg.TrustedProxies, logger, metrics, newStack(logger, cfg, metrics, ready, gw))
}

// newStack is the gateway's handler for every request: the platform middleware stack, HSTS and CORS
// around the routes.
func newStack(logger *slog.Logger, cfg Config, metrics *shared.Metrics, ready *shared.Readiness, gw *gateway) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, cfg, metrics, ready, gw)
	return shared.Stack(logger, metrics, mux, hsts(cfg.TrustedProxies), shared.SecureCookies(cfg.TrustedProxies), cors(cfg.AllowedOrigins))
}

// hsts adds Strict-Transport-Security (two years, subdomains) to answers to HTTPS requests: served
// over TLS here, or arriving from a trusted proxy that says X-Forwarded-Proto: https. Over plain
// HTTP the header would be ignored by browsers anyway, and a client cannot fake the proxy's word.
func hsts(trusted shared.TrustedProxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if trusted.IsHTTPS(r) {
				w.Header()["Strict-Transport-Security"] = hstsValue
			}
			next.ServeHTTP(w, r)
		})
	}
}

// hstsValue is Strict-Transport-Security's value, shared by every response that carries it.
var hstsValue = []string{"max-age=63072000; includeSubDomains"}

// cors answers preflights and sets the CORS response headers for allowed origins only, with
// credentials (the session cookie). allowed holds host:port pairs or full origins.
func cors(allowed []string) func(http.Handler) http.Handler {
	ok := func(origin string) bool {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" {
			return false
		}
		for _, a := range allowed {
			if strings.EqualFold(a, origin) || strings.EqualFold(a, u.Host) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Add("Vary", "Origin")
			allowedOrigin := ok(origin)
			if allowedOrigin {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Credentials", "true")
				h.Set("Access-Control-Expose-Headers", "X-Request-ID, X-Cache-Status, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset")
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				if allowedOrigin {
					h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
					h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, X-Request-ID")
					h.Set("Access-Control-Max-Age", "600")
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
