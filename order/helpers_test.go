package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// fakeProducts is the product service's GET /products/sku/{sku} over httptest, which like product
// looks the SKU up trimmed and upper-cased and answers 400 for one that is not letters, digits and
// '-'. Fail makes it answer 503; Calls counts requests.
type fakeProducts struct {
	mu       sync.Mutex
	products map[string]string // sku → JSON body
	Fail     atomic.Bool
	Calls    atomic.Int64
	srv      *httptest.Server
}

func newFakeProducts(tb testing.TB) *fakeProducts {
	f := &fakeProducts{products: map[string]string{
		"TSHIRT-1": `{"id":"p1","sku":"TSHIRT-1","name":"T-shirt","price":19.99,"currency":"USD","active":true}`,
		"MUG-1":    `{"id":"p2","sku":"MUG-1","name":"Mug","price":7.5,"currency":"USD","active":true}`,
		"OLD-1":    `{"id":"p3","sku":"OLD-1","name":"Old","price":1,"currency":"USD","active":false}`,
		"EURO-1":   `{"id":"p4","sku":"EURO-1","name":"Euro","price":3,"currency":"EUR","active":true}`,
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products/sku/{sku}", func(w http.ResponseWriter, r *http.Request) {
		f.Calls.Add(1)
		if f.Fail.Load() {
			http.Error(w, `{"error":{"code":"unavailable"}}`, http.StatusServiceUnavailable)
			return
		}
		sku := strings.ToUpper(strings.TrimSpace(r.PathValue("sku")))
		if !shared.IsWord(sku, 64, "-") {
			http.Error(w, `{"error":{"code":"invalid"}}`, http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		body, ok := f.products[sku]
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":{"code":"not_found"}}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	})
	f.srv = httptest.NewServer(mux)
	tb.Cleanup(f.srv.Close)
	return f
}

// fakeUsers is user's GET /users/me/addresses/{id}: address "addr-1" exists for the caller whose
// Authorization header is Owner.
type fakeUsers struct {
	Owner string
	// Forbidden is an Authorization value answered 403, like a token without scope addresses.
	Forbidden string
	srv       *httptest.Server
}

func newFakeUsers(tb testing.TB, owner string) *fakeUsers {
	f := &fakeUsers{Owner: owner}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/me/addresses/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			http.Error(w, "{}", http.StatusUnauthorized)
			return
		}
		if f.Forbidden != "" && r.Header.Get("Authorization") == f.Forbidden {
			http.Error(w, "{}", http.StatusForbidden)
			return
		}
		if r.PathValue("id") != "addr-1" || r.Header.Get("Authorization") != f.Owner {
			http.Error(w, "{}", http.StatusNotFound)
			return
		}
		io.WriteString(w, `{"id":"addr-1","name":"Demo","street":"1 Main St","city":"Springfield","state":"IL","zip_code":"62701","country":"US","is_default":true}`)
	})
	f.srv = httptest.NewServer(mux)
	tb.Cleanup(f.srv.Close)
	return f
}

// harness is the order service over httptest with every dependency faked.
type harness struct {
	tb       testing.TB
	handler  http.Handler
	store    *memOrderStore
	pub      *sharedtest.Publisher
	pay      *stubPayments
	co       *checkout
	relay    *shared.Relay
	metrics  *shared.Metrics
	products *fakeProducts
	users    *fakeUsers
	customer string // Authorization header values
	other    string
	admin    string
	iss      *sharedtest.Issuer
}

var otherCustomer = shared.Identity{UserID: "u-other", Email: "other@shop.local", Name: "Other", Role: shared.RoleCustomer}

func newHarness(tb testing.TB, edit ...func(*Config)) *harness {
	tb.Helper()
	iss := sharedtest.NewIssuer(tb)
	h := &harness{tb: tb, store: newMemOrderStore(), pub: &sharedtest.Publisher{}, pay: newStubPayments(),
		metrics: shared.NewMetrics("order"), products: newFakeProducts(tb), iss: iss}
	h.customer, h.other, h.admin = iss.Bearer(tb, sharedtest.Customer), iss.Bearer(tb, otherCustomer), iss.Bearer(tb, sharedtest.Admin)
	h.users = newFakeUsers(tb, h.customer)
	logger := slog.New(slog.DiscardHandler)
	h.relay = newRelay(logger, h.store, h.pub, h.metrics, 1)
	h.co = newCheckout(logger, h.store, h.pay, h.metrics, nil)
	cfg := Config{TaxRateBPS: 800, Shipping: shippingRule{FlatCents: 499, FreeOverCents: 5000}}
	for _, e := range edit {
		e(&cfg)
	}
	catalog := newHTTPCatalog(h.products.srv.URL)
	catalog.up.retryBackoff = 1 // keep retry tests fast
	h.handler = NewServer(logger, cfg, deps{
		checkout:  h.co,
		pricing:   pricing{catalog: catalog, addresses: newHTTPAddressBook(h.users.srv.URL), taxBPS: cfg.TaxRateBPS, shipping: cfg.Shipping},
		verifier:  iss.Verifier(),
		metrics:   h.metrics,
		readiness: shared.NewReadiness(),
	})
	return h
}

// do sends a request through the whole middleware stack and returns the status and body.
func (h *harness) do(method, path, auth, body string, header ...string) (int, string, http.Header) {
	h.tb.Helper()
	rec := sharedtest.Serve(h.handler, method, path, body, append([]string{"Authorization", auth}, header...)...)
	return rec.Code, rec.Body.String(), rec.Header()
}

const addrJSON = `{"name":"Demo","street":"1 Main St","city":"Springfield","state":"IL","zip_code":"62701","country":"US"}`

// create places an order of the lines for the customer and returns it, failing the test unless 201.
func (h *harness) create(key string, lines string) orderView {
	h.tb.Helper()
	code, body, _ := h.do("POST", "/orders", h.customer, fmt.Sprintf(`{"items":%s,"shipping_address":%s}`, lines, addrJSON), "Idempotency-Key", key)
	if code != http.StatusCreated {
		h.tb.Fatalf("POST /orders: status = %d, want 201: %s", code, body)
	}
	return decodeView(h.tb, body)
}

func decodeView(tb testing.TB, body string) orderView {
	tb.Helper()
	var v orderView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		tb.Fatalf("decode order %q: %v", body, err)
	}
	return v
}

// status returns the stored status of order id.
func (h *harness) status(id string) Status {
	h.tb.Helper()
	o, err := h.store.Get(context.Background(), id)
	if err != nil {
		h.tb.Fatal(err)
	}
	return o.Status
}

// inventoryEvent feeds one inventory event to the saga.
func (h *harness) inventoryEvent(id, typ string, data any) error {
	h.tb.Helper()
	e, err := shared.NewEvent(typ, "k", data)
	if err != nil {
		h.tb.Fatal(err)
	}
	if id != "" {
		e.ID = id
	}
	return h.co.handleInventoryEvent(context.Background(), e)
}

// confirm makes order id confirmed through inventory.reserved.
func (h *harness) confirm(id string) {
	h.tb.Helper()
	if err := h.inventoryEvent("", evReserved, map[string]any{"order_id": id, "user_id": "u-demo", "expires_at": "2999-01-01T00:00:00Z"}); err != nil {
		h.tb.Fatal(err)
	}
	if s := h.status(id); s != StatusConfirmed {
		h.tb.Fatalf("after inventory.reserved status = %s, want confirmed", s)
	}
}

// outboxTypes returns the types of every event in order id's outbox, sent or not.
func (h *harness) outboxTypes(id string) []string {
	h.tb.Helper()
	o, err := h.store.Get(context.Background(), id)
	if err != nil {
		h.tb.Fatal(err)
	}
	var out []string
	for _, e := range o.Events {
		out = append(out, e.Type)
	}
	return out
}

const payJSON = `{"card_number":"4242 4242 4242 4242","exp_month":12,"exp_year":2031,"cvc":"123"}`

// checkRefusal fails the test unless a refused request answered want in the error shape, with a
// message for wantField when that is not empty.
func checkRefusal(t *testing.T, route string, code, want int, resp, wantField string) {
	t.Helper()
	if code != want {
		t.Fatalf("%s: status = %d, want %d: %.300s", route, code, want, resp)
	}
	var e struct {
		Error struct {
			Code   string            `json:"code"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp), &e); err != nil || e.Error.Code == "" {
		t.Fatalf("%s: body %.300q is not the error shape", route, resp)
	}
	if wantField != "" && e.Error.Fields[wantField] == "" {
		t.Errorf("%s: fields = %v, want one for %s", route, e.Error.Fields, wantField)
	}
}
