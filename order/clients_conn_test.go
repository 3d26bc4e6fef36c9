package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestUpstreamReusesConnections: concurrent look-ups, round after round, share a pool of kept-alive
// connections instead of dialling most of them anew (DefaultTransport keeps only 2 idle per host).
func TestUpstreamReusesConnections(t *testing.T) {
	t.Parallel()
	srv, dials := dialCounting(t, `{"sku":"A-1","name":"A","price":1.00,"currency":"USD","active":true}`+"\n")
	up := newUpstream(srv.URL, "product")
	const parallel, rounds = 8, 10
	for range rounds {
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				var v map[string]any
				if err := up.getJSON(context.Background(), "/products/sku/A-1", nil, &v); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if n := dials.Load(); n > 2*parallel {
		t.Errorf("%d look-ups in rounds of %d opened %d connections, want at most %d", parallel*rounds, parallel, n, 2*parallel)
	}
}

// TestUpstreamReusesConnectionAfterExactBody: when the JSON value fills the decoder's first read
// and only the trailing newline is left, the body is still read to its end, so the connection goes
// back to the pool instead of being closed with the unread byte.
func TestUpstreamReusesConnectionAfterExactBody(t *testing.T) {
	t.Parallel()
	value := `{"sku":"A-1","name":"` + strings.Repeat("a", 512-len(`{"sku":"A-1","name":""}`)) + `"}`
	srv, dials := dialCounting(t, value+"\n")
	up := newUpstream(srv.URL, "product")
	for range 5 {
		var v map[string]any
		if err := up.getJSON(context.Background(), "/products/sku/A-1", nil, &v); err != nil {
			t.Fatal(err)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("5 sequential look-ups with a %d-byte value opened %d connections, want 1", len(value), n)
	}
}

// dialCounting serves body as JSON to every request and counts the connections clients open.
func dialCounting(t *testing.T, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	dials := new(atomic.Int32)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, dials
}
