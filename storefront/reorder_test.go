package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOrderBuyAgain: a finished order's page offers to put its products into the cart again (a
// rejected order's first of all: checkout emptied the cart, and the stock ran out meanwhile). Each
// product still on sale goes in, up to what is available beside what the cart holds; sold-out and
// withdrawn ones are left out and the notice says so. An open order has no such button and is
// refused, another customer's order is a 404, nothing addable is a 409, and signed out it is the
// sign-in page. The route's CSRF row is in TestCSRF.
func TestOrderBuyAgain(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	put := func(id, owner, status string, lines ...orderLine) string {
		gw.putOrder(order{ID: id, UserID: owner, Status: status, Currency: "USD", Total: "10.00", CreatedAt: time.Now(), Items: lines})
		return "/orders/" + id
	}
	line := func(sku string, qty int) orderLine {
		return orderLine{SKU: sku, Name: "Product", UnitPrice: "1.00", Quantity: qty, LineTotal: "1.00"}
	}
	gw.setStock("SKU-04", 3)
	gw.setStock("SKU-05", 10)
	gw.setStock("SKU-06", 10)

	rejected := put("0a1b2c3d4e5f60718293a4b5c6d7e901", fakeCustomer.ID, "rejected", line("SKU-05", 2), line("SKU-04", 5), line("SKU-GONE", 1))
	if p := b.get(rejected); !strings.Contains(p.body, `action="`+rejected+`/buy-again"`) || !strings.Contains(p.body, "Put these products back in my cart") {
		t.Fatalf("GET %s (rejected): no buy-again form\n%s", rejected, p.body)
	}
	if p := b.submit(rejected, rejected+"/buy-again", nil); p.status != http.StatusSeeOther || location(p) != "/cart" {
		t.Fatalf("POST buy-again of a rejected order: status %d to %q, want 303 /cart\n%s", p.status, location(p), p.body)
	}
	cart := b.get("/cart").body
	for _, want := range []string{`id="q-SKU-05"`, `id="q-SKU-04"`, "Added what can be bought now"} {
		if !strings.Contains(cart, want) {
			t.Errorf("cart after buying a rejected order again lacks %q\n%s", want, cart)
		}
	}
	if qty := cartQty(t, cart, "SKU-04"); qty != "3" {
		t.Errorf("SKU-04 (5 ordered, 3 available) in the cart: %s, want 3", qty)
	}
	if qty := cartQty(t, cart, "SKU-05"); qty != "2" {
		t.Errorf("SKU-05 (2 ordered) in the cart: %s, want 2", qty)
	}

	cancelled := put("0a1b2c3d4e5f60718293a4b5c6d7e902", fakeCustomer.ID, "cancelled", line("SKU-06", 1))
	b.submit(cancelled, cancelled+"/buy-again", nil)
	if cart = b.get("/cart").body; cartQty(t, cart, "SKU-06") != "1" || !strings.Contains(cart, "The order&#39;s products are in your cart again.") {
		t.Errorf("cart after buying a cancelled order again:\n%s", cart)
	}
	// The cart already holds the 3 SKU-04 there are: buying the rejected order again adds none of it.
	b.submit(rejected, rejected+"/buy-again", nil)
	if cart = b.get("/cart").body; cartQty(t, cart, "SKU-04") != "3" || cartQty(t, cart, "SKU-05") != "4" {
		t.Errorf("buying again on top of the cart: SKU-04 %s (want 3, all there is), SKU-05 %s (want 4)", cartQty(t, cart, "SKU-04"), cartQty(t, cart, "SKU-05"))
	}

	open := put("0a1b2c3d4e5f60718293a4b5c6d7e903", fakeCustomer.ID, "confirmed", line("SKU-06", 1))
	if p := b.get(open); strings.Contains(p.body, "/buy-again") {
		t.Errorf("GET %s (confirmed): offers to buy it again", open)
	}
	if p := b.submit(open, open+"/buy-again", nil); p.status != http.StatusConflict {
		t.Errorf("POST buy-again of an open order: status %d, want 409", p.status)
	}
	soldOut := put("0a1b2c3d4e5f60718293a4b5c6d7e904", fakeCustomer.ID, "delivered", line("SKU-01", 1), line("SKU-GONE", 2))
	if p := b.submit(soldOut, soldOut+"/buy-again", nil); p.status != http.StatusConflict || !strings.Contains(p.body, "None of this order") {
		t.Errorf("POST buy-again with nothing available: status %d, want 409 saying so\n%s", p.status, p.body)
	}
	theirs := put("0a1b2c3d4e5f60718293a4b5c6d7e905", "u-someone-else", "delivered", line("SKU-06", 1))
	if p := b.submit("/orders", theirs+"/buy-again", nil); p.status != http.StatusNotFound {
		t.Errorf("POST buy-again of another customer's order: status %d, want 404", p.status)
	}
	anon := newBrowser(t, srv)
	if p := anon.submit("/login", cancelled+"/buy-again", nil); p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/login") {
		t.Errorf("POST buy-again signed out: status %d to %q, want the sign-in page", p.status, location(p))
	}
}

// cartQty is the quantity input's value of sku's line on the cart page, "" when it has none.
func cartQty(t *testing.T, cart, sku string) string {
	t.Helper()
	_, rest, ok := strings.Cut(cart, `id="q-`+sku+`"`)
	if !ok {
		return ""
	}
	_, rest, ok = strings.Cut(rest, `value="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// TestReloadAfterPost: a page a form's POST answered in place (a refused card, a question before a
// cancel, an admin form's error) leaves the POST's path in the address bar; reloading it asks GET,
// which now goes back to the form's page instead of showing "page not found". Paths that only share a
// prefix, or that never were forms, stay the 404 page.
func TestReloadAfterPost(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	for path, want := range map[string]string{
		"/orders/0a1b2c3d/pay":             "/orders/0a1b2c3d",
		"/orders/0a1b2c3d/cancel":          "/orders/0a1b2c3d",
		"/orders/0a1b2c3d/buy-again":       "/orders/0a1b2c3d",
		"/cart/add":                        "/cart",
		"/cart/update":                     "/cart",
		"/logout":                          "/",
		"/account/profile":                 "/account",
		"/account/addresses/addr-1/delete": "/account",
		"/account/password":                "/account",
		"/notifications/read":              "/notifications",
		"/admin/products/p01":              "/admin/products/p01/edit",
		"/admin/inventory/SKU-01/adjust":   "/admin/inventory",
		"/admin/orders/0a1b2c3d/status":    "/admin/orders/0a1b2c3d",
		"/admin/users/u-demo/status":       "/admin/users",
	} {
		if p := b.get(path); p.status != http.StatusSeeOther || location(p) != want {
			t.Errorf("GET %s: status %d to %q, want 303 to %s", path, p.status, location(p), want)
		}
	}
	for _, path := range []string{"/orders/a/b/c", "/cartx", "/admin/orders/x/status/more", "/nothing/here"} {
		if p := b.get(path); p.status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want the 404 page", path, p.status)
		}
	}
}
