package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// hungTransport stands for two upstreams: hung:1 accepted the connection and never answers (a
// SIGSTOPped process), so a try there ends only with its context or after headerTimeout, as the real
// transport's ResponseHeaderTimeout would; every other host answers at once with a body that takes
// bodyDelay to arrive.
type hungTransport struct {
	headerTimeout time.Duration
	bodyDelay     time.Duration
	hungTries     atomic.Int64
}

func (h *hungTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "hung:1" {
		h.hungTries.Add(1)
		t := time.NewTimer(h.headerTimeout)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-t.C:
			return nil, &timeoutError{}
		}
	}
	body := io.NopCloser(strings.NewReader(`{"ok":true}`))
	if h.bodyDelay > 0 {
		pr, pw := io.Pipe()
		go func() {
			time.Sleep(h.bodyDelay)
			pw.Write([]byte(`{"ok":true}`))
			pw.Close()
		}()
		body = pr
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: body, Request: r}, nil
}

type timeoutError struct{}

func (*timeoutError) Error() string   { return "timeout awaiting response headers" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

func hungProxy(tb testing.TB, tr http.RoundTripper, tryTimeout time.Duration, hosts ...string) *proxy {
	tb.Helper()
	px := newProxy("product", testPool(tb, hosts...), tr, &bufferPool{}, slog.New(slog.DiscardHandler), shared.NewMetrics("gateway"))
	px.tryTimeout = tryTimeout
	return px
}

// TestHungInstanceCostsAtMostTryTimeout: one of two product instances never answers. Every GET is
// answered 200 by the other within the 800 ms try timeout (not the 10 s header timeout), and after
// five such tries the hung instance's breaker is open, so later GETs no longer pay even that.
func TestHungInstanceCostsAtMostTryTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tr := &hungTransport{headerTimeout: 10 * time.Second}
		px := hungProxy(t, tr, 800*time.Millisecond, "hung:1", "ok:1")
		var slowest time.Duration
		for i := range 20 {
			start := time.Now()
			rec := httptest.NewRecorder()
			px.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/product/products/p1", nil))
			took := time.Since(start)
			slowest = max(slowest, took)
			if rec.Code != 200 {
				t.Fatalf("GET %d: status = %d, want 200 from the healthy instance; body %s", i, rec.Code, rec.Body)
			}
			if took > time.Second {
				t.Fatalf("GET %d took %s with a hung instance, want <= 1s", i, took)
			}
		}
		if n := tr.hungTries.Load(); n != 5 {
			t.Errorf("tries sent to the hung instance = %d, want 5 (then its breaker opens)", n)
		}
		if st := px.pool.instances[0].breaker.State(); st != StateOpen {
			t.Errorf("hung instance's breaker = %s, want open", st)
		}
		t.Logf("slowest GET with one hung instance: %s", slowest)
	})
}

// TestTryTimeoutSparesSlowBodies: the try timeout bounds the wait for headers only; a body that
// streams for longer than it still arrives whole.
func TestTryTimeoutSparesSlowBodies(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		px := hungProxy(t, &hungTransport{bodyDelay: 3 * time.Second}, 800*time.Millisecond, "a:1", "b:1")
		rec := httptest.NewRecorder()
		px.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/product/products", nil))
		if rec.Code != 200 || rec.Body.String() != `{"ok":true}` {
			t.Fatalf("GET with a 3 s body: %d %q, want 200 and the whole body", rec.Code, rec.Body)
		}
	})
}

// TestFirstTryLimit: only bodiless GET/HEAD of a service with another instance get the short first
// try; writes are never hedged.
func TestFirstTryLimit(t *testing.T) {
	t.Parallel()
	two := hungProxy(t, http.DefaultTransport, 800*time.Millisecond, "a:1", "b:1")
	one := hungProxy(t, http.DefaultTransport, 800*time.Millisecond, "a:1")
	off := hungProxy(t, http.DefaultTransport, 0, "a:1", "b:1")
	upgrade := httptest.NewRequest(http.MethodGet, "/realtime/ws", nil)
	upgrade.Header.Set("Connection", "Upgrade")
	upgrade.Header.Set("Upgrade", "websocket")
	tests := []struct {
		name string
		px   *proxy
		req  *http.Request
		want time.Duration
	}{
		{"GET two instances", two, httptest.NewRequest(http.MethodGet, "/p", nil), 800 * time.Millisecond},
		{"HEAD two instances", two, httptest.NewRequest(http.MethodHead, "/p", nil), 800 * time.Millisecond},
		{"GET one instance", one, httptest.NewRequest(http.MethodGet, "/p", nil), 0},
		{"GET turned off", off, httptest.NewRequest(http.MethodGet, "/p", nil), 0},
		{"POST", two, httptest.NewRequest(http.MethodPost, "/p", strings.NewReader("{}")), 0},
		{"DELETE", two, httptest.NewRequest(http.MethodDelete, "/p", nil), 0},
		{"GET with a body", two, httptest.NewRequest(http.MethodGet, "/p", strings.NewReader("x")), 0},
		{"WebSocket upgrade", two, upgrade, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &retryTransport{proxy: tt.px}
			if got := rt.firstTryLimit(tt.req); got != tt.want {
				t.Errorf("%s %s: first try limit = %s, want %s", tt.req.Method, tt.name, got, tt.want)
			}
		})
	}
}

// TestHungInstanceClientLeaves: a client that gives up during the short first try is not retried
// and does not count against the instance.
func TestHungInstanceClientLeaves(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tr := &hungTransport{headerTimeout: 10 * time.Second}
		px := hungProxy(t, tr, 800*time.Millisecond, "hung:1", "ok:1")
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		rec := httptest.NewRecorder()
		px.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/product/p", nil).WithContext(ctx))
		if rec.Code != 499 {
			t.Errorf("client gone: status = %d, want 499", rec.Code)
		}
		if c := px.pool.instances[0].breaker.Counts(); c.TotalFailures != 0 {
			t.Errorf("client gone: breaker failures = %d, want 0", c.TotalFailures)
		}
	})
}

// TestWriteTimeoutSaysCheckFirst: a write whose upstream took it and never answered may have been
// applied: the 503 must not tell the client to try again (nor carry Retry-After), or a stock
// adjustment or any other non-idempotent write is made twice. Measured before: an admin's
// POST /inventory/inventory/{sku}/adjust {"delta":5} to a SIGSTOPped inventory copy answered 503
// "inventory service is unavailable, try again" after 10 s; the retry went to the other copy, and
// once the hung copy resumed it applied the first one too: on_hand 7 → 17. A write that never
// reached an instance (connect failure) and a read keep the retry advice.
func TestWriteTimeoutSaysCheckFirst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		px := hungProxy(t, &hungTransport{headerTimeout: 10 * time.Second}, 0, "hung:1")
		for _, tt := range []struct {
			method    string
			body      io.Reader
			tryAgain  bool
			wantRetry string
		}{
			{http.MethodPost, strings.NewReader(`{"delta":5}`), false, ""},
			{http.MethodDelete, nil, false, ""},
			{http.MethodGet, nil, true, "1"},
		} {
			rec := httptest.NewRecorder()
			px.ServeHTTP(rec, httptest.NewRequest(tt.method, "/product/products/p1", tt.body))
			msg := sharedtest.Decode[sharedtest.ErrorBody](t, rec).Error.Message
			if rec.Code != http.StatusServiceUnavailable || strings.Contains(msg, "try again") != tt.tryAgain ||
				rec.Header().Get("Retry-After") != tt.wantRetry {
				t.Errorf("%s to a hung instance: %d %q Retry-After %q; want 503, \"try again\" in the message: %v, Retry-After %q",
					tt.method, rec.Code, msg, rec.Header().Get("Retry-After"), tt.tryAgain, tt.wantRetry)
			}
		}
	})
	dead := hungProxy(t, http.DefaultTransport, 0, sharedtest.ClosedAddr)
	rec := httptest.NewRecorder()
	dead.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/product/products", strings.NewReader(`{}`)))
	if msg := sharedtest.Decode[sharedtest.ErrorBody](t, rec).Error.Message; rec.Code != http.StatusServiceUnavailable || !strings.Contains(msg, "try again") {
		t.Errorf("POST to an instance that refuses connections: %d %q, want 503 with \"try again\" (nothing was sent)", rec.Code, msg)
	}
}
