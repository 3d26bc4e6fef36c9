package main

import (
	"net/http/httptest"
	"testing"
)

// TestCookiesSecureBehindTLS: behind a trusted TLS-terminating proxy (loopback by default) every
// storefront cookie is Secure and HSTS is sent, without STOREFRONT_COOKIE_SECURE; a client's own
// X-Forwarded-Proto changes nothing.
func TestCookiesSecureBehindTLS(t *testing.T) {
	t.Parallel()
	h := newTestServer(t, newFakeGateway(t))
	for _, tc := range []struct {
		name, remote, proto string
		want                bool
	}{
		{"trusted proxy says https", "127.0.0.1:5000", "https", true},
		{"trusted proxy says http", "127.0.0.1:5000", "http", false},
		{"client claims https", "203.0.113.9:5000", "https", false},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.remote
		req.Header.Set("X-Forwarded-Proto", tc.proto)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		cookies := rec.Result().Cookies()
		if len(cookies) == 0 {
			t.Fatalf("%s: GET /: no cookie set (status %d)", tc.name, rec.Code)
		}
		for _, c := range cookies {
			if c.Secure != tc.want {
				t.Errorf("%s: GET /: cookie %s Secure = %v, want %v", tc.name, c.Name, c.Secure, tc.want)
			}
		}
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tc.want {
			t.Errorf("%s: GET /: HSTS = %v, want %v", tc.name, got, tc.want)
		}
	}
}
