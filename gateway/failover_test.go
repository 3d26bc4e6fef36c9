package main

import (
	"context"
	"github.com/goshop/platform/shared/sharedtest"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFailover runs two product instances on real sockets behind the gateway under load from four
// clients, kills one, and checks that at most the requests in flight at the kill fail, traffic moves
// to the survivor, and the killed instance rejoins by itself after it restarts on the same address.
func TestFailover(t *testing.T) {
	t.Parallel()
	var served [2]atomic.Int64
	handler := func(i int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				served[i].Add(1)
			}
			io.WriteString(w, `{"status":"ok"}`)
		})
	}
	a := httptest.NewServer(handler(0))
	defer a.Close()
	bAddr := sharedtest.FreeAddr(t)
	startB := func() *httptest.Server {
		ln, err := net.Listen("tcp", bAddr)
		if err != nil {
			t.Fatalf("restart b on %s: %v", bAddr, err)
		}
		s := httptest.NewUnstartedServer(handler(1))
		s.Listener.Close()
		s.Listener = ln
		s.Start()
		return s
	}
	b := startB()

	e := newTestEnv(t, map[string]string{
		"PRODUCT_SERVICE_URLS":    a.URL + ",http://" + bAddr,
		"GATEWAY_BREAKER_TIMEOUT": "2s",
		"GATEWAY_RATE_LIMIT":      "100000/s:100000",
	})
	gw := httptest.NewServer(e.handler)
	defer gw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go runHealthChecks(ctx, e.gw.pools, &http.Client{Transport: newTransport(time.Second)}, 100*time.Millisecond)

	const workers = 4
	var (
		failures atomic.Int64
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Not a cached route, and a POST with a body, which is never retried, so every failure
				// shows.
				resp, err := client.Post(gw.URL+"/product/stats", "application/json", strings.NewReader(`{"a":1}`))
				if err != nil {
					failures.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
			}
		})
	}
	waitUntil(t, 10*time.Second, "both instances serve", func() bool { return served[0].Load() > 50 && served[1].Load() > 50 })
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d failures before the kill, want 0", n)
	}

	b.CloseClientConnections()
	b.Close()
	atKill := served[0].Load()
	waitUntil(t, 10*time.Second, "the survivor takes the traffic", func() bool { return served[0].Load() > atKill+500 })
	// Requests sent to b before the breaker opened and the health check took it out fail: at most
	// the breaker's 5 consecutive failures plus the requests in flight.
	if n := failures.Load(); n > 5+workers {
		t.Errorf("%d failed requests after killing one of two instances, want at most %d", n, 5+workers)
	}
	t.Logf("failed requests after the kill: %d", failures.Load())

	b = startB()
	defer b.Close()
	atRestart := served[1].Load()
	waitUntil(t, 10*time.Second, "the restarted instance rejoins", func() bool { return served[1].Load() > atRestart+50 })
	close(stop)
	wg.Wait()
}

func waitUntil(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
