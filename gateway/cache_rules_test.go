package main

import (
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
)

// tableCache is a response cache over an in-memory store with the default configuration, or with
// routes as its table when routes is not nil.
func tableCache(tb testing.TB, routes []cacheRoute) *responseCache {
	tb.Helper()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		tb.Fatal(err)
	}
	if routes != nil {
		cfg.CacheRoutes = routes
	}
	return newResponseCache(newMemStore(), cfg, slog.New(slog.DiscardHandler), shared.NewMetrics("gateway"))
}

// serveCache sends one request for target ("/service/path") through c in front of next.
func serveCache(c *responseCache, next http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	service, _, _ := strings.Cut(strings.TrimPrefix(target, "/"), "/")
	req := httptest.NewRequest(method, target, nil)
	maps.Copy(req.Header, header)
	rec := httptest.NewRecorder()
	c.handle(service, next).ServeHTTP(rec, req)
	return rec
}

// TestCacheTTLRule: the route's TTL applies whatever max-age the upstream sends; s-maxage can only
// shorten it; negative answers are capped by the negative TTL and the upstream's max-age.
func TestCacheTTLRule(t *testing.T) {
	t.Parallel()
	c := tableCache(t, nil)
	product, _ := c.route("product", "/products/p1") // 300 s
	tests := []struct {
		status int
		cc     string
		vary   string
		want   time.Duration
	}{
		{200, "", "", 300 * time.Second},
		{200, "public, max-age=30", "", 300 * time.Second}, // what product sends
		{200, "max-age=600", "", 300 * time.Second},
		{200, "max-age=5, s-maxage=7", "", 7 * time.Second},
		{200, "s-maxage=600", "", 300 * time.Second},
		{200, "max-age=0", "", 0},
		{200, "s-maxage=0", "", 0},
		{200, "max-age=bogus", "", 0},
		{200, "Private", "", 0},
		{200, "no-store", "", 0},
		{200, "no-cache", "", 0},
		{200, "", "Origin", 300 * time.Second},
		{200, "", "Accept-Language", 0}, // not in the route's Vary
		{301, "max-age=600", "", 300 * time.Second},
		{404, "", "", 10 * time.Second},
		{404, "max-age=600", "", 10 * time.Second},
		{404, "public, max-age=3", "", 3 * time.Second},
		{302, "max-age=600", "", 0},
		{500, "max-age=600", "", 0},
	}
	for _, tt := range tests {
		b := newBufferWriter()
		if tt.cc != "" {
			b.header.Set("Cache-Control", tt.cc)
		}
		if tt.vary != "" {
			b.header.Set("Vary", tt.vary)
		}
		b.WriteHeader(tt.status)
		if ttl, ok := storable(b, product); ttl != tt.want || ok != (tt.want > 0) {
			t.Errorf("storable(%d, Cache-Control %q, Vary %q) = %s, %v; want %s", tt.status, tt.cc, tt.vary, ttl, ok, tt.want)
		}
	}
}

// TestCacheRouteTTLsApply: the documented TTLs (product list 60 s, product 300 s, inventory 30 s)
// are the ones the cache keeps answers for, although the upstream says max-age=30.
func TestCacheRouteTTLsApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := tableCache(t, nil)
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=30")
			io.WriteString(w, r.URL.Path)
		})
		start := time.Now()
		steps := []struct {
			at     time.Duration
			target string
			want   string
		}{
			{0, "/product/products", cacheMiss},
			{0, "/product/products/p1", cacheMiss},
			{0, "/inventory/inventory/SKU-1", cacheMiss},
			{29 * time.Second, "/inventory/inventory/SKU-1", cacheHit},
			{31 * time.Second, "/product/products", cacheHit},
			{31 * time.Second, "/product/products/p1", cacheHit},
			{31 * time.Second, "/inventory/inventory/SKU-1", cacheMiss},
			{59 * time.Second, "/product/products", cacheHit},
			{61 * time.Second, "/product/products", cacheMiss},
			{299 * time.Second, "/product/products/p1", cacheHit},
			{301 * time.Second, "/product/products/p1", cacheMiss},
		}
		for _, s := range steps {
			time.Sleep(time.Until(start.Add(s.at)))
			if got := cacheStatus(serveCache(c, next, "GET", s.target, nil)); got != s.want {
				t.Errorf("GET %s at %s: X-Cache-Status = %q, want %q", s.target, s.at, got, s.want)
			}
		}
	})
}

// TestCacheTable: which requests the default table caches, including the ones an attacker would
// send to reach another entry, and how a variable overrides a row.
func TestCacheTable(t *testing.T) {
	t.Parallel()
	c := tableCache(t, nil)
	tests := []struct {
		target string
		header http.Header
		route  string // "" when not cacheable
	}{
		{"/product/products", nil, "product_list"},
		{"/product/products?page=2", nil, "product_list"},
		{"/product/products/p1", nil, "product"},
		{"/product/products/sku/SKU-1", nil, "product"},
		{"/inventory/inventory", nil, "inventory"},
		{"/inventory/inventory/batch?skus=a,b", nil, "inventory"},
		{"/inventory/inventory/SKU-1", nil, "inventory"},
		{"/inventory/inventoryX", nil, ""},
		{"/product/productsX", nil, ""},
		{"/product/categories", nil, ""},
		{"/order/orders", nil, ""},
		{"/auth/session", nil, ""},
		{"/user/users/me", nil, ""},
		// One user's notifications, whatever the credential (or none: then it is a 401).
		{"/realtime/notifications", nil, ""},
		{"/realtime/notifications", http.Header{"Authorization": {"Bearer t"}}, ""},
		// An escaped '?' or '#' would give the key of another path's query string.
		{"/product/products/p1%3Fx=1", nil, ""},
		{"/product/products/p1%23x", nil, ""},
		// Credentials never share an entry.
		{"/product/products", http.Header{"Authorization": {"Bearer t"}}, ""},
		{"/product/products", http.Header{"Cookie": {sessionCookie + "=s"}}, ""},
	}
	for _, tt := range tests {
		name := ""
		var calls atomic.Int64
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); io.WriteString(w, "x") })
		serveCache(c, next, "GET", tt.target, tt.header)
		rec := serveCache(c, next, "GET", tt.target, tt.header)
		if cacheStatus(rec) == cacheHit {
			service, _, _ := strings.Cut(strings.TrimPrefix(tt.target, "/"), "/")
			r, _ := c.route(service, strings.TrimPrefix(httptest.NewRequest("GET", tt.target, nil).URL.Path, "/"+service))
			name = r.Name
		}
		if name != tt.route {
			t.Errorf("GET %s %v twice: route %q (X-Cache-Status %q, %d upstream calls), want %q", tt.target, tt.header, name, cacheStatus(rec), calls.Load(), tt.route)
		}
	}

	// The attack the escaped rows stand for: an answer for the path "/products/p1?x=1" must never be
	// what GET /products/p1?x=1 is served.
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.EscapedPath()) })
	serveCache(c, next, "GET", "/product/products/p2%3Fx=1", nil)
	if rec := serveCache(c, next, "GET", "/product/products/p2?x=1", nil); rec.Body.String() != "/product/products/p2" {
		t.Errorf("GET /product/products/p2?x=1 after GET /product/products/p2%%3Fx=1: %s %q, want the answer for /products/p2", cacheStatus(rec), rec.Body)
	}

	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"GATEWAY_CACHE_PRODUCT_TTL": "0s", "GATEWAY_CACHE_INVENTORY_TTL": "90s"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Duration{}
	for _, r := range cfg.CacheRoutes {
		got[r.Name] = r.TTL
	}
	if want := map[string]time.Duration{"product_list": time.Minute, "inventory": 90 * time.Second}; !maps.Equal(got, want) {
		t.Errorf("table with the product row off and inventory at 90s: %v, want %v", got, want)
	}
	_, err = loadConfig(func(k string) string { return map[string]string{"GATEWAY_CACHE_PRODUCT_LIST_TTL": "-1s"}[k] })
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_CACHE_PRODUCT_LIST_TTL") {
		t.Errorf("GATEWAY_CACHE_PRODUCT_LIST_TTL=-1s: err = %v, want it named", err)
	}
}

// TestCachePurgeOnWrite: a write purges exactly the routes whose rows say so, and only the service's.
func TestCachePurgeOnWrite(t *testing.T) {
	t.Parallel()
	routes := []cacheRoute{
		{Name: "list", Service: "product", Paths: []string{"/products"}, TTL: time.Minute, PurgeOnWrite: true},
		{Name: "reviews", Service: "product", Paths: []string{"/reviews/"}, TTL: time.Minute},
		{Name: "stock", Service: "inventory", Paths: []string{"/inventory/"}, TTL: time.Minute, PurgeOnWrite: true},
	}
	for i := range routes {
		routes[i] = routes[i].withStatuses([]int{200}, 0)
	}
	c := tableCache(t, routes)
	status := http.StatusOK
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	targets := []string{"/product/products", "/product/reviews/p1", "/inventory/inventory/SKU-1"}
	fill := func() {
		for _, target := range targets {
			serveCache(c, next, "GET", target, nil)
		}
	}
	steps := []struct {
		method, target string
		status         int
		want           []string // X-Cache-Status of targets afterwards
	}{
		{"POST", "/product/products", http.StatusBadRequest, []string{cacheHit, cacheHit, cacheHit}},
		{"OPTIONS", "/product/products", http.StatusOK, []string{cacheHit, cacheHit, cacheHit}},
		{"POST", "/product/products", http.StatusCreated, []string{cacheMiss, cacheHit, cacheHit}},
		{"DELETE", "/product/reviews/p1", http.StatusNoContent, []string{cacheMiss, cacheHit, cacheHit}},
		{"PUT", "/inventory/inventory/SKU-1", http.StatusInternalServerError, []string{cacheHit, cacheHit, cacheMiss}},
		{"PATCH", "/order/orders/o1", http.StatusOK, []string{cacheHit, cacheHit, cacheHit}},
	}
	for _, s := range steps {
		fill()
		status = s.status
		serveCache(c, next, s.method, s.target, nil)
		status = http.StatusOK
		for i, target := range targets {
			if got := cacheStatus(serveCache(c, next, "GET", target, nil)); got != s.want[i] {
				t.Errorf("%s %s (%d), then GET %s: X-Cache-Status = %q, want %q", s.method, s.target, s.status, target, got, s.want[i])
			}
		}
	}
}

// TestCacheVary: a row's Vary headers are part of the key, so the upstream may vary on them.
func TestCacheVary(t *testing.T) {
	t.Parallel()
	route := cacheRoute{Name: "list", Service: "product", Paths: []string{"/products"}, TTL: time.Minute, Vary: []string{"Accept-Language"}}
	c := tableCache(t, []cacheRoute{route.withStatuses([]int{200}, 0)})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "hello in "+r.Header.Get("Accept-Language"))
	})
	steps := []struct{ lang, status, body string }{
		{"de", cacheMiss, "hello in de"},
		{"fr", cacheMiss, "hello in fr"},
		{"de", cacheHit, "hello in de"},
		{"fr", cacheHit, "hello in fr"},
		{"", cacheMiss, "hello in "},
	}
	for _, s := range steps {
		h := http.Header{}
		if s.lang != "" {
			h.Set("Accept-Language", s.lang)
		}
		rec := serveCache(c, next, "GET", "/product/products", h)
		if cacheStatus(rec) != s.status || rec.Body.String() != s.body {
			t.Errorf("GET with Accept-Language %q: %s %q, want %s %q", s.lang, cacheStatus(rec), rec.Body, s.status, s.body)
		}
	}
	if err := c.purgePaths(t.Context(), "product", "/products"); err != nil {
		t.Fatal(err)
	}
	if rec := serveCache(c, next, "GET", "/product/products", http.Header{"Accept-Language": {"de"}}); cacheStatus(rec) != cacheMiss {
		t.Errorf("GET after a purge of /products: X-Cache-Status = %q, want MISS (every Vary value purged)", cacheStatus(rec))
	}
}

// TestEventPurges: the table's PurgeOnEvent, with required and optional fields, and the topics it
// makes the gateway read.
func TestEventPurges(t *testing.T) {
	t.Parallel()
	routes, _ := defaultCacheRoutes()
	tests := []struct {
		typ    string
		data   map[string]any
		want   map[string][]string
		poison bool
	}{
		{"product.updated", map[string]any{"product_id": "p1", "sku": "SKU-1"},
			map[string][]string{"product": {"/products", "/products/p1", "/products/sku/SKU-1"}}, false},
		{"product.created", map[string]any{"product_id": "p1"}, map[string][]string{"product": {"/products", "/products/p1"}}, false},
		{"product.deleted", map[string]any{"sku": "SKU-1"}, nil, true},
		{"product.updated", map[string]any{"product_id": 7}, nil, true},
		{"inventory.updated", map[string]any{"sku": "SKU-1"},
			map[string][]string{"inventory": {"/inventory", "/inventory/batch", "/inventory/SKU-1"}}, false},
		{"inventory.updated", map[string]any{}, nil, true},
		{"inventory.reserved", map[string]any{"order_id": "o1"}, nil, false},
		{"order.created", nil, nil, false},
	}
	for _, tt := range tests {
		got, err := eventPurges(routes, tt.typ, tt.data)
		if (err != nil) != tt.poison || !maps.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("eventPurges(%s, %v) = %v, %v; want %v, error %v", tt.typ, tt.data, got, err, tt.want, tt.poison)
		}
	}
	if got := eventTopics(routes); !slices.Equal(got, []string{shared.TopicInventory, shared.TopicProduct}) {
		t.Errorf("eventTopics = %v", got)
	}
	if _, _, err := expandPath("/x/{id", nil); err == nil {
		t.Error("expandPath with an unclosed { : err = nil")
	}
	p := newEventPurger(tableCache(t, nil), routes, slog.New(slog.DiscardHandler), shared.NewMetrics("gateway"))
	if err := p.handle(t.Context(), testEvent(t, "product.updated", "p1", map[string]any{"sku": "SKU-1"})); !errors.Is(err, shared.ErrPoison) {
		t.Errorf("product.updated without product_id: err = %v, want ErrPoison", err)
	}
}
