package main

import (
	"context"
	"hash/maphash"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// cacheRule declares one cacheable route of a service: a GET whose stripped path is Path (or starts
// with it when Prefix) is stored when its status is in TTLs, for that status's TTL unless the upstream
// says otherwise. Public routes may be cached for requests that carry credentials; by default such
// requests bypass the cache.
type cacheRule struct {
	Service string
	Path    string
	Prefix  bool
	// TTLs maps each status the route stores to its TTL when the upstream gives none. For negative
	// answers (4xx, 5xx) the TTL is also a ceiling on the upstream's own max-age.
	TTLs   map[int]time.Duration
	Public bool
}

// ttl returns the TTL of status on the route, 0 when the status is not stored.
func (r cacheRule) ttl(status int) time.Duration { return r.TTLs[status] }

// defaultCacheRules are the seed's TTLs: product list 60 s, one product 300 s, inventory 30 s; auth,
// user, order and realtime never. Each stores cfg.CacheStatuses (200, 301, 404): the statuses below
// 400 for the route's TTL, the others for at most cfg.CacheNegative (10 s), so a product created
// after its 404 was cached shows up soon even if its product.created event is missed.
func defaultCacheRules(cfg Config) []cacheRule {
	route := func(service, path string, prefix bool, ttl time.Duration) cacheRule {
		r := cacheRule{Service: service, Path: path, Prefix: prefix, TTLs: map[int]time.Duration{}}
		for _, s := range cfg.CacheStatuses {
			switch {
			case s < 400:
				r.TTLs[s] = ttl
			case cfg.CacheNegative > 0:
				r.TTLs[s] = min(ttl, cfg.CacheNegative)
			}
		}
		return r
	}
	var rules []cacheRule
	for _, r := range []struct {
		service, path string
		prefix        bool
		ttl           time.Duration
	}{
		{"product", "/products", false, cfg.CacheProductList},
		{"product", "/products/", true, cfg.CacheProduct},
		{"inventory", "/inventory", false, cfg.CacheInventory},
		{"inventory", "/inventory/", true, cfg.CacheInventory},
	} {
		if r.ttl > 0 {
			rules = append(rules, route(r.service, r.path, r.prefix, r.ttl))
		}
	}
	return rules
}

func (c *responseCache) rule(service, path string) (cacheRule, bool) {
	for _, r := range c.rules {
		if r.Service == service && (path == r.Path || r.Prefix && strings.HasPrefix(path, r.Path)) {
			return r, true
		}
	}
	return cacheRule{}, false
}

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
	rules    []cacheRule
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

// pathStripes is how many path generation counters each service has (a power of two): 8 KiB per
// service, whatever paths clients send.
const pathStripes = 1024

// purgeGenerations counts the purges of one service: all of it (writes, pub/sub) in service, and
// of named paths (events) in the stripe of each path. Paths are striped by a hash of the stripped
// path without its query, so a path's purge covers every query string of it. Two paths sharing a
// stripe only make a fetch skip a store it could have made, never store one it must not.
type purgeGenerations struct {
	seed    maphash.Seed
	service atomic.Uint64
	paths   [pathStripes]atomic.Uint64
}

// path returns the counter of path's stripe.
func (g *purgeGenerations) path(path string) *atomic.Uint64 {
	return &g.paths[maphash.String(g.seed, path)&(pathStripes-1)]
}

func newPurgeGenerations() *purgeGenerations {
	return &purgeGenerations{seed: maphash.MakeSeed()}
}

func newResponseCache(kv kvStore, cfg Config, logger *slog.Logger, metrics *shared.Metrics) *responseCache {
	c := &responseCache{
		kv:          kv,
		l1:          newLRU[*entry](cfg.L1Entries),
		l1TTL:       cfg.L1TTL,
		staleFor:    cfg.CacheStale,
		rules:       defaultCacheRules(cfg),
		timeout:     cfg.UpstreamTimeout + time.Second,
		logger:      logger,
		results:     metrics.Counter("gateway_cache_requests_total", "Cache outcomes by service and X-Cache-Status.", "upstream", "status"),
		generations: map[string]*purgeGenerations{},
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

// cacheKey is the service plus the stripped path and the query with its parameters sorted, so
// ?a=1&b=2 and ?b=2&a=1 share an entry. Method is not part of it: HEAD is answered from GET's entry.
func cacheKey(service, path string, query url.Values) string {
	var b strings.Builder
	b.Grow(len("gw:c:") + len(service) + 1 + len(path))
	b.WriteString("gw:c:")
	b.WriteString(service)
	b.WriteByte(':')
	b.WriteString(path)
	if len(query) > 0 {
		b.WriteByte('?')
		b.WriteString(query.Encode()) // Encode sorts by key
	}
	return b.String()
}

// indexKey names the purge index of a service's cached entries ("gw:cz:", a sorted set; the earlier
// "gw:ci:" plain sets are left to expire).
func indexKey(service string) string { return "gw:cz:" + service }

// pathIndexKey names the purge index of the entries of one stripped path, every query string
// included, so an event about one product purges that product's entries and not the catalog's.
func pathIndexKey(service, path string) string { return "gw:cp:" + service + ":" + path }

// credentialed reports whether r carries anything that may make the answer user-specific.
func credentialed(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && c.Value != ""
}

// handle serves service's requests from the cache when it may, else through next; writes under
// product purge that service's entries.
func (c *responseCache) handle(service string, next http.Handler) http.Handler {
	prefix := "/" + service
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, prefix)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			c.write(w, r, service, next)
			return
		}
		rule, ok := c.rule(service, path)
		if !ok || (credentialed(r) && !rule.Public) || isUpgrade(r) {
			c.bypass(w, r, service, next)
			return
		}
		var query url.Values
		if r.URL.RawQuery != "" {
			query = r.URL.Query()
		}
		key := cacheKey(service, path, query)
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
		c.fetch(w, r, service, path, key, rule, stale, store, next)
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
func (c *responseCache) fetch(w http.ResponseWriter, r *http.Request, service, path, key string, rule cacheRule, stale *entry, store bool, next http.Handler) {
	gens := c.generation(service)
	pathGen := gens.path(path)
	v, _, _ := c.group.Do(key, func() (any, error) {
		// Only purges of the whole service or of this path stop the store; the many events about
		// other paths (a stock change per order) do not.
		before, pathBefore := gens.service.Load(), pathGen.Load()
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
		ttl, ok := storable(buf, rule)
		if !ok || buf.overflow || !store {
			return fetchResult{e: e}, nil
		}
		e.FreshUntil = now.Add(ttl)
		e.StaleUntil = e.FreshUntil.Add(c.staleFor)
		if gens.service.Load() != before || pathGen.Load() != pathBefore {
			return fetchResult{e: e}, nil // the service or this path was purged meanwhile
		}
		if err := c.kv.Set(ctx, key, encodeEntry(e), ttl+c.staleFor, indexKey(service), pathIndexKey(service, path)); err != nil {
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

// write proxies a write; one under product that did not fail as the client's fault purges the
// product cache, here and in Redis, so the next read sees it.
func (c *responseCache) write(w http.ResponseWriter, r *http.Request, service string, next http.Handler) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		c.bypass(w, r, service, next) // OPTIONS, TRACE...: not a write
		return
	}
	if service != "product" {
		c.bypass(w, r, service, next)
		return
	}
	rec := &shared.StatusRecorder{ResponseWriter: w}
	c.bypass(rec, r, service, next)
	if rec.Status >= 400 && rec.Status < 500 {
		return
	}
	c.purge(r.Context(), service)
}

// purge drops every cached entry of service, here, in Redis, and (through the bus) in the other
// gateway instances' in-process layers.
func (c *responseCache) purge(ctx context.Context, service string) {
	c.dropLocal(service)
	if err := c.kv.Purge(ctx, indexKey(service)); err != nil {
		c.logger.WarnContext(ctx, "cache purge failed; entries expire by TTL", "upstream", service, "err", err)
	}
	if c.bus != nil {
		if err := c.bus.Publish(ctx, service); err != nil {
			c.logger.WarnContext(ctx, "purge announcement failed; other gateways' in-process entries expire by TTL",
				"upstream", service, "err", err)
		}
	}
}

// dropLocal forgets service's entries in the in-process layer, and makes fetches that started
// before now not store their answers.
func (c *responseCache) dropLocal(service string) {
	c.generation(service).service.Add(1)
	c.l1.DeletePrefix("gw:c:" + service + ":")
}

// purgePaths drops the entries of service's stripped paths (every query string of each), here and in
// Redis. It does not announce the purge on the bus: it is called for Kafka events, which every gateway
// instance reads itself. Redis failing is returned, so the event is retried. Only fetches of these
// paths that are under way are kept from storing, not the rest of the service's.
func (c *responseCache) purgePaths(ctx context.Context, service string, paths ...string) error {
	gens := c.generation(service)
	bases := make([]string, len(paths))
	indexes := make([]string, len(paths))
	for i, p := range paths {
		gens.path(p).Add(1)
		bases[i] = cacheKey(service, p, nil)
		indexes[i] = pathIndexKey(service, p)
	}
	c.l1.DeleteFunc(func(key string) bool {
		for _, b := range bases {
			if strings.HasPrefix(key, b) && (len(key) == len(b) || key[len(b)] == '?') {
				return true
			}
		}
		return false
	})
	return c.kv.Purge(ctx, indexes...)
}

// generation returns service's purge counters, made on first use for a service not configured.
func (c *responseCache) generation(service string) *purgeGenerations {
	c.genMu.Lock()
	defer c.genMu.Unlock()
	g, ok := c.generations[service]
	if !ok {
		g = newPurgeGenerations()
		c.generations[service] = g
	}
	return g
}

// serveEntry writes e with the status header, or 304 when the client already has it (If-None-Match
// against the entry's ETag).
func (c *responseCache) serveEntry(w http.ResponseWriter, r *http.Request, service string, e *entry, status string, now time.Time) {
	h := w.Header()
	c.count(service, status)
	if status == cacheHit || status == cacheStale {
		h["Age"] = []string{strconv.Itoa(int(now.Sub(e.Stored) / time.Second))}
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
	if e.contentLength != nil {
		h["Content-Length"] = e.contentLength
	} else {
		h.Set("Content-Length", strconv.Itoa(len(e.Body)))
	}
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write(e.Body)
	}
}
