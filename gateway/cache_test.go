package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

func cacheStatus(rec *httptest.ResponseRecorder) string { return rec.Header().Get("X-Cache-Status") }

func TestCacheMissThenHit(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	steps := []struct {
		method, target, status, body string
	}{
		{"GET", "/product/products?page=1&category=shoes", cacheMiss, "product /products?page=1&category=shoes"},
		{"GET", "/product/products?page=1&category=shoes", cacheHit, "product /products?page=1&category=shoes"},
		{"GET", "/product/products?category=shoes&page=1", cacheHit, "product /products?page=1&category=shoes"}, // same key
		{"HEAD", "/product/products?category=shoes&page=1", cacheHit, ""},
		{"GET", "/product/products/p1", cacheMiss, "product /products/p1"},
		{"GET", "/product/products/p1", cacheHit, "product /products/p1"},
		{"GET", "/inventory/inventory/SKU-1", cacheBypass, ""}, // inventory points at a dead port: 503, not cached
	}
	for _, s := range steps {
		rec := e.do(t, s.method, s.target, nil)
		if got := cacheStatus(rec); got != s.status {
			t.Errorf("%s %s: X-Cache-Status = %q, want %q", s.method, s.target, got, s.status)
		}
		if s.body != "" && rec.Body.String() != s.body {
			t.Errorf("%s %s: body = %q, want %q", s.method, s.target, rec.Body, s.body)
		}
		if s.method == "HEAD" && rec.Body.Len() != 0 {
			t.Errorf("HEAD %s: body = %q, want none", s.target, rec.Body)
		}
	}
	if n := up.calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d, want 2 (one per key)", n)
	}
	rec := e.do(t, "GET", "/product/products/p1", nil)
	if rec.Header().Get("Age") == "" || rec.Header().Get("X-Request-ID") == "" {
		t.Errorf("HIT headers %v: want Age and a fresh X-Request-ID", rec.Header())
	}
}

// TestCacheBypass: every response or request that must not be shared is proxied each time.
func TestCacheBypass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		method  string
		target  string
		header  http.Header
		respond http.HandlerFunc
	}{
		{name: "authorization", method: "GET", target: "/product/products", header: http.Header{"Authorization": {"Bearer x"}}},
		{name: "session cookie", method: "GET", target: "/product/products", header: http.Header{"Cookie": {"session_id=s1"}}},
		{name: "set-cookie", method: "GET", target: "/product/products", respond: func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "b"})
			io.WriteString(w, "x")
		}},
		{name: "private", method: "GET", target: "/product/products", respond: withCacheControl("private, max-age=60")},
		{name: "no-store", method: "GET", target: "/product/products", respond: withCacheControl("no-store")},
		{name: "no-cache", method: "GET", target: "/product/products", respond: withCacheControl("no-cache")},
		{name: "max-age=0", method: "GET", target: "/product/products", respond: withCacheControl("public, max-age=0")},
		{name: "vary", method: "GET", target: "/product/products", respond: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			io.WriteString(w, "x")
		}},
		{name: "302", method: "GET", target: "/product/products/old", respond: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/products/new", http.StatusFound)
		}},
		{name: "500", method: "GET", target: "/product/products", respond: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}},
		{name: "post", method: "POST", target: "/product/products"},
		{name: "uncached service", method: "GET", target: "/order/orders"},
		{name: "auth route", method: "GET", target: "/auth/session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, "u")
			if tt.respond != nil {
				up.handle(tt.respond)
			}
			e := newTestEnv(t, withEveryService(nil, up.server.URL))
			for i := range 2 {
				rec := e.do(t, tt.method, tt.target, tt.header)
				if got := cacheStatus(rec); got != cacheBypass {
					t.Errorf("%s %s #%d: X-Cache-Status = %q, want BYPASS", tt.method, tt.target, i+1, got)
				}
			}
			if n := up.calls.Load(); n != 2 {
				t.Errorf("%s %s twice: upstream calls = %d, want 2", tt.method, tt.target, n)
			}
			if keys := e.kv.Keys(); len(keys) != 0 {
				t.Errorf("Redis keys after %s: %v, want none", tt.name, keys)
			}
		})
	}
}

func withCacheControl(cc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cc)
		io.WriteString(w, "x")
	}
}

// TestCacheNeverSharesUserResponses: an upstream that answers per caller must give each caller their
// own answer, in any order.
func TestCacheNeverSharesUserResponses(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		who := r.Header.Get("Authorization")
		if who == "" {
			who = "anonymous"
		}
		io.WriteString(w, "for "+who)
	})
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	callers := []string{"", "Bearer alice", "Bearer bob", "", "Bearer bob", "Bearer alice"}
	for _, who := range callers {
		h := http.Header{}
		want := "for anonymous"
		if who != "" {
			h.Set("Authorization", who)
			want = "for " + who
		}
		rec := e.do(t, "GET", "/product/products", h)
		if rec.Body.String() != want {
			t.Errorf("GET as %q: body = %q, want %q", who, rec.Body, want)
		}
	}
}

// TestCacheStampede: 100 concurrent misses for one key make one upstream request.
func TestCacheStampede(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	arrived := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
		io.WriteString(w, "catalog")
	})
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL, "GATEWAY_RATE_LIMIT": "1000/s:1000"})
	var wg sync.WaitGroup
	results := make([]*httptest.ResponseRecorder, 100)
	for i := range results {
		wg.Go(func() { results[i] = e.do(t, "GET", "/product/products", nil) })
	}
	<-arrived
	close(release)
	wg.Wait()
	for i, rec := range results {
		if rec.Code != http.StatusOK || rec.Body.String() != "catalog" {
			t.Errorf("request %d: status %d body %q, want 200 catalog", i, rec.Code, rec.Body)
		}
		if s := cacheStatus(rec); s != cacheMiss && s != cacheHit {
			t.Errorf("request %d: X-Cache-Status = %q, want MISS or HIT", i, s)
		}
	}
	if n := up.calls.Load(); n != 1 {
		t.Errorf("100 concurrent misses: upstream calls = %d, want 1", n)
	}
}

func TestCacheInvalidatedByProductWrite(t *testing.T) {
	t.Parallel()
	up, _ := newVersionedUpstream(t)
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	e.warm(t, "/product/products", "/product/products/p1")
	e.do(t, "PUT", "/product/products/p1", nil)
	if keys := e.kv.Keys(); len(keys) != 0 {
		t.Errorf("Redis keys after a product write: %v, want none", keys)
	}
	for _, target := range []string{"/product/products", "/product/products/p1"} {
		rec := e.do(t, "GET", target, nil)
		if cacheStatus(rec) != cacheMiss || rec.Body.String() != "v2" {
			t.Errorf("GET %s after PUT: %s %q, want MISS v2", target, cacheStatus(rec), rec.Body)
		}
	}
}

// TestCacheRedisDown: with Redis failing, requests are still served, uncached, and fast once the
// store's breaker opens.
func TestCacheRedisDown(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL, "GATEWAY_CACHE_L1_TTL": "0s"})
	if rec := e.do(t, "GET", "/product/products", nil); cacheStatus(rec) != cacheMiss {
		t.Fatalf("GET with Redis up: X-Cache-Status = %q, want MISS", cacheStatus(rec))
	}
	e.kv.SetErr(errors.New("connection refused"))
	for i := range 10 {
		rec := e.do(t, "GET", "/product/products", nil)
		if rec.Code != http.StatusOK || cacheStatus(rec) != cacheBypass {
			t.Fatalf("GET #%d with Redis down: status %d, X-Cache-Status %q, want 200 BYPASS", i, rec.Code, cacheStatus(rec))
		}
	}
	if rec := e.do(t, "POST", "/product/products", nil); rec.Code != http.StatusOK {
		t.Errorf("POST with Redis down (purge fails, rate limit fails open): status = %d, want 200", rec.Code)
	}
	if st := e.gw.kv.(*guardedStore).breaker.State(); st != StateOpen {
		t.Errorf("Redis breaker after 10 failures: %s, want open", st)
	}
	rec := e.do(t, "GET", "/health/detailed", nil)
	if !strings.Contains(rec.Body.String(), `"redis":{"status":"down"`) {
		t.Errorf("GET /health/detailed with Redis down: %s, want redis down", rec.Body)
	}
}

// TestCacheStaleIfError: when the upstream fails, a recently expired entry is served as STALE.
func TestCacheStaleIfError(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	up.handle(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	now := time.Now()
	old := &entry{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"items":[]}`),
		Stored: now.Add(-2 * time.Minute), FreshUntil: now.Add(-time.Minute), StaleUntil: now.Add(time.Minute)}
	key := cacheKey("product", "/products", url.Values{})
	e.kv.Set(context.Background(), key, encodeEntry(old), time.Hour, routeIndexKey("product_list"))

	rec := e.do(t, "GET", "/product/products", nil)
	if rec.Code != http.StatusOK || cacheStatus(rec) != cacheStale || rec.Body.String() != `{"items":[]}` {
		t.Errorf("GET with upstream failing and a stale entry: %d %s %q, want 200 STALE with the old body", rec.Code, cacheStatus(rec), rec.Body)
	}
	// Too old for stale-if-error: the error passes through.
	old.StaleUntil = now.Add(-time.Second)
	e.kv.Set(context.Background(), key, encodeEntry(old), time.Hour, routeIndexKey("product_list"))
	if rec := e.do(t, "GET", "/product/products", nil); rec.Code != http.StatusBadGateway {
		t.Errorf("GET with an entry past its stale window: status = %d, want the upstream's 502", rec.Code)
	}
}

type atomicString struct {
	mu sync.Mutex
	s  string
}

func (a *atomicString) Store(s string) { a.mu.Lock(); a.s = s; a.mu.Unlock() }
func (a *atomicString) Load() string   { a.mu.Lock(); defer a.mu.Unlock(); return a.s }

// newVersionedUpstream starts a product upstream that answers every GET with the current version,
// "v1" at first; any other method is a write that makes it "v2". Tests may also set it themselves.
func newVersionedUpstream(tb testing.TB) (*upstream, *atomicString) {
	tb.Helper()
	up := newUpstream(tb, "product")
	version := &atomicString{s: "v1"}
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			version.Store("v2")
			return
		}
		io.WriteString(w, version.Load())
	})
	return up, version
}

// warm GETs each target twice through the gateway and stops the test unless the second is a HIT.
func (e *testEnv) warm(tb testing.TB, targets ...string) {
	tb.Helper()
	for _, target := range targets {
		e.do(tb, "GET", target, nil)
		if rec := e.do(tb, "GET", target, nil); cacheStatus(rec) != cacheHit {
			tb.Fatalf("GET %s twice: X-Cache-Status = %q, want HIT", target, cacheStatus(rec))
		}
	}
}

// TestCacheConditionalRequests: a client's If-None-Match never shapes the shared entry, and is
// answered 304 from it when the ETag matches.
func TestCacheConditionalRequests(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Etag", `"v1"`)
		w.Header().Set("Cache-Control", "public, max-age=30")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "catalog")
	})
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	steps := []struct {
		inm, cache string
		status     int
		body       string
	}{
		{`"v1"`, cacheMiss, http.StatusNotModified, ""}, // first client revalidates: the entry is still full
		{"", cacheHit, http.StatusOK, "catalog"},
		{`"v0", W/"v1"`, cacheHit, http.StatusNotModified, ""},
		{`"v2"`, cacheHit, http.StatusOK, "catalog"},
	}
	for _, s := range steps {
		h := http.Header{}
		if s.inm != "" {
			h.Set("If-None-Match", s.inm)
		}
		rec := e.do(t, "GET", "/product/products", h)
		if rec.Code != s.status || cacheStatus(rec) != s.cache || rec.Body.String() != s.body {
			t.Errorf("GET If-None-Match %q: %d %s %q, want %d %s %q", s.inm, rec.Code, cacheStatus(rec), rec.Body, s.status, s.cache, s.body)
		}
	}
	if got := up.last.Load().Header.Get("If-None-Match"); got != "" {
		t.Errorf("upstream got If-None-Match %q on a shared fetch, want none", got)
	}
}

// TestCachePurgeReachesOtherGateways: two gateway instances share Redis; a write through one drops
// the other's in-process entries at once (not after the layer's TTL).
func TestCachePurgeReachesOtherGateways(t *testing.T) {
	t.Parallel()
	up, _ := newVersionedUpstream(t)
	env := map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL, "GATEWAY_CACHE_L1_TTL": "1h"}
	a, b := newTestEnv(t, env), newTestEnv(t, env)
	b.gw.cache.kv = a.gw.cache.kv // one Redis
	bus := &memBus{}
	purged := make(chan string, 4)
	for _, e := range []*testEnv{a, b} {
		e.gw.cache.bus = bus
		bus.subscribe(t.Context(), func(s string) { e.gw.cache.dropLocal(s); purged <- s })
	}
	a.do(t, "GET", "/product/products", nil)
	if rec := b.do(t, "GET", "/product/products", nil); cacheStatus(rec) != cacheHit {
		t.Fatalf("GET through b after a: X-Cache-Status = %q, want HIT (shared store)", cacheStatus(rec))
	}
	a.do(t, "PUT", "/product/products/p1", nil)
	for i := range 2 {
		select {
		case <-purged:
		case <-time.After(10 * time.Second): // a guard against a hang, not a timing assertion
			t.Fatalf("after a write: %d of 2 gateways saw the purge within 10 s", i)
		}
	}
	if rec := b.do(t, "GET", "/product/products", nil); rec.Body.String() != "v2" || cacheStatus(rec) != cacheMiss {
		t.Errorf("GET through b after a write through a: %s %q, want MISS v2", cacheStatus(rec), rec.Body)
	}
}

// TestCacheUpstreamDiesMidBody: a truncated answer is neither stored nor served as a success, and
// nothing panics through to the client.
func TestCacheUpstreamDiesMidBody(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"items":[`)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the upstream drops the connection
	})
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	gw := httptest.NewServer(e.handler)
	defer gw.Close()
	resp, err := http.Get(gw.URL + "/product/products")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"code":"unavailable"`) {
		t.Errorf("GET with the upstream dying mid-body: %d %s, want 503 in the error shape", resp.StatusCode, body)
	}
	if keys := e.kv.Keys(); len(keys) != 0 {
		t.Errorf("store after a truncated answer: %v, want empty", keys)
	}
}

// TestCacheStatuses: 200, 301 and 404 are stored by default (HIT the second time), each only where
// the configuration lists it; 404 for at most the negative TTL.
func TestCacheStatuses(t *testing.T) {
	t.Parallel()
	notFound := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no such product", http.StatusNotFound) }
	moved := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/products/p2", http.StatusMovedPermanently)
	}
	tests := []struct {
		name    string
		env     map[string]string
		respond http.HandlerFunc
		code    int
		second  string // X-Cache-Status of the second request
	}{
		{"404 default", nil, notFound, 404, cacheHit},
		{"301 default", nil, moved, 301, cacheHit},
		{"404 not listed", map[string]string{"GATEWAY_CACHE_STATUSES": "200,301"}, notFound, 404, cacheBypass},
		{"404 negative ttl off", map[string]string{"GATEWAY_CACHE_NEGATIVE_TTL": "0s"}, notFound, 404, cacheBypass},
		{"301 not listed", map[string]string{"GATEWAY_CACHE_STATUSES": "200,404"}, moved, 301, cacheBypass},
		{"200 not listed", map[string]string{"GATEWAY_CACHE_STATUSES": "404"}, nil, 200, cacheBypass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, "product")
			if tt.respond != nil {
				up.handle(tt.respond)
			}
			env := map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL}
			for k, v := range tt.env {
				env[k] = v
			}
			e := newTestEnv(t, env)
			first := e.do(t, "GET", "/product/products/p1", nil)
			second := e.do(t, "GET", "/product/products/p1", nil)
			wantFirst := cacheMiss
			if tt.second == cacheBypass {
				wantFirst = cacheBypass
			}
			if first.Code != tt.code || cacheStatus(first) != wantFirst {
				t.Errorf("GET #1: %d %s, want %d %s", first.Code, cacheStatus(first), tt.code, wantFirst)
			}
			if second.Code != tt.code || cacheStatus(second) != tt.second {
				t.Errorf("GET #2: %d %s, want %d %s", second.Code, cacheStatus(second), tt.code, tt.second)
			}
			// The service redirects to /products/p2, which through the gateway is /product/products/p2.
			if tt.code == 301 && second.Header().Get("Location") != "/product/products/p2" {
				t.Errorf("cached 301: Location = %q, want /product/products/p2", second.Header().Get("Location"))
			}
			wantCalls := int64(1)
			if tt.second == cacheBypass {
				wantCalls = 2
			}
			if n := up.calls.Load(); n != wantCalls {
				t.Errorf("upstream calls = %d, want %d", n, wantCalls)
			}
		})
	}
}

// TestCacheErrorNamesItsRequest: a cached error answer (404s are stored for the negative TTL) is
// served to many clients, and its body's request_id must be each client's own (the X-Request-ID it
// is sent with), not the one of the request that filled the entry: a client quoting it would point
// at someone else's request. Both the stack and the in-process hit path serve it so.
func TestCacheErrorNamesItsRequest(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write(shared.ErrorJSON(shared.CodeNotFound, "product not found", r.Header.Get(shared.RequestIDHeader)))
	})
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	for i, id := range []string{"first-request", "second-request", "", "third.request"} {
		header := http.Header{}
		if id != "" {
			header.Set(shared.RequestIDHeader, id)
		}
		rec := e.do(t, "GET", "/product/products/p1", header)
		var body shared.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusNotFound {
			t.Fatalf("GET #%d: %d %q: %v", i+1, rec.Code, rec.Body, err)
		}
		got, sent := body.Error.RequestID, rec.Header().Get(shared.RequestIDHeader)
		if got != sent || id != "" && got != id {
			t.Errorf("GET #%d (%s) with X-Request-ID %q: body request_id %q, header %q", i+1, cacheStatus(rec), id, got, sent)
		}
		if n, _ := strconv.Atoi(rec.Header().Get("Content-Length")); n != rec.Body.Len() {
			t.Errorf("GET #%d: Content-Length %d for a body of %d bytes", i+1, n, rec.Body.Len())
		}
	}
	if n := up.calls.Load(); n != 1 {
		t.Errorf("upstream calls = %d, want 1 (the 404 is shared)", n)
	}
}

// blockFirstFill makes up's first request wait for release once it has signalled arrived, so a
// test can purge while that fill is under way; later requests are answered at once.
func blockFirstFill(up *upstream) (arrived, release chan struct{}) {
	arrived, release = make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			close(arrived)
			<-release
		}
		io.WriteString(w, up.name+" "+r.URL.RequestURI())
	})
	return arrived, release
}

// pathOffStripes returns fmt.Sprintf(format, n) for the first n ≥ 1 whose purge stripe in service is
// none of taken's, so a test about paths that do not share a stripe holds whatever the hash seed.
func pathOffStripes(tb testing.TB, c *responseCache, service, format string, taken ...string) string {
	tb.Helper()
	g := c.generation(service)
next:
	for n := 1; n <= 100; n++ {
		p := fmt.Sprintf(format, n)
		for _, q := range taken {
			if g.path(p) == g.path(q) {
				continue next
			}
		}
		return p
	}
	tb.Fatalf("no %q off the stripes of %v", format, taken)
	return ""
}

// TestCacheFillRacesPurge: a fill under way when its path or its route is purged is served but not
// stored (its answer may predate the write, and every query string of a purged path is covered); a
// purge of another path of the service does not stop it.
func TestCacheFillRacesPurge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string // the fill; its stripped path is target without "/<service>" and the query
		purge  func(ctx context.Context, tb testing.TB, c *responseCache, path string)
		stored bool
	}{
		{"another path purged", "/inventory/inventory/SKU-1", func(ctx context.Context, tb testing.TB, c *responseCache, path string) {
			if err := c.purgePaths(ctx, "inventory", pathOffStripes(tb, c, "inventory", "/inventory/SKU-%d", path)); err != nil {
				tb.Fatal(err)
			}
		}, true},
		{"its path purged", "/inventory/inventory/SKU-1", func(ctx context.Context, tb testing.TB, c *responseCache, path string) {
			if err := c.purgePaths(ctx, "inventory", "/inventory/SKU-2", path); err != nil {
				tb.Fatal(err)
			}
		}, false},
		{"its path purged, fill with a query", "/inventory/inventory/batch?skus=SKU-1,SKU-2", func(ctx context.Context, tb testing.TB, c *responseCache, path string) {
			if err := c.purgePaths(ctx, "inventory", path); err != nil {
				tb.Fatal(err)
			}
		}, false},
		{"its route purged by a write", "/product/products/p1", func(ctx context.Context, tb testing.TB, c *responseCache, path string) {
			c.purge(ctx, "product")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			service, path, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
			path = "/" + path
			up := newUpstream(t, service)
			arrived, release := blockFirstFill(up)
			e := newTestEnv(t, map[string]string{strings.ToUpper(service) + "_SERVICE_URLS": up.server.URL})
			done := make(chan *httptest.ResponseRecorder)
			go func() { done <- e.do(t, "GET", tt.target, nil) }()
			<-arrived // the fill has read the generations and is upstream
			tt.purge(t.Context(), t, e.gw.cache, path)
			close(release)
			rec := <-done
			wantFirst, wantNext, wantCalls := cacheBypass, cacheMiss, int64(2)
			if tt.stored {
				wantFirst, wantNext, wantCalls = cacheMiss, cacheHit, 1
			}
			if got := cacheStatus(rec); rec.Code != http.StatusOK || got != wantFirst {
				t.Errorf("GET %s racing the purge: %d %s, want 200 %s", tt.target, rec.Code, got, wantFirst)
			}
			if rec := e.do(t, "GET", tt.target, nil); cacheStatus(rec) != wantNext {
				t.Errorf("GET %s again: X-Cache-Status = %q, want %q", tt.target, cacheStatus(rec), wantNext)
			}
			if n := up.calls.Load(); n != wantCalls {
				t.Errorf("upstream calls = %d, want %d", n, wantCalls)
			}
		})
	}
}

// TestCacheEntriesBounded: made-up query strings (the services ignore parameters they do not know)
// are entries of their own; the store keeps at most GATEWAY_CACHE_MAX_ENTRIES of a row, so anonymous
// clients cannot fill Redis at their request rate times the entries' lifetime (6 min by default).
func TestCacheEntriesBounded(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL, "GATEWAY_CACHE_MAX_ENTRIES": "4",
		"GATEWAY_RATE_LIMIT": "off"})
	for i := range 20 {
		if rec := e.do(t, "GET", fmt.Sprintf("/product/products?junk=%d", i), nil); cacheStatus(rec) != cacheMiss {
			t.Fatalf("GET ?junk=%d: X-Cache-Status = %q, want MISS", i, cacheStatus(rec))
		}
	}
	var entries []string
	for _, k := range e.kv.Keys() {
		if strings.HasPrefix(k, "gw:c:") {
			entries = append(entries, k)
		}
	}
	if len(entries) != 4 {
		t.Errorf("stored entries after 20 distinct query strings = %d (%v), want the bound, 4", len(entries), entries)
	}
}

// TestCacheAgeFromCopyAhead: an entry another gateway copy stored carries that copy's clock; when it
// runs ahead of this one (here by 30 s), Age must still be a delta-seconds (RFC 9111 §5.1), never
// negative.
func TestCacheAgeFromCopyAhead(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	kv := newMemStore()
	env := map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL}
	ahead, here := newTestEnvKV(t, env, kv), newTestEnvKV(t, env, kv)
	if rec := ahead.do(t, "GET", "/product/products/p1", nil); cacheStatus(rec) != cacheMiss {
		t.Fatalf("first GET: X-Cache-Status = %q, want MISS", cacheStatus(rec))
	}
	kv.mu.Lock()
	for k, v := range kv.values {
		if e, err := decodeEntry(v.b); err == nil {
			e.Stored, e.FreshUntil, e.StaleUntil = e.Stored.Add(30*time.Second), e.FreshUntil.Add(30*time.Second), e.StaleUntil.Add(30*time.Second)
			kv.values[k] = memValue{b: encodeEntry(e), expires: v.expires}
		}
	}
	kv.mu.Unlock()
	rec := here.do(t, "GET", "/product/products/p1", nil)
	if age, err := strconv.Atoi(rec.Header().Get("Age")); cacheStatus(rec) != cacheHit || err != nil || age < 0 {
		t.Errorf("GET at the other copy: X-Cache-Status %q, Age %q; want HIT with Age ≥ 0", cacheStatus(rec), rec.Header().Get("Age"))
	}
}
