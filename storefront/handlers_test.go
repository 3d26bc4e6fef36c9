package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPages renders every page as a signed-out visitor, a customer and an admin.
func TestPages(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	customer := newBrowser(t, srv)
	customer.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	admin := newBrowser(t, srv)
	admin.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	anon := newBrowser(t, srv)
	// An order for the order pages.
	customer.get("/products/p03")
	customer.submit("/products/p03", "/cart/add", url.Values{"sku": {"SKU-03"}, "quantity": {"2"}})
	key := idemRe.FindStringSubmatch(customer.get("/checkout").body)[1]
	placed := customer.submit("/checkout", "/checkout", url.Values{"idempotency_key": {key}, "name": {"D"}, "street": {"1 St"}, "city": {"C"}, "zip_code": {"1"}, "country": {"US"}})
	orderPath := location(placed)
	if !strings.HasPrefix(orderPath, "/orders/ord-") {
		t.Fatalf("POST /checkout: Location = %q, want /orders/ord-...", orderPath)
	}

	tests := []struct {
		who    string
		b      *browser
		path   string
		status int
		want   []string
	}{
		{"anon", anon, "/", 200, []string{"New arrivals", "Product 08", "Categories", `href="/products?category=books"`}},
		{"anon", anon, "/products", 200, []string{"All products", "14 products", "Product 01", `rel="next"`, "Only 1 left"}},
		{"anon", anon, "/products?category=garden", 200, []string{"Garden", "Product 01", `<option value="garden" selected>`}},
		{"anon", anon, "/products?q=Product+1&sort=price_desc&page=1", 200, []string{"Search: Product 1", `<option value="price_desc" selected>`}},
		{"anon", anon, "/products?q=nothing-matches", 200, []string{"No products match"}},
		{"anon", anon, "/products?category=bad+slug!", 200, []string{"No results: the category must be a slug."}},
		{"anon", anon, "/products?minPrice=50&maxPrice=10", 200, []string{`name="minPrice" inputmode="decimal" placeholder="Min" value="10"`}},
		// A price that is not an amount is not silently dropped: it stays in its box with a message.
		{"anon", anon, "/products?minPrice=5&maxPrice=%2450%21", 200, []string{`name="maxPrice" inputmode="decimal" placeholder="Max" value="$50!" aria-invalid="true" aria-describedby="f-price-error"`,
			`<p class="field-error" id="f-price-error">Enter prices as amounts, like 25 or 19.99.</p>`, `name="minPrice" inputmode="decimal" placeholder="Min" value="5">`}},
		{"anon", anon, "/products?page=2", 200, []string{"Product 13", `rel="prev"`}},
		{"anon", anon, "/products?page=5", 200, []string{"14 products", "past the end", `href="/products"`}},
		{"anon", anon, "/products?page=5000&q=Product", 200, []string{"past the end", `href="/products?q=Product"`}},
		{"anon", anon, "/products/p05", 200, []string{"Product 05", "$15.99", "In stock", `name="sku" value="SKU-05"`}},
		{"anon", anon, "/products/p01", 200, []string{"Out of stock", "sold out"}},
		{"anon", anon, "/products/nope", 404, []string{"product not found", "Request ID", `<a class="button" href="/products">All products</a>`}},
		{"anon", anon, "/products/bad-id", 404, []string{"No such product."}},
		{"anon", anon, "/cart", 200, []string{"Your cart is empty"}},
		{"anon", anon, "/login", 200, []string{"Sign in", `name="password"`}},
		{"anon", anon, "/register", 200, []string{"Create your account"}},
		{"anon", anon, "/no/such/page", 404, []string{"There is no page at this address"}},
		{"anon", anon, "/orders", 303, nil},
		{"anon", anon, "/checkout", 303, nil},
		{"anon", anon, "/admin/products", 303, nil},
		{"customer", customer, "/", 200, []string{"Sign out", "Orders"}},
		{"customer", customer, "/orders", 200, []string{"My orders", "Pending"}},
		{"customer", customer, orderPath, 200, []string{"Pending", "We are reserving your items", `http-equiv="refresh"`, "1 St"}},
		{"customer", customer, "/orders/ord-unknown", 404, []string{"order not found", `<a class="button" href="/orders">Your orders</a>`}},
		{"customer", customer, "/cart", 200, []string{"Your cart is empty"}},
		{"customer", customer, "/admin/products", 403, []string{"administrators only"}},
		{"customer", customer, "/admin/users", 403, []string{"administrators only"}},
		{"admin", admin, "/admin", 200, []string{"Dashboard", "Waiting to ship", `aria-current="page">Dashboard`}},
		{"admin", admin, "/admin/products", 200, []string{"New product", "SKU-07", "Edit"}},
		{"admin", admin, "/admin/products?page=5000", 200, []string{"past the end", `href="/admin/products"`}},
		{"admin", admin, "/admin/products/new", 200, []string{"Create product", `name="stock"`}},
		{"admin", admin, "/admin/products/p02/edit", 200, []string{"Save changes", `value="6.99"`}},
		{"admin", admin, "/admin/inventory", 200, []string{"SKU-04", "row-low", `name="delta"`}},
		{"admin", admin, "/admin/orders", 200, []string{"Pending", "admin-orders"}},
		{"admin", admin, "/admin/users", 200, []string{"demo@shop.local", "Suspend", "you"}},
	}
	for _, tt := range tests {
		t.Run(tt.who+" "+tt.path, func(t *testing.T) {
			p := tt.b.get(tt.path)
			if p.status != tt.status {
				t.Fatalf("GET %s as %s: status = %d, want %d\n%s", tt.path, tt.who, p.status, tt.status, p.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("GET %s as %s: body lacks %q", tt.path, tt.who, w)
				}
			}
			if p.status == 200 && !strings.Contains(p.resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("GET %s: Content-Type = %q", tt.path, p.resp.Header.Get("Content-Type"))
			}
		})
	}
	_ = gw
}

func TestEmptyCatalog(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.mu.Lock()
	gw.products = nil
	gw.mu.Unlock()
	b := newBrowser(t, srv)
	for path, want := range map[string]string{"/": "The shelves are empty", "/products": "No products match"} {
		if p := b.get(path); p.status != 200 || !strings.Contains(p.body, want) {
			t.Errorf("GET %s: status = %d, want 200 and %q", path, p.status, want)
		}
	}
}

// TestSecurityHeaders checks the CSP and friends, and that no page carries an inline script.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	for _, path := range []string{"/", "/products", "/products/p02", "/login", "/nope"} {
		p := b.get(path)
		h := p.resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self';"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP allows unsafe-inline", path)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: missing security headers: %v", path, h)
		}
		if inline.MatchString(p.body) || strings.Contains(p.body, " onclick=") || strings.Contains(p.body, " style=") {
			t.Errorf("GET %s: page has inline script or style", path)
		}
	}
	c := b.cookie(cookieCSRF)
	if c == nil {
		t.Fatal("no sf_csrf cookie issued")
	}
	resp, _ := http.Get(srv.URL + "/")
	var sc string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, cookieCSRF+"=") {
			sc = v
		}
	}
	resp.Body.Close()
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Errorf("sf_csrf cookie = %q, want HttpOnly and SameSite=Lax", sc)
	}
}

func TestStaticFiles(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	home := b.get("/")
	m := regexp.MustCompile(`/static/app\.css\?v=([0-9a-f]+)`).FindStringSubmatch(home.body)
	if m == nil {
		t.Fatal("home page does not link the versioned stylesheet")
	}
	for path, ct := range map[string]string{"/static/app.css?v=" + m[1]: "text/css", "/static/live.js": "javascript", "/static/favicon.svg": "image/svg"} {
		p := b.get(path)
		if p.status != 200 || !strings.Contains(p.resp.Header.Get("Content-Type"), ct) {
			t.Errorf("GET %s: status = %d, type %q, want 200 %s", path, p.status, p.resp.Header.Get("Content-Type"), ct)
		}
	}
	if cc := b.get("/static/app.css?v=" + m[1]).resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned CSS Cache-Control = %q, want immutable", cc)
	}
	// A product name, description, SKU or address of one long unbroken word (200 characters) pushed
	// the cart's prices and totals off the screen and widened the product page: the main content
	// wraps such words (seen in Chromium; the rule is checked here).
	if css := b.get("/static/app.css?v=" + m[1]).body; !regexp.MustCompile(`(?m)^main \{[^}]*overflow-wrap: anywhere`).MatchString(css) {
		t.Error("app.css: main does not wrap long words (overflow-wrap: anywhere)")
	}
}

func TestHealthEndpoints(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/healthz", 200, `"ok"`},
		{"/readyz", 200, `"gateway":"ok"`},
		{"/metrics", 200, "http_requests"},
	} {
		if p := b.get(tt.path); p.status != tt.status || !strings.Contains(p.body, tt.want) {
			t.Errorf("GET %s: status = %d, want %d with %q\n%s", tt.path, p.status, tt.status, tt.want, p.body)
		}
	}
	gw.srv.Close()
	if p := b.get("/readyz"); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "gateway") {
		t.Errorf("GET /readyz with gateway down: status = %d, want 503 naming the gateway\n%s", p.status, p.body)
	}
	// With the gateway down, pages are a friendly 503 in the layout, never a stack.
	p := b.get("/products")
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "temporarily unavailable") || strings.Contains(p.body, "goroutine") || strings.Contains(p.body, "dial tcp") {
		t.Errorf("GET /products with gateway down: status = %d\n%s", p.status, p.body)
	}
}

// TestConfirmFirst: an action that cannot be undone or that moves money (cancelling an order, and
// refunding it when paid; suspending a user; deleting a saved address) asks first. The first post
// renders a page saying what will happen and calls nothing that changes state; posting that page's
// form (what its button does) performs the action with the original fields; a confirmed post
// without this session's CSRF token is refused and calls nothing. Actions that are easily undone
// (reactivating a user, marking an order shipped) still act at once.
func TestConfirmFirst(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	customer := newBrowser(t, srv)
	customer.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	admin := newBrowser(t, srv)
	admin.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	other := newBrowser(t, srv)
	other.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	otherToken := other.csrf("/admin/users")

	newOrder := func(id, status string, paid bool) order {
		o := order{ID: id, UserID: fakeCustomer.ID, Status: status, Currency: "USD", CreatedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
			Items:    []orderLine{{SKU: "SKU-05", Name: "Product 05", UnitPrice: "15.99", Quantity: 2, LineTotal: "31.98"}},
			Subtotal: "31.98", Tax: "2.56", Shipping: "4.99", Total: "39.53",
			Customer: &orderCustomer{Email: fakeCustomer.Email, Name: fakeCustomer.Name}}
		if paid {
			o.Payment = &orderPayment{Last4: "4242", Brand: "visa", Amount: "39.53", PaidAt: o.CreatedAt}
		}
		gw.putOrder(o)
		return o
	}
	const (
		unpaid   = "0a1b2c3d4e5f60718293a4b5c6d7e801"
		paidPage = "0a1b2c3d4e5f60718293a4b5c6d7e802"
		paidList = "0a1b2c3d4e5f60718293a4b5c6d7e803"
		toShip   = "0a1b2c3d4e5f60718293a4b5c6d7e804"
	)
	newOrder(unpaid, "confirmed", false)
	newOrder(paidPage, "paid", true)
	// Placed by a third-party app without the email scope: the order knows the name only.
	nameOnly := newOrder(paidList, "paid", true)
	nameOnly.Customer = &orderCustomer{Name: fakeCustomer.Name}
	gw.putOrder(nameOnly)
	if p := admin.get("/admin/orders/" + paidList); !strings.Contains(p.body, `by <strong class="customer-name">Demo Customer</strong> · <code`) {
		t.Errorf("admin order page of a name-only customer:\n%s", p.body)
	}
	newOrder(toShip, "paid", true)
	gw.mu.Lock()
	gw.users = append(gw.users, apiUser{ID: "u-gone", Email: "gone@shop.local", Name: "Gone Away", Role: "customer", Status: "suspended"})
	gw.mu.Unlock()

	for _, tt := range []struct {
		name         string
		b            *browser
		from, action string
		form         url.Values
		call         string   // the API call that performs the action
		want         []string // on the confirmation page; none: the action needs no confirmation
		to           string   // where the performed action lands
		body         string   // in the performing call's body
	}{
		{"customer cancels an unpaid order", customer, "/orders/" + unpaid, "/orders/" + unpaid + "/cancel", nil,
			"POST /order/orders/" + unpaid + "/cancel",
			[]string{"<h1>Cancel order #0a1b2c3d?</h1>", "Nothing has been charged, so nothing is refunded. A cancelled order cannot be reopened.",
				`<button type="submit" class="danger-fill">Cancel order</button>`, `<a class="button secondary" href="/orders/` + unpaid + `">Keep the order</a>`,
				`<a href="/orders">My orders</a> › <span>Confirm</span>`, "<title>Cancel order #0a1b2c3d?"},
			"/orders/" + unpaid, ""},
		{"admin cancels a paid order from its page", admin, "/admin/orders/" + paidPage, "/admin/orders/" + paidPage + "/status",
			url.Values{"status": {"cancelled"}, "back": {"order"}, "reason": {"Out of stock <b>"}},
			"PATCH /order/orders/" + paidPage + "/status",
			[]string{"<h1>Cancel order #0a1b2c3d and refund $39.53?</h1>", "$39.53 is refunded to the customer&#39;s card ending 4242.",
				"Demo Customer &lt;demo@shop.local&gt;", "Reason: Out of stock &lt;b&gt;", `<button type="submit" class="danger-fill">Cancel and refund $39.53</button>`,
				`<input type="hidden" name="reason" value="Out of stock &lt;b&gt;">`, `href="/admin/orders/` + paidPage + `">Keep the order</a>`},
			"/admin/orders/" + paidPage, `"reason":"Out of stock \u003cb\u003e"`},
		{"admin cancels a paid order from the list", admin, "/admin/orders", "/admin/orders/" + paidList + "/status",
			url.Values{"status": {"cancelled"}},
			"PATCH /order/orders/" + paidList + "/status",
			[]string{"and refund $39.53?</h1>", `<a class="button secondary" href="/admin/orders">Keep the order</a>`, `<a href="/admin/orders">Orders</a> › <span>Confirm</span>`,
				"total $39.53 · Demo Customer</p>"},
			"/admin/orders", `"status":"cancelled"`},
		{"admin suspends a user", admin, "/admin/users", "/admin/users/u-demo/status", url.Values{"status": {"suspended"}},
			"PATCH /user/users/u-demo/status",
			[]string{"<h1>Suspend Demo Customer?</h1>", "They will be signed out everywhere at once", `<button type="submit" class="danger-fill">Suspend Demo Customer</button>`,
				`<a class="button secondary" href="/admin/users">Keep it</a>`},
			"/admin/users", `{"status":"suspended"}`},
		{"customer deletes an address", customer, "/account", "/account/addresses/addr-1/delete", nil,
			"DELETE /user/users/me/addresses/addr-1",
			[]string{"<h1>Delete the address 1 Main St, Springfield?</h1>", "This is your default address. Orders already placed keep their shipping address.",
				`<button type="submit" class="danger-fill">Delete address</button>`, `<a class="button secondary" href="/account">Keep it</a>`},
			"/account", ""},
		{"admin reactivates a user", admin, "/admin/users", "/admin/users/u-gone/status", url.Values{"status": {"active"}},
			"PATCH /user/users/u-gone/status", nil, "/admin/users", `{"status":"active"}`},
		{"admin ships an order", admin, "/admin/orders", "/admin/orders/" + toShip + "/status", url.Values{"status": {"shipped"}},
			"PATCH /order/orders/" + toShip + "/status", nil, "/admin/orders", `"status":"shipped"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range tt.form {
				form[k] = v
			}
			if tt.want != nil {
				p := tt.b.submit(tt.from, tt.action, form)
				if p.status != http.StatusOK {
					t.Fatalf("POST %s: status = %d, want 200 asking first\n%s", tt.action, p.status, p.body)
				}
				for _, w := range tt.want {
					if !strings.Contains(p.body, w) {
						t.Errorf("POST %s: confirmation lacks %q\n%s", tt.action, w, p.body)
					}
				}
				if calls := gw.calls(tt.call); len(calls) != 0 {
					t.Fatalf("POST %s without confirmation called %s", tt.action, tt.call)
				}
				action, confirm := confirmForm(t, p.body)
				if action != tt.action || confirm.Get("confirm") != "yes" || confirm.Get("csrf_token") == "" {
					t.Fatalf("the confirmation posts %v to %s, want confirm=yes and a CSRF token to %s", confirm, action, tt.action)
				}
				for k, v := range tt.form {
					if !slices.Equal(confirm[k], v) {
						t.Errorf("the confirmation carries %s=%q, want %q", k, confirm[k], v)
					}
				}
				// The confirmed post is a form like any other: without this session's token it is refused.
				for name, token := range map[string]string{"no": "", "another session's": otherToken} {
					forged := url.Values{}
					for k, v := range confirm {
						forged[k] = v
					}
					forged.Del("csrf_token")
					if token != "" {
						forged.Set("csrf_token", token)
					}
					if p := tt.b.post(action, forged); p.status != http.StatusForbidden || !strings.Contains(p.body, "This form has expired") {
						t.Errorf("confirmed POST %s with %s token: status = %d, want 403", action, name, p.status)
					}
				}
				if calls := gw.calls(tt.call); len(calls) != 0 {
					t.Fatalf("a refused confirmation called %s", tt.call)
				}
				form = confirm
			} else {
				form.Set("csrf_token", tt.b.csrf(tt.from))
			}
			p := tt.b.post(tt.action, form)
			if p.status != http.StatusSeeOther || location(p) != tt.to {
				t.Errorf("confirmed POST %s: status = %d, Location %q, want 303 to %s\n%s", tt.action, p.status, location(p), tt.to, p.body)
			}
			if calls := gw.calls(tt.call); len(calls) != 1 || !strings.Contains(calls[0].Body, tt.body) {
				t.Errorf("%s calls = %+v, want one with %s", tt.call, calls, tt.body)
			}
		})
	}
}

// confirmForm reads the action and fields of a confirmation page's form, as its button posts them.
func confirmForm(t *testing.T, body string) (string, url.Values) {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form action="([^"]+)" method="post" class="actions">(.*?)</form>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no confirmation form in\n%s", body)
	}
	form := url.Values{}
	for _, in := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(m[2], -1) {
		form.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), form
}
