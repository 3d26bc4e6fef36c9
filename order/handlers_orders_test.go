package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

func TestOrderCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	code, body, hdr := h.do("POST", "/orders", h.customer, `{"items":[{"sku":"TSHIRT-1","quantity":2},{"sku":"MUG-1","quantity":1}],"shipping_address":`+addrJSON+`}`, "Idempotency-Key", "k-1")
	if code != http.StatusCreated {
		t.Fatalf("POST /orders: status = %d, want 201: %s", code, body)
	}
	// 2 × 19.99 + 7.50 = 47.48; tax 8% = 3.7984 → 3.80; shipping 4.99 (under 50.00); total 56.27.
	// Exact decimals in JSON.
	for _, want := range []string{`"subtotal":47.48`, `"tax":3.80`, `"shipping":4.99`, `"total":56.27`, `"unit_price":19.99`, `"line_total":39.98`, `"unit_price":7.50`, `"status":"pending"`, `"currency":"USD"`, `"name":"T-shirt"`, `"user_id":"u-demo"`} {
		if !strings.Contains(body, want) {
			t.Errorf("POST /orders body lacks %s: %s", want, body)
		}
	}
	v := decodeView(t, body)
	if hdr.Get("Location") != "/orders/"+v.ID || !shared.ValidID(v.ID) {
		t.Errorf("Location = %q for id %q", hdr.Get("Location"), v.ID)
	}
	o, err := h.store.Get(context.Background(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Events) != 1 || o.Events[0].Type != "order.created" || !o.OutboxPending {
		t.Fatalf("outbox = %+v, want one unsent order.created", o.Events)
	}
	var data orderEventData
	if err := json.Unmarshal([]byte(o.Events[0].Data), &data); err != nil {
		t.Fatal(err)
	}
	if data.OrderID != v.ID || data.UserID != "u-demo" || data.TotalCents != 5627 || data.SubtotalCents != 4748 || data.TaxCents != 380 || data.ShippingCents != 499 ||
		data.Status != StatusPending || len(data.Items) != 2 || data.Items[0].UnitPriceCents != 1999 || data.Items[1].Quantity != 1 {
		t.Errorf("order.created data = %+v", data)
	}
}

func TestOrderCreateErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	line := `[{"sku":"TSHIRT-1","quantity":1}]`
	body := func(items string) string { return fmt.Sprintf(`{"items":%s,"shipping_address":%s}`, items, addrJSON) }
	tests := []struct {
		name      string
		auth      string
		key       string
		body      string
		want      int
		wantField string
	}{
		{"anonymous", "", "k", body(line), http.StatusUnauthorized, ""},
		{"bad token", "Bearer nope", "k", body(line), http.StatusUnauthorized, ""},
		{"no idempotency key", h.customer, "", body(line), http.StatusBadRequest, "Idempotency-Key"},
		{"key with spaces", h.customer, "a b", body(line), http.StatusBadRequest, "Idempotency-Key"},
		{"malformed json", h.customer, "k", `{"items":`, http.StatusBadRequest, ""},
		{"trailing data", h.customer, "k", body(line) + `{}`, http.StatusBadRequest, ""},
		{"client price ignored is refused", h.customer, "k", body(`[{"sku":"TSHIRT-1","quantity":1,"unit_price":0.01}]`), http.StatusBadRequest, "unit_price"},
		{"no items", h.customer, "k", body(`[]`), http.StatusBadRequest, "items"},
		{"zero quantity", h.customer, "k", body(`[{"sku":"TSHIRT-1","quantity":0}]`), http.StatusBadRequest, "items[0].quantity"},
		{"fractional quantity", h.customer, "k", body(`[{"sku":"TSHIRT-1","quantity":1.5}]`), http.StatusBadRequest, ""},
		{"huge quantity", h.customer, "k", body(`[{"sku":"TSHIRT-1","quantity":1001}]`), http.StatusBadRequest, "items[0].quantity"},
		{"empty sku", h.customer, "k", body(`[{"sku":"","quantity":1}]`), http.StatusBadRequest, "items[0].sku"},
		{"duplicate sku", h.customer, "k", body(`[{"sku":"MUG-1","quantity":1},{"sku":"MUG-1","quantity":2}]`), http.StatusBadRequest, "items[1].sku"},
		{"duplicate sku in another case", h.customer, "k", body(`[{"sku":"MUG-1","quantity":1},{"sku":"mug-1","quantity":2}]`), http.StatusBadRequest, "items[1].sku"},
		{"unknown sku", h.customer, "k", body(`[{"sku":"TSHIRT-1","quantity":1},{"sku":"NOPE","quantity":1}]`), http.StatusBadRequest, "items[1].sku"},
		{"sku product refuses", h.customer, "k", body(`[{"sku":"MUG_1","quantity":1}]`), http.StatusBadRequest, "items[0].sku"},
		{"sku with a space", h.customer, "k", body(`[{"sku":"MUG 1","quantity":1}]`), http.StatusBadRequest, "items[0].sku"},
		{"inactive sku", h.customer, "k", body(`[{"sku":"OLD-1","quantity":1}]`), http.StatusBadRequest, "items[0].sku"},
		{"mixed currencies", h.customer, "k", body(`[{"sku":"TSHIRT-1","quantity":1},{"sku":"EURO-1","quantity":1}]`), http.StatusBadRequest, "items"},
		{"no address", h.customer, "k", `{"items":` + line + `}`, http.StatusBadRequest, "shipping_address"},
		{"both addresses", h.customer, "k", `{"items":` + line + `,"address_id":"addr-1","shipping_address":` + addrJSON + `}`, http.StatusBadRequest, "address_id"},
		{"incomplete address", h.customer, "k", `{"items":` + line + `,"shipping_address":{"name":"x"}}`, http.StatusBadRequest, "shipping_address.street"},
		{"operator in address", h.customer, "k", `{"items":` + line + `,"shipping_address":{"name":{"$ne":null}}}`, http.StatusBadRequest, ""},
		{"C0 control in address", h.customer, "k", `{"items":` + line + `,"shipping_address":{"name":"a\u001bb","street":"s","city":"c","zip_code":"1","country":"US"}}`, http.StatusBadRequest, "shipping_address.name"},
		{"C1 control in address", h.customer, "k", `{"items":` + line + `,"shipping_address":{"name":"a\u0085b","street":"s","city":"c","zip_code":"1","country":"US"}}`, http.StatusBadRequest, "shipping_address.name"},
		{"unknown address id", h.customer, "k", `{"items":` + line + `,"address_id":"addr-9"}`, http.StatusBadRequest, "address_id"},
		{"someone else's address", h.other, "k", `{"items":` + line + `,"address_id":"addr-1"}`, http.StatusBadRequest, "address_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp, _ := h.do("POST", "/orders", tt.auth, tt.body, "Idempotency-Key", tt.key)
			checkRefusal(t, "POST /orders", code, tt.want, resp, tt.wantField)
		})
	}
	if n, _, _ := h.store.List(context.Background(), listQuery{Page: 1, Limit: 100}); len(n) != 0 {
		t.Errorf("%d orders stored after only bad requests", len(n))
	}
}

func TestOrderCreateWithSavedAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	code, body, _ := h.do("POST", "/orders", h.customer, `{"items":[{"sku":"MUG-1","quantity":3}],"address_id":"addr-1"}`, "Idempotency-Key", "k")
	if code != http.StatusCreated {
		t.Fatalf("POST /orders with address_id: status = %d, want 201: %s", code, body)
	}
	v := decodeView(t, body)
	if v.ShippingAddress.City != "Springfield" || v.ShippingAddress.ZipCode != "62701" || v.Total != 2929 {
		t.Errorf("order = %+v; want the saved address and total 29.29 (22.50 + 1.80 tax + 4.99 shipping)", v)
	}
}

func TestOrderCreateProductDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.products.Fail.Store(true)
	code, body, _ := h.do("POST", "/orders", h.customer, `{"items":[{"sku":"MUG-1","quantity":1}],"shipping_address":`+addrJSON+`}`, "Idempotency-Key", "k")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("POST /orders with product down: status = %d, want 503: %s", code, body)
	}
	if n := h.products.Calls.Load(); n != 3 {
		t.Errorf("product calls = %d, want 3 (retried)", n)
	}
	// The key was not used up by the failure: the retry succeeds once product is back.
	h.products.Fail.Store(false)
	h.create("k", `[{"sku":"MUG-1","quantity":1}]`)
}

func TestOrderCreateIdempotency(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := h.create("same-key", `[{"sku":"MUG-1","quantity":1}]`)
	tests := []struct {
		name     string
		auth     string
		body     string
		want     int
		sameID   bool
		replayed string
	}{
		{"same body", h.customer, `{"items":[{"sku":"MUG-1","quantity":1}],"shipping_address":` + addrJSON + `}`, http.StatusOK, true, "true"},
		{"same body other spacing", h.customer, `{ "shipping_address":` + addrJSON + `, "items":[ {"quantity":1, "sku":"MUG-1"} ] }`, http.StatusOK, true, "true"},
		{"different body", h.customer, `{"items":[{"sku":"MUG-1","quantity":2}],"shipping_address":` + addrJSON + `}`, http.StatusConflict, false, ""},
		{"other user same key", h.other, `{"items":[{"sku":"MUG-1","quantity":1}],"shipping_address":` + addrJSON + `}`, http.StatusCreated, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, hdr := h.do("POST", "/orders", tt.auth, tt.body, "Idempotency-Key", "same-key")
			if code != tt.want {
				t.Fatalf("POST /orders: status = %d, want %d: %s", code, tt.want, body)
			}
			if got := hdr.Get("Idempotent-Replayed"); got != tt.replayed {
				t.Errorf("Idempotent-Replayed = %q, want %q", got, tt.replayed)
			}
			if code == http.StatusCreated || code == http.StatusOK {
				if v := decodeView(t, body); (v.ID == first.ID) != tt.sameID {
					t.Errorf("order id %s vs first %s: same = %v, want %v", v.ID, first.ID, v.ID == first.ID, tt.sameID)
				}
			}
		})
	}
}

// TestOrderCreateConcurrentDuplicates fires one request many times at once with one key: exactly one
// order exists afterwards and every answer is that order.
func TestOrderCreateConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const n = 16
	var wg sync.WaitGroup
	ids := make([]string, n)
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			code, body, _ := h.do("POST", "/orders", h.customer, `{"items":[{"sku":"TSHIRT-1","quantity":1}],"shipping_address":`+addrJSON+`}`, "Idempotency-Key", "dup")
			codes[i] = code
			if code == http.StatusCreated || code == http.StatusOK {
				var v orderView
				json.Unmarshal([]byte(body), &v)
				ids[i] = v.ID
			}
		})
	}
	wg.Wait()
	created := 0
	for i := range n {
		if codes[i] == http.StatusCreated {
			created++
		}
		if (codes[i] != http.StatusCreated && codes[i] != http.StatusOK) || ids[i] != ids[0] {
			t.Errorf("request %d: status %d id %s; want 201 or 200 and %s", i, codes[i], ids[i], ids[0])
		}
	}
	if created != 1 {
		t.Errorf("%d of %d concurrent duplicates answered 201, want exactly 1 (the rest 200 replays)", created, n)
	}
	all, total, _ := h.store.List(context.Background(), listQuery{Page: 1, Limit: 100})
	if total != 1 || len(all) != 1 {
		t.Fatalf("%d orders stored, want 1", total)
	}
	if got := h.metrics.Counter("order_transitions_total", "").Value("pending", "owner"); got != 1 {
		t.Errorf("orders created counter = %d, want 1", got)
	}
}

func TestOrderGet(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := h.create("k", `[{"sku":"MUG-1","quantity":1}]`)
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"owner", "/orders/" + v.ID, h.customer, http.StatusOK},
		{"admin", "/orders/" + v.ID, h.admin, http.StatusOK},
		{"other customer", "/orders/" + v.ID, h.other, http.StatusNotFound},
		{"anonymous", "/orders/" + v.ID, "", http.StatusUnauthorized},
		{"unknown", "/orders/" + shared.NewID(), h.customer, http.StatusNotFound},
		{"malformed id", "/orders/..%2f", h.customer, http.StatusNotFound},
		{"uppercase id", "/orders/" + strings.ToUpper(v.ID), h.customer, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := h.do("GET", tt.path, tt.auth, "")
			if code != tt.want {
				t.Fatalf("GET %s: status = %d, want %d: %s", tt.path, code, tt.want, body)
			}
			if code == http.StatusOK && decodeView(t, body).ID != v.ID {
				t.Errorf("GET %s: wrong order %s", tt.path, body)
			}
		})
	}
}

func TestOrderList(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var mine []string
	for i := range 3 {
		mine = append(mine, h.create(fmt.Sprint("k", i), `[{"sku":"MUG-1","quantity":1}]`).ID)
		// created_at has millisecond precision and ties fall back to the random ID, so "newest first"
		// is only defined for orders created in different milliseconds.
		time.Sleep(2 * time.Millisecond)
	}
	h.do("POST", "/orders", h.other, `{"items":[{"sku":"MUG-1","quantity":1}],"shipping_address":`+addrJSON+`}`, "Idempotency-Key", "x")
	h.do("POST", "/orders/"+mine[0]+"/cancel", h.customer, "")
	type list struct {
		Items []orderView `json:"items"`
		Total int64       `json:"total"`
		Page  int         `json:"page"`
		Limit int         `json:"limit"`
	}
	tests := []struct {
		name, query, auth string
		want              int
		wantTotal         int64
		wantLen           int
		wantFirst         string
	}{
		{"own newest first", "", h.customer, http.StatusOK, 3, 3, mine[2]},
		{"paged", "?page=2&limit=2", h.customer, http.StatusOK, 3, 1, mine[0]},
		{"status filter", "?status=cancelled", h.customer, http.StatusOK, 1, 1, mine[0]},
		{"other sees own only", "", h.other, http.StatusOK, 1, 1, ""},
		{"admin sees all", "", h.admin, http.StatusOK, 4, 4, ""},
		{"admin filter user", "?user_id=u-demo&status=pending", h.admin, http.StatusOK, 2, 2, mine[2]},
		{"customer cannot pick user", "?user_id=u-other", h.customer, http.StatusOK, 3, 3, mine[2]},
		{"bad status", "?status=lost", h.customer, http.StatusBadRequest, 0, 0, ""},
		{"bad page", "?page=0", h.customer, http.StatusBadRequest, 0, 0, ""},
		{"bad limit", "?limit=101", h.customer, http.StatusBadRequest, 0, 0, ""},
		{"anonymous", "", "", http.StatusUnauthorized, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := h.do("GET", "/orders"+tt.query, tt.auth, "")
			if code != tt.want {
				t.Fatalf("GET /orders%s: status = %d, want %d: %s", tt.query, code, tt.want, body)
			}
			if code != http.StatusOK {
				return
			}
			var l list
			if err := json.Unmarshal([]byte(body), &l); err != nil {
				t.Fatal(err)
			}
			if l.Total != tt.wantTotal || len(l.Items) != tt.wantLen || l.Items == nil {
				t.Errorf("GET /orders%s: total %d len %d, want %d %d", tt.query, l.Total, len(l.Items), tt.wantTotal, tt.wantLen)
			}
			if tt.wantFirst != "" && len(l.Items) > 0 && l.Items[0].ID != tt.wantFirst {
				t.Errorf("GET /orders%s: first = %s, want %s", tt.query, l.Items[0].ID, tt.wantFirst)
			}
		})
	}
}

func TestProbes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, body, _ := h.do("GET", path, "", ""); code != http.StatusOK {
			t.Errorf("GET %s: status = %d, want 200: %s", path, code, body)
		}
	}
	if code, _, _ := h.do("DELETE", "/orders", h.customer, ""); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /orders: status = %d, want 405", code)
	}
}

// TestOrderCreateUserDown: a saved address cannot be resolved while user is down: 503, nothing stored.
func TestOrderCreateUserDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.users.srv.Close()
	code, body, _ := h.do("POST", "/orders", h.customer, `{"items":[{"sku":"MUG-1","quantity":1}],"address_id":"addr-1"}`, "Idempotency-Key", "k")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("POST /orders with user down: status = %d, want 503: %s", code, body)
	}
	if _, total, _ := h.store.List(context.Background(), listQuery{Page: 1, Limit: 10}); total != 0 {
		t.Errorf("%d orders stored", total)
	}
}

func TestCatalogDoesNotRetryNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := newHTTPCatalog(h.products.srv.URL)
	if _, err := c.Product(context.Background(), "NOPE"); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Product(NOPE) = %v, want ErrNotFound", err)
	}
	if _, err := c.Product(context.Background(), "a/../b?x"); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Product with path characters = %v, want ErrNotFound (escaped, not traversed)", err)
	}
	if n := h.products.Calls.Load(); n != 2 {
		t.Errorf("product calls = %d, want 2 (no retry on 404)", n)
	}
	p, err := c.Product(context.Background(), "MUG-1")
	if err != nil || p.PriceCents != 750 || p.Name != "Mug" || p.Currency != "USD" {
		t.Errorf("Product(MUG-1) = %+v, %v", p, err)
	}
}

// TestOrderLineSKUIsCanonical: product looks SKUs up case-insensitively, so an order line keeps the
// catalog's spelling of the SKU, not the client's.
func TestOrderLineSKUIsCanonical(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	code, body, _ := h.do("POST", "/orders", h.customer, `{"items":[{"sku":"mug-1","quantity":1}],"shipping_address":`+addrJSON+`}`, "Idempotency-Key", "k")
	if code != http.StatusCreated {
		t.Fatalf("POST /orders: status = %d, want 201: %s", code, body)
	}
	if v := decodeView(t, body); len(v.Items) != 1 || v.Items[0].SKU != "MUG-1" {
		t.Errorf("POST /orders with sku mug-1: items = %+v, want sku MUG-1", v.Items)
	}
}

// TestClientsRefuseDotSegments: "." and ".." survive url.PathEscape, and the peer's router would
// redirect them to another resource (user's /users/me/addresses/.. is the caller's profile); they
// are never an SKU or an address ID, so they are not found without a call.
func TestClientsRefuseDotSegments(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, `{"sku":"X","name":"n","price":1,"currency":"USD","active":true,"street":"s","city":"c","zip_code":"1","country":"US"}`)
	}))
	t.Cleanup(srv.Close)
	catalog, book := newHTTPCatalog(srv.URL), newHTTPAddressBook(srv.URL)
	for _, v := range []string{".", ".."} {
		if _, err := catalog.Product(context.Background(), v); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Product(%q) = %v, want ErrNotFound", v, err)
		}
		if _, err := book.Address(context.Background(), "Bearer x", v); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Address(%q) = %v, want ErrNotFound", v, err)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d calls to the peer, want 0", n)
	}
}
