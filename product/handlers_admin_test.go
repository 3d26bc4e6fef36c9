package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

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
	p := sharedtest.Decode[map[string]any](t, w)
	id, _ := p["id"].(string)
	if w.Header().Get("Location") != "/products/"+id {
		t.Errorf("Location = %q, want /products/%s", w.Header().Get("Location"), id)
	}
	evs := e.pub.Events(shared.TopicProduct)
	if len(evs) != 1 || evs[0].Type != evProductCreated || evs[0].AggregateID != id {
		t.Fatalf("events after create = %v, want one product.created for %s", e.pub.Types(shared.TopicProduct), id)
	}
	if d := eventData(t, evs[0]); d["sku"] != "MUG-BLUE-01" || d["price_cents"] != float64(1210) || d["stock"] != float64(25) ||
		d["product_id"] != id || d["currency"] != "USD" || d["active"] != true || d["name"] != "Blue Mug" || d["category"] != "home-kitchen" ||
		d["version"] != float64(1) {
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
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"price":15.00`) || !strings.Contains(w.Body.String(), `"images":["https://picsum.photos/seed/MUG-BLUE-01/600/400"]`) ||
		!strings.Contains(w.Body.String(), `"attributes":{"color":"blue"}`) || !strings.Contains(w.Body.String(), `"active":true`) {
		t.Fatalf("PUT /products/{id}: status = %d body %s, want 200 with the new price, images and attributes kept", w.Code, w.Body)
	}
	w = e.do(t, "PUT", "/products/"+id, `{"name":"Blue Mug XL","price":15,"category":"home-kitchen","images":[],"attributes":{},"currency":"EUR"}`, e.admin)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"images":[],"attributes":{}`) || !strings.Contains(w.Body.String(), `"currency":"EUR"`) {
		t.Fatalf("PUT with empty images and attributes: status = %d body %s, want them cleared", w.Code, w.Body)
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
	if got := e.pub.Types(shared.TopicProduct); strings.Join(got, ",") != "product.created,product.updated,product.updated,product.updated" {
		t.Errorf("events = %v, want created and three updates", got)
	}
	if d := eventData(t, e.pub.Events(shared.TopicProduct)[3]); d["price_cents"] != float64(999) || d["active"] != false || d["stock"] != nil || d["currency"] != "EUR" ||
		d["version"] != float64(4) {
		t.Errorf("product.updated data = %v, want price_cents 999, inactive, no stock, version 4", d)
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
	if last := evs[len(evs)-1]; last.Type != evProductDeleted || eventData(t, last)["sku"] != "MUG-BLUE-01" || eventData(t, last)["version"] != float64(5) || len(evs) != 5 {
		t.Errorf("events = %v, want a fifth event product.deleted for MUG-BLUE-01", e.pub.Types(shared.TopicProduct))
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
	if n := len(e.pub.Events(shared.TopicProduct)); n != 0 {
		t.Fatalf("published %d events with Kafka down", n)
	}
	e.pub.SetErr(nil)
	for range 2 { // the second flush finds nothing: each event goes out once
		if err := e.relay.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
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
		{"/products?active=false", "", 401, 0},
		{"/products?active=false", e.customer, 403, 0},
		{"/products?active=false", e.admin, 200, 1},
		{"/products?category=electronics&include_inactive=true&active=true", e.admin, 200, 4},
		{"/products?sku=elec-cam&active=false", e.admin, 200, 1},
		{"/products?sku=elec-hp&include_inactive=true", e.admin, 200, 0},
		{"/products/" + cam.ID, e.admin, 404, 0},
		{"/products/" + cam.ID + "?include_inactive=true", e.customer, 403, 0},
		{"/products/" + cam.ID + "?include_inactive=true", e.admin, 200, 0},
		{"/products/sku/ELEC-CAM-005?include_inactive=true", e.admin, 200, 0},
		{"/products/" + hp.ID + "?include_inactive=true", e.admin, 404, 0},
		// For /categories, total is the electronics count: the admin's counts the inactive camera.
		{"/categories", "", 200, 4},
		{"/categories?include_inactive=true", "", 401, 0},
		{"/categories?include_inactive=true", e.customer, 403, 0},
		{"/categories?include_inactive=true", e.admin, 200, 5},
		{"/categories?include_inactive=yes", e.admin, 400, 0},
	}
	for _, tt := range tests {
		w := e.do(t, "GET", tt.path, "", tt.auth)
		if w.Code != tt.status {
			t.Errorf("GET %s: status = %d, want %d; %s", tt.path, w.Code, tt.status, w.Body)
			continue
		}
		private := strings.Contains(tt.path, "include_inactive=true") || strings.Contains(tt.path, "active=false")
		if w.Code != 200 {
			// An admin's miss is not a public answer: never stored.
			if cc := w.Header().Get("Cache-Control"); private && cc != "no-store" {
				t.Errorf("GET %s: %d with Cache-Control %q, want no-store", tt.path, w.Code, cc)
			}
			continue
		}
		if cc := w.Header().Get("Cache-Control"); (cc == privateCacheControl) != private {
			t.Errorf("GET %s: Cache-Control = %q, private want %v", tt.path, cc, private)
		}
		if strings.HasPrefix(tt.path, "/products?") {
			if l := sharedtest.Decode[listBody](t, w); l.Total != tt.total {
				t.Errorf("GET %s: total = %d, want %d", tt.path, l.Total, tt.total)
			}
		}
		if strings.HasPrefix(tt.path, "/categories") {
			cats := sharedtest.Decode[struct{ Items []categoryCount }](t, w)
			if i := slices.IndexFunc(cats.Items, func(c categoryCount) bool { return c.Name == "electronics" }); i < 0 || cats.Items[i].Count != tt.total {
				t.Errorf("GET %s: categories %v, want electronics %d", tt.path, cats.Items, tt.total)
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

// TestAttributeKeyLength: the limit on attribute keys counts characters, as its message says, so a
// key in a script of two- or three-byte letters gets the same 64 characters as an ASCII one.
func TestAttributeKeyLength(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false)
	for i, tt := range []struct {
		key    string
		status int
	}{
		{strings.Repeat("é", maxAttrKeyLen), http.StatusCreated},
		{strings.Repeat("寸", maxAttrKeyLen), http.StatusCreated},
		{strings.Repeat("é", maxAttrKeyLen+1), http.StatusBadRequest},
	} {
		body := fmt.Sprintf(`{"sku":"ATTR-%d","name":"Thing","price":1,"category":"misc","attributes":{%q:"x"}}`, i, tt.key)
		if w := e.do(t, "POST", "/products", body, e.admin); w.Code != tt.status {
			t.Errorf("POST /products with a %d-character attribute key of %d bytes: status = %d, want %d; %s",
				utf8.RuneCountInString(tt.key), len(tt.key), w.Code, tt.status, w.Body)
		}
	}
}
