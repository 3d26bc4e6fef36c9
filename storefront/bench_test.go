package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPages measures a full page render through NewServer, fake gateway calls included
// (loopback HTTP): go test -run XXX -bench Pages -benchtime 300x ./storefront/
func BenchmarkPages(b *testing.B) {
	gw := newFakeGateway(b)
	h := newTestServer(b, gw)
	for _, path := range []string{"/", "/products", "/products?category=garden&sort=price_asc&page=1", "/products/p05"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: status = %d", path, rec.Code)
				}
			}
		})
	}
}
