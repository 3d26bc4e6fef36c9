package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// testEnv is a product server over the in-memory store, a recording publisher and a test issuer.
type testEnv struct {
	h        http.Handler
	store    *memProductStore
	pub      *sharedtest.Publisher
	relay    *shared.Relay
	admin    string
	customer string
	iss      *sharedtest.Issuer
}

func newTestEnv(tb testing.TB, seed bool) *testEnv {
	tb.Helper()
	iss := sharedtest.NewIssuer(tb)
	logger := shared.NewLogger(io.Discard, "product", "error")
	metrics := shared.NewMetrics("product")
	e := &testEnv{store: newMemProductStore(), pub: &sharedtest.Publisher{},
		admin: iss.Bearer(tb, sharedtest.Admin), customer: iss.Bearer(tb, sharedtest.Customer), iss: iss}
	e.relay = shared.NewRelay(logger, productOutbox{e.store}, e.pub, metrics, shared.RelayConfig{})
	wake := sharedtest.FlushOnWake(e.relay)
	e.h = NewServer(logger, metrics, shared.NewReadiness(), iss.Verifier(), e.store, wake)
	if seed {
		if err := seedDemo(context.Background(), logger, e.store, wake); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// do serves one request; auth is an Authorization header value or "".
func (e *testEnv) do(tb testing.TB, method, path, body, auth string, hdr ...string) *httptest.ResponseRecorder {
	tb.Helper()
	return sharedtest.Serve(e.h, method, path, body, append([]string{"Authorization", auth}, hdr...)...)
}

type listBody struct {
	Items []map[string]any `json:"items"`
	Total int              `json:"total"`
	Page  int              `json:"page"`
	Limit int              `json:"limit"`
}

func TestProductReads(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true)
	hp, err := e.store.GetBySKU(context.Background(), "ELEC-HP-001")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path      string
		status    int
		total     int
		items     int
		firstSKU  string
		wantInRaw string
	}{
		{"/products", 200, 30, 20, "", ""},
		{"/products?page=2", 200, 30, 10, "", ""},
		{"/products?category=books", 200, 6, 6, "", ""},
		{"/products?category=BOOKS&sort=price", 200, 6, 6, "BOOK-SCI-006", ""},
		{"/products?sort=-price&limit=1", 200, 30, 1, "SPRT-TENT-006", `"price":249.00`},
		{"/products?sort=price_desc&limit=1", 200, 30, 1, "SPRT-TENT-006", ""},
		{"/products?sort=price_asc&limit=1", 200, 30, 1, "BOOK-SCI-006", ""},
		{"/products?sort=name&limit=1", 200, 30, 1, "BOOK-SCI-006", ""},
		{"/products?minPrice=100&maxPrice=150&sort=price", 200, 4, 4, "ELEC-CAM-005", ""},
		{"/products?q=headphones", 200, 1, 1, "ELEC-HP-001", ""},
		{"/products?q=wool&sort=relevance", 200, 2, 2, "", ""},
		{"/products?search=headphones", 200, 1, 1, "ELEC-HP-001", ""},
		{"/products?search=wool&sort=relevance", 200, 2, 2, "", ""},
		{"/products?search=", 200, 30, 20, "", ""},
		{"/products?category=toys", 200, 0, 0, "", `"items":[]`},
		{"/products/" + hp.ID, 200, 0, 0, "", `"price":149.99`},
		{"/products/sku/elec-hp-001", 200, 0, 0, "", `"sku":"ELEC-HP-001"`},
		{"/products/" + shared.NewID(), 404, 0, 0, "", `"code":"not_found"`},
		{"/products/sku/NOPE-1", 404, 0, 0, "", `"code":"not_found"`},
		{"/categories", 200, 0, 0, "", `{"name":"books","count":6}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			w := e.do(t, "GET", tt.path, "", "")
			if w.Code != tt.status {
				t.Fatalf("GET %s: status = %d, want %d; body %s", tt.path, w.Code, tt.status, w.Body)
			}
			if !strings.Contains(w.Body.String(), tt.wantInRaw) {
				t.Errorf("GET %s: body %s does not contain %s", tt.path, w.Body, tt.wantInRaw)
			}
			if cc := w.Header().Get("Cache-Control"); w.Code == 404 && cc != notFoundCacheControl {
				t.Errorf("GET %s: 404 with Cache-Control %q, want %q (shareable briefly)", tt.path, cc, notFoundCacheControl)
			}
			if w.Code != 200 || !strings.HasPrefix(tt.path, "/products?") {
				return
			}
			l := sharedtest.Decode[listBody](t, w)
			if l.Total != tt.total || len(l.Items) != tt.items {
				t.Errorf("GET %s: total %d with %d items, want %d with %d", tt.path, l.Total, len(l.Items), tt.total, tt.items)
			}
			if tt.firstSKU != "" && (len(l.Items) == 0 || l.Items[0]["sku"] != tt.firstSKU) {
				t.Errorf("GET %s: first item %v, want %s", tt.path, l.Items, tt.firstSKU)
			}
			if l.Page < 1 || l.Limit < 1 {
				t.Errorf("GET %s: page %d limit %d, want both set", tt.path, l.Page, l.Limit)
			}
		})
	}
}

// TestSKUSpellingNotShared: the gateway purges /products/sku/{sku} on product events by the SKU's
// normal form only, so a read at another spelling (lower case, padded) must not be stored by a
// shared cache: it would trail every change by the route's whole TTL when the event is the purge.
func TestSKUSpellingNotShared(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true)
	for _, tt := range []struct {
		path, cc string
	}{
		{"/products/sku/ELEC-HP-001", publicCacheControl},
		{"/products/sku/elec-hp-001", "no-store"},
		{"/products/sku/%20ELEC-HP-001", "no-store"},
		{"/products/sku/NOPE-1", notFoundCacheControl},
		{"/products/sku/nope-1", "no-store"},
	} {
		if w := e.do(t, "GET", tt.path, "", ""); w.Header().Get("Cache-Control") != tt.cc {
			t.Errorf("GET %s: %d with Cache-Control %q, want %q", tt.path, w.Code, w.Header().Get("Cache-Control"), tt.cc)
		}
	}
}

func TestConditionalGet(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true)
	hp, _ := e.store.GetBySKU(context.Background(), "ELEC-HP-001")
	for _, path := range []string{"/products?category=books", "/products/" + hp.ID, "/products/sku/ELEC-HP-001", "/categories"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			w := e.do(t, "GET", path, "", "")
			etag := w.Header().Get("ETag")
			if w.Code != 200 || etag == "" || w.Header().Get("Cache-Control") != publicCacheControl {
				t.Fatalf("GET %s: status %d ETag %q Cache-Control %q, want 200 with both", path, w.Code, etag, w.Header().Get("Cache-Control"))
			}
			if again := e.do(t, "GET", path, "", ""); again.Header().Get("ETag") != etag {
				t.Errorf("GET %s twice: ETag %q then %q, want stable", path, etag, again.Header().Get("ETag"))
			}
			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
				w := e.do(t, "GET", path, "", "", "If-None-Match", inm)
				if w.Code != http.StatusNotModified || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
					t.Errorf("GET %s If-None-Match %s: status = %d (body %d bytes), want 304 without body", path, inm, w.Code, w.Body.Len())
				}
			}
			if w := e.do(t, "GET", path, "", "", "If-None-Match", `"stale"`); w.Code != 200 {
				t.Errorf("GET %s If-None-Match stale: status = %d, want 200", path, w.Code)
			}
			if w := e.do(t, "HEAD", path, "", ""); w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
				t.Errorf("HEAD %s: status = %d, %d body bytes, ETag %q; want 200, no body, %s", path, w.Code, w.Body.Len(), w.Header().Get("ETag"), etag)
			}
		})
	}
	// Last-Modified on a single product is informative: it has whole seconds and updated_at
	// milliseconds, so a change later in the second a client's copy was read in would look unchanged
	// to If-Modified-Since. Only the ETag validates.
	w := e.do(t, "GET", "/products/"+hp.ID, "", "")
	lm, etag := w.Header().Get("Last-Modified"), w.Header().Get("ETag")
	if lm == "" {
		t.Fatal("GET /products/{id}: no Last-Modified")
	}
	// A change makes the old ETag and the old Last-Modified stale.
	body := `{"name":"Aurora Headphones II","price":139.99,"category":"electronics"}`
	put := e.do(t, "PUT", "/products/"+hp.ID, body, e.admin)
	if put.Code != 200 {
		t.Fatalf("PUT /products/{id}: status = %d, want 200; %s", put.Code, put.Body)
	}
	if w := e.do(t, "GET", "/products/"+hp.ID, "", "", "If-None-Match", etag); w.Code != 200 {
		t.Errorf("GET after update with the old ETag: status = %d, want 200", w.Code)
	}
	if w := e.do(t, "GET", "/products/"+hp.ID, "", "", "If-Modified-Since", lm); w.Code != 200 {
		t.Errorf("GET after update If-Modified-Since the old %s: status = %d, want 200", lm, w.Code)
	}
	// The copy a client read earlier in the second of the update carries the update's Last-Modified.
	w = e.do(t, "GET", "/products/"+hp.ID, "", "")
	if lm := w.Header().Get("Last-Modified"); lm == "" || e.do(t, "GET", "/products/"+hp.ID, "", "", "If-Modified-Since", lm).Code != 200 {
		t.Errorf("GET /products/{id} If-Modified-Since its Last-Modified %q: want 200 (a change in that second would look unchanged)", lm)
	}
	// Errors are never cached, except a public 404, briefly (checked in TestProductReads).
	if w := e.do(t, "GET", "/products/not-an-id", "", ""); w.Code != 400 || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("GET bad product ID: %d with Cache-Control %q, want 400 no-store", w.Code, w.Header().Get("Cache-Control"))
	}
}
