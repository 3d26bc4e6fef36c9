package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
)

// fakeHealthTransport answers /healthz per host: a host in down fails, others answer 200.
type fakeHealthTransport struct {
	down atomic.Pointer[map[string]bool]
}

func (f *fakeHealthTransport) setDown(hosts ...string) {
	m := map[string]bool{}
	for _, h := range hosts {
		m[h] = true
	}
	f.down.Store(&m)
}

func (f *fakeHealthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if m := f.down.Load(); m != nil && (*m)[r.URL.Host] {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"status":"ok"}`)), Header: http.Header{}, Request: r}, nil
}

func testPool(tb testing.TB, hosts ...string) *pool {
	tb.Helper()
	var urls []*url.URL
	for _, h := range hosts {
		urls = append(urls, &url.URL{Scheme: "http", Host: h})
	}
	return newPool("product", urls, 0, 0, slog.New(slog.DiscardHandler), shared.NewMetrics("gateway"))
}

func healthy(p *pool) []bool {
	var out []bool
	for _, inst := range p.instances {
		out = append(out, inst.healthy.Load())
	}
	return out
}

// TestHealthChecksRemoveAndRestore runs the real check loop on synctest's clock: an instance that fails
// two checks in a row leaves the rotation, and comes back after one good check.
func TestHealthChecksRemoveAndRestore(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := testPool(t, "a:1", "b:1")
		tr := &fakeHealthTransport{}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go runHealthChecks(ctx, []*pool{p}, &http.Client{Transport: tr}, 3*time.Second)
		synctest.Wait()
		if got := healthy(p); !got[0] || !got[1] {
			t.Fatalf("at start: healthy = %v, want both", got)
		}

		tr.setDown("b:1")
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := healthy(p); !got[1] {
			t.Fatalf("after one failed check: healthy = %v, want b still in (threshold 2)", got)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := healthy(p); got[1] || !got[0] {
			t.Fatalf("after two failed checks: healthy = %v, want a only", got)
		}
		for range 4 {
			inst, done, err := p.pick(nil)
			if err != nil || inst.raw != "http://a:1" {
				t.Fatalf("pick with b down = %v, %v; want a", inst, err)
			}
			done(nil)
		}

		tr.setDown()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := healthy(p); !got[1] {
			t.Fatalf("after a good check: healthy = %v, want b back", got)
		}
		cancel()
	})
}

// TestHealthCheckStaleResultIgnored: a slow check that finishes after a newer one must not overwrite
// the newer verdict.
func TestHealthCheckStaleResultIgnored(t *testing.T) {
	t.Parallel()
	p := testPool(t, "a:1")
	inst := p.instances[0]
	logger := slog.New(slog.DiscardHandler)
	old := inst.checkSeq.Add(1)
	newer := inst.checkSeq.Add(1)
	inst.applyCheck(newer, time.Millisecond, nil, logger, "product")
	inst.applyCheck(old, time.Second, errors.New("timeout"), logger, "product")
	inst.applyCheck(old, time.Second, errors.New("timeout"), logger, "product")
	if !inst.healthy.Load() || inst.fails != 0 {
		t.Errorf("after stale failures: healthy=%v fails=%d, want healthy with 0 fails", inst.healthy.Load(), inst.fails)
	}
}

func TestPickAllOpen(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := testPool(t, "a:1", "b:1")
		for range 10 {
			_, done, err := p.pick(nil)
			if err != nil {
				t.Fatal(err)
			}
			done(errBoom)
		}
		_, _, err := p.pick(nil)
		var ni *errNoInstance
		if !errors.As(err, &ni) || ni.retryAfter != 30*time.Second {
			t.Fatalf("pick with every breaker open: err = %v, want errNoInstance with retryAfter 30s", err)
		}
		time.Sleep(10 * time.Second)
		_, _, err = p.pick(nil)
		if errors.As(err, &ni); ni.retryAfter != 20*time.Second {
			t.Errorf("10 s later: retryAfter = %s, want 20s", ni.retryAfter)
		}
	})
}

// TestPickPanicMode: with every instance failing its health check, requests still go to them (the
// breakers decide), rather than the service answering 503 because of its /healthz.
func TestPickPanicMode(t *testing.T) {
	t.Parallel()
	p := testPool(t, "a:1", "b:1")
	p.instances[0].healthy.Store(false)
	for range 4 {
		inst, done, err := p.pick(nil)
		if err != nil || inst.raw != "http://b:1" {
			t.Fatalf("pick with a unhealthy = %v, %v; want b", inst, err)
		}
		done(nil)
	}
	p.instances[1].healthy.Store(false)
	seen := map[string]bool{}
	for range 4 {
		inst, done, err := p.pick(nil)
		if err != nil {
			t.Fatalf("pick with every instance unhealthy: %v, want panic mode", err)
		}
		seen[inst.raw] = true
		done(nil)
	}
	if len(seen) != 2 {
		t.Errorf("panic mode picked %v, want both instances", seen)
	}
}

// TestRecoveredInstanceReadmittedWithinOneInterval: the only instance of a service is killed, its
// breaker opens on the failed requests (30 s timeout) and its health checks fail; once it answers
// /healthz again the next check turns the breaker half-open, so requests reach it within one health
// interval instead of after the breaker's timeout, and successful trials close it.
func TestRecoveredInstanceReadmittedWithinOneInterval(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const interval = 3 * time.Second
		p := testPool(t, "order:1")
		tr := &fakeHealthTransport{}
		tr.setDown("order:1")
		for range 5 {
			_, done, err := p.pick(nil)
			if err != nil {
				t.Fatalf("pick before the breaker opened: %v", err)
			}
			done(errBoom)
		}
		if st := p.instances[0].breaker.State(); st != StateOpen {
			t.Fatalf("after 5 failures: breaker %s, want open", st)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go runHealthChecks(ctx, []*pool{p}, &http.Client{Transport: tr}, interval)
		time.Sleep(2 * interval)
		synctest.Wait()
		if _, _, err := p.pick(nil); err == nil {
			t.Fatal("pick while the instance is down and its breaker open: admitted, want errNoInstance")
		}

		tr.setDown() // restarted
		time.Sleep(interval)
		synctest.Wait()
		inst, done, err := p.pick(nil)
		if err != nil {
			t.Fatalf("pick one health interval after the instance came back: %v, want it admitted", err)
		}
		done(nil)
		if st := inst.breaker.State(); st != StateHalfOpen {
			t.Fatalf("after one good trial: breaker %s, want half-open", st)
		}
		for range 2 {
			_, done, err := p.pick(nil)
			if err != nil {
				t.Fatalf("trial pick: %v", err)
			}
			done(nil)
		}
		if st := inst.breaker.State(); st != StateClosed {
			t.Errorf("after three good trials: breaker %s, want closed", st)
		}
		cancel()
	})
}

// TestProbeOnlyOpensTheDoorWhenOpen: Probe turns only an open breaker half-open.
func TestProbeOnlyOpensTheDoorWhenOpen(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := NewBreaker(Settings{ReadyToTrip: func(c Counts) bool { return c.ConsecutiveFailures >= 1 }})
		b.Probe()
		if st := b.State(); st != StateClosed {
			t.Fatalf("Probe on closed: %s, want closed", st)
		}
		done, _ := b.Allow()
		done(errBoom)
		b.Probe()
		if st := b.State(); st != StateHalfOpen {
			t.Fatalf("Probe on open: %s, want half-open", st)
		}
		done, _ = b.Allow()
		done(errBoom)
		if st := b.State(); st != StateOpen {
			t.Fatalf("failed trial after Probe: %s, want open again", st)
		}
		if ra := b.RetryAfter(); ra != 30*time.Second {
			t.Errorf("reopened: RetryAfter %s, want a full 30s", ra)
		}
	})
}
