package main

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The browser check drives a real headless Chromium (Debian's "chromium" package) against the
// storefront and the fake gateway. It skips, saying so, when no Chromium is installed. By default it
// takes one screenshot and checks the live layer in two pages; with STOREFRONT_SCREENSHOTS=<dir> it
// saves a screenshot of every main page there (desktop and phone widths) for a person to look at;
// STOREFRONT_SCREENSHOTS_ONLY=<substring> limits that to matching names.

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromiumOrSkip returns Chromium's path, or skips the test (saying so) when there is none or in
// -short mode.
func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	bin := findChromium()
	if bin == "" {
		t.Skip("BROWSER CHECK SKIPPED: no chromium on PATH (apt-get install -y chromium)")
	}
	if testing.Short() {
		t.Skip("browser check skipped in -short mode")
	}
	return bin
}

// chromium runs one headless Chromium command against url and returns its stdout.
func chromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--enable-logging=stderr", "--v=0", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	if os.Getenv("STOREFRONT_CHROMIUM_LOG") != "" {
		t.Logf("chromium %v stderr:\n%s", args, errb.String())
	}
	return out.String()
}

// withSession signs every request in as sid, so Chromium (which cannot log in from the command
// line) sees the signed-in pages.
func withSession(h http.Handler, sid string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(cookieSession); err != nil {
			r.AddCookie(&http.Cookie{Name: cookieSession, Value: sid})
		}
		h.ServeHTTP(w, r)
	})
}

// fakeRealtime is a minimal WebSocket endpoint (RFC 6455 handshake, unmasked server text frames)
// that sends each connection the queued messages, and records the query and Authorization header
// each client connected with.
type fakeRealtime struct {
	mu       sync.Mutex
	messages []string
	queries  []string
	auths    []string
}

func (f *fakeRealtime) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "websocket only", http.StatusBadRequest)
		return
	}
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.RawQuery)
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	msgs := append([]string(nil), f.messages...)
	f.mu.Unlock()
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	for _, m := range msgs {
		writeFrame(rw, []byte(m))
	}
	rw.Flush()
	// Hold the connection until the browser goes away.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		if _, err := rw.ReadByte(); err != nil {
			return
		}
	}
}

func writeFrame(w *bufio.ReadWriter, payload []byte) {
	w.WriteByte(0x81)
	switch n := len(payload); {
	case n < 126:
		w.WriteByte(byte(n))
	default:
		w.WriteByte(126)
		w.WriteByte(byte(n >> 8))
		w.WriteByte(byte(n))
	}
	w.Write(payload)
}

func TestChromium(t *testing.T) {
	bin := chromiumOrSkip(t)
	gw := newFakeGateway(t)
	rt := &fakeRealtime{}
	gw.realtime = rt
	store := newMemSessionStore()
	handler, _ := newTestServerStore(t, gw, store)
	customerSID := signedInSession(t, store, gw, fakeCustomer)
	adminSID := signedInSession(t, store, gw, fakeAdmin)
	anon := httptest.NewServer(handler)
	defer anon.Close()
	customer := httptest.NewServer(withSession(handler, customerSID))
	defer customer.Close()
	admin := httptest.NewServer(withSession(handler, adminSID))
	defer admin.Close()

	// A confirmed order for the order pages.
	b := newBrowser(t, customer)
	b.submit("/products/p05", "/cart/add", map[string][]string{"sku": {"SKU-05"}, "quantity": {"2"}})
	key := idemRe.FindStringSubmatch(b.get("/checkout").body)[1]
	orderPath := location(b.submit("/checkout", "/checkout", map[string][]string{"idempotency_key": {key}, "address_id": {"addr-1"}}))
	orderID := strings.TrimPrefix(orderPath, "/orders/")
	gw.setOrderStatus(orderID, "confirmed")
	// A cart for the cart and checkout pages: one line over the free-shipping threshold's other side.
	b.submit("/products/p05", "/cart/add", map[string][]string{"sku": {"SKU-05"}, "quantity": {"2"}})
	b.submit("/products/p07", "/cart/add", map[string][]string{"sku": {"SKU-07"}, "quantity": {"1"}})

	// A product with a gallery (same-origin images, so they load without network).
	gw.editProduct("p06", func(p *product) {
		p.Images = []string{"/static/favicon.svg", "/static/favicon.svg?2", "/static/favicon.svg?3"}
	})

	// An inactive product, whose stock row the admin inventory page marks.
	gw.editProduct("p03", func(p *product) { p.Active = false })

	// A shipped order with its history and a customer, for the admin order pages.
	shipped := order{ID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", UserID: "u-bob", Status: "shipped", Currency: "USD", CreatedAt: time.Now().UTC(),
		Items:    []orderLine{{SKU: "SKU-05", Name: "Product 05", UnitPrice: "15.99", Quantity: 2, LineTotal: "31.98"}},
		Subtotal: "31.98", Tax: "2.56", Shipping: "4.99", Total: "39.53",
		ShippingAddress: &address{Name: "Bob Buyer", Street: "1 Main St", City: "Springfield", State: "IL", ZipCode: "62701", Country: "US"},
		Customer:        &orderCustomer{Email: "bob.buyer-with-a-long-address@example.com", Name: "Bob Buyer"},
		Payment:         &orderPayment{Last4: "4242", Brand: "visa", Amount: "39.53", PaidAt: time.Now().UTC()}}
	shipped.History = make([]orderHistory, 4)
	for i, st := range []string{"pending", "confirmed", "paid", "shipped"} {
		shipped.History[i].Status, shipped.History[i].At = st, shipped.CreatedAt.Add(time.Duration(i)*time.Minute)
		shipped.History[i].By.Kind, shipped.History[i].By.Name, shipped.History[i].By.Email = "customer", "Bob Buyer", "bob.buyer-with-a-long-address@example.com"
	}
	shipped.History[1].By.Kind = "system"
	shipped.History[3].By.Kind, shipped.History[3].By.Name, shipped.History[3].By.Email, shipped.History[3].Reason = "admin", "Ada Admin", "admin@shop.local", "DHL 1234567890"
	gw.putOrder(shipped)

	dir := os.Getenv("STOREFRONT_SCREENSHOTS")
	shots := []struct{ name, url, size string }{{"home", anon.URL + "/", "1280,900"}}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		shots = append(shots,
			struct{ name, url, size string }{"catalog", anon.URL + "/products?category=garden&sort=price_asc", "1280,900"},
			struct{ name, url, size string }{"product", anon.URL + "/products/p05", "1280,900"},
			struct{ name, url, size string }{"login", anon.URL + "/login", "1280,900"},
			struct{ name, url, size string }{"error-404", anon.URL + "/products/nope", "1280,900"},
			struct{ name, url, size string }{"order", customer.URL + orderPath, "1280,900"},
			struct{ name, url, size string }{"orders", customer.URL + "/orders", "1280,900"},
			struct{ name, url, size string }{"account", customer.URL + "/account", "1280,900"},
			struct{ name, url, size string }{"cart", customer.URL + "/cart", "1280,900"},
			struct{ name, url, size string }{"checkout", customer.URL + "/checkout", "1280,900"},
			struct{ name, url, size string }{"phone-cart", customer.URL + "/cart", "390,844"},
			struct{ name, url, size string }{"admin-products", admin.URL + "/admin/products", "1280,900"},
			struct{ name, url, size string }{"admin-product-new", admin.URL + "/admin/products/new", "1280,900"},
			struct{ name, url, size string }{"admin-inventory", admin.URL + "/admin/inventory", "1280,900"},
			struct{ name, url, size string }{"admin-orders", admin.URL + "/admin/orders", "1280,900"},
			struct{ name, url, size string }{"admin-users", admin.URL + "/admin/users", "1280,900"},
			struct{ name, url, size string }{"customer-admin-403", customer.URL + "/admin/products", "1280,900"},
			struct{ name, url, size string }{"product-gallery", anon.URL + "/products/p06?img=2", "1280,900"},
			struct{ name, url, size string }{"phone-product-gallery", anon.URL + "/products/p06?img=2", "390,844"},
			struct{ name, url, size string }{"phone-catalog", anon.URL + "/products", "390,844"},
			struct{ name, url, size string }{"phone-order", customer.URL + orderPath, "390,844"},
			struct{ name, url, size string }{"admin-order", admin.URL + "/admin/orders/" + shipped.ID, "1280,900"},
			struct{ name, url, size string }{"phone-admin-order", admin.URL + "/admin/orders/" + shipped.ID, "390,1400"},
			struct{ name, url, size string }{"admin-orders-filtered", admin.URL + "/admin/orders?status=shipped&email=bob&from=2026-01-01", "1280,900"},
			struct{ name, url, size string }{"phone-admin-orders", admin.URL + "/admin/orders?status=shipped&email=bob", "390,1200"},
			struct{ name, url, size string }{"phone-admin-products", admin.URL + "/admin/products?sku=SKU&active=true", "390,1200"},
			struct{ name, url, size string }{"phone-admin-inventory", admin.URL + "/admin/inventory?level=low", "390,1200"},
			struct{ name, url, size string }{"phone-admin-users", admin.URL + "/admin/users?status=active", "390,1200"},
			struct{ name, url, size string }{"forgot-password", anon.URL + "/forgot-password", "1280,900"},
			struct{ name, url, size string }{"phone-forgot-password", anon.URL + "/forgot-password", "390,844"},
			struct{ name, url, size string }{"reset-password", anon.URL + "/reset-password?token=" + fakeResetToken, "1280,900"},
			struct{ name, url, size string }{"phone-reset-password", anon.URL + "/reset-password?token=" + fakeResetToken, "390,844"},
			struct{ name, url, size string }{"verify-email", anon.URL + "/verify-email?token=" + fakeVerifyToken, "1280,900"},
			struct{ name, url, size string }{"phone-account", customer.URL + "/account", "390,1800"},
		)
	} else {
		dir = t.TempDir()
	}
	only := os.Getenv("STOREFRONT_SCREENSHOTS_ONLY") // a name substring, to retake a few
	for _, s := range shots {
		if only != "" && !strings.Contains(s.name, only) {
			continue
		}
		file := filepath.Join(dir, s.name+".png")
		chromium(t, bin, "--screenshot="+file, "--window-size="+s.size, s.url)
		if st, err := os.Stat(file); err != nil || st.Size() < 2000 {
			t.Errorf("screenshot %s: %v (size %v)", s.name, err, st)
		}
	}
	t.Logf("screenshots in %s", dir)

	// The gallery in a real browser, script running: the chosen image is in the frame, every image
	// has a thumbnail link, and the quantity is capped at the 5 available.
	gallery := chromium(t, bin, "--dump-dom", anon.URL+"/products/p06?img=2")
	for _, want := range []string{`alt="Product 06, image 2 of 3"`, `href="/products/p06?img=1#gallery"`, `href="/products/p06?img=3#gallery"`,
		`aria-label="Show image 3 of 3"`, `max="5"`, `<section class="related"`} {
		if !strings.Contains(gallery, want) {
			t.Errorf("product gallery in Chromium: DOM lacks %q\n%s", want, gallery)
		}
	}

	// The reset page in a real browser: the form carries the mailed token and the unverified banner
	// offers a resend to a signed-in customer.
	reset := chromium(t, bin, "--dump-dom", anon.URL+"/reset-password?token="+fakeResetToken)
	if !strings.Contains(reset, `name="token" value="`+fakeResetToken+`"`) || !strings.Contains(reset, `autocomplete="new-password"`) {
		t.Errorf("reset page in Chromium: no token or new-password input\n%s", reset)
	}
	if account := chromium(t, bin, "--dump-dom", customer.URL+"/account"); !strings.Contains(account, `class="notice verify-banner"`) ||
		!strings.Contains(account, `action="/account/password"`) {
		t.Errorf("account page in Chromium: no verify banner or password form")
	}

	// The live layer: stock and order status change in the page without a reload.
	msg := func(seq int, typ string, data map[string]any) string {
		b, _ := json.Marshal(map[string]any{"seq": seq, "type": typ, "data": data, "occurred_at": time.Now().UTC()})
		return string(b)
	}
	rt.mu.Lock()
	rt.messages = []string{
		msg(1, "inventory.updated", map[string]any{"sku": "SKU-05", "on_hand": 3, "reserved": 1, "available": 2}),
		msg(2, "order.paid", map[string]any{"order_id": orderID, "user_id": fakeCustomer.ID, "status": "paid"}),
	}
	rt.mu.Unlock()
	// The socket is real network, not virtual time: on a loaded machine a dump can come before the
	// messages arrive, so each check gets a few attempts.
	liveDOM := func(url string, wants ...string) (string, bool) {
		var dom string
		for range 3 {
			dom = chromium(t, bin, "--virtual-time-budget=8000", "--dump-dom", url)
			ok := true
			for _, w := range wants {
				ok = ok && strings.Contains(dom, w)
			}
			if ok {
				return dom, true
			}
		}
		return dom, false
	}
	if dom, ok := liveDOM(customer.URL+"/products/p05", "Only 2 left", `data-state="connected"`); !ok {
		t.Errorf("product page after inventory.updated: no live badge or indicator\n%s", dom)
	}
	if dom, ok := liveDOM(customer.URL+"/orders", `class="status status-paid`, `data-state="connected"`); !ok {
		t.Errorf("orders page after order.paid: status not updated live\n%s", dom)
	}
	// The browser connected to the storefront's /realtime/ws; the storefront added the session's
	// bearer token on the way to the gateway, and no token was in the browser's URL.
	rt.mu.Lock()
	q, auths := append([]string(nil), rt.queries...), append([]string(nil), rt.auths...)
	rt.mu.Unlock()
	signedIn := false
	for i := range q {
		signedIn = signedIn || strings.HasPrefix(auths[i], "Bearer at-")
		if strings.Contains(q[i], "access_token") {
			t.Errorf("realtime connection %d had a token in its URL: %q", i, q[i])
		}
	}
	if !signedIn {
		t.Errorf("realtime connections = %v with Authorization %v, want one with the session's bearer token", q, auths)
	}
}

// TestDemoServer serves the storefront on a fake gateway for a person (or a browser) to click
// through, when STOREFRONT_DEMO=<seconds> is set: the URLs are logged; signed-in variants skip login.
func TestDemoServer(t *testing.T) {
	secs := os.Getenv("STOREFRONT_DEMO")
	if secs == "" {
		t.Skip("set STOREFRONT_DEMO=<seconds> to serve the storefront on a fake gateway")
	}
	d, err := time.ParseDuration(secs + "s")
	if err != nil {
		t.Fatal(err)
	}
	gw := newFakeGateway(t)
	rt := &fakeRealtime{messages: []string{`{"seq":1,"type":"order.paid","data":{"order_id":"ord-0003-abcdef","status":"paid"}}`,
		`{"seq":2,"type":"inventory.updated","data":{"sku":"SKU-05","available":2}}`}}
	gw.realtime = rt
	store := newMemSessionStore()
	h, _ := newTestServerStore(t, gw, store)
	anon := httptest.NewServer(h)
	customer := httptest.NewServer(withSession(h, signedInSession(t, store, gw, fakeCustomer)))
	admin := httptest.NewServer(withSession(h, signedInSession(t, store, gw, fakeAdmin)))
	t.Logf("gateway %s\nanonymous %s\ncustomer %s\nadmin %s", gw.srv.URL, anon.URL, customer.URL, admin.URL)
	fmt.Printf("DEMO anon=%s customer=%s admin=%s\n", anon.URL, customer.URL, admin.URL)
	time.Sleep(d)
}
