package main

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/singleflight"
)

// Values of the X-Cache-Status response header.
const (
	cacheHit    = "HIT"
	cacheMiss   = "MISS"
	cacheBypass = "BYPASS"
	cacheStale  = "STALE"
)

// maxCacheBody is the largest body the cache stores; bigger responses are served but not kept.
const maxCacheBody = 1 << 20

// entry is one cached response. It is immutable once built: many requests write it concurrently.
type entry struct {
	Status     int
	Header     http.Header
	Body       []byte
	Stored     time.Time
	FreshUntil time.Time
	StaleUntil time.Time
	// contentLength is len(Body) as a Content-Length header value, made once per entry rather than
	// once per HIT; shared by every response that serves the entry, never written into.
	contentLength []string
}

// responseCache serves shareable GET responses from an in-process LRU in front of Redis and makes one
// upstream request per key at a time.
type responseCache struct {
	kv       kvStore
	l1       *lru[*entry]
	l1TTL    time.Duration
	staleFor time.Duration
	// routes is the cache table (cacheRoute); writePurged the rows of each service that its writes
	// purge. Both are read-only after newResponseCache.
	routes      []cacheRoute
	writePurged map[string][]*cacheRoute
	// bus announces purges to the other gateway instances; nil: this instance only.
	bus     purgeBus
	group   singleflight.Group
	timeout time.Duration
	logger  *slog.Logger
	results *shared.CounterVec
	// outcomes are results' series per service and X-Cache-Status, resolved once; statusValues the
	// X-Cache-Status header values, shared by every response. Both are read-only after
	// newResponseCache.
	outcomes     map[string]map[string]*shared.Counter
	statusValues map[string][]string

	// generations count purges per service and per path stripe: a fetch that started before a
	// purge that concerns it must not store its (possibly pre-write) response after it.
	genMu       sync.Mutex
	generations map[string]*purgeGenerations
}

func newResponseCache(kv kvStore, cfg Config, logger *slog.Logger, metrics *shared.Metrics) *responseCache {
	c := &responseCache{
		kv:          kv,
		l1:          newLRU[*entry](cfg.L1Entries),
		l1TTL:       cfg.L1TTL,
		staleFor:    cfg.CacheStale,
		routes:      slices.Clone(cfg.CacheRoutes),
		writePurged: map[string][]*cacheRoute{},
		timeout:     cfg.UpstreamTimeout + time.Second,
		logger:      logger,
		results:     metrics.Counter("gateway_cache_requests_total", "Cache outcomes by service and X-Cache-Status.", "upstream", "status"),
		generations: map[string]*purgeGenerations{},
	}
	for i := range c.routes {
		if r := &c.routes[i]; r.PurgeOnWrite {
			c.writePurged[r.Service] = append(c.writePurged[r.Service], r)
		}
	}
	c.outcomes = map[string]map[string]*shared.Counter{}
	c.statusValues = map[string][]string{}
	for _, st := range []string{cacheHit, cacheMiss, cacheBypass, cacheStale} {
		c.statusValues[st] = []string{st}
	}
	for _, s := range cfg.Services {
		c.generations[s.Name] = newPurgeGenerations()
		c.outcomes[s.Name] = map[string]*shared.Counter{}
		for st := range c.statusValues {
			c.outcomes[s.Name][st] = c.results.With(s.Name, st)
		}
	}
	return c
}

// count records one cache outcome of service.
func (c *responseCache) count(service, status string) {
	if ctr, ok := c.outcomes[service][status]; ok {
		ctr.Inc()
		return
	}
	c.results.Inc(service, status)
}

// credentialed reports whether r carries anything that may make the answer user-specific.
func credentialed(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && c.Value != ""
}

// route returns the row of the cache table that a GET of service's stripped path matches. A path
// with '?' or '#' in it (escaped by the client) matches none: its key could not be told apart from
// another path's with a query.
func (c *responseCache) route(service, path string) (*cacheRoute, bool) {
	if strings.ContainsAny(path, "?#") {
		return nil, false
	}
	for i := range c.routes {
		if r := &c.routes[i]; r.Service == service && r.matches(path) {
			return r, true
		}
	}
	return nil, false
}

// handle serves service's requests from the cache when their route's row allows it, else through
// next; writes go through write, which purges what the table says they make wrong.
func (c *responseCache) handle(service string, next http.Handler) http.Handler {
	prefix := "/" + service
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, prefix)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			c.write(w, r, service, next)
			return
		}
		route, ok := c.route(service, path)
		if !ok || (credentialed(r) && !route.Public) || isUpgrade(r) {
			c.bypass(w, r, service, next)
			return
		}
		key := route.key(service, path, r)
		now := time.Now()
		if e, ok := c.l1.Get(key, now); ok {
			c.serveEntry(w, r, service, e, cacheHit, now)
			return
		}
		var stale *entry
		store := true
		b, err := c.kv.Get(r.Context(), key)
		switch {
		case err == nil:
			if e, derr := decodeEntry(b); derr == nil {
				if now.Before(e.FreshUntil) {
					c.l1.Set(key, e, minTime(now.Add(c.l1TTL), e.FreshUntil))
					c.serveEntry(w, r, service, e, cacheHit, now)
					return
				}
				stale = e
			}
		case err != errCacheMiss:
			// Redis is down: nothing is stored (the in-process layer only ever holds what Redis
			// holds), but concurrent misses are still coalesced so the upstream is not stampeded.
			store = false
		}
		if r.Method == http.MethodHead {
			c.bypass(w, r, service, next)
			return
		}
		c.fetch(w, r, service, path, key, route, stale, store, next)
	})
}

// fetchResult is what one coalesced upstream request yields for every waiter.
type fetchResult struct {
	e      *entry
	stored bool // fetched and stored: MISS
	hit    bool // found in the cache after all: HIT
}

// fetch makes one upstream request for key on behalf of every concurrent miss, stores the answer
// when it is shareable and store is set, and serves it (or, if the upstream failed, a stale entry).
func (c *responseCache) fetch(w http.ResponseWriter, r *http.Request, service, path, key string, route *cacheRoute, stale *entry, store bool, next http.Handler) {
	gens := c.generation(service)
	pathGen := gens.path(path)
	v, _, _ := c.group.Do(key, func() (any, error) {
		// Only purges of this route or of this path stop the store; the many events about other
		// paths (a stock change per order) do not.
		before, pathBefore := gens.writes.Load(), pathGen.Load()
		// A miss that arrives just as the previous fetch for key finishes starts a new flight; look
		// again so that it is served what that fetch stored rather than going upstream twice.
		if store {
			now := time.Now()
			if e, ok := c.l1.Get(key, now); ok {
				return fetchResult{e: e, hit: true}, nil
			}
			if b, err := c.kv.Get(r.Context(), key); err == nil {
				if e, err := decodeEntry(b); err == nil && now.Before(e.FreshUntil) {
					return fetchResult{e: e, hit: true}, nil
				}
			}
		}
		// Detached from this client's cancellation: other requests wait on the same fetch.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.timeout)
		defer cancel()
		// The answer is shared, so it must not depend on this client's conditional or range
		// headers: a 304 or 206 for one client is no answer for the others. Conditionals are then
		// evaluated per client against the full entry (serveEntry).
		req := r.Clone(ctx)
		for _, h := range conditionalHeaders {
			req.Header.Del(h)
		}
		buf := newBufferWriter()
		if aborted := serveInto(buf, req, next); aborted {
			// The upstream died mid-body: what arrived is no answer for anyone.
			buf = newBufferWriter()
			buf.header.Set("Retry-After", "1")
			buf.header.Set("Content-Type", "application/json")
			buf.WriteHeader(http.StatusServiceUnavailable)
			buf.Write(shared.ErrorJSON(shared.CodeUnavailable, service+" service failed mid-response, try again",
				shared.RequestIDFrom(r.Context())))
		}
		now := time.Now()
		e := buf.entry(now)
		ttl, ok := storable(buf, route)
		if !ok || buf.overflow || !store {
			return fetchResult{e: e}, nil
		}
		e.FreshUntil = now.Add(ttl)
		e.StaleUntil = e.FreshUntil.Add(c.staleFor)
		if route.PurgeOnWrite && gens.writes.Load() != before || pathGen.Load() != pathBefore {
			return fetchResult{e: e}, nil // the route or this path was purged meanwhile
		}
		if err := c.kv.Set(ctx, key, encodeEntry(e), ttl+c.staleFor, routeIndexKey(route.Name), pathIndexKey(service, path)); err != nil {
			c.logger.DebugContext(r.Context(), "cache store failed", "key", key, "err", err)
			return fetchResult{e: e}, nil
		}
		c.l1.Set(key, e, minTime(now.Add(c.l1TTL), e.FreshUntil))
		return fetchResult{e: e, stored: true}, nil
	})
	res := v.(fetchResult)
	now := time.Now()
	switch {
	case res.e.Status >= 500 && stale != nil && now.Before(stale.StaleUntil):
		c.serveEntry(w, r, service, stale, cacheStale, now)
	case res.hit:
		c.serveEntry(w, r, service, res.e, cacheHit, now)
	case res.stored:
		c.serveEntry(w, r, service, res.e, cacheMiss, now)
	default:
		c.serveEntry(w, r, service, res.e, cacheBypass, now)
	}
}

// serveInto runs next into buf and reports whether it aborted (ReverseProxy panics with
// http.ErrAbortHandler when the upstream fails mid-body); any other panic goes on.
func serveInto(buf *bufferWriter, r *http.Request, next http.Handler) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			aborted = true
		}
	}()
	next.ServeHTTP(buf, r)
	return false
}

// bypass proxies r uncached.
func (c *responseCache) bypass(w http.ResponseWriter, r *http.Request, service string, next http.Handler) {
	w.Header()["X-Cache-Status"] = c.statusValues[cacheBypass]
	c.count(service, cacheBypass)
	next.ServeHTTP(w, r)
}

// serveEntry writes e with the status header, or 304 when the client already has it (If-None-Match
// against the entry's ETag).
func (c *responseCache) serveEntry(w http.ResponseWriter, r *http.Request, service string, e *entry, status string, now time.Time) {
	h := w.Header()
	c.count(service, status)
	if status == cacheHit || status == cacheStale {
		// Never negative: an entry from Redis carries the clock of the copy that stored it, which
		// may run ahead of ours.
		h["Age"] = []string{strconv.Itoa(int(max(0, now.Sub(e.Stored)) / time.Second))}
	}
	h["X-Cache-Status"] = c.statusValues[status]
	if inm := r.Header.Get("If-None-Match"); inm != "" && e.Status == http.StatusOK && etagMatches(inm, e.Header.Get("Etag")) {
		for _, k := range notModifiedHeaders {
			if v, ok := e.Header[k]; ok {
				h[k] = v
			}
		}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for k, v := range e.Header {
		h[k] = v
	}
	body := e.Body
	if e.Status >= 400 {
		body = withRequestID(body, h.Get(shared.RequestIDHeader))
	}
	if e.contentLength != nil && len(body) == len(e.Body) {
		h["Content-Length"] = e.contentLength
	} else {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
