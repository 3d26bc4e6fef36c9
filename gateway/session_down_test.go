package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestSessionUnresolvedIsNot401: a signed-in visitor (session cookie) whose session the gateway cannot
// exchange because auth is down or answers 503 (its Redis is) passes on anonymous, so public routes
// still serve; but a route that needs a signed-in caller must answer 503, not the upstream's 401. A
// 401 tells the client it is signed out: before, a Redis outage of a few seconds answered every
// cookie request to /user/users/me, /order/orders ... 401 "authentication required".
func TestSessionUnresolvedIsNot401(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable) // auth with its Redis frozen
	}))
	t.Cleanup(down.Close)
	up := newUpstream(t, "svc")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/products" || r.Header.Get("Authorization") != "" {
			io.WriteString(w, "ok")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"code":"unauthorized","message":"authentication required","request_id":"x"}}`)
	})
	cookie := http.Header{"Cookie": {"session_id=s1"}}
	for name, authURL := range map[string]string{"auth answers 503": down.URL, "auth unreachable": "http://" + sharedtest.ClosedAddr} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, map[string]string{"AUTH_URL": authURL, "USER_SERVICE_URLS": up.server.URL,
				"PRODUCT_SERVICE_URLS": up.server.URL, "GATEWAY_RATE_LIMIT": "off", "GATEWAY_USER_RATE_LIMIT": "off"})
			rec := e.do(t, "GET", "/user/users/me", cookie)
			var body struct {
				Error struct{ Code, RequestID string } `json:"error"`
			}
			json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != http.StatusServiceUnavailable || body.Error.Code != shared.CodeUnavailable || rec.Header().Get("Retry-After") == "" {
				t.Errorf("GET /user/users/me with a cookie auth cannot check: status = %d, body %s, Retry-After %q; want 503 unavailable with Retry-After",
					rec.Code, rec.Body, rec.Header().Get("Retry-After"))
			}
			if rec := e.do(t, "GET", "/product/products", cookie); rec.Code != http.StatusOK {
				t.Errorf("GET /product/products with a cookie auth cannot check: status = %d, want 200 (public, anonymous)", rec.Code)
			}
			if rec := e.do(t, "GET", "/user/users/me", nil); rec.Code != http.StatusUnauthorized {
				t.Errorf("GET /user/users/me without a cookie: status = %d, want the upstream's 401", rec.Code)
			}
		})
	}
}
