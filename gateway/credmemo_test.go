package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
)

// TestCredentialMemo: the memo answers what the functions it replaces answer, keeps one entry per
// credential, and stays within its bound.
func TestCredentialMemo(t *testing.T) {
	t.Parallel()
	m := newCredentialMemo()
	// The bucket key must not change with the memo: buckets in Redis outlive a deploy.
	if got, want := m.get("Bearer a.b.c").bucket, "gw:rl:user:deb6b4eaa1bf3d9e501873b3"; got != want {
		t.Errorf("bucket of %q = %q, want %q", "Bearer a.b.c", got, want)
	}
	tok := testJWT("user-1")
	for i := range 3 {
		c := m.get("Bearer " + tok)
		if c.sub != "user-1" || c.sub != tokenSubject(tok) {
			t.Errorf("get #%d: sub = %q, want user-1", i+1, c.sub)
		}
		if !strings.HasPrefix(c.bucket, "gw:rl:user:") || len(c.bucket) != len("gw:rl:user:")+24 {
			t.Errorf("get #%d: bucket = %q", i+1, c.bucket)
		}
	}
	if n := m.entries.Len(); n != 2 {
		t.Errorf("entries after two credentials = %d, want 2", n)
	}
	// A session cookie (or any credential that is not a bearer token) has no subject here, even if
	// its value looks like a token; the same text as a cookie and as a token are different buckets.
	cookie := m.get("s:" + tok)
	if cookie.sub != "" {
		t.Errorf("cookie credential: sub = %q, want none", cookie.sub)
	}
	if cookie.bucket == m.get("Bearer "+tok).bucket {
		t.Error("a cookie and a bearer token with the same text share a bucket")
	}
	if c := m.get("Basic dXNlcjpwYXNz"); c.sub != "" {
		t.Errorf("Basic credential: sub = %q, want none", c.sub)
	}
	if c := m.get("Bearer not-a-jwt"); c.sub != "" {
		t.Errorf("a bearer token that is no JWT: sub = %q, want none", c.sub)
	}
	for i := range memoEntries + 10 {
		m.get(fmt.Sprintf("Bearer t%d", i))
	}
	if n := m.entries.Len(); n != memoEntries {
		t.Errorf("entries after %d credentials = %d, want the bound %d", memoEntries+10, n, memoEntries)
	}
}

// TestRateLimitHeadersOfTheLastBucket: a request that takes from its IP and its credential bucket
// carries the credential bucket's RateLimit headers, once; the IP bucket's when that one refuses it,
// or when there is no credential bucket.
func TestRateLimitHeadersOfTheLastBucket(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "user")
	send := func(e *testEnv, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/user/users/me", nil)
		req.RemoteAddr = "10.0.0.1:1"
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		return rec
	}
	check := func(name string, rec *httptest.ResponseRecorder, code int, limit, remaining string) {
		t.Helper()
		h := rec.Header()
		if rec.Code != code || len(h.Values("RateLimit-Limit")) != 1 || len(h.Values("RateLimit-Remaining")) != 1 ||
			len(h.Values("RateLimit-Reset")) != 1 || h.Get("RateLimit-Limit") != limit || h.Get("RateLimit-Remaining") != remaining {
			t.Errorf("%s: status %d, RateLimit headers %q %q %q; want %d, limit %s, remaining %s", name, rec.Code,
				h.Values("RateLimit-Limit"), h.Values("RateLimit-Remaining"), h.Values("RateLimit-Reset"), code, limit, remaining)
		}
	}

	e := newTestEnv(t, map[string]string{"USER_SERVICE_URLS": up.server.URL,
		"GATEWAY_RATE_LIMIT": "1/h:100", "GATEWAY_USER_RATE_LIMIT": "1/h:3"})
	check("with a token", send(e, "Bearer one"), http.StatusOK, "3", "2")
	check("anonymous", send(e, ""), http.StatusOK, "100", "98")
	check("with the token again", send(e, "Bearer one"), http.StatusOK, "3", "1")

	e = newTestEnv(t, map[string]string{"USER_SERVICE_URLS": up.server.URL,
		"GATEWAY_RATE_LIMIT": "1/h:2", "GATEWAY_USER_RATE_LIMIT": "1/h:50"})
	check("first", send(e, "Bearer two"), http.StatusOK, "50", "49")
	check("second", send(e, "Bearer two"), http.StatusOK, "50", "48")
	check("IP bucket empty", send(e, "Bearer two"), http.StatusTooManyRequests, "2", "0")

	e = newTestEnv(t, map[string]string{"USER_SERVICE_URLS": up.server.URL,
		"GATEWAY_RATE_LIMIT": "1/h:100", "GATEWAY_USER_RATE_LIMIT": "off"})
	check("credential limit off", send(e, "Bearer three"), http.StatusOK, "100", "99")
}

// BenchmarkCheckoutPost is the checkout's POST /order/orders with a bearer token through NewServer's
// handler, both the IP and the credential limit on (in-memory store), to a loopback upstream: the
// gateway's own per-request work of an order, plus the round trip. "credential" is what the memo
// spares each request: the bucket key and subject worked out from the token, and looked up.
//
//	go test -run '^$' -bench 'CheckoutPost|CredentialMemo' -benchmem ./gateway/
func BenchmarkCheckoutPost(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"o1","status":"pending"}`)
	}))
	b.Cleanup(up.Close)
	full := map[string]string{"LOG_LEVEL": "info", "GATEWAY_RATE_LIMIT": "100000/s:100000",
		"GATEWAY_USER_RATE_LIMIT": "100000/s:100000", "ORDER_SERVICE_URLS": up.URL}
	cfg, err := loadConfig(func(k string) string { return full[k] })
	if err != nil {
		b.Fatal(err)
	}
	logger := shared.NewLogger(io.Discard, "gateway", "info")
	metrics := shared.NewMetrics("gateway")
	h := NewServer(logger, cfg, metrics, shared.NewReadiness(), newGateway(logger, cfg, metrics, newMemStore()))
	auth := "Bearer " + testJWT("3f1c9a2e-1111-2222-3333-444455556666")
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/order/orders", strings.NewReader(`{"items":[{"sku":"X","quantity":1}]}`))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.h.Get("RateLimit-Limit") != "100000" {
			b.Fatalf("headers %v, want the credential bucket's RateLimit headers", w.h)
		}
	}
}

// BenchmarkCredentialMemo compares working out a token's bucket key and subject (what every request
// did before the memo) with looking them up.
func BenchmarkCredentialMemo(b *testing.B) {
	auth := "Bearer " + testJWT("3f1c9a2e-1111-2222-3333-444455556666")
	b.Run("worked-out", func(b *testing.B) {
		// A memo of one entry asked for two credentials in turn: every get misses, works both out
		// and stores them.
		m := &credentialMemo{entries: newLRU[credential](1)}
		other := "Bearer " + testJWT("another-subject")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if i%2 == 0 {
				m.get(auth)
			} else {
				m.get(other)
			}
		}
	})
	b.Run("memo", func(b *testing.B) {
		m := newCredentialMemo()
		m.get(auth)
		b.ReportAllocs()
		for b.Loop() {
			m.get(auth)
		}
	})
}

// TestCredentialOf: the credential a request's bucket is named after: the Authorization header
// first, else the session cookie, an empty one included (all such requests share one bucket).
func TestCredentialOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ auth, cookie, want string }{
		{"", "", ""},
		{"Bearer t", "", "Bearer t"},
		{"Bearer t", "session_id=abc", "Bearer t"},
		// One token is one bucket however its header is spelled (services accept every spelling).
		{"bearer t", "", "Bearer t"},
		{"BEARER   t", "", "Bearer t"},
		{"Basic dTpw", "", "Basic dTpw"},
		{"", "session_id=abc", "s:abc"},
		{"", "session_id=", "s:"},
		{"", "other=abc", ""},
	} {
		req := httptest.NewRequest("GET", "/user/users/me", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		if tc.cookie != "" {
			req.Header.Set("Cookie", tc.cookie)
		}
		if got := credentialOf(req); got != tc.want {
			t.Errorf("Authorization %q, Cookie %q: credential %q, want %q", tc.auth, tc.cookie, got, tc.want)
		}
	}
}
