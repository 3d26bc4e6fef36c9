package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

const (
	demoEmail  = "demo@shop.local"
	demoPass   = "demo-Passw0rd!"
	adminEmail = "admin@shop.local"
	adminPass  = "admin-Passw0rd!"
)

func TestGatewayHealthListsEveryService(t *testing.T) {
	c := newClient(t, platform.URL("gateway"))
	var body struct {
		Status string `json:"status"`
		Info   map[string]struct {
			Status string `json:"status"`
		} `json:"info"`
	}
	c.must(200, "GET", "/health/detailed", nil, &body)
	for _, s := range []string{"auth", "user", "product", "inventory", "order", "realtime"} {
		if body.Info[s].Status != "up" {
			t.Errorf("/health/detailed: %s status = %q, want up (%+v)", s, body.Info[s].Status, body)
		}
	}
}

func TestLoginSessionAndCachedCatalog(t *testing.T) {
	c := newClient(t, platform.URL("gateway"))
	var login struct {
		AccessToken string `json:"access_token"`
		User        struct {
			Email string `json:"email"`
			Role  string `json:"role"`
		} `json:"user"`
	}
	resp := c.must(200, "POST", "/auth/login", map[string]string{"email": demoEmail, "password": demoPass}, &login)
	if login.AccessToken == "" || login.User.Email != demoEmail || login.User.Role != "customer" {
		t.Errorf("login body = %+v", login)
	}
	if !strings.Contains(resp.Header.Get("Set-Cookie"), "session_id=") || !strings.Contains(strings.ToLower(resp.Header.Get("Set-Cookie")), "httponly") {
		t.Errorf("login Set-Cookie = %q, want an HttpOnly session_id", resp.Header.Get("Set-Cookie"))
	}
	c.must(200, "GET", "/auth/session", nil, nil)

	// The bearer token alone works too, against a service that verifies it through auth's JWKS.
	api := newClient(t, platform.URL("gateway"))
	var me struct {
		Email string `json:"email"`
	}
	api.must(200, "GET", "/user/users/me", nil, &me, "Authorization", "Bearer "+login.AccessToken)
	if me.Email != demoEmail {
		t.Errorf("GET /user/users/me email = %q, want %s", me.Email, demoEmail)
	}
	api.must(401, "GET", "/user/users/me", nil, nil)

	anon := newClient(t, platform.URL("gateway"))
	path := fmt.Sprintf("/product/products?category=books&limit=3&t=%d", time.Now().UnixNano())
	var list struct {
		Items []struct {
			SKU string `json:"sku"`
		} `json:"items"`
		Total int `json:"total"`
	}
	first := anon.must(200, "GET", path, nil, &list)
	second := anon.must(200, "GET", path, nil, nil)
	if got := first.Header.Get("X-Cache-Status"); got != "MISS" {
		t.Errorf("first GET %s: X-Cache-Status = %q, want MISS", path, got)
	}
	if got := second.Header.Get("X-Cache-Status"); got != "HIT" {
		t.Errorf("second GET %s: X-Cache-Status = %q, want HIT", path, got)
	}
	if list.Total < 4 || len(list.Items) != 3 {
		t.Errorf("books: total %d, %d items; want ≥ 4 and a page of 3", list.Total, len(list.Items))
	}
}

type order struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason"`
	Total        float64
}

type stock struct {
	SKU       string `json:"sku"`
	OnHand    int    `json:"on_hand"`
	Reserved  int    `json:"reserved"`
	Available int    `json:"available"`
}

var address = map[string]string{"name": "Demo", "street": "1 Main St", "city": "Springfield", "state": "IL", "zip_code": "62701", "country": "US"}

// orderBody is the POST /order/orders body for quantity units of sku, shipped to address.
func orderBody(sku string, quantity int) map[string]any {
	return map[string]any{"items": []map[string]any{{"sku": sku, "quantity": quantity}}, "shipping_address": address}
}

// TestCheckoutSaga drives the whole saga through the gateway: the order is reserved by inventory over
// Kafka, paid, and the stock leaves; a retried POST with the same Idempotency-Key is the same order;
// an order larger than the stock is rejected and holds nothing.
func TestCheckoutSaga(t *testing.T) {
	admin := newClient(t, platform.URL("gateway"))
	admin.login(adminEmail, adminPass)
	sku := fmt.Sprintf("IT-%d", time.Now().UnixNano()%1e9)
	newStockedProduct(t, admin, sku, "Integration Lamp", 12.34, 5)
	inv := newClient(t, platform.URL("gateway"))
	var s stock

	c := newClient(t, platform.URL("gateway"))
	c.login(demoEmail, demoPass)
	body := orderBody(sku, 2)
	key := fmt.Sprintf("saga-%d", time.Now().UnixNano())
	var o, again order
	c.must(201, "POST", "/order/orders", body, &o, "Idempotency-Key", key)
	if o.Status != "pending" && o.Status != "confirmed" {
		t.Fatalf("new order status = %q, want pending or confirmed", o.Status)
	}
	c.do("POST", "/order/orders", body, &again, "Idempotency-Key", key)
	if again.ID != o.ID {
		t.Errorf("same Idempotency-Key: order %q, want the first one %q", again.ID, o.ID)
	}
	eventually(t, 10*time.Second, "order confirmed after inventory.reserved", func() bool {
		c.must(200, "GET", "/order/orders/"+o.ID, nil, &o)
		return o.Status == "confirmed"
	})
	// inv is anonymous: the gateway answers it from its cache (max-age=30) until the reservation's
	// inventory.updated purges the entry, milliseconds later; without the purge this would take 30 s.
	eventually(t, 5*time.Second, "the gateway's cached stock shows the reservation", func() bool {
		inv.must(200, "GET", "/inventory/inventory/"+sku, nil, &s)
		return s.Reserved == 2 && s.Available == 3
	})
	c.must(200, "POST", "/order/orders/"+o.ID+"/pay", map[string]any{"card_number": "4242424242424242", "exp_month": 12, "exp_year": time.Now().Year() + 2, "cvc": "123"}, &o)
	if o.Status != "paid" {
		t.Errorf("after pay: status %q, want paid", o.Status)
	}
	if !holdsWithin(10*time.Second, func() bool {
		inv.must(200, "GET", "/inventory/inventory/"+sku, nil, &s)
		return s.OnHand == 3 && s.Reserved == 0
	}) {
		// The admin's request carries a token, so the gateway's cache does not answer it: this tells
		// a commit that did not happen from a cached entry that was not purged.
		var direct stock
		admin.must(200, "GET", "/inventory/inventory/"+sku, nil, &direct)
		// The order as the admin sees it (its history is the events it stored) and inventory's
		// reservation tell an order.paid that was never stored from one inventory never applied.
		var stored, reservation json.RawMessage
		admin.must(200, "GET", "/order/orders/"+o.ID, nil, &stored)
		admin.do("GET", "/inventory/reservations/"+o.ID, nil, &reservation)
		t.Fatalf("stock committed after order.paid: not within 10s; anonymous (cacheable) read %+v, admin (uncached) read %+v; order %s; reservation %s",
			s, direct, stored, reservation)
	}

	// More than what is left: rejected, and nothing stays reserved.
	big := orderBody(sku, 4)
	var r order
	c.must(201, "POST", "/order/orders", big, &r, "Idempotency-Key", key+"-big")
	eventually(t, 10*time.Second, "order rejected after inventory.rejected", func() bool {
		c.must(200, "GET", "/order/orders/"+r.ID, nil, &r)
		return r.Status == "rejected"
	})
	if !strings.Contains(r.StatusReason, sku) {
		t.Errorf("rejected order reason = %q, want it to name %s", r.StatusReason, sku)
	}
	inv.must(200, "GET", "/inventory/inventory/"+sku, nil, &s)
	if s.Reserved != 0 || s.Available != 3 {
		t.Errorf("after rejection: %+v, want nothing reserved", s)
	}

	// Another customer cannot see the order.
	other, _ := newCustomer(t, fmt.Sprintf("it-%d@example.com", time.Now().UnixNano()), "Another-Passw0rd!")
	if resp := other.do("GET", "/order/orders/"+o.ID, nil, nil); resp.StatusCode != 404 && resp.StatusCode != 403 {
		t.Errorf("another customer GET /order/orders/%s: status = %d, want 404 or 403", o.ID, resp.StatusCode)
	}
}

func TestBadInputIsA4xx(t *testing.T) {
	admin := newClient(t, platform.URL("gateway"))
	admin.login(adminEmail, adminPass)
	tests := []struct {
		method, path string
		body         any
	}{
		{"POST", "/product/products", map[string]any{"sku": map[string]string{"$gt": ""}, "name": "x", "price": 1}},
		{"POST", "/product/products", map[string]any{"sku": "NEG-1", "name": "x", "price": -5, "category": "books"}},
		{"POST", "/auth/login", map[string]any{"email": map[string]string{"$ne": ""}, "password": "x"}},
		{"POST", "/inventory/inventory/ELEC-CAM-005/adjust", map[string]any{"delta": "lots"}},
		{"POST", "/order/orders", map[string]any{"items": []map[string]any{{"sku": "X", "quantity": -1}}}},
	}
	for _, tt := range tests {
		var e sharedtest.ErrorBody
		resp := admin.do(tt.method, tt.path, tt.body, &e)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || e.Error.Code == "" || e.Error.RequestID == "" {
			t.Errorf("%s %s: status = %d, error = %+v; want a 4xx in the error shape", tt.method, tt.path, resp.StatusCode, e.Error)
		}
	}
	resp := admin.do("GET", "/no-such-service/x", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no-such-service/x: status = %d, want 404", resp.StatusCode)
	}
}
