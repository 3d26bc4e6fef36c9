package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// setStock sets how many of sku the fake inventory can sell.
func (g *fakeGateway) setStock(sku string, available int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	it := g.stock[sku]
	it.Available, it.OnHand = available, available
	g.stock[sku] = it
}

// TestCartStockCap: the fake sells SKU-0n with n-1 available. A line never holds more than that:
// asking for more sets the quantity to what is available and says so, a sold-out product is refused,
// and a line over stock after stock fell blocks checkout with a message on its row.
func TestCartStockCap(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"2"}})
	if p := b.submit("/cart", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"2"}}); p.status != http.StatusSeeOther || location(p) != "/cart" {
		t.Fatalf("POST /cart/add past stock: status %d Location %q, want 303 /cart", p.status, location(p))
	}
	page := b.get("/cart")
	// The quantity input is named by the product, as people know it, not by its SKU.
	if !strings.Contains(page.body, `<label class="visually-hidden" for="q-SKU-04">Quantity of Product 04</label>`) {
		t.Errorf("GET /cart: the quantity input's label does not name the product\n%s", page.body)
	}
	if !strings.Contains(page.body, `value="3"`) || !strings.Contains(page.body, "We do not have that many in stock") || !strings.Contains(page.body, `max="3"`) {
		t.Errorf("GET /cart after adding 4 of 3 available: want quantity 3, input max 3 and the capped notice\n%s", page.body)
	}
	b.submit("/cart", "/cart/update", url.Values{"sku": {"SKU-04"}, "quantity": {"99"}})
	if page = b.get("/cart"); !strings.Contains(page.body, `value="3"`) || !strings.Contains(page.body, "We do not have that many in stock") {
		t.Errorf("POST /cart/update 99 of 3 available: want quantity 3 and the notice\n%s", page.body)
	}
	if p := b.submit("/products/p02", "/cart/add", url.Values{"sku": {"SKU-01"}, "quantity": {"1"}}); p.status != http.StatusConflict || !strings.Contains(p.body, "out of stock") {
		t.Errorf("POST /cart/add of a sold-out product: status %d, want 409 saying it is out of stock", p.status)
	}
	if page = b.get("/cart"); strings.Contains(page.body, "SKU-01") || strings.Contains(page.body, "Product 01") {
		t.Error("a sold-out product reached the cart")
	}

	// Stock falls below the line: the row says so and checkout is withheld until it is lowered.
	gw.setStock("SKU-04", 2)
	page = b.get("/cart")
	if !strings.Contains(page.body, "Only 2 available: lower the quantity to check out.") || strings.Contains(page.body, `href="/checkout"`) {
		t.Errorf("GET /cart with 3 in the cart and 2 available: want the row message and no checkout link\n%s", page.body)
	}
	// Nor does the checkout page offer to place it (a bookmark, the back button, a page opened
	// before): the order would be rejected. It sends the visitor back to the cart, which says why.
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	if p := b.get("/checkout"); p.status != http.StatusSeeOther || location(p) != "/cart" {
		t.Errorf("GET /checkout with 3 in the cart and 2 available: status %d to %q, want 303 /cart", p.status, location(p))
	}
	gw.setStock("SKU-04", 0)
	// Sold out, there is no quantity to lower to: the row says to remove it, not "Only 0 available".
	if page = b.get("/cart"); !strings.Contains(page.body, "Sold out now: remove it to check out.") || strings.Contains(page.body, "Only 0 available") {
		t.Errorf("GET /cart with the line sold out: want the row to say to remove it\n%s", page.body)
	}
	b.submit("/cart", "/cart/update", url.Values{"sku": {"SKU-04"}, "quantity": {"1"}})
	if page = b.get("/cart"); !strings.Contains(page.body, "out of stock now, so it was taken out") || !strings.Contains(page.body, "Your cart is empty") {
		t.Errorf("POST /cart/update of a sold-out line: want it taken out with the notice\n%s", page.body)
	}

	// Inventory down: the cart does not cap (the order's reservation is the final check).
	gw.failWith("GET /inventory", http.StatusServiceUnavailable)
	b.submit("/products/p06", "/cart/add", url.Values{"sku": {"SKU-06"}, "quantity": {"9"}})
	if page = b.get("/cart"); !strings.Contains(page.body, `value="9"`) {
		t.Errorf("POST /cart/add with inventory down: want quantity 9 kept\n%s", page.body)
	}
}

// TestCartRemoveAndClear: remove takes out one line, clear all of them; bad input is a 400 page.
func TestCartRemoveAndClear(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	if p := b.submit("/login", "/cart/clear", url.Values{}); p.status != http.StatusSeeOther || location(p) != "/cart" {
		t.Errorf("POST /cart/clear without a session: status %d Location %q, want 303 /cart", p.status, location(p))
	}
	b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"1"}})
	b.submit("/products/p06", "/cart/add", url.Values{"sku": {"SKU-06"}, "quantity": {"2"}})
	b.submit("/products/p08", "/cart/add", url.Values{"sku": {"SKU-08"}, "quantity": {"1"}})
	if p := b.submit("/cart", "/cart/remove", url.Values{"sku": {"SKU-06"}}); p.status != http.StatusSeeOther || location(p) != "/cart" {
		t.Fatalf("POST /cart/remove: status %d Location %q, want 303 /cart", p.status, location(p))
	}
	page := b.get("/cart")
	if strings.Contains(page.body, "Product 06") || !strings.Contains(page.body, "Product 04") || !strings.Contains(page.body, "Product 08") || !strings.Contains(page.body, "Removed from your cart.") {
		t.Errorf("GET /cart after removing SKU-06: want 04 and 08 left and the notice\n%s", page.body)
	}
	for _, form := range []url.Values{{}, {"sku": {"bad sku/.."}}, {"sku": {strings.Repeat("A", 65)}}} {
		if p := b.submit("/cart", "/cart/remove", form); p.status != http.StatusBadRequest {
			t.Errorf("POST /cart/remove %v: status %d, want 400", form, p.status)
		}
	}
	if p := b.submit("/cart", "/cart/remove", url.Values{"sku": {"SKU-99"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST /cart/remove of a SKU not in the cart: status %d, want 303 (nothing to do)", p.status)
	}
	b.submit("/cart", "/cart/clear", url.Values{})
	if page = b.get("/cart"); !strings.Contains(page.body, "Your cart is empty") || !strings.Contains(page.body, "Your cart is empty now.") {
		t.Errorf("GET /cart after clear: want the empty cart and the notice\n%s", page.body)
	}
}

// TestCartPriceSummary: signed in, the cart and checkout pages show the order service's quote
// (subtotal, tax, shipping, total); signed out, the subtotal and a note; a failing quote only
// replaces the amounts with a note.
func TestCartPriceSummary(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	anon := newBrowser(t, srv)
	anon.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"2"}})
	if page := anon.get("/cart"); !strings.Contains(page.body, "$25.98") || !strings.Contains(page.body, "Sign in to see tax and shipping") || strings.Contains(page.body, `data-summary="total"`) {
		t.Errorf("GET /cart signed out: want subtotal $25.98 and the sign-in note\n%s", page.body)
	}

	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"2"}})
	// 2 × 12.99 = 25.98, tax 2.08, shipping 4.99 (under 50.00), total 33.05.
	want := []string{`data-summary="subtotal">$25.98`, `data-summary="tax">$2.08`, `data-summary="shipping">$4.99`, `data-summary="total"><strong>$33.05`}
	for _, path := range []string{"/cart", "/checkout"} {
		page := b.get(path)
		for _, w := range want {
			w = strings.Replace(w, "<strong>", map[string]string{"/cart": "<strong>", "/checkout": ""}[path], 1)
			if !strings.Contains(page.body, w) {
				t.Errorf("GET %s: lacks %s\n%s", path, w, page.body)
			}
		}
	}
	b.submit("/products/p06", "/cart/add", url.Values{"sku": {"SKU-06"}, "quantity": {"2"}})
	// + 2 × 18.99 = 63.96, tax 5.12, free shipping, total 69.08.
	if page := b.get("/checkout"); !strings.Contains(page.body, `data-summary="shipping">$0.00`) || !strings.Contains(page.body, `data-summary="total">$69.08`) {
		t.Errorf("GET /checkout over the free-shipping threshold: want shipping $0.00 and total $69.08\n%s", page.body)
	}
	if calls := gw.calls("POST /order/orders/quote"); len(calls) == 0 || calls[0].Token == "" || strings.Contains(calls[0].Body, "price") {
		t.Errorf("quote calls = %+v, want the user's bearer token and only SKUs and quantities", calls)
	}

	gw.failWith("POST /order/orders/quote", http.StatusServiceUnavailable)
	for _, path := range []string{"/cart", "/checkout"} {
		if page := b.get(path); page.status != http.StatusOK || !strings.Contains(page.body, "cannot be calculated right now") || strings.Contains(page.body, `data-summary="total"`) {
			t.Errorf("GET %s with the quote failing: status %d, want 200 with the subtotal and a note\n%s", path, page.status, page.body)
		}
	}
}

// TestCartBadForms: a cart form with a malformed SKU or a quantity out of range is refused with 400
// and its message, and changes nothing.
func TestCartBadForms(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	tests := []struct {
		action, sku, qty, want string
	}{
		{"/cart/add", "SKU-04", "0", "between 1 and 99"},
		{"/cart/add", "SKU-04", "100", "between 1 and 99"},
		{"/cart/add", "SKU-04", "two", "between 1 and 99"},
		{"/cart/add", "SKU 04!", "1", "between 1 and 99"},
		{"/cart/update", "SKU-04", "-1", "between 0 and 99"},
		{"/cart/update", "SKU-04", "", "between 0 and 99"},
		{"/cart/update", "", "1", "between 0 and 99"},
	}
	for _, tt := range tests {
		p := b.submit("/products/p04", tt.action, url.Values{"sku": {tt.sku}, "quantity": {tt.qty}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, tt.want) {
			t.Errorf("POST %s sku %q quantity %q: status %d, want 400 saying %q", tt.action, tt.sku, tt.qty, p.status, tt.want)
		}
	}
	if page := b.get("/cart"); strings.Contains(page.body, "SKU-04") {
		t.Errorf("GET /cart after refused forms: it holds SKU-04\n%s", page.body)
	}
	// Update changes lines the cart has: it never adds one, so a made-up or unreleased SKU cannot
	// get in past /cart/add's check.
	for _, sku := range []string{"NO-SUCH-SKU", "SKU-04"} {
		p := b.submit("/products/p04", "/cart/update", url.Values{"sku": {sku}, "quantity": {"3"}})
		if p.status != http.StatusNotFound || !strings.Contains(p.body, "not in your cart") {
			t.Errorf("POST /cart/update sku %q not in the cart: status %d, want 404 saying it is not in the cart", sku, p.status)
		}
		if page := b.get("/cart"); strings.Contains(page.body, sku) {
			t.Errorf("GET /cart after updating %s it does not hold: the line was added\n%s", sku, page.body)
		}
	}
	b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {" 2 "}})
	if page := b.get("/cart"); !strings.Contains(page.body, `value="2"`) {
		t.Errorf("POST /cart/add quantity \" 2 \": want a line of 2 (the quantity is trimmed)\n%s", page.body)
	}
}

// TestCartProductWithdrawn: a product taken off sale after it was put in the cart is named as the
// problem on the cart and checkout pages and when the order is placed, not with the order
// service's bare "invalid request".
func TestCartProductWithdrawn(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	b.submit("/products/p05", "/cart/add", url.Values{"sku": {"SKU-05"}, "quantity": {"1"}})
	b.submit("/products/p06", "/cart/add", url.Values{"sku": {"SKU-06"}, "quantity": {"1"}})
	key := idemRe.FindStringSubmatch(b.get("/checkout").body)[1]
	gw.mu.Lock()
	for i := range gw.products {
		if gw.products[i].SKU == "SKU-05" {
			gw.products[i].Active = false
		}
	}
	gw.mu.Unlock()
	const want = "no longer sold"
	for _, path := range []string{"/cart", "/checkout"} {
		if p := b.get(path); !strings.Contains(p.body, want) || strings.Contains(p.body, "invalid request") {
			t.Errorf("GET %s with a withdrawn product: want it to say %q, not \"invalid request\"\n%s", path, want, p.body)
		}
	}
	p := b.submit("/checkout", "/checkout", url.Values{"idempotency_key": {key}, "name": {"D"}, "street": {"1 St"}, "city": {"C"}, "zip_code": {"1"}, "country": {"US"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, want) || strings.Contains(p.body, "invalid request") {
		t.Errorf("POST /checkout with a withdrawn product: status = %d, want 400 saying %q, not \"invalid request\"", p.status, want)
	}
}

// TestCartMixedCurrencies: amounts in different currencies are never added up: a cart holding a
// USD and a EUR product shows no subtotal in either, says why, and checkout says so too (the
// order service refuses such an order).
func TestCartMixedCurrencies(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.mu.Lock()
	for i := range gw.products {
		if gw.products[i].SKU == "SKU-06" {
			gw.products[i].Currency = "EUR"
		}
	}
	gw.mu.Unlock()
	b := newBrowser(t, srv)
	b.submit("/products/p05", "/cart/add", url.Values{"sku": {"SKU-05"}, "quantity": {"1"}}) // $15.99
	b.submit("/products/p06", "/cart/add", url.Values{"sku": {"SKU-06"}, "quantity": {"1"}}) // €18.99
	const want = "different currencies"
	for _, signedIn := range []bool{false, true} {
		if signedIn {
			b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
		}
		p := b.get("/cart")
		if strings.Contains(p.body, "34.98") || !strings.Contains(p.body, want) {
			t.Errorf("GET /cart (signed in %v) with USD and EUR lines: want no sum of both and a note saying %q\n%s", signedIn, want, p.body)
		}
	}
	key := idemRe.FindStringSubmatch(b.get("/checkout").body)[1]
	p := b.submit("/checkout", "/checkout", url.Values{"idempotency_key": {key}, "name": {"D"}, "street": {"1 St"}, "city": {"C"}, "zip_code": {"1"}, "country": {"US"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, want) || strings.Contains(p.body, "34.98") {
		t.Errorf("POST /checkout with USD and EUR lines: status = %d, want 400 saying %q", p.status, want)
	}
}

// TestAmountsOverInputBound: totals over the 10,000,000.00 bound on typed amounts (a line of a
// product priced near it, and that times 99) are shown like any amount, with symbol and separators,
// on the cart, checkout and order pages: they used to fall back to the bare digits.
func TestAmountsOverInputBound(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.mu.Lock()
	gw.products = append(gw.products, product{ID: "p-big", SKU: "SKU-BIG", Name: "Big thing", Description: "Large.",
		Price: "9999999.99", Currency: "USD", Category: "misc", Active: true})
	gw.mu.Unlock()
	gw.setStock("SKU-BIG", 10)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	b.submit("/products/p-big", "/cart/add", url.Values{"sku": {"SKU-BIG"}, "quantity": {"2"}})
	// 2 × 9,999,999.99 = 19,999,999.98, tax 8 % = 1,600,000.00, no shipping.
	for _, path := range []string{"/cart", "/checkout"} {
		page := b.get(path)
		for _, w := range []string{`data-summary="subtotal">$19,999,999.98`, `data-summary="tax">$1,600,000.00`, "$21,599,999.98"} {
			if !strings.Contains(page.body, w) {
				t.Errorf("GET %s: lacks %s\n%s", path, w, page.body)
			}
		}
	}

	o := order{ID: "0b1c2d3e4f5a", UserID: fakeCustomer.ID, Status: "confirmed", Currency: "USD",
		Items:    []orderLine{{SKU: "SKU-BIG", Name: "Big thing", UnitPrice: "9999999.99", Quantity: 99, LineTotal: "989999999.01"}},
		Subtotal: "989999999.01", Tax: "79199999.92", Shipping: "0.00", Total: "1069199998.93",
		ShippingAddress: &address{Name: "Demo", Street: "1 Main St", City: "Springfield", ZipCode: "62701", Country: "US"},
	}
	gw.putOrder(o)
	page := b.get("/orders/" + o.ID)
	for _, w := range []string{"$989,999,999.01", "$79,199,999.92", "$1,069,199,998.93"} {
		if !strings.Contains(page.body, w) {
			t.Errorf("GET /orders/%s: lacks %s", o.ID, w)
		}
	}
	if strings.Contains(page.body, ">1069199998.93") || strings.Contains(page.body, "Pay 1069199998.93") {
		t.Errorf("GET /orders/%s: shows the total as bare digits", o.ID)
	}
}
