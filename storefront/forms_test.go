package main

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// TestCSRF: every POST form is refused without this browser's token, with another browser's token,
// with a token from before sign-in, and from a foreign Origin.
func TestCSRF(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	other := newBrowser(t, srv)
	otherToken := other.csrf("/login")
	anonToken := b.csrf("/login")

	posts := []string{"/cart/add", "/cart/update", "/login", "/register", "/logout", "/checkout", "/orders/x/pay",
		"/orders/x/cancel", "/orders/x/buy-again", "/admin/products", "/admin/products/p01", "/admin/products/p01/delete",
		"/admin/inventory/SKU-01/adjust", "/admin/orders/x/status", "/admin/users/u-demo/status", "/anything",
		"/account/profile", "/account/addresses", "/account/addresses/addr-1/delete"}
	for _, path := range posts {
		for name, token := range map[string]string{"missing": "", "other browser": otherToken, "garbage": "abc"} {
			form := url.Values{"sku": {"SKU-02"}, "quantity": {"1"}, "email": {fakeCustomer.Email}, "password": {"demo-Passw0rd!"}}
			if token != "" {
				form.Set("csrf_token", token)
			}
			p := b.post(path, form)
			if p.status != http.StatusForbidden || !strings.Contains(p.body, "This form has expired") {
				t.Errorf("POST %s with %s token: status = %d, want %d", path, name, p.status, http.StatusForbidden)
			}
		}
	}
	if n := len(gw.calls("POST /auth/login")); n != 0 {
		t.Errorf("refused forms reached the API: %d login calls", n)
	}

	// The right token works.
	if p := b.post("/cart/add", url.Values{"csrf_token": {anonToken}, "sku": {"SKU-02"}, "quantity": {"1"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST /cart/add with valid token: status = %d, want %d", p.status, http.StatusSeeOther)
	}
	// A foreign Origin is refused even with a valid token.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/cart/add", strings.NewReader(url.Values{"csrf_token": {anonToken}, "sku": {"SKU-02"}, "quantity": {"1"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if p := b.do(req); p.status != http.StatusForbidden {
		t.Errorf("POST /cart/add from a foreign Origin: status = %d, want %d", p.status, http.StatusForbidden)
	}
	// Signing in rotates the token: the signed-out one no longer works.
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	if p := b.post("/cart/add", url.Values{"csrf_token": {anonToken}, "sku": {"SKU-02"}, "quantity": {"1"}}); p.status != http.StatusForbidden {
		t.Errorf("POST /cart/add with the pre-login token: status = %d, want %d", p.status, http.StatusForbidden)
	}
}

// TestLoginFlow: the login form signs in with auth, the session cookie is a fresh random ID with the
// right flags (never a token), later gateway calls carry the session's access token, and logout
// revokes at auth and ends the session.
func TestLoginFlow(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)

	bad := b.submit("/login", "/login", url.Values{"email": {fakeCustomer.Email}, "password": {"wrong"}})
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "Email or password is incorrect") {
		t.Errorf("POST /login wrong password: status = %d, want 401 with a message", bad.status)
	}
	if b.cookie(cookieSession) != nil {
		t.Error("failed login set a session cookie")
	}

	p, set := b.signInFollow("/login?next=/orders", url.Values{"email": {fakeCustomer.Email}, "password": {"demo-Passw0rd!"}, "next": {"/orders"}})
	if p.status != http.StatusSeeOther || location(p) != "/orders" {
		t.Fatalf("sign-in: status = %d, Location %q, want 303 /orders", p.status, location(p))
	}
	if !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") || !strings.Contains(set, "Path=/") {
		t.Errorf("session cookie = %q, want HttpOnly, SameSite=Lax, Path=/", set)
	}
	logins := gw.calls("POST /auth/login")
	if len(logins) != 2 {
		t.Fatalf("gateway saw %d login calls, want 2", len(logins))
	}
	var body map[string]string
	json.Unmarshal([]byte(logins[1].Body), &body)
	if body["email"] != fakeCustomer.Email || body["password"] != "demo-Passw0rd!" {
		t.Errorf("login body = %s", logins[1].Body)
	}
	sess := b.cookie(cookieSession)
	if sess == nil || !shared.ValidRandomToken(sess.Value) {
		t.Fatalf("%s cookie = %v, want a 43-character random session ID", cookieSession, sess)
	}
	for _, c := range b.client.Jar.Cookies(mustURL(t, srv.URL)) {
		if strings.HasPrefix(c.Value, "at-") || strings.HasPrefix(c.Value, "rt-") || strings.HasPrefix(c.Value, "sess-") {
			t.Errorf("cookie %s = %q: a token or auth session reached the browser", c.Name, c.Value)
		}
	}

	orders := b.get("/orders")
	if orders.status != 200 {
		t.Fatalf("GET /orders after login: status = %d", orders.status)
	}
	calls := gw.calls("GET /order/orders")
	if len(calls) == 0 || !strings.HasPrefix(calls[len(calls)-1].Token, "at-") || calls[len(calls)-1].Session == "" {
		t.Errorf("GET /order/orders was not sent with the session's bearer token: %+v", calls)
	}
	if calls[len(calls)-1].RequestID == "" {
		t.Error("gateway call carried no X-Request-ID")
	}

	// Open redirects are refused.
	p, _ = b.signInFollow("/login", url.Values{"email": {fakeCustomer.Email}, "password": {"demo-Passw0rd!"}, "next": {"//evil.example/x"}})
	if location(p) != "/" {
		t.Errorf("sign-in next=//evil.example: Location = %q, want /", location(p))
	}

	out := b.submit("/", "/logout", nil)
	if out.status != http.StatusSeeOther || b.cookie(cookieSession) != nil {
		t.Errorf("POST /logout: status = %d, session cookie %v, want 303 and no cookie", out.status, b.cookie(cookieSession))
	}
	if len(gw.calls("POST /auth/logout")) == 0 || len(gw.calls("POST /auth/revoke")) == 0 {
		t.Error("logout did not call /auth/revoke and /auth/logout")
	}
	gw.mu.Lock()
	live := len(gw.refresh)
	gw.mu.Unlock()
	if live != 0 {
		t.Errorf("%d refresh tokens still live at auth after logout", live)
	}
	if p := b.get("/orders"); p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/login?next=") {
		t.Errorf("GET /orders after logout: status = %d, Location %q, want redirect to login", p.status, location(p))
	}
}

// TestEndedSession: when auth refuses the refresh token (logout elsewhere, suspension), the visitor
// is signed out.
func TestEndedSession(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.tokenTTL = 30 // below refreshBefore: every request refreshes
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	if p := b.get("/orders"); p.status != http.StatusOK {
		t.Fatalf("GET /orders signed in: status = %d", p.status)
	}
	gw.mu.Lock()
	clear(gw.sessions)
	gw.mu.Unlock()
	if p := b.get("/orders"); p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/login") {
		t.Errorf("GET /orders with an ended session: status = %d, Location %q, want 303 to sign-in", p.status, location(p))
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	// auth wants 10 characters (auth/password.go): the form says so up front and checks it, so a
	// 9-character password is not sent to come back as auth's "must be at least 10 characters".
	if p := b.get("/register"); !strings.Contains(p.body, `minlength="10" maxlength="72"`) || !strings.Contains(p.body, "At least 10 characters") {
		t.Errorf("GET /register: the password input does not say or check the 10-character minimum\n%s", p.body)
	}
	before := len(gw.calls("POST /auth/register"))
	if p := b.submit("/register", "/register", url.Values{"name": {"Nine"}, "email": {"nine@shop.local"}, "password": {"abcdefgh9"}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "Use at least 10 characters.") || len(gw.calls("POST /auth/register")) != before {
		t.Errorf("POST /register with 9 characters: status = %d, want 400 asking for 10 before calling auth\n%s", p.status, p.body)
	}
	p := b.submit("/register", "/register", url.Values{"name": {""}, "email": {"x"}, "password": {"short"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Tell us your name") || !strings.Contains(p.body, "at least 10") ||
		!strings.Contains(p.body, `maxlength="100" required aria-invalid="true" aria-describedby="name-error"><p class="field-error" id="name-error">`) ||
		!strings.Contains(p.body, `aria-describedby="password-hint password-error" aria-invalid="true">`) || !strings.Contains(p.body, `<p class="field-error" id="password-error">`) {
		t.Errorf("POST /register invalid: status = %d, want 400 with field messages tied to their inputs\n%s", p.status, p.body)
	}
	// auth's field messages continue a subject: the page writes the sentence, as the reset page does.
	p = b.submit("/register", "/register", url.Values{"name": {"Kim"}, "email": {"kim@shop.local"}, "password": {"Kim-long-enough-1"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `<p class="field-error" id="password-error">Your password must not contain your email name.</p>`) {
		t.Errorf("POST /register with a password auth refuses: status = %d, want 400 with the message as a sentence under the password\n%s", p.status, p.body)
	}
	// A taken address says what to do instead, not auth's "email already registered".
	p = b.submit("/register", "/register", url.Values{"name": {"Demo"}, "email": {fakeCustomer.Email}, "password": {"long-enough-1"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, `<p class="field-error" id="email-error">An account with this email already exists: <a href="/login`) ||
		!strings.Contains(p.body, `<a href="/forgot-password">reset your password</a>`) || strings.Contains(p.body, "already registered") {
		t.Errorf("POST /register taken email: status = %d, want 409 offering sign-in and a password reset\n%s", p.status, p.body)
	}
	p = b.follow(b.submit("/register", "/register", url.Values{"name": {"New <b>Person</b>"}, "email": {"new@shop.local"}, "password": {"long-enough-1"}}))
	if p.status != http.StatusSeeOther || b.cookie(cookieSession) == nil || strings.HasPrefix(location(p), "/login") {
		t.Fatalf("POST /register: status = %d, Location %q, session %v, want 303 and signed in", p.status, location(p), b.cookie(cookieSession))
	}
	if len(gw.calls("POST /auth/login")) != 1 {
		t.Error("register did not sign in through /auth/login")
	}
	if home := b.get("/"); !strings.Contains(home.body, "Your account is ready") || strings.Contains(home.body, "<b>Person") {
		t.Errorf("home after register lacks the notice or shows unescaped user data")
	}
}

// TestCart: add, change, remove, and an unknown session is an empty cart.
func TestCart(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	if p := b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"2"}}); p.status != http.StatusSeeOther || location(p) != "/cart" {
		t.Fatalf("POST /cart/add: status = %d, Location %q", p.status, location(p))
	}
	b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"1"}})
	b.submit("/products/p06", "/cart/add", url.Values{"sku": {"SKU-06"}, "quantity": {"1"}})
	cartPage := b.get("/cart")
	if !strings.Contains(cartPage.body, `value="3"`) || !strings.Contains(cartPage.body, "$38.97") || !strings.Contains(cartPage.body, "$57.96") {
		t.Errorf("GET /cart: want 3 × $12.99 = $38.97, subtotal $57.96; body:\n%s", cartPage.body)
	}
	for _, tt := range []struct {
		form url.Values
		want int
	}{
		{url.Values{"sku": {"SKU-unknown"}, "quantity": {"1"}}, http.StatusNotFound},
		{url.Values{"sku": {"SKU-04"}, "quantity": {"0"}}, http.StatusBadRequest},
		{url.Values{"sku": {"SKU-04"}, "quantity": {"100"}}, http.StatusBadRequest},
		{url.Values{"sku": {"bad sku/.."}, "quantity": {"1"}}, http.StatusBadRequest},
	} {
		if p := b.submit("/cart", "/cart/add", tt.form); p.status != tt.want {
			t.Errorf("POST /cart/add %v: status = %d, want %d", tt.form, p.status, tt.want)
		}
	}
	b.submit("/cart", "/cart/update", url.Values{"sku": {"SKU-04"}, "quantity": {"2"}})
	b.submit("/cart", "/cart/update", url.Values{"sku": {"SKU-06"}, "quantity": {"0"}})
	cartPage = b.get("/cart")
	if !strings.Contains(cartPage.body, `value="2"`) || strings.Contains(cartPage.body, "Product 06") {
		t.Errorf("GET /cart after update/remove: body:\n%s", cartPage.body)
	}
	// A made-up session ID is an empty cart, not someone else's.
	u, _ := url.Parse(srv.URL)
	c := b.cookie(cookieSession)
	c.Value = shared.RandomToken()
	b.client.Jar.SetCookies(u, []*http.Cookie{c})
	if p := b.get("/cart"); !strings.Contains(p.body, "Your cart is empty") {
		t.Error("GET /cart with an unknown session ID: want an empty cart")
	}
}

// TestCheckoutIdempotency: each render of the checkout form carries a fresh Idempotency-Key, and a
// double submit of one form sends the same key twice, so the API makes one order.
func TestCheckoutIdempotency(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"2"}})

	first := b.get("/checkout")
	second := b.get("/checkout")
	k1, k2 := idemRe.FindStringSubmatch(first.body), idemRe.FindStringSubmatch(second.body)
	if k1 == nil || k2 == nil || k1[1] == k2[1] {
		t.Fatalf("GET /checkout twice: keys %v and %v, want two different keys", k1, k2)
	}
	if !strings.Contains(first.body, "Saved addresses") || !strings.Contains(first.body, "1 Main St") {
		t.Error("GET /checkout: saved addresses not offered")
	}
	// The default saved address is the one chosen, not an empty "new address" to type again.
	if !strings.Contains(first.body, `<input type="radio" name="address_id" value="addr-1" checked>`) ||
		strings.Contains(first.body, `<input type="radio" name="address_id" value="" checked>`) {
		t.Errorf("GET /checkout: the default saved address addr-1 is not the one selected\n%s", first.body)
	}
	token := csrfRe.FindStringSubmatch(first.body)[1]
	form := url.Values{"csrf_token": {token}, "idempotency_key": {k1[1]}, "name": {"Demo"}, "street": {"1 Main St"}, "city": {"Springfield"}, "zip_code": {"12345"}, "country": {"US"}}

	// Missing fields come back with messages and no API call.
	bad := url.Values{"csrf_token": {token}, "idempotency_key": {k1[1]}, "name": {"Demo"}}
	if p := b.post("/checkout", bad); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Street is required") ||
		!strings.Contains(p.body, `<input type="radio" name="address_id" value="" checked>`) {
		t.Errorf("POST /checkout missing fields: status = %d, want 400 with field messages, the new address still chosen", p.status)
	}
	if n := len(gw.calls("POST /order/orders$")); n != 0 {
		t.Fatalf("invalid checkout reached the API %d times", n)
	}

	// The double click where the second post still finds the cart full (a slow first request; here the
	// cart is refilled in between): the same key reaches the API twice and makes one order.
	p1 := b.post("/checkout", form)
	b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"2"}})
	p2 := b.post("/checkout", form)
	if p1.status != http.StatusSeeOther || p2.status != http.StatusSeeOther || location(p1) != location(p2) {
		t.Fatalf("POST /checkout twice: %d %q and %d %q, want the same order twice", p1.status, location(p1), p2.status, location(p2))
	}
	calls := gw.calls("POST /order/orders$")
	if len(calls) != 2 || calls[0].IdempotencyKey != k1[1] || calls[1].IdempotencyKey != k1[1] {
		t.Errorf("order calls = %+v, want two with Idempotency-Key %s", calls, k1[1])
	}
	if n := gw.orderCount(); n != 1 {
		t.Errorf("orders made = %d, want 1", n)
	}
	var sent struct {
		Items []struct {
			SKU      string `json:"sku"`
			Quantity int    `json:"quantity"`
		} `json:"items"`
		ShippingAddress address `json:"shipping_address"`
	}
	json.Unmarshal([]byte(calls[0].Body), &sent)
	if len(sent.Items) != 1 || sent.Items[0].SKU != "SKU-04" || sent.Items[0].Quantity != 2 || sent.ShippingAddress.ZipCode != "12345" {
		t.Errorf("order body = %s", calls[0].Body)
	}
	if p := b.get("/cart"); !strings.Contains(p.body, "Your cart is empty") {
		t.Error("cart not emptied after the order")
	}

	// An API refusal with field messages re-renders the form with a new key (nothing was made).
	b.submit("/products/p02", "/cart/add", url.Values{"sku": {"SKU-02"}, "quantity": {"1"}})
	page := b.get("/checkout")
	k3 := idemRe.FindStringSubmatch(page.body)[1]
	form.Set("idempotency_key", k3)
	form.Set("csrf_token", csrfRe.FindStringSubmatch(page.body)[1])
	form.Set("zip_code", "00000")
	p := b.post("/checkout", form)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "unknown ZIP code") {
		t.Errorf("POST /checkout refused by the API: status = %d, want 400 with the field message", p.status)
	}
	if k4 := idemRe.FindStringSubmatch(p.body); k4 == nil || k4[1] == k3 {
		t.Errorf("re-rendered checkout kept key %s after a 4xx, want a new one", k3)
	}
	// After a 5xx the order may exist: the form keeps its key so a retry cannot make a second one.
	gw.failWith("POST /order/orders", 503)
	form.Set("zip_code", "12345")
	form.Set("idempotency_key", k3)
	p = b.post("/checkout", form)
	if k5 := idemRe.FindStringSubmatch(p.body); p.status != http.StatusServiceUnavailable || k5 == nil || k5[1] != k3 {
		t.Errorf("POST /checkout on 503: status = %d, key kept = %v", p.status, k5)
	}
	// The same key with other details (the API's 409) says to check the orders and mints a new key.
	gw.mu.Lock()
	delete(gw.fail, "POST /order/orders")
	gw.mu.Unlock()
	form.Set("idempotency_key", k1[1])
	form.Set("street", "2 Other St")
	p = b.post("/checkout", form)
	if k6 := idemRe.FindStringSubmatch(p.body); p.status != http.StatusConflict || !strings.Contains(p.body, "already submitted with different details") || k6 == nil || k6[1] == k1[1] {
		t.Errorf("POST /checkout reused key, other body: status = %d, want 409 with a notice and a new key", p.status)
	}
	// A forged or missing key is refused.
	form.Set("idempotency_key", "not-a-key")
	if p := b.post("/checkout", form); p.status != http.StatusBadRequest {
		t.Errorf("POST /checkout bad key: status = %d, want 400", p.status)
	}
}

// TestCheckoutRepriced: the order service prices an order when it is made, so a price changed after
// the checkout page was shown gives an order whose total is not the one the visitor saw; the order
// page says so before they pay. (The fake prices every order at 10.80: a product at 5.38 quotes
// that total, at 7.00 another.)
func TestCheckoutRepriced(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	setPrice := func(price string) {
		gw.mu.Lock()
		defer gw.mu.Unlock()
		for i := range gw.products {
			if gw.products[i].SKU == "SKU-05" {
				gw.products[i].Price = json.Number(price)
			}
		}
	}
	for _, tt := range []struct {
		price  string
		notice bool
	}{{"5.38", false}, {"7.00", true}} {
		setPrice(tt.price)
		b.submit("/products/p05", "/cart/add", url.Values{"sku": {"SKU-05"}, "quantity": {"1"}})
		page := b.get("/checkout")
		form := url.Values{"csrf_token": {csrfRe.FindStringSubmatch(page.body)[1]}, "idempotency_key": {idemRe.FindStringSubmatch(page.body)[1]},
			"name": {"Demo"}, "street": {"1 Main St"}, "city": {"Springfield"}, "zip_code": {"12345"}, "country": {"US"}}
		m := regexp.MustCompile(`name="quoted_total" value="([^"]*)"`).FindStringSubmatch(page.body)
		if m == nil {
			t.Fatalf("GET /checkout at %s: the form does not carry the total it shows", tt.price)
		}
		form.Set("quoted_total", html.UnescapeString(m[1]))
		p := b.post("/checkout", form)
		if p.status != http.StatusSeeOther {
			t.Fatalf("POST /checkout at %s: status = %d, want 303", tt.price, p.status)
		}
		order := b.get(location(p))
		if got := strings.Contains(order.body, "Prices changed since you opened the checkout"); got != tt.notice {
			t.Errorf("order page after checking out at %s (checkout showed %s, order total $10.80): notice shown = %v, want %v",
				tt.price, form.Get("quoted_total"), got, tt.notice)
		}
		// A warning to act on looks like one (amber), not like the green "done" notices.
		if tt.notice && !strings.Contains(order.body, `<p class="flash flash-warn" role="status">Prices changed`) {
			t.Errorf("order page after a price change: the notice is not styled as a warning\n%s", order.body)
		}
	}
}

func TestPayAndCancel(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	b.submit("/products/p02", "/cart/add", url.Values{"sku": {"SKU-02"}, "quantity": {"1"}})
	key := idemRe.FindStringSubmatch(b.get("/checkout").body)[1]
	orderPath := location(b.submit("/checkout", "/checkout", url.Values{"idempotency_key": {key}, "address_id": {"addr-1"}}))
	id := strings.TrimPrefix(orderPath, "/orders/")
	if calls := gw.calls("POST /order/orders$"); !strings.Contains(calls[0].Body, `"address_id":"addr-1"`) {
		t.Errorf("saved address not sent: %s", calls[0].Body)
	}
	gw.setOrderStatus(id, "confirmed")
	page := b.get(orderPath)
	if !strings.Contains(page.body, "Pay $10.80") || !strings.Contains(page.body, `data-order-status="`+id+`"`) {
		t.Fatalf("GET %s confirmed: no pay form or live status hook\n%s", orderPath, page.body)
	}
	declined := b.submit(orderPath, orderPath+"/pay", url.Values{"card_number": {"4000 0000 0000 0002"}, "exp_month": {"12"}, "exp_year": {"2030"}, "cvc": {"123"}})
	// Said for people, with what to do, not the order service's "payment declined"; the message
	// under the card number is tied to its input.
	if declined.status != http.StatusBadRequest || !strings.Contains(declined.body, "Your card was declined. Nothing was charged.") ||
		!strings.Contains(declined.body, `aria-invalid="true" aria-describedby="card-error"`) ||
		!strings.Contains(declined.body, `<p class="field-error" id="card-error">Try another card, or check the number.</p>`) ||
		strings.Contains(declined.body, "payment declined") || strings.Contains(declined.body, `">card was declined<`) {
		t.Errorf("POST pay declined: status = %d, want 400 saying the card was declined and what to do\n%s", declined.status, declined.body)
	}
	local := b.submit(orderPath, orderPath+"/pay", url.Values{"card_number": {"42"}, "exp_month": {"13"}, "exp_year": {"x"}, "cvc": {"1"}})
	if local.status != http.StatusBadRequest || !strings.Contains(local.body, "Month must be 1 to 12") ||
		!strings.Contains(local.body, `id="mm" name="exp_month" inputmode="numeric" autocomplete="cc-exp-month" value="13" maxlength="2" aria-invalid="true" aria-describedby="mm-error"`) ||
		!strings.Contains(local.body, `<p class="field-error" id="yy-error">`) {
		t.Errorf("POST pay invalid: status = %d, want 400 with field messages tied to their inputs\n%s", local.status, local.body)
	}
	paid := b.submit(orderPath, orderPath+"/pay", url.Values{"card_number": {"4242 4242 4242 4242"}, "exp_month": {"12"}, "exp_year": {"2030"}, "cvc": {"123"}})
	if paid.status != http.StatusSeeOther || location(paid) != orderPath {
		t.Fatalf("POST pay: status = %d, Location %q", paid.status, location(paid))
	}
	calls := gw.calls("POST /order/orders/" + id + "/pay")
	var body map[string]any
	json.Unmarshal([]byte(calls[len(calls)-1].Body), &body)
	if body["card_number"] != "4242424242424242" || body["exp_month"] != float64(12) || body["exp_year"] != float64(2030) || body["cvc"] != "123" {
		t.Errorf("pay body = %s", calls[len(calls)-1].Body)
	}
	if page := b.get(orderPath); !strings.Contains(page.body, "Payment received") || !strings.Contains(page.body, "status-paid") {
		t.Errorf("order page after paying lacks the notice or the paid status")
	}
	if p := b.submit(orderPath, orderPath+"/pay", url.Values{"card_number": {"4242424242424242"}, "exp_month": {"12"}, "exp_year": {"2030"}, "cvc": {"123"}}); p.status != http.StatusConflict {
		t.Errorf("POST pay twice: status = %d, want 409", p.status)
	}
	gw.setOrderStatus(id, "confirmed")
	if p := b.submit(orderPath, orderPath+"/cancel", url.Values{"confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST cancel: status = %d, want 303", p.status)
	}
	// Cancelled after it was paid (an admin's cancel refunds): the page says where the money went,
	// as the customer's mail does; an order cancelled before payment says nothing of a refund.
	for _, o := range []order{
		{ID: "0a1b2c3d4e5f60718293a4b5c6d7e8f1", Payment: &orderPayment{Last4: "4242", Brand: "visa", Amount: "39.53", Refunded: true}},
		{ID: "0a1b2c3d4e5f60718293a4b5c6d7e8f2"},
	} {
		o.UserID, o.Status, o.Currency, o.Total, o.CreatedAt = fakeCustomer.ID, "cancelled", "USD", "39.53", time.Now()
		gw.putOrder(o)
		const want = "This order was cancelled. $39.53 was refunded to your card ending 4242.</p>"
		if p := b.get("/orders/" + o.ID); strings.Contains(p.body, want) != (o.Payment != nil) || (o.Payment == nil && strings.Contains(p.body, "refunded")) {
			t.Errorf("GET /orders/%s cancelled, payment %+v: the refund line is wrong (want it only when refunded)\n%s", o.ID, o.Payment, p.body)
		}
	}
	// Another customer cannot see it.
	other := newBrowser(t, srv)
	other.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	gw.mu.Lock()
	gw.users = append(gw.users, apiUser{ID: "u-x", Email: "x@shop.local", Role: "customer"})
	gw.passwords["x@shop.local"] = "x-Passw0rd!"
	gw.mu.Unlock()
	x := newBrowser(t, srv)
	x.signIn("x@shop.local", "x-Passw0rd!")
	if p := x.get(orderPath); p.status != http.StatusNotFound {
		t.Errorf("GET %s as another customer: status = %d, want 404", orderPath, p.status)
	}
}

// TestFormBodies: a form value that is not valid UTF-8 is refused with a 400 page before any API
// call (encoding/json would otherwise store it with U+FFFD in its place), and a body over the 64 KiB
// limit is a 413 page, not the CSRF page's "This form has expired".
func TestFormBodies(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	address := url.Values{"name": {"Ada"}, "street": {"1 Main St"}, "city": {"Springfield"}, "zip_code": {"12345"}, "country": {"US"}}
	tests := []struct {
		from, action string
		form         url.Values
		api          string // the API call the form would make
	}{
		{"/checkout", "/checkout", address, "POST /order/orders$"},
		{"/account", "/account/addresses", address, "POST /user/users/me/addresses"},
		{"/account", "/account/profile", url.Values{"name": {"Ada"}}, "PATCH /user/users/me"},
		{"/admin/products/new", "/admin/products", url.Values{"sku": {"NEW-1"}, "name": {"Thing"}, "price": {"1.00"}, "category": {"books"}}, "POST /product/products"},
		{"/admin/inventory", "/admin/inventory/SKU-01/adjust", url.Values{"delta": {"1"}, "reason": {"count"}}, "POST /inventory/"},
	}
	for _, tt := range tests {
		for _, field := range []string{"name", "street", "description", "reason"} {
			// The cart is filled again in case a checkout got through.
			b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"1"}})
			form := url.Values{}
			for k, v := range tt.form {
				form[k] = v
			}
			if p := b.get(tt.from); strings.Contains(p.body, "idempotency_key") {
				form.Set("idempotency_key", idemRe.FindStringSubmatch(p.body)[1])
			}
			form.Set(field, form.Get(field)+"bad\xff\xfebytes")
			before := len(gw.calls(tt.api))
			p := b.submit(tt.from, tt.action, form)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "not valid text") {
				t.Errorf("POST %s with invalid UTF-8 in %s: status = %d, want 400 saying it is not valid text", tt.action, field, p.status)
			}
			if n := len(gw.calls(tt.api)) - before; n != 0 {
				t.Errorf("POST %s with invalid UTF-8 in %s: %d calls %s reached the API", tt.action, field, n, tt.api)
			}
		}
		b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"1"}})
		form := url.Values{"description": {strings.Repeat("x", 70<<10)}}
		if p := b.submit(tt.from, tt.action, form); p.status != http.StatusRequestEntityTooLarge || !strings.Contains(p.body, "too long") {
			t.Errorf("POST %s with a 70 KiB body: status = %d, want 413 saying it is too long", tt.action, p.status)
		}
	}
}

// TestLoginBadEmail: an address auth refuses as malformed (a user name, a half-typed address) is
// answered with what to fix, not auth's bare "invalid request", and stays in the form.
func TestLoginBadEmail(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	for _, email := range []string{"bob", "bob@", "bob smith@example.com"} {
		p := b.submit("/login", "/login", url.Values{"email": {email}, "password": {"whatever-1"}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Enter a valid email address") || strings.Contains(p.body, "invalid request") ||
			!strings.Contains(p.body, `value="`+html.EscapeString(email)+`"`) {
			t.Errorf("POST /login email %q: status = %d, want 400 asking for a valid address, keeping it in the form", email, p.status)
		}
	}
}

// TestLoginRefused: a sign-in auth throttles or refuses for a suspended account says, in words for
// people, what happened and what to do (how long to wait), not auth's "too many failed attempts,
// retry in 75 s" or "account is suspended".
func TestLoginRefused(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	for _, tt := range []struct {
		email  string
		status int
		want   string
	}{
		{"locked1@example.com", 429, "Too many failed sign-in attempts. Please wait 1 second, then try again."},
		{"locked75@example.com", 429, "Too many failed sign-in attempts. Please wait 2 minutes, then try again."},
		{"locked@example.com", 429, "Too many failed sign-in attempts. Please wait a moment, then try again."},
		{"suspended@example.com", 403, "This account is suspended."},
	} {
		p := b.submit("/login", "/login", url.Values{"email": {tt.email}, "password": {"whatever-1"}})
		if p.status != tt.status || !strings.Contains(p.body, tt.want) || strings.Contains(p.body, "retry in") || strings.Contains(p.body, `">account is suspended`) {
			t.Errorf("POST /login %s: status = %d, want %d saying %q\n%s", tt.email, p.status, tt.status, tt.want, p.body)
		}
	}
}

// TestCheckoutAddressGone: checking out with a saved address deleted meanwhile (in another tab)
// says so and offers the form again, not the order service's bare "invalid request".
func TestCheckoutAddressGone(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	b.submit("/products/p05", "/cart/add", url.Values{"sku": {"SKU-05"}, "quantity": {"1"}})
	key := idemRe.FindStringSubmatch(b.get("/checkout").body)[1]
	b.submit("/account", "/account/addresses/addr-1/delete", url.Values{"confirm": {"yes"}})
	p := b.submit("/checkout", "/checkout", url.Values{"idempotency_key": {key}, "address_id": {"addr-1"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "address you chose") || strings.Contains(p.body, "invalid request") {
		t.Errorf("POST /checkout with a deleted address: status = %d, want 400 saying the chosen address is gone\n%s", p.status, p.body)
	}
}
