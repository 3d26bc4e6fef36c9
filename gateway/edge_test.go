package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSecureCookiesBehindTLS: every cookie an upstream sets through the gateway is Secure when the
// request came over TLS by a trusted proxy's word, and only then: a client's own X-Forwarded-Proto
// changes nothing.
func TestSecureCookiesBehindTLS(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "auth")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "s1", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: "other", Value: "x", Path: "/"})
		w.WriteHeader(http.StatusOK)
	})
	e := newTestEnv(t, map[string]string{"AUTH_SERVICE_URLS": up.server.URL, "TRUSTED_PROXIES": "10.0.0.0/8"})
	for _, tc := range []struct {
		name, remote, proto string
		want                bool
	}{
		{"TLS proxy says https", "10.1.2.3:4", "https", true},
		{"TLS proxy says http", "10.1.2.3:4", "http", false},
		{"client claims https", "203.0.113.9:4", "https", false},
		{"plain client", "203.0.113.9:4", "", false},
	} {
		req := httptest.NewRequest("POST", "/auth/login", nil)
		req.RemoteAddr = tc.remote
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		cookies := rec.Result().Cookies()
		if rec.Code != http.StatusOK || len(cookies) != 2 {
			t.Fatalf("%s: POST /auth/login: status = %d, %d cookies, want 200 and 2", tc.name, rec.Code, len(cookies))
		}
		for _, c := range cookies {
			if c.Secure != tc.want {
				t.Errorf("%s: cookie %s Secure = %v, want %v", tc.name, c.Name, c.Secure, tc.want)
			}
		}
	}
}

// TestBodyLimits: every body-taking route answers a body over its service's limit with 413 in the
// error shape, whether the length is announced or chunked, over a real connection, and the upstream
// never sees it; a body within the limit (chunked too) arrives whole, with its length.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "any")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d %d", r.ContentLength, len(b))
	})
	env := map[string]string{"GATEWAY_MAX_BODY_BYTES": "1000", "GATEWAY_AUTH_MAX_BODY_BYTES": "100"}
	for _, s := range serviceDefaults {
		env[strings.ToUpper(s.name)+"_SERVICE_URLS"] = up.server.URL
	}
	e := newTestEnv(t, env)
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		method, path string
		size         int
		chunked      bool
		want         int
	}{
		{"POST", "/auth/login", 101, false, http.StatusRequestEntityTooLarge},
		{"POST", "/auth/login", 101, true, http.StatusRequestEntityTooLarge},
		{"POST", "/auth/register", 10 << 20, false, http.StatusRequestEntityTooLarge},
		{"POST", "/auth/token", 2 << 20, true, http.StatusRequestEntityTooLarge},
		{"POST", "/auth/login", 100, true, http.StatusOK},
		{"POST", "/order/orders", 1001, false, http.StatusRequestEntityTooLarge},
		{"POST", "/order/orders", 2 << 20, true, http.StatusRequestEntityTooLarge},
		{"PUT", "/user/users/me", 1001, true, http.StatusRequestEntityTooLarge},
		{"PATCH", "/product/products/p1", 1001, false, http.StatusRequestEntityTooLarge},
		{"POST", "/inventory/inventory/batch", 1000, true, http.StatusOK},
		{"POST", "/order/orders", 1000, false, http.StatusOK},
	} {
		before := up.calls.Load()
		var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("a"), tc.size))
		if tc.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Errorf("%s %s with %d bytes (chunked %v): %v, want an answer", tc.method, tc.path, tc.size, tc.chunked, err)
			continue
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s with %d bytes (chunked %v): status = %d, want %d (%s)", tc.method, tc.path, tc.size, tc.chunked, resp.StatusCode, tc.want, got)
			continue
		}
		if tc.want == http.StatusOK {
			if want := fmt.Sprintf("%d %d", tc.size, tc.size); string(got) != want {
				t.Errorf("%s %s: upstream saw length and bytes %q, want %q", tc.method, tc.path, got, want)
			}
			continue
		}
		if !strings.Contains(string(got), `"code":"too_large"`) || !resp.Close {
			t.Errorf("%s %s with %d bytes: body %s, close %v: want the error shape and a closed connection", tc.method, tc.path, tc.size, got, resp.Close)
		}
		if up.calls.Load() != before {
			t.Errorf("%s %s with %d bytes: the upstream got the request", tc.method, tc.path, tc.size)
		}
	}
}
