package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// testEnv is a product server over the in-memory store, a recording publisher and a test issuer.
type testEnv struct {
	h        http.Handler
	store    *memProductStore
	pub      *sharedtest.Publisher
	ob       *outbox
	admin    string
	customer string
}

func newTestEnv(tb testing.TB, seed bool) *testEnv {
	tb.Helper()
	iss := sharedtest.NewIssuer(tb)
	logger := shared.NewLogger(io.Discard, "product", "error")
	metrics := shared.NewMetrics("product")
	e := &testEnv{store: newMemProductStore(), pub: &sharedtest.Publisher{},
		admin: iss.Bearer(tb, sharedtest.Admin), customer: iss.Bearer(tb, sharedtest.Customer)}
	e.ob = newOutbox(e.store, e.pub, logger, metrics)
	e.h = NewServer(logger, metrics, shared.NewReadiness(), iss.Verifier(), e.store, e.ob)
	if seed {
		if err := seedDemo(context.Background(), logger, e.store, e.ob); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// do serves one request; auth is an Authorization header value or "".
func (e *testEnv) do(tb testing.TB, method, path, body, auth string, hdr ...string) *httptest.ResponseRecorder {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

type listBody struct {
	Items []map[string]any `json:"items"`
	Total int              `json:"total"`
	Page  int              `json:"page"`
	Limit int              `json:"limit"`
}

func decodeBody[T any](tb testing.TB, w *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		tb.Fatalf("decode %s: %v", w.Body.String(), err)
	}
	return v
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
		{"/products?sort=name&limit=1", 200, 30, 1, "BOOK-SCI-006", ""},
		{"/products?minPrice=100&maxPrice=150&sort=price", 200, 4, 4, "ELEC-CAM-005", ""},
		{"/products?q=headphones", 200, 1, 1, "ELEC-HP-001", ""},
		{"/products?q=wool&sort=relevance", 200, 2, 2, "", ""},
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
			if w.Code != 200 || !strings.HasPrefix(tt.path, "/products?") {
				return
			}
			l := decodeBody[listBody](t, w)
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
		})
	}
	// Last-Modified on a single product; If-Modified-Since revalidates it.
	w := e.do(t, "GET", "/products/"+hp.ID, "", "")
	lm := w.Header().Get("Last-Modified")
	if lm == "" {
		t.Fatal("GET /products/{id}: no Last-Modified")
	}
	if w := e.do(t, "GET", "/products/"+hp.ID, "", "", "If-Modified-Since", lm); w.Code != http.StatusNotModified {
		t.Errorf("GET /products/{id} If-Modified-Since %s: status = %d, want 304", lm, w.Code)
	}
	old := hp.UpdatedAt.Add(-time.Hour).Format(http.TimeFormat)
	if w := e.do(t, "GET", "/products/"+hp.ID, "", "", "If-Modified-Since", old); w.Code != 200 {
		t.Errorf("GET /products/{id} If-Modified-Since an hour before: status = %d, want 200", w.Code)
	}
	// A change makes the old ETag stale.
	etag := e.do(t, "GET", "/products/"+hp.ID, "", "").Header().Get("ETag")
	body := `{"name":"Aurora Headphones II","price":139.99,"category":"electronics"}`
	if w := e.do(t, "PUT", "/products/"+hp.ID, body, e.admin); w.Code != 200 {
		t.Fatalf("PUT /products/{id}: status = %d, want 200; %s", w.Code, w.Body)
	}
	if w := e.do(t, "GET", "/products/"+hp.ID, "", "", "If-None-Match", etag); w.Code != 200 {
		t.Errorf("GET after update with the old ETag: status = %d, want 200", w.Code)
	}
	// Errors are never cached.
	if w := e.do(t, "GET", "/products/"+shared.NewID(), "", ""); w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("GET absent product: Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
	}
}

func eventData(t *testing.T, ev shared.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAdminWrites(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false)
	create := `{"sku":" mug-blue-01 ","name":"Blue Mug","description":"Stoneware","price":12.10,"category":"Home-Kitchen",
		"images":["https://picsum.photos/seed/MUG-BLUE-01/600/400"],"attributes":{"color":"blue"},"stock":25}`

	for _, c := range []struct {
		auth   string
		status int
	}{{"", 401}, {e.customer, 403}, {"Bearer not-a-token", 401}} {
		if w := e.do(t, "POST", "/products", create, c.auth); w.Code != c.status {
			t.Errorf("POST /products as %q: status = %d, want %d", c.auth, w.Code, c.status)
		}
	}
	if n, _ := e.store.Count(context.Background()); n != 0 {
		t.Fatalf("unauthorised POSTs created %d products", n)
	}

	w := e.do(t, "POST", "/products", create, e.admin)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /products: status = %d, want 201; %s", w.Code, w.Body)
	}
	if !strings.Contains(w.Body.String(), `"price":12.10`) || !strings.Contains(w.Body.String(), `"sku":"MUG-BLUE-01"`) ||
		!strings.Contains(w.Body.String(), `"category":"home-kitchen"`) {
		t.Errorf("POST /products body %s: want normalised SKU and category, exact price", w.Body)
	}
	p := decodeBody[map[string]any](t, w)
	id, _ := p["id"].(string)
	if w.Header().Get("Location") != "/products/"+id {
		t.Errorf("Location = %q, want /products/%s", w.Header().Get("Location"), id)
	}
	evs := e.pub.Events(shared.TopicProduct)
	if len(evs) != 1 || evs[0].Type != evProductCreated || evs[0].AggregateID != id {
		t.Fatalf("events after create = %v, want one product.created for %s", e.pub.Types(shared.TopicProduct), id)
	}
	if d := eventData(t, evs[0]); d["sku"] != "MUG-BLUE-01" || d["price_cents"] != float64(1210) || d["stock"] != float64(25) ||
		d["product_id"] != id || d["currency"] != "USD" || d["active"] != true || d["name"] != "Blue Mug" || d["category"] != "home-kitchen" {
		t.Errorf("product.created data = %v", d)
	}
	if ps, _ := e.store.Pending(context.Background(), 10); len(ps) != 0 {
		t.Errorf("outbox after a successful publish holds %d products, want 0", len(ps))
	}

	dup := strings.Replace(create, " mug-blue-01 ", "MUG-BLUE-01", 1)
	if w := e.do(t, "POST", "/products", dup, e.admin); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), `"sku"`) {
		t.Errorf("POST duplicate SKU: status = %d, want 409 naming sku; %s", w.Code, w.Body)
	}

	upd := `{"name":"Blue Mug XL","price":"15.00","category":"home-kitchen"}`
	if w := e.do(t, "PUT", "/products/"+id, upd, e.admin); w.Code != 400 {
		t.Errorf("PUT with a string price: status = %d, want 400", w.Code)
	}
	upd = `{"name":"Blue Mug XL","price":15,"category":"home-kitchen","sku":"mug-blue-01","id":"` + id + `","created_at":"x"}`
	w = e.do(t, "PUT", "/products/"+id, upd, e.admin)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"price":15.00`) || !strings.Contains(w.Body.String(), `"images":[]`) ||
		!strings.Contains(w.Body.String(), `"active":true`) {
		t.Fatalf("PUT /products/{id}: status = %d body %s, want 200 with the new price", w.Code, w.Body)
	}
	for _, c := range []struct{ name, body string }{
		{"change sku", `{"sku":"OTHER","name":"x","price":1,"category":"a"}`},
		{"other id", `{"id":"` + shared.NewID() + `","name":"x","price":1,"category":"a"}`},
		{"stock", `{"name":"x","price":1,"category":"a","stock":5}`},
	} {
		if w := e.do(t, "PUT", "/products/"+id, c.body, e.admin); w.Code != 400 {
			t.Errorf("PUT %s: status = %d, want 400; %s", c.name, w.Code, w.Body)
		}
	}
	w = e.do(t, "PUT", "/products/sku/mug-blue-01", `{"name":"Blue Mug","price":9.99,"category":"home-kitchen","active":false}`, e.admin)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"active":false`) {
		t.Fatalf("PUT /products/sku/{sku}: status = %d body %s", w.Code, w.Body)
	}
	if w := e.do(t, "GET", "/products/"+id, "", ""); w.Code != 404 {
		t.Errorf("GET inactive product: status = %d, want 404", w.Code)
	}
	if w := e.do(t, "PUT", "/products/sku/NOPE", `{"name":"x","price":1,"category":"a"}`, e.admin); w.Code != 404 {
		t.Errorf("PUT absent SKU: status = %d, want 404", w.Code)
	}
	if got := e.pub.Types(shared.TopicProduct); strings.Join(got, ",") != "product.created,product.updated,product.updated" {
		t.Errorf("events = %v, want created, updated, updated", got)
	}
	if d := eventData(t, e.pub.Events(shared.TopicProduct)[2]); d["price_cents"] != float64(999) || d["active"] != false || d["stock"] != nil {
		t.Errorf("product.updated data = %v, want price_cents 999, inactive, no stock", d)
	}

	if w := e.do(t, "DELETE", "/products/"+id, "", e.customer); w.Code != 403 {
		t.Errorf("DELETE as customer: status = %d, want 403", w.Code)
	}
	if w := e.do(t, "DELETE", "/products/"+id, "", e.admin); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: status = %d, want 204; %s", w.Code, w.Body)
	}
	if w := e.do(t, "DELETE", "/products/"+id, "", e.admin); w.Code != 404 {
		t.Errorf("DELETE twice: status = %d, want 404", w.Code)
	}
	if w := e.do(t, "PUT", "/products/"+id, `{"name":"x","price":1,"category":"a"}`, e.admin); w.Code != 404 {
		t.Errorf("PUT deleted: status = %d, want 404", w.Code)
	}
	evs = e.pub.Events(shared.TopicProduct)
	if last := evs[len(evs)-1]; last.Type != evProductDeleted || eventData(t, last)["sku"] != "MUG-BLUE-01" || len(evs) != 4 {
		t.Errorf("events = %v, want a fourth event product.deleted for MUG-BLUE-01", e.pub.Types(shared.TopicProduct))
	}
}

// TestWriteWithKafkaDown: the write succeeds, its event waits in the outbox, and the relay delivers it
// once Kafka is back, exactly once from this instance.
func TestWriteWithKafkaDown(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false)
	e.pub.SetErr(io.ErrClosedPipe)
	w := e.do(t, "POST", "/products", `{"sku":"K-1","name":"Kettle","price":59,"category":"home","stock":3}`, e.admin)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST with Kafka down: status = %d, want 201", w.Code)
	}
	ctx := context.Background()
	if ps, _ := e.store.Pending(ctx, 10); len(ps) != 1 {
		t.Fatalf("pending products = %d, want 1", len(ps))
	}
	later := time.Now().Add(relayGrace + time.Second)
	if err := e.ob.relayOnce(ctx, later); err == nil {
		t.Error("relayOnce with Kafka down = nil, want an error")
	}
	e.pub.SetErr(nil)
	if err := e.ob.relayOnce(ctx, time.Now()); err != nil || len(e.pub.Events(shared.TopicProduct)) != 0 {
		t.Errorf("relayOnce inside the grace period published %v (err %v), want nothing yet", e.pub.Types(shared.TopicProduct), err)
	}
	if err := e.ob.relayOnce(ctx, later); err != nil {
		t.Fatalf("relayOnce: %v", err)
	}
	if err := e.ob.relayOnce(ctx, later); err != nil {
		t.Fatalf("relayOnce again: %v", err)
	}
	if got := e.pub.Types(shared.TopicProduct); len(got) != 1 || got[0] != evProductCreated {
		t.Errorf("events = %v, want one product.created", got)
	}
	if ps, _ := e.store.Pending(ctx, 10); len(ps) != 0 {
		t.Errorf("pending after relay = %d, want 0", len(ps))
	}
}

// TestIncludeInactive: admins can see inactive (not deleted) products, privately; nobody else can.
func TestIncludeInactive(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true)
	ctx := context.Background()
	cam, _ := e.store.GetBySKU(ctx, "ELEC-CAM-005")
	w := e.do(t, "PUT", "/products/sku/ELEC-CAM-005", `{"name":"Lumen 4K Webcam","price":119,"category":"electronics","active":false}`, e.admin)
	if w.Code != 200 {
		t.Fatalf("PUT deactivate: status = %d; %s", w.Code, w.Body)
	}
	hp, _ := e.store.GetBySKU(ctx, "ELEC-HP-001")
	if w := e.do(t, "DELETE", "/products/"+hp.ID, "", e.admin); w.Code != 204 {
		t.Fatalf("DELETE: status = %d", w.Code)
	}
	tests := []struct {
		path, auth string
		status     int
		total      int
	}{
		{"/products?category=electronics", "", 200, 4},
		{"/products?category=electronics&include_inactive=true", "", 401, 0},
		{"/products?category=electronics&include_inactive=true", e.customer, 403, 0},
		{"/products?category=electronics&include_inactive=true", e.admin, 200, 5},
		{"/products?include_inactive=yes", e.admin, 400, 0},
		{"/products/" + cam.ID, e.admin, 404, 0},
		{"/products/" + cam.ID + "?include_inactive=true", e.customer, 403, 0},
		{"/products/" + cam.ID + "?include_inactive=true", e.admin, 200, 0},
		{"/products/sku/ELEC-CAM-005?include_inactive=true", e.admin, 200, 0},
		{"/products/" + hp.ID + "?include_inactive=true", e.admin, 404, 0},
	}
	for _, tt := range tests {
		w := e.do(t, "GET", tt.path, "", tt.auth)
		if w.Code != tt.status {
			t.Errorf("GET %s: status = %d, want %d; %s", tt.path, w.Code, tt.status, w.Body)
			continue
		}
		if w.Code != 200 {
			continue
		}
		private := strings.Contains(tt.path, "include_inactive=true")
		if cc := w.Header().Get("Cache-Control"); (cc == privateCacheControl) != private {
			t.Errorf("GET %s: Cache-Control = %q, private want %v", tt.path, cc, private)
		}
		if strings.HasPrefix(tt.path, "/products?") {
			if l := decodeBody[listBody](t, w); l.Total != tt.total {
				t.Errorf("GET %s: total = %d, want %d", tt.path, l.Total, tt.total)
			}
		}
	}
}

// TestConcurrentPuts: concurrent full updates of one product all succeed (last writer wins, each
// conditional on the version it read, retried when another won), and each is announced once.
func TestConcurrentPuts(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true)
	hp, _ := e.store.GetBySKU(context.Background(), "ELEC-HP-001")
	before := len(e.pub.Events(shared.TopicProduct))
	const n = 20
	codes := make(chan int, n)
	for i := range n {
		go func() {
			body := fmt.Sprintf(`{"name":"Aurora %d","price":%d.99,"category":"electronics"}`, i, 100+i)
			codes <- e.do(t, "PUT", "/products/"+hp.ID, body, e.admin).Code
		}()
	}
	for range n {
		if code := <-codes; code != 200 {
			t.Errorf("concurrent PUT: status = %d, want 200", code)
		}
	}
	got, _ := e.store.Get(context.Background(), hp.ID)
	if got.Version != 1+n {
		t.Errorf("version after %d updates = %d, want %d", n, got.Version, 1+n)
	}
	if evs := e.pub.Events(shared.TopicProduct)[before:]; len(evs) != n {
		t.Errorf("product.updated events = %d, want %d", len(evs), n)
	}
	if ps, _ := e.store.Pending(context.Background(), 10); len(ps) != 0 {
		t.Errorf("pending after all publishes = %d, want 0", len(ps))
	}
}
