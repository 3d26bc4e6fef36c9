package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
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
// never sees it; a body within the limit (chunked too) arrives whole, with its length. Clients that
// keep connections alive and clients that send Connection: close (net/http's own lingering close
// skips those) both always get the answer; each oversized row runs five times, as a reset is a race.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "any")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d %d", r.ContentLength, len(b))
	})
	e := newTestEnv(t, withEveryService(map[string]string{"GATEWAY_MAX_BODY_BYTES": "1000", "GATEWAY_AUTH_MAX_BODY_BYTES": "100",
		"GATEWAY_RATE_LIMIT": "off", "GATEWAY_AUTH_RATE_LIMIT": "off"}, up.server.URL))
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	clients := map[string]*http.Client{"keep-alive": srv.Client(),
		"Connection: close": {Transport: &http.Transport{DisableKeepAlives: true}}}
	rows := []bodyRow{
		{"POST", "/auth/login", 101, false, http.StatusRequestEntityTooLarge},
		{"POST", "/auth/login", 101, true, http.StatusRequestEntityTooLarge},
		{"POST", "/auth/register", 10 << 20, false, http.StatusRequestEntityTooLarge},
		{"POST", "/auth/token", 2 << 20, true, http.StatusRequestEntityTooLarge},
		{"POST", "/auth/login", 100, true, http.StatusOK},
		{"POST", "/order/orders", 1001, false, http.StatusRequestEntityTooLarge},
		{"POST", "/order/orders", 2 << 20, true, http.StatusRequestEntityTooLarge},
		{"PUT", "/user/users/me", 1001, true, http.StatusRequestEntityTooLarge},
		{"PATCH", "/product/products/p1", 10 << 20, false, http.StatusRequestEntityTooLarge},
		{"POST", "/inventory/inventory/batch", 1000, true, http.StatusOK},
		{"POST", "/order/orders", 1000, false, http.StatusOK},
	}
	for name, hc := range clients {
		for _, tc := range rows {
			times := 1
			if tc.want != http.StatusOK {
				times = 5
			}
			for range times {
				tc.check(t, name, hc, srv.URL, up)
			}
		}
	}
}

// bodyRow is one TestBodyLimits request: size bytes, chunked or with their length, and the status
// the gateway must answer.
type bodyRow struct {
	method, path string
	size         int
	chunked      bool
	want         int
}

func (tc bodyRow) check(t *testing.T, client string, hc *http.Client, base string, up *upstream) {
	t.Helper()
	before := up.calls.Load()
	var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("a"), tc.size))
	if tc.chunked {
		body = io.MultiReader(body) // hides the length: sent chunked
	}
	req, _ := http.NewRequest(tc.method, base+tc.path, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Errorf("%s: %s %s with %d bytes (chunked %v): %v, want an answer", client, tc.method, tc.path, tc.size, tc.chunked, err)
		return
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode != tc.want:
		t.Errorf("%s: %s %s with %d bytes (chunked %v): status = %d, want %d (%s)", client, tc.method, tc.path, tc.size, tc.chunked, resp.StatusCode, tc.want, got)
	case tc.want == http.StatusOK:
		if want := fmt.Sprintf("%d %d", tc.size, tc.size); string(got) != want {
			t.Errorf("%s %s: upstream saw length and bytes %q, want %q", tc.method, tc.path, got, want)
		}
	case !strings.Contains(string(got), `"code":"too_large"`) || !resp.Close:
		t.Errorf("%s %s with %d bytes: body %s, close %v: want the error shape and a closed connection", tc.method, tc.path, tc.size, got, resp.Close)
	case up.calls.Load() != before:
		t.Errorf("%s %s with %d bytes: the upstream got the request", tc.method, tc.path, tc.size)
	}
}

// TestStalledBody: a client whose body stops arriving (a Content-Length body cut short, an upload
// stalled past the server's ReadTimeout) is still connected and waiting: it gets a 400 in the error
// shape, not the 499 that marks a client that left (a status no client knows, without a body).
func TestStalledBody(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "any")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		io.WriteString(w, "read")
	})
	e := newTestEnv(t, withEveryService(map[string]string{"GATEWAY_RATE_LIMIT": "off"}, up.server.URL))
	srv := httptest.NewUnstartedServer(e.handler)
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /order/orders/quote HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"items\":")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("stalled body: no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"code":"invalid"`) {
		t.Errorf("stalled body: %d %q, want 400 in the error shape", resp.StatusCode, body)
	}
}

// unsafeRoutes lists every state-changing route of the services behind the gateway, read from their
// sources, as "METHOD /service/path".
func unsafeRoutes(tb testing.TB) []string {
	tb.Helper()
	var services []string
	for _, s := range serviceDefaults {
		services = append(services, s.name)
	}
	routes := sharedtest.StateChangingRoutes(tb, "..", "x1", services...)
	if len(routes) < 20 {
		tb.Fatalf("found %d state-changing routes, want 20 or more: %v", len(routes), routes)
	}
	return routes
}

// TestCrossSiteCookieRequests: for every state-changing route, a request the session cookie would
// authenticate is refused (403) when it comes from a foreign page, and must be JSON (415) even from
// the shop's own; bearer requests, cookie-less ones and non-browser ones are left alone. Login and
// register are guarded without a cookie too: a foreign page must not log the visitor in.
func TestCrossSiteCookieRequests(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "any")
	e := newTestEnv(t, withEveryService(map[string]string{"AUTH_URL": up.server.URL,
		"GATEWAY_RATE_LIMIT": "off", "GATEWAY_AUTH_RATE_LIMIT": "off", "GATEWAY_USER_RATE_LIMIT": "off"}, up.server.URL))
	const form, jsonCT = "application/x-www-form-urlencoded", "application/json"
	type row struct {
		name                       string
		cookie, bearer             bool
		origin, fetchSite, referer string
		contentType                string
		want                       int // 0: reaches the upstream
	}
	rows := []row{
		{name: "cookie, foreign Origin, form", cookie: true, origin: "http://evil.example", contentType: form, want: 403},
		{name: "cookie, foreign Origin, JSON", cookie: true, origin: "http://evil.example", contentType: jsonCT, want: 403},
		{name: "cookie, null Origin", cookie: true, origin: "null", contentType: jsonCT, want: 403},
		{name: "cookie, Sec-Fetch-Site cross-site", cookie: true, fetchSite: "cross-site", contentType: jsonCT, want: 403},
		{name: "cookie, Sec-Fetch-Site same-site", cookie: true, fetchSite: "same-site", contentType: jsonCT, want: 403},
		{name: "cookie, foreign Referer only", cookie: true, referer: "http://evil.example/page", contentType: jsonCT, want: 403},
		{name: "cookie, allowed Origin, JSON", cookie: true, origin: "http://localhost:3000", contentType: jsonCT},
		{name: "cookie, same origin, JSON", cookie: true, origin: "http://example.com", contentType: jsonCT},
		{name: "cookie, Sec-Fetch-Site same-origin, JSON", cookie: true, fetchSite: "same-origin", contentType: "application/merge-patch+json"},
		{name: "cookie, allowed Referer, JSON", cookie: true, referer: "http://localhost:3000/cart", contentType: jsonCT},
		{name: "cookie, same origin, form", cookie: true, origin: "http://example.com", contentType: form, want: 415},
		{name: "cookie, same origin, text/plain", cookie: true, origin: "http://example.com", contentType: "text/plain", want: 415},
		{name: "cookie, no browser headers, text/plain", cookie: true, contentType: "text/plain", want: 415},
		{name: "cookie, no browser headers, JSON (storefront, curl)", cookie: true, contentType: jsonCT},
		{name: "bearer and cookie, foreign Origin, form", cookie: true, bearer: true, origin: "http://evil.example", contentType: form},
		{name: "no cookie, foreign Origin, form", origin: "http://evil.example", contentType: form},
	}
	for _, route := range unsafeRoutes(t) {
		method, path, _ := strings.Cut(route, " ")
		for _, tc := range rows {
			want := tc.want
			switch {
			case want == 415 && formRoutes[route]:
				want = 0 // forms by protocol
			case want == 0 && tc.origin == "http://evil.example" && sessionCreatingRoutes[route]:
				want = 403 // login CSRF: guarded without a cookie, and with a bearer token
			}
			req := httptest.NewRequest(method, path, strings.NewReader(`{}`))
			req.Header.Set("Content-Type", tc.contentType)
			if tc.cookie {
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "victim"})
			}
			if tc.bearer {
				req.Header.Set("Authorization", "Bearer t")
			}
			for k, v := range map[string]string{"Origin": tc.origin, "Sec-Fetch-Site": tc.fetchSite, "Referer": tc.referer} {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			before := up.calls.Load()
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			reached := up.calls.Load() != before
			switch {
			case want == 0 && !reached:
				t.Errorf("%s %s (%s): status = %d, not passed on (%s)", method, path, tc.name, rec.Code, rec.Body)
			case want != 0 && (rec.Code != want || reached):
				t.Errorf("%s %s (%s): status = %d, reached upstream %v; want %d, not passed on", method, path, tc.name, rec.Code, reached, want)
			case want != 0 && !strings.Contains(rec.Body.String(), `"error":{"code":`):
				t.Errorf("%s %s (%s): body %s is not the error shape", method, path, tc.name, rec.Body)
			}
		}
	}
}

// TestCrossSiteBodylessCookieRequest: a cookie request without body and Content-Type from the shop's
// own pages passes (cancel, logout), and from a foreign page is refused.
func TestCrossSiteBodylessCookieRequest(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "order")
	e := newTestEnv(t, map[string]string{"ORDER_SERVICE_URLS": up.server.URL})
	for origin, want := range map[string]int{"http://localhost:3000": http.StatusOK, "http://evil.example": http.StatusForbidden} {
		req := httptest.NewRequest("POST", "/order/orders/o1/cancel", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "victim"})
		req.Header.Set("Origin", origin)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("POST /order/orders/o1/cancel from %s without body: status = %d, want %d", origin, rec.Code, want)
		}
	}
}
