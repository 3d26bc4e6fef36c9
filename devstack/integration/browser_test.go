//go:build unix

package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBrowserShop drives headless Chromium through the real storefront, gateway and services, as
// a customer and as the admin, using the pages' own forms (with their CSRF tokens): register,
// search, add to cart, check out, pay with the test card, see the order turn paid and later
// shipped in open pages without a reload (live.js over the gateway's /realtime/ws), and create a
// product as admin that the shop then finds. Screenshots of the main pages go to
// $BROWSER_SCREENSHOTS, or to a temporary directory named in the log.
func TestBrowserShop(t *testing.T) {
	bin, shots := browserEnv(t)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	browser := startChrome(ctx, t, bin)
	sf := platform.URL("storefront")
	stamp := time.Now().UnixNano() % 1e9

	// A visitor registers: the storefront creates the account and signs them in.
	customer := browser.newContext(ctx, t)
	shop := browser.newTab(ctx, t, shots, customer)
	shop.navigate(sf + "/")
	shop.waitFor("home shows products", `document.querySelector('.card') !== null`, 10*time.Second)
	shop.screenshot("01-home")
	shop.click(`a[href="/login"]`)
	shop.click(`a[href^="/register"]`)
	email := fmt.Sprintf("browser-%d@example.com", stamp)
	shop.fill(map[string]string{"#name": "Browser Tester", "#email": email, "#password": "browser-Passw0rd!"})
	shop.screenshot("02-register")
	shop.click(`form[action="/register"] button[type=submit]`)
	shop.waitFor("signed in after registering", `document.body.dataset.signedIn === 'true'`, 5*time.Second)
	if p := shop.path(); strings.HasPrefix(p, "/register") {
		shop.fail("after registering: still on %s", p)
	}
	// Signed in through auth's code flow: the browser holds the storefront's session ID and CSRF key
	// only, never a token or auth's session.
	shop.checkCookies(sf)

	// Search from the header, open the product, add two to the cart.
	shop.fill(map[string]string{"#q": "speaker"})
	shop.click(`form.search button[type=submit]`)
	shop.waitFor("search finds the speaker", `[...document.querySelectorAll('.card h3 a')].some(a => a.textContent.includes('Pulse Mini Bluetooth Speaker'))`, 5*time.Second)
	shop.screenshot("03-search")
	clickCard(shop, "Pulse Mini Bluetooth Speaker")
	if h := shop.text("h1"); h != "Pulse Mini Bluetooth Speaker" {
		shop.fail("product page heading = %q", h)
	}
	shop.screenshot("04-product")
	shop.fill(map[string]string{"#qty": "2"})
	shop.click(`form.add-to-cart button[type=submit]`)
	shop.waitFor("cart count 2 in the header", `(document.querySelector('.cart-link .pill') || {}).textContent === '2'`, 5*time.Second)

	// Cart, checkout with a new address, place the order.
	shop.navigate(sf + "/cart")
	shop.waitFor("cart lists the speaker", `document.querySelector('table.cart') && document.querySelector('table.cart').textContent.includes('Pulse Mini Bluetooth Speaker')`, 5*time.Second)
	shop.screenshot("05-cart")
	shop.click(`a.button[href="/checkout"]`)
	shop.fill(map[string]string{"#f-name": "Browser Tester", "#f-street": "1 Main St", "#f-city": "Springfield",
		"#f-state": "IL", "#f-zip_code": "62701", "#f-country": "US"})
	shop.screenshot("06-checkout")
	shop.click(`form[action="/checkout"] button[type=submit]`)
	orderPath := shop.path()
	orderID, ok := strings.CutPrefix(orderPath, "/orders/")
	if !ok || orderID == "" || strings.Contains(orderID, "/") {
		shop.fail("after placing the order: at %s, want /orders/{id}", orderPath)
	}
	badge := fmt.Sprintf(`document.querySelector('[data-order-status="%s"]')`, orderID)

	// Inventory confirms the order over Kafka; the page shows the pay form once it is confirmed.
	shop.waitFor("order confirmed, pay form shown", `document.querySelector('form[data-pay-form]') !== null`, 15*time.Second)
	shop.screenshot("07-order-confirmed")

	// A second tab (same customer) shows the order list; it must turn "Paid" by itself.
	list := browser.newTab(ctx, t, shots, customer)
	list.navigate(sf + "/orders")
	list.waitFor("orders list shows the order confirmed", badge+`.textContent.trim() === 'Confirmed'`, 5*time.Second)
	list.waitFor("live layer connected on the orders list", `document.querySelector('#live-status[data-state="connected"]') !== null`, 10*time.Second)
	list.must("window.__sameDocument = true", nil)

	// Pay with the test card in the first tab.
	shop.fill(map[string]string{"#card": "4242 4242 4242 4242", "#mm": "12", "#yy": "2030", "#cvc": "123"})
	shop.click(`form[data-pay-form] button[type=submit]`)
	shop.waitFor("order page shows Paid", badge+`.textContent.trim() === 'Paid'`, 5*time.Second)
	shop.screenshot("08-order-paid")

	list.waitFor("orders list turns Paid without a reload", badge+`.textContent.trim() === 'Paid' && window.__sameDocument === true`, 15*time.Second)
	list.waitFor("a toast tells about the payment", `document.querySelector('#toasts .toast') !== null`, 5*time.Second)
	list.screenshot("09-orders-live-paid")

	// The admin ships the order through the API; the open order page follows without a reload.
	shop.waitFor("live layer connected on the order page", `document.querySelector('#live-status[data-state="connected"]') !== null`, 10*time.Second)
	shop.must("window.__sameDocument = true", nil)
	api := newClient(t, platform.URL("gateway"))
	login := api.login(adminEmail, adminPass)
	api.must(200, "PATCH", "/order/orders/"+orderID+"/status", map[string]string{"status": "shipped"}, nil,
		"Authorization", "Bearer "+login.AccessToken)
	shop.waitFor("order page turns Shipped without a reload", badge+`.textContent.trim() === 'Shipped' && window.__sameDocument === true`, 15*time.Second)
	if note := shop.text(`[data-order-note]`); note != "This order is now shipped." {
		shop.fail("order page note after turning Shipped = %q", note)
	}
	shop.screenshot("10-order-live-shipped")

	// The admin, in a browser context of their own, creates a product with stock.
	admin := signedInTab(ctx, t, browser, shots, sf, adminEmail, adminPass)
	admin.navigate(sf + "/admin/products/new")
	name := fmt.Sprintf("Browser Lantern %d", stamp)
	sku := fmt.Sprintf("BRW-%d", stamp)
	admin.fill(map[string]string{"#f-name": name, "#f-sku": sku, "#f-price": "24.50", "#f-currency": "USD",
		"#f-category": "home-kitchen", "#f-stock": "7", "#f-description": "A lantern made by the browser test."})
	admin.must(`document.querySelector('input[name=active]').checked = true`, nil)
	admin.screenshot("11-admin-product-new")
	admin.click(`form[action="/admin/products"] button[type=submit]`)
	if p := admin.path(); !strings.HasPrefix(p, "/admin/products") || strings.HasPrefix(p, "/admin/products/new") {
		admin.fail("after creating the product: at %s, want the product list", p)
	}
	admin.waitFor("admin list shows the new product", fmt.Sprintf(`document.querySelector('main').textContent.includes(%q)`, name), 5*time.Second)
	admin.screenshot("12-admin-products")

	var inv struct {
		OnHand int `json:"on_hand"`
	}
	eventually(t, 10*time.Second, "inventory has the new product's stock", func() bool {
		return api.do("GET", "/inventory/inventory/"+sku, nil, &inv, "Authorization", "Bearer "+login.AccessToken).StatusCode == 200 && inv.OnHand == 7
	})

	// The customer finds it in the shop with the search box and sees its price and stock.
	shop.fill(map[string]string{"#q": name})
	shop.click(`form.search button[type=submit]`)
	shop.waitFor("search finds the new product", fmt.Sprintf(`[...document.querySelectorAll('.card h3 a')].some(a => a.textContent === %q)`, name), 5*time.Second)
	shop.screenshot("13-search-new-product")
	clickCard(shop, name)
	if h := shop.text("h1"); h != name {
		shop.fail("new product page heading = %q, want %q", h, name)
	}
	if p := shop.text(".price.big"); !strings.Contains(p, "24.50") {
		shop.fail("new product price = %q, want 24.50", p)
	}
	shop.waitFor("new product shows its stock", fmt.Sprintf(`/^(In stock|Only 7 left)$/.test((document.querySelector('[data-stock-sku=%q]') || {}).textContent)`, sku), 5*time.Second)
	shop.screenshot("14-new-product")

	if errs := browser.consoleLines(); len(errs) > 0 {
		t.Logf("page errors seen (not failures): %q", errs)
	}
	t.Logf("browser flow done in %s; screenshots in %s", time.Since(start).Round(time.Millisecond), shots)
}

// browserEnv skips the test without Chromium or in -short mode, else returns Chromium's binary and
// where to save screenshots: $BROWSER_SCREENSHOTS, or a temporary directory, named in the log.
func browserEnv(t *testing.T) (bin, shots string) {
	t.Helper()
	if bin = findChromium(); bin == "" {
		t.Skip("BROWSER TEST SKIPPED: no chromium on PATH (apt-get install -y chromium)")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	shots = os.Getenv("BROWSER_SCREENSHOTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "goshop-browser-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	return bin, shots
}

// signedInTab opens a tab in a browser context of its own and signs in as email through the
// storefront's login form at sf.
func signedInTab(ctx context.Context, t *testing.T, b *chrome, shots, sf, email, password string) *tab {
	t.Helper()
	p := b.newTab(ctx, t, shots, b.newContext(ctx, t))
	p.navigate(sf + "/login")
	p.fill(map[string]string{"#email": email, "#password": password})
	p.click(`form[action="/login"] button[type=submit]`)
	p.waitFor("signed in as "+email, `document.body.dataset.signedIn === 'true'`, 5*time.Second)
	return p
}

// clickCard opens the product card whose title is name.
func clickCard(p *tab, name string) {
	p.t.Helper()
	var found bool
	p.must(fmt.Sprintf(`(() => { const a = [...document.querySelectorAll('.card h3 a')].find(a => a.textContent.trim() === %q);
		if (!a) return false; a.id = 'goshop-pick'; return true; })()`, name), &found)
	if !found {
		p.fail("no product card %q", name)
	}
	p.click("#goshop-pick")
}

// checkCookies fails unless every cookie the browser holds for url is the storefront's own, HttpOnly,
// and none carries a token (a JWT starts "eyJ") or auth's session_id.
func (p *tab) checkCookies(url string) {
	p.t.Helper()
	var res struct {
		Cookies []struct {
			Name, Value string
			HTTPOnly    bool `json:"httpOnly"`
		} `json:"cookies"`
	}
	if err := p.c.call(p.ctx, p.session, "Network.getCookies", map[string]any{"urls": []string{url}}, &res); err != nil {
		p.fail("Network.getCookies: %v", err)
	}
	names := map[string]bool{}
	for _, c := range res.Cookies {
		names[c.Name] = true
		if !strings.HasPrefix(c.Name, "sf_") || !c.HTTPOnly || strings.HasPrefix(c.Value, "eyJ") {
			p.fail("cookie %s (HttpOnly %v) = %.12s…: want only HttpOnly sf_* cookies and no token", c.Name, c.HTTPOnly, c.Value)
		}
	}
	if !names["sf_sid"] {
		p.fail("no sf_sid session cookie after signing in: %+v", res.Cookies)
	}
}
