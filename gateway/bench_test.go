package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// newCatalogUpstream serves the same 2 KiB JSON catalog page to every request, closed when b ends.
func newCatalogUpstream(b *testing.B) *httptest.Server {
	body := `{"items":[` + strings.Repeat(`{"id":"p","name":"Product","price":9.99},`, 50) + `{}],"total":51}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	b.Cleanup(up.Close)
	return up
}

// BenchmarkProxy measures one request through the gateway over loopback HTTP, client → gateway →
// upstream, with a 2 KiB JSON body: pass-through (uncached), a cache HIT from the in-process layer,
// and a HIT from the shared store (in-process layer off). The store is in memory unless
// REDIS_TEST_URL points at a Redis, which makes "hit-store" a real Redis round trip.
//
//	go test -run '^$' -bench BenchmarkProxy -benchtime 20000x ./gateway/
func BenchmarkProxy(b *testing.B) {
	up := newCatalogUpstream(b)

	for _, bc := range []struct {
		name, target, l1 string
	}{
		{"passthrough", "/order/orders", "2s"},
		{"passthrough-std", "/order/orders", "2s"},
		{"hit-l1", "/product/products", "2s"},
		{"hit-store", "/product/products", "0s"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			full := map[string]string{"LOG_LEVEL": "error", "GATEWAY_RATE_LIMIT": "1000000/s:1000000", "GATEWAY_CACHE_L1_TTL": bc.l1,
				"ORDER_SERVICE_URLS": up.URL, "PRODUCT_SERVICE_URLS": up.URL}
			if bc.name == "passthrough-std" {
				full["GATEWAY_UPSTREAM_TRANSPORT"] = "std"
			}
			cfg, err := loadConfig(func(k string) string { return full[k] })
			if err != nil {
				b.Fatal(err)
			}
			var kv kvStore = newMemStore()
			if rdb := sharedtest.Redis(b); rdb != nil {
				kv = newRedisStore(rdb, 0)
			}
			logger := slog.New(slog.DiscardHandler)
			metrics := shared.NewMetrics("gateway")
			gw := newGateway(logger, cfg, metrics, kv)
			gw.cache.purge(b.Context(), "product")
			srv := httptest.NewServer(NewServer(logger, cfg, metrics, shared.NewReadiness(), gw))
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
			url := srv.URL + bc.target
			get := func() string {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: status = %d, want 200", bc.target, resp.StatusCode)
				}
				return resp.Header.Get("X-Cache-Status")
			}
			get() // warm: fills the cache
			want := map[string]string{"passthrough": cacheBypass, "passthrough-std": cacheBypass, "hit-l1": cacheHit, "hit-store": cacheHit}[bc.name]
			if got := get(); got != want {
				b.Fatalf("GET %s: X-Cache-Status = %q, want %q", bc.target, got, want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get()
				}
			})
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing, with a fresh header map per request like
// net/http's: BenchmarkHandler measures the gateway's own per-request work without the network.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkHandler runs requests through NewServer's handler in process (no sockets): the cost of the
// middleware, routing, cache lookup and header work of a HIT, and of a pass-through to a loopback
// upstream.
//
//	go test -run '^$' -bench BenchmarkHandler -benchmem ./gateway/
func BenchmarkHandler(b *testing.B) {
	up := newCatalogUpstream(b)
	// hit-stack is a HIT through the middleware stack alone, without hitPath in front.
	for _, bc := range []struct{ name, target string }{{"hit", "/product/products"}, {"hit-stack", "/product/products"}, {"passthrough", "/order/orders"}} {
		b.Run(bc.name, func(b *testing.B) {
			full := map[string]string{"LOG_LEVEL": "warn", "GATEWAY_RATE_LIMIT": "off", "GATEWAY_USER_RATE_LIMIT": "off",
				"ORDER_SERVICE_URLS": up.URL, "PRODUCT_SERVICE_URLS": up.URL}
			cfg, err := loadConfig(func(k string) string { return full[k] })
			if err != nil {
				b.Fatal(err)
			}
			logger := shared.NewLogger(io.Discard, "gateway", "warn")
			metrics := shared.NewMetrics("gateway")
			gw := newGateway(logger, cfg, metrics, newMemStore())
			h := NewServer(logger, cfg, metrics, shared.NewReadiness(), gw)
			if bc.name == "hit-stack" {
				h = newStack(logger, cfg, metrics, shared.NewReadiness(), gw)
			}
			serve := func() string {
				req := httptest.NewRequest("GET", bc.target, nil)
				req.Header.Set("User-Agent", "wrk")
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				return w.h.Get("X-Cache-Status")
			}
			serve()
			want := map[string]string{"hit": cacheHit, "hit-stack": cacheHit, "passthrough": cacheBypass}[bc.name]
			if got := serve(); got != want {
				b.Fatalf("GET %s: X-Cache-Status = %q, want %q", bc.target, got, want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				serve()
			}
		})
	}
}

// BenchmarkEntryCodec is one cache entry (a 2 KiB JSON list, its headers) stored and read back, in the
// binary format and in JSON, the standard path it replaces.
//
//	go test -run '^$' -bench BenchmarkEntryCodec -benchmem ./gateway/
func BenchmarkEntryCodec(b *testing.B) {
	now := time.Now()
	e := &entry{Status: 200, Body: []byte(`{"items":[` + strings.Repeat(`{"id":"p","name":"Product","price":9.99},`, 50) + `{}],"total":51}`),
		Header: http.Header{"Content-Type": {"application/json"}, "Etag": {`"v1"`}, "Cache-Control": {"public, max-age=30"}, "Vary": {"Origin"}},
		Stored: now, FreshUntil: now.Add(time.Minute), StaleUntil: now.Add(6 * time.Minute)}
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeEntry(encodeEntry(e)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := json.Marshal(e)
			if err != nil {
				b.Fatal(err)
			}
			var got entry
			if err := json.Unmarshal(v, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}
