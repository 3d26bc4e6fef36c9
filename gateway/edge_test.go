package main

import (
	"net/http"
	"net/http/httptest"
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
