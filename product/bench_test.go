package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// benchCatalog fills store with n products over five categories and prices from 1.00 to 500.00.
func benchCatalog(tb testing.TB, store productStore, n int) {
	tb.Helper()
	cats := []string{"electronics", "books", "home-kitchen", "clothing", "sports"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		p := testProduct(fmt.Sprintf("BENCH-%05d", i), fmt.Sprintf("Product %d wireless edition", i),
			"A sturdy, well-reviewed product for everyday use, with a two-year warranty.", cats[i%len(cats)],
			int64(100+(i*7919)%49900), base.Add(time.Duration(i)*time.Second))
		ev, _ := createdEvent(p, 10, base)
		if err := store.Create(context.Background(), p, ev); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkProductList serves a filtered page of 20 (category + price range, sorted by price) from a
// 1,000-product in-memory catalog through the whole handler stack: routing, request ID, access log
// (JSON, discarded), metrics, auth middleware, JSON and ETag. Run on one core:
//
//	go test -run '^$' -bench ProductList -benchtime 2s -cpu 1 ./product/
func BenchmarkProductList(b *testing.B) {
	iss := sharedtest.NewIssuer(b)
	logger := shared.NewLogger(io.Discard, "product", "info")
	metrics := shared.NewMetrics("product")
	store := newMemProductStore()
	benchCatalog(b, store, 1000)
	h := NewServer(logger, metrics, shared.NewReadiness(), iss.Verifier(), store, func() {})
	path := "/products?category=electronics&minPrice=10&maxPrice=400&sort=price&limit=20"

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	var l listBody
	if err := json.Unmarshal(w.Body.Bytes(), &l); w.Code != http.StatusOK || err != nil || len(l.Items) != 20 {
		b.Fatalf("GET %s: status = %d, %d items (err %v), want 200 with 20", path, w.Code, len(l.Items), err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	dw := &discardWriter{h: http.Header{}}
	for b.Loop() {
		clear(dw.h)
		dw.status = 0
		h.ServeHTTP(dw, httptest.NewRequest("GET", path, nil))
		if dw.status != http.StatusOK {
			b.Fatalf("GET %s: status = %d", path, dw.status)
		}
	}
	// This machine is shared, so wall-clock req/s says more about the neighbours than about this code;
	// req/cpu-s divides by the CPU time the process actually got (GC included).
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "req/cpu-s")
}

// discardWriter is a ResponseWriter that keeps the status and drops the body, as a network connection
// would (httptest.ResponseRecorder's growing buffer would be most of the garbage otherwise).
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }

// cpuTime returns the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAdminProductList serves the admin's filtered product list (a page of 20, inactive
// products included, as the admin page asks) from a 1,000-product in-memory catalog through the
// whole handler stack, one filter per sub-benchmark. The admin pages' budget is 30 ms. Run:
//
//	go test -run '^$' -bench AdminProductList -benchtime 500x ./product/
func BenchmarkAdminProductList(b *testing.B) {
	iss := sharedtest.NewIssuer(b)
	store := newMemProductStore()
	benchCatalog(b, store, 1000)
	h := NewServer(shared.NewLogger(io.Discard, "product", "info"), shared.NewMetrics("product"), shared.NewReadiness(), iss.Verifier(), store, func() {})
	admin := iss.Bearer(b, sharedtest.Admin)
	for _, q := range []string{"", "&q=wireless&sort=name", "&sku=BENCH-004", "&active=false", "&category=books&active=true&sort=price_desc"} {
		path := "/products?include_inactive=true&limit=20" + q
		b.Run(q, func(b *testing.B) {
			b.ReportAllocs()
			dw := &discardWriter{h: http.Header{}}
			for b.Loop() {
				clear(dw.h)
				dw.status = 0
				r := httptest.NewRequest("GET", path, nil)
				r.Header.Set("Authorization", admin)
				h.ServeHTTP(dw, r)
				if dw.status != http.StatusOK {
					b.Fatalf("GET %s: status = %d", path, dw.status)
				}
			}
		})
	}
}
