package main

import (
	"net/http"
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

// FuzzAdjustBody: any body on POST /inventory/{sku}/adjust is a 200 or a 4xx in the error shape, and
// stock never goes negative.
func FuzzAdjustBody(f *testing.F) {
	for _, s := range []string{`{"delta":1,"reason":"restock"}`, `{"delta":-100,"reason":"x"}`, `{"delta":1e30,"reason":"x"}`,
		`{"delta":1,"reason":"a\udcff"}`, "{\"delta\":1,\"reason\":\"\xff\"}", `{"delta":{"$gt":0}}`, `[]`, ``} {
		f.Add(s)
	}
	ts := newTestServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		sharedtest.ServeFuzz(t, ts.h, http.MethodPost, "/inventory/MUG-1/adjust", body, &sharedtest.Admin)
		it, err := ts.s.Get(t.Context(), "MUG-1")
		if err != nil || it.OnHand < 0 || it.Reserved > it.OnHand {
			t.Fatalf("after %q: %+v, %v", body, it, err)
		}
	})
}

// FuzzStockQuery: any query on the list and batch reads is a 200 or a 400 in the error shape.
func FuzzStockQuery(f *testing.F) {
	for _, s := range []string{"", "page=2&limit=10", "limit=0", "page=abc", "skus=MUG-1,MUG-2", "skus=", "skus=%FF", "skus=%7B%22%24gt%22%3A%22%22%7D", "low_stock=true",
		"level=low&sku=mug", "level=%24ne", "sku=.%2A", "sku=%FF", "level=reserved&sku=A-"} {
		f.Add(s)
	}
	ts := newTestServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		for _, path := range []string{"/inventory?", "/inventory/batch?"} {
			rec := sharedtest.ServeFuzz(t, ts.h, http.MethodGet, path+query, "", nil)
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("GET %s%s: status %d", path, query, rec.Code)
			}
		}
	})
}
