package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
)

func TestRateLimit(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "auth")
	e := newTestEnv(t, map[string]string{
		"AUTH_SERVICE_URLS":       up.server.URL,
		"PRODUCT_SERVICE_URLS":    up.server.URL,
		"GATEWAY_RATE_LIMIT":      "1/h:5",
		"GATEWAY_AUTH_RATE_LIMIT": "1/h:2",
	})
	send := func(method, target, ip string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		req.RemoteAddr = ip + ":1234"
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		return rec
	}
	for i := range 2 {
		if rec := send("POST", "/auth/login", "10.0.0.1"); rec.Code != http.StatusOK {
			t.Fatalf("login #%d: status = %d, want 200", i+1, rec.Code)
		}
	}
	rec := send("POST", "/auth/login", "10.0.0.1")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("third login within the burst of 2: status = %d, want 429", rec.Code)
	}
	if rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), `"code":"too_many_requests"`) {
		t.Errorf("429: headers %v body %s, want Retry-After and the error shape", rec.Header(), rec.Body)
	}
	if rec.Header().Get("RateLimit-Remaining") != "0" || rec.Header().Get("RateLimit-Limit") != "2" {
		t.Errorf("429: RateLimit headers %v", rec.Header())
	}
	// Other routes still have budget (the general bucket spent 2 of 5).
	for i := range 3 {
		if rec := send("GET", "/product/products", "10.0.0.1"); rec.Code != http.StatusOK {
			t.Fatalf("GET #%d after login limit: status = %d, want 200", i+1, rec.Code)
		}
	}
	if rec := send("GET", "/product/products", "10.0.0.1"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("sixth request within a burst of 5: status = %d, want 429", rec.Code)
	}
	// Another client is not affected; health endpoints are never limited.
	if rec := send("POST", "/auth/login", "10.0.0.2"); rec.Code != http.StatusOK {
		t.Errorf("login from another IP: status = %d, want 200", rec.Code)
	}
	if rec := send("GET", "/health", "10.0.0.1"); rec.Code != http.StatusOK {
		t.Errorf("GET /health when limited: status = %d, want 200", rec.Code)
	}

	// Redis down: fail open.
	e.kv.SetErr(errors.New("connection refused"))
	if rec := send("POST", "/auth/login", "10.0.0.1"); rec.Code != http.StatusOK {
		t.Errorf("login with Redis down: status = %d, want 200 (fail open)", rec.Code)
	}
}

// TestAuthRateLimitCoversRecovery: the anonymous recovery routes share the stricter auth budget.
func TestAuthRateLimitCoversRecovery(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "auth")
	e := newTestEnv(t, map[string]string{"AUTH_SERVICE_URLS": up.server.URL, "GATEWAY_RATE_LIMIT": "off", "GATEWAY_AUTH_RATE_LIMIT": "1/h:2"})
	for i, route := range []string{"/auth/password/forgot", "/auth/password/reset", "/auth/email/verify"} {
		ip := fmt.Sprintf("10.0.1.%d:1234", i+1)
		var codes []int
		for range 3 {
			req := httptest.NewRequest("POST", route, nil)
			req.RemoteAddr = ip
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			codes = append(codes, rec.Code)
		}
		if codes[0] != http.StatusOK || codes[1] != http.StatusOK || codes[2] != http.StatusTooManyRequests {
			t.Errorf("POST %s three times within a burst of 2: %v, want 200 200 429", route, codes)
		}
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{"20/s:200": true, "10/m:20": true, "1/h:1": true, "0/s:1": false, "x": false,
		"5/d:1": false, "5/s": false, "5/s:-1": false, "off": true} {
		_, err := parseRate(in)
		if (err == nil) != ok {
			t.Errorf("parseRate(%q): err = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*") // the gateway owns CORS
		w.Write([]byte("ok"))
	})
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	tests := []struct {
		method, origin string
		wantStatus     int
		wantACAO       string
	}{
		{"OPTIONS", "http://localhost:3000", http.StatusNoContent, "http://localhost:3000"},
		{"OPTIONS", "http://evil.test", http.StatusNoContent, ""},
		{"GET", "http://localhost:3000", http.StatusOK, "http://localhost:3000"},
		{"GET", "http://evil.test", http.StatusOK, ""},
	}
	for _, tt := range tests {
		h := http.Header{"Origin": {tt.origin}}
		if tt.method == "OPTIONS" {
			h.Set("Access-Control-Request-Method", "POST")
		}
		rec := e.do(t, tt.method, "/product/products", h)
		if rec.Code != tt.wantStatus {
			t.Errorf("%s from %s: status = %d, want %d", tt.method, tt.origin, rec.Code, tt.wantStatus)
		}
		if got := rec.Header().Values("Access-Control-Allow-Origin"); strings.Join(got, ",") != tt.wantACAO {
			t.Errorf("%s from %s: Access-Control-Allow-Origin = %q, want %q", tt.method, tt.origin, got, tt.wantACAO)
		}
	}
}

// countingStore counts Take calls.
type countingStore struct {
	kvStore
	takes atomic.Int64
}

func (c *countingStore) Take(ctx context.Context, key string, spec rateSpec, want int, now time.Time) (rateResult, error) {
	c.takes.Add(1)
	return c.kvStore.Take(ctx, key, spec, want, now)
}

// TestRateLimitLeases: the general bucket is taken from the store in leases, so a burst of 200 costs
// 20 store calls, not 200, and the budget still holds.
func TestRateLimitLeases(t *testing.T) {
	t.Parallel()
	store := &countingStore{kvStore: newMemStore()}
	spec, _ := parseRate("1/h:200")
	l := newRateLimiter(store, Config{RateLimit: spec}, slog.New(slog.DiscardHandler), shared.NewMetrics("gateway"))
	h := l.limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	allowed := 0
	for range 210 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/product/products", nil))
		if rec.Code == http.StatusOK {
			allowed++
		}
	}
	if allowed != 200 {
		t.Errorf("210 requests against a burst of 200: %d allowed, want 200", allowed)
	}
	if n := store.takes.Load(); n > 30 {
		t.Errorf("store calls = %d for 210 requests, want about 20 (leases of 10)", n)
	}
}

// slowStore answers Take after a Redis-like round trip, so concurrent requests overlap in it.
type slowStore struct{ kvStore }

func (s *slowStore) Take(ctx context.Context, key string, spec rateSpec, want int, now time.Time) (rateResult, error) {
	time.Sleep(2 * time.Millisecond)
	return s.kvStore.Take(ctx, key, spec, want, now)
}

// TestRateLimitConcurrentBurst: concurrent requests on a cold key share one lease refill instead of
// each leasing tokens and overwriting the others' leases, so a burst inside the budget all passes,
// and a burst beyond it is cut at the budget (within one lease).
func TestRateLimitConcurrentBurst(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		burst, requests, wantMin, wantMax int
	}{
		{burst: 150, requests: 60, wantMin: 60, wantMax: 60},
		{burst: 100, requests: 300, wantMin: 100 - 5, wantMax: 100},
	} {
		spec, _ := parseRate(fmt.Sprintf("1/h:%d", tt.burst))
		l := newRateLimiter(&slowStore{kvStore: newMemStore()}, Config{RateLimit: spec}, slog.New(slog.DiscardHandler), shared.NewMetrics("gateway"))
		h := l.limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range tt.requests {
			wg.Go(func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", "/order/orders", nil))
				if rec.Code == http.StatusOK {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := int(allowed.Load()); n < tt.wantMin || n > tt.wantMax {
			t.Errorf("%d concurrent requests against a burst of %d: %d allowed, want %d..%d", tt.requests, tt.burst, n, tt.wantMin, tt.wantMax)
		}
	}
}

func TestHSTS(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL, "TRUSTED_PROXIES": "10.0.0.0/8"})
	tests := []struct {
		remote, proto string
		want          bool
	}{
		{"10.1.2.3:4", "https", true},
		{"10.1.2.3:4", "", false},
		{"192.0.2.1:4", "https", false}, // a client cannot ask for it
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/health", nil)
		req.RemoteAddr = tt.remote
		if tt.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tt.proto)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tt.want {
			t.Errorf("GET /health from %s proto %q: HSTS = %v, want %v", tt.remote, tt.proto, got, tt.want)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"20/s:200", "10/m:20", "off", "1/h:1", "0/s:1", "/:", "5/s:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRate(s)
		if err != nil || r.Rate == 0 {
			return
		}
		if r.Rate < 0 || r.Burst <= 0 || r.interval() <= 0 {
			t.Fatalf("parseRate(%q) = %+v: accepted a bucket that cannot work", s, r)
		}
	})
}

// TestRateLimitPerCredential: one bearer token used from many addresses is bounded by its own bucket;
// another token, or the same addresses without it, are not affected.
func TestRateLimitPerCredential(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "user")
	e := newTestEnv(t, map[string]string{
		"USER_SERVICE_URLS":       up.server.URL,
		"GATEWAY_RATE_LIMIT":      "1/h:100",
		"GATEWAY_USER_RATE_LIMIT": "1/h:3",
	})
	send := func(ip, auth string) int {
		req := httptest.NewRequest("GET", "/user/users/me", nil)
		req.RemoteAddr = ip + ":1"
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		return rec.Code
	}
	for i, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		if code := send(ip, "Bearer stolen"); code != http.StatusOK {
			t.Fatalf("request %d with the token: status = %d, want 200", i+1, code)
		}
	}
	if code := send("10.0.0.4", "Bearer stolen"); code != http.StatusTooManyRequests {
		t.Errorf("fourth request with one token from a fourth address: status = %d, want 429", code)
	}
	if code := send("10.0.0.4", "Bearer other"); code != http.StatusOK {
		t.Errorf("another token: status = %d, want 200", code)
	}
	if code := send("10.0.0.4", ""); code != http.StatusOK {
		t.Errorf("anonymous from the same address: status = %d, want 200", code)
	}
}

// wantStore records what each Take asked for.
type wantStore struct {
	kvStore
	mu    sync.Mutex
	wants []int
}

func (w *wantStore) Take(ctx context.Context, key string, spec rateSpec, want int, now time.Time) (rateResult, error) {
	w.mu.Lock()
	w.wants = append(w.wants, want)
	w.mu.Unlock()
	return w.kvStore.Take(ctx, key, spec, want, now)
}

// TestRateLimitLeasesGrowWhenBusy: a client that spends its leases fast gets leases twice as big
// each time, up to a quarter of its burst, so thousands of requests a second from one address cost
// a few store calls; a client that spends slowly keeps leases of the first size; and the budget
// holds either way.
func TestRateLimitLeasesGrowWhenBusy(t *testing.T) {
	spec, _ := parseRate("1/h:1000") // first leases of 50, at most 250
	run := func(t *testing.T, n int, gap time.Duration) (allowed int, wants []int) {
		store := &wantStore{kvStore: newMemStore()}
		l := newRateLimiter(store, Config{RateLimit: spec}, slog.New(slog.DiscardHandler), shared.NewMetrics("gateway"))
		h := l.limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		for range n {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/product/products", nil))
			if rec.Code == http.StatusOK {
				allowed++
			}
			time.Sleep(gap)
		}
		return allowed, store.wants
	}
	t.Run("busy", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			allowed, wants := run(t, 1001, 0) // no time passes: every lease is spent at once
			if allowed != 1000 {
				t.Errorf("1001 requests against a burst of 1000: %d allowed, want 1000", allowed)
			}
			if want := []int{50, 100, 200, 250, 250, 250}; !slices.Equal(wants[:min(len(wants), 6)], want) {
				t.Errorf("leases asked for %v, want %v then a refused one", wants, want)
			}
		})
	})
	t.Run("slow", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, wants := run(t, 120, 10*time.Millisecond) // 50 requests take 500 ms: not busy
			for _, w := range wants {
				if w != 50 {
					t.Fatalf("leases asked for %v, want 50 each", wants)
				}
			}
			if len(wants) < 2 {
				t.Fatalf("leases asked for %v: the test did not refill", wants)
			}
		})
	})
}
