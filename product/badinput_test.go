package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestBadInput: hostile or careless input gets 400 in the error shape (with field errors where a
// field is to blame), never a 500, and never reaches the store.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true)
	valid := func(field, value string) string {
		fields := map[string]string{"sku": `"BAD-1"`, "name": `"Thing"`, "price": "9.99", "category": `"misc"`}
		fields[field] = value
		var b strings.Builder
		b.WriteString("{")
		first := true
		for _, k := range []string{"sku", "name", "price", "category", "images", "attributes", "stock", "currency", "active"} {
			v, ok := fields[k]
			if !ok {
				continue
			}
			if !first {
				b.WriteString(",")
			}
			first = false
			b.WriteString(`"` + k + `":` + v)
		}
		return b.String() + "}"
	}
	huge := `{"sku":"BIG-1","name":"` + strings.Repeat("a", 10<<20) + `","price":1,"category":"misc"}`
	tests := []struct {
		name  string
		body  string
		field string // "" when the error has no field
	}{
		{"unknown field", `{"sku":"X-1","name":"n","price":1,"category":"c","colour":"red"}`, "colour"},
		{"negative price", valid("price", "-1.00"), "price"},
		{"zero price", valid("price", "0"), "price"},
		{"absurd price", valid("price", "1e12"), "price"},
		{"just above the cap", valid("price", "10000000.01"), "price"},
		{"three decimals", valid("price", "9.999"), "price"},
		{"price as string", valid("price", `"9.99"`), "price"},
		{"price as object", valid("price", `{"$gt":""}`), "price"},
		{"price null", valid("price", "null"), "price"},
		{"negative zero price", valid("price", "-0"), "price"},
		{"half a cent", valid("price", "0.005"), "price"},
		{"exponent below a cent", valid("price", "1e-3"), "price"},
		{"huge exponent", valid("price", "1e999999999"), "price"},
		{"tiny exponent", valid("price", "1e-999999999"), "price"},
		{"30,000 digits", valid("price", "1"+strings.Repeat("0", 30000)), "price"},
		{"unknown currency", valid("currency", `"JPY"`), "currency"},
		{"operator as sku", valid("sku", `{"$gt":""}`), "sku"},
		{"operator as name", valid("name", `{"$ne":null}`), "name"},
		{"operator as category", valid("category", `{"$gt":""}`), "category"},
		{"operator in attributes", valid("attributes", `{"color":{"$gt":""}}`), "attributes"},
		{"dollar attribute key", valid("attributes", `{"$where":"1"}`), "attributes"},
		{"array as sku", valid("sku", `["A"]`), "sku"},
		{"sku with spaces", valid("sku", `"A B"`), "sku"},
		{"sku too long", valid("sku", `"`+strings.Repeat("A", 65)+`"`), "sku"},
		{"sku with a letter that upper-cases to ASCII", valid("sku", `"ca\u017ft-1"`), "sku"},
		{"sku with a dotless i", valid("sku", `"k\u0131t-1"`), "sku"},
		{"category with the Kelvin sign", valid("category", `"\u212aitchen"`), "category"},
		{"empty name", valid("name", `"  "`), "name"},
		{"control characters", valid("name", `"a\u0000b"`), "name"},
		{"bad category", valid("category", `"a/b"`), "category"},
		{"bad currency", valid("currency", `"BTC"`), "currency"},
		{"javascript image", valid("images", `["javascript:alert(1)"]`), "images[0]"},
		{"image URL with a bidi override", valid("images", `["https://x.test/a\u202egnp.exe"]`), "images[0]"},
		{"image URL with a C1 control", valid("images", `["https://x.test/a\u0085b.png"]`), "images[0]"},
		{"too many images", valid("images", `[`+strings.Repeat(`"https://x.test/a",`, 10)+`"https://x.test/a"]`), "images"},
		{"negative stock", valid("stock", "-5"), "stock"},
		{"fractional stock", valid("stock", "1.5"), "stock"},
		{"absurd stock", valid("stock", "1e9"), "stock"},
		{"stock as string", valid("stock", `"5"`), "stock"},
		{"active as string", valid("active", `"yes"`), "active"},
		{"malformed JSON", `{"sku":`, ""},
		{"trailing data", valid("sku", `"T-1"`) + `{}`, ""},
		{"not an object", `[1,2]`, ""},
		{"empty body", ``, ""},
	}
	before, _ := e.store.Count(t.Context())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := e.do(t, "POST", "/products", tt.body, e.admin, "Content-Type", "application/json")
			if w.Code != 400 {
				t.Fatalf("POST /products %s: status = %d, want 400; %.300s", tt.name, w.Code, w.Body)
			}
			body := sharedtest.Decode[sharedtest.ErrorBody](t, w)
			if body.Error.Code != shared.CodeInvalid || body.Error.RequestID == "" {
				t.Errorf("POST /products %s: error %+v, want code invalid with a request ID", tt.name, body.Error)
			}
			if tt.field != "" && body.Error.Fields[tt.field] == "" {
				t.Errorf("POST /products %s: fields %v, want a message for %q", tt.name, body.Error.Fields, tt.field)
			}
		})
	}
	t.Run("10 MB body", func(t *testing.T) {
		t.Parallel()
		w := e.do(t, "POST", "/products", huge, e.admin, "Content-Type", "application/json")
		if w.Code != 413 || sharedtest.Decode[sharedtest.ErrorBody](t, w).Error.Code != shared.CodeTooLarge {
			t.Errorf("POST /products 10 MB: status = %d, want 413 too_large; %.300s", w.Code, w.Body)
		}
	})
	t.Run("wrong content type", func(t *testing.T) {
		t.Parallel()
		w := e.do(t, "POST", "/products", valid("sku", `"CT-1"`), e.admin, "Content-Type", "text/plain")
		if w.Code != 415 || sharedtest.Decode[sharedtest.ErrorBody](t, w).Error.Code != shared.CodeUnsupportedMediaType {
			t.Errorf("POST text/plain: status = %d, want 415 unsupported_media_type", w.Code)
		}
	})
	t.Cleanup(func() {
		if after, _ := e.store.Count(t.Context()); after != before {
			t.Errorf("bad requests created %d products", after-before)
		}
	})
}

func TestBadQueriesAndPaths(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true)
	tests := []struct {
		method, path string
		status       int
		field        string
	}{
		{"GET", "/products?limit=101", 400, "limit"},
		{"GET", "/products?limit=0", 400, "limit"},
		{"GET", "/products?limit=abc", 400, "limit"},
		{"GET", "/products?page=0", 400, "page"},
		{"GET", "/products?page=-1", 400, "page"},
		{"GET", "/products?page=99999999999999999999", 400, "page"},
		{"GET", "/products?sort=$natural", 400, "sort"},
		{"GET", "/products?minPrice=-1", 400, "minPrice"},
		{"GET", "/products?maxPrice=abc", 400, "maxPrice"},
		{"GET", "/products?minPrice=1.001", 400, "minPrice"},
		{"GET", "/products?minPrice=%201", 400, "minPrice"},
		{"GET", "/products?maxPrice=1e999999", 400, "maxPrice"},
		{"GET", "/products?maxPrice=0x10", 400, "maxPrice"},
		{"GET", "/products?minPrice=" + strings.Repeat("9", 100), 400, "minPrice"},
		{"GET", "/products?minPrice=50&maxPrice=10", 400, "minPrice"},
		{"GET", "/products?maxPrice=0", 400, "maxPrice"},
		{"GET", "/products?minPrice=0&maxPrice=0.00", 400, "maxPrice"},
		{"GET", "/products?category=%7B%22%24gt%22%3A%22%22%7D", 400, "category"},
		{"GET", "/products?q=" + strings.Repeat("x", 101), 400, "q"},
		// The limit counts characters, as the search box's maxlength does: 100 Cyrillic letters are 200 bytes.
		{"GET", "/products?q=" + url.QueryEscape(strings.Repeat("ж", 100)), 200, ""},
		{"GET", "/products?q=" + url.QueryEscape(strings.Repeat("ж", 101)), 400, "q"},
		{"GET", "/products?q=%00", 400, "q"},
		{"GET", "/products?search=" + strings.Repeat("x", 101), 400, "search"},
		{"GET", "/products?search=%00", 400, "search"},
		{"GET", "/products?q=wool&search=wool", 400, "search"},
		{"GET", "/products?search=wool&q=", 400, "search"},
		{"GET", "/products?q=.*&category[$ne]=x", 200, ""},
		{"GET", "/products?active=yes", 400, "active"},
		{"GET", "/products?sku=.*", 400, "sku"},
		{"GET", "/products?sku=%5E(a%7Cb)", 400, "sku"},
		{"GET", "/products?sku=%7B%22%24gt%22%3A%22%22%7D", 400, "sku"},
		{"GET", "/products?sku=" + strings.Repeat("A", 65), 400, "sku"},
		{"GET", "/products/not-an-id", 400, "id"},
		{"GET", "/products/%7B%22%24gt%22%3A%22%22%7D", 400, "id"},
		{"GET", "/products/" + strings.Repeat("A", 32), 400, "id"},
		{"GET", "/products/sku/bad%20sku!", 400, "sku"},
		{"PUT", "/products/xyz", 400, "id"},
		{"PUT", "/products/sku/%24gt", 400, "sku"},
		{"DELETE", "/products/..%2F..", 400, "id"},
		{"DELETE", "/products/" + shared.NewID(), 404, ""},
		{"PATCH", "/products", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			body := ""
			if tt.method == "PUT" {
				body = `{"name":"x","price":1,"category":"a"}`
			}
			w := e.do(t, tt.method, tt.path, body, e.admin)
			if w.Code != tt.status {
				t.Fatalf("%s %s: status = %d, want %d; %s", tt.method, tt.path, w.Code, tt.status, w.Body)
			}
			if tt.field != "" && !strings.Contains(w.Body.String(), `"`+tt.field+`":`) {
				t.Errorf("%s %s: body %s, want a field error for %s", tt.method, tt.path, w.Body, tt.field)
			}
		})
	}
}
