package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// FuzzProductListQuery: any query string on GET /products is a 200 or a 400 in the error shape.
func FuzzProductListQuery(f *testing.F) {
	for _, s := range []string{"", "category=mugs&q=blue&minPrice=1.50&maxPrice=20&sort=price_desc&page=2&limit=5",
		"minPrice=abc", "maxPrice=1e400", "sort=%24where", "q=%FF%FE", "page=-1", "limit=100000", "q=" + string(make([]byte, 300)),
		"category=%7B%22%24ne%22%3Anull%7D", "minPrice=5&maxPrice=1", "page=99999999999999999999"} {
		f.Add(s)
	}
	e := newTestEnv(f, true)
	f.Fuzz(func(t *testing.T, query string) {
		rec := sharedtest.ServeFuzz(t, e.h, http.MethodGet, "/products?"+query, "", nil)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("GET /products?%s: status %d", query, rec.Code)
		}
	})
}

// FuzzProductInput: any body on POST /products is a 201 or a 4xx in the error shape; what is stored
// holds no replacement characters the input did not.
func FuzzProductInput(f *testing.F) {
	for _, s := range []string{`{"sku":"F-1","name":"Thing","price":9.99,"category":"misc","stock":3}`,
		`{"sku":"F-2","name":"a\udcff","price":1,"category":"misc"}`, "{\"sku\":\"F-3\",\"name\":\"\xff\xfe\",\"price\":1,\"category\":\"misc\"}",
		`{"sku":{"$ne":1}}`, `{"price":1e400}`, `{"attributes":{"$where":"1"}}`, `[]`, ``, `{"images":["javascript:x"]}`} {
		f.Add(s)
	}
	h := handleProductCreate(shared.NewLogger(io.Discard, "product", "error"), newMemProductStore(), func() {})
	f.Fuzz(func(t *testing.T, body string) {
		sharedtest.ServeFuzz(t, h, http.MethodPost, "/products", body, &sharedtest.Admin)
	})
}
