package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestWellKnownAtRoot: discovery and the key set are served at the gateway's root from auth, with
// auth's cache headers, through the same chain as /auth/... (identity headers a client sends never
// reach auth); other methods and other /.well-known paths are refused.
func TestWellKnownAtRoot(t *testing.T) {
	t.Parallel()
	auth := newUpstream(t, "auth")
	auth.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"path":"` + r.URL.Path + `","user":"` + r.Header.Get("X-User-ID") + `"}`))
	})
	e := newTestEnv(t, map[string]string{"AUTH_SERVICE_URLS": auth.server.URL})
	tests := []struct {
		method, target string
		header         http.Header
		status         int
		body, cache    string
	}{
		{"GET", "/.well-known/jwks.json", nil, 200, `{"path":"/.well-known/jwks.json","user":""}`, "public, max-age=300"},
		{"GET", "/.well-known/openid-configuration", nil, 200, `{"path":"/.well-known/openid-configuration","user":""}`, "public, max-age=300"},
		{"HEAD", "/.well-known/jwks.json", nil, 200, "", "public, max-age=300"},
		{"GET", "/.well-known/jwks.json?x=1", nil, 200, `"path":"/.well-known/jwks.json"`, "public, max-age=300"},
		{"GET", "/.well-known/jwks.json", http.Header{"X-User-Id": {"admin"}, "Cookie": {"session=forged"}}, 200, `"user":""`, "public, max-age=300"},
		{"POST", "/.well-known/jwks.json", nil, 405, "", ""},
		{"DELETE", "/.well-known/openid-configuration", nil, 405, "", ""},
		{"GET", "/.well-known/other", nil, 404, `"code":"not_found"`, ""},
		{"GET", "/.well-known/jwks.json/../../user/users", nil, 307, `href="/user/users"`, ""}, // cleaned by the mux, never sent to auth
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := e.do(t, tt.method, tt.target, tt.header)
			if rec.Code != tt.status {
				t.Fatalf("%s %s: status = %d, want %d (body %q)", tt.method, tt.target, rec.Code, tt.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("%s %s: body = %q, want it to contain %q", tt.method, tt.target, rec.Body, tt.body)
			}
			if got := rec.Header().Get("Cache-Control"); tt.cache != "" && got != tt.cache {
				t.Errorf("%s %s: Cache-Control = %q, want auth's %q", tt.method, tt.target, got, tt.cache)
			}
		})
	}
}

// TestWellKnownAuthDown: with auth unreachable the root documents answer 503 in the error shape,
// like /auth/... does.
func TestWellKnownAuthDown(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	rec := e.do(t, "GET", "/.well-known/jwks.json", nil)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":"unavailable"`) {
		t.Fatalf("GET /.well-known/jwks.json with auth down: %d %q, want 503 unavailable", rec.Code, rec.Body)
	}
}

// TestProductListSearchAliasCache: the product list's cache key holds the whole query, so search=
// (the alias of q) never shares an entry across different searches.
func TestProductListSearchAliasCache(t *testing.T) {
	t.Parallel()
	product := newUpstream(t, "product")
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": product.server.URL})
	steps := []struct{ target, status, body string }{
		{"/product/products?search=mug", cacheMiss, "product /products?search=mug"},
		{"/product/products?search=tent", cacheMiss, "product /products?search=tent"},
		{"/product/products?search=mug", cacheHit, "product /products?search=mug"},
		{"/product/products?q=mug", cacheMiss, "product /products?q=mug"},
		{"/product/products?q=mug&search=tent", cacheMiss, "product /products?q=mug&search=tent"},
	}
	for _, s := range steps {
		rec := e.do(t, "GET", s.target, nil)
		if cacheStatus(rec) != s.status || rec.Body.String() != s.body {
			t.Errorf("GET %s: %s %q, want %s %q", s.target, cacheStatus(rec), rec.Body, s.status, s.body)
		}
	}
}
