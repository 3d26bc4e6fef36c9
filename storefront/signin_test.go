package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/goshop/platform/shared"
)

// TestSignInRotatesSession: signing in replaces the session ID (a planted ID is useless afterwards)
// and carries the cart over; signing out drops session and cart.
func TestSignInRotatesSession(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	b.submit("/products/p03", "/cart/add", url.Values{"sku": {"SKU-03"}, "quantity": {"2"}})
	before := b.cookie(cookieSession)
	if before == nil {
		t.Fatal("adding to the cart set no session cookie")
	}
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	after := b.cookie(cookieSession)
	if after == nil || after.Value == before.Value {
		t.Fatalf("session ID after sign-in = %v, want a new one (was %s)", after, before.Value)
	}
	if p := b.get("/cart"); !strings.Contains(p.body, "Product 03") || !strings.Contains(p.body, `value="2"`) {
		t.Error("the cart did not survive sign-in")
	}
	// Someone holding the old ID (a fixation attempt) gets an empty, signed-out session.
	other := newBrowser(t, srv)
	other.client.Jar.SetCookies(mustURL(t, srv.URL), []*http.Cookie{{Name: cookieSession, Value: before.Value}})
	if p := other.get("/cart"); !strings.Contains(p.body, "Your cart is empty") || strings.Contains(p.body, "Sign out") {
		t.Error("the pre-sign-in session ID still reaches the cart or the sign-in")
	}
	b.submit("/", "/logout", nil)
	b.client.Jar.SetCookies(mustURL(t, srv.URL), []*http.Cookie{{Name: cookieSession, Value: after.Value}})
	if p := b.get("/cart"); !strings.Contains(p.body, "Your cart is empty") {
		t.Error("the cart outlived sign-out")
	}
}

// TestTokenRefresh: an access token about to expire is replaced with the refresh token before the
// API is called, once per session even when several requests need it at the same moment (a refresh
// token works only once).
func TestTokenRefresh(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.tokenTTL = 30 // below refreshBefore
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() { statuses[i] = b.get("/orders").status })
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Errorf("parallel GET /orders #%d: status = %d, want 200 (a refresh token used twice signs out)", i, st)
		}
	}
	refreshes := gw.calls("POST /auth/token")
	if len(refreshes) == 0 {
		t.Fatal("no refresh with an access token about to expire")
	}
	for _, r := range refreshes {
		form, _ := url.ParseQuery(r.Body)
		if form.Get("grant_type") != "refresh_token" {
			t.Errorf("refresh body = %s, want grant_type=refresh_token", r.Body)
		}
	}
	orders := gw.calls("GET /order/orders")
	last := orders[len(orders)-1]
	gw.mu.Lock()
	_, live := gw.tokens[last.Token]
	gw.mu.Unlock()
	if !live {
		t.Errorf("GET /order/orders sent token %q, not a live one", last.Token)
	}

	// Auth unreachable during a refresh: the token, still valid, keeps working.
	gw.failWith("POST /auth/token", http.StatusServiceUnavailable)
	if p := b.get("/orders"); p.status != http.StatusOK {
		t.Errorf("GET /orders while refresh fails with a still-valid token: status = %d, want 200", p.status)
	}
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRedisDown: with the session store unreachable, the cart pages and add-to-cart show the
// friendly 503 page with the request ID (nothing is lost silently, nothing is a 500), and the rest of
// the shop keeps working.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	gw := newFakeGateway(t)
	rdb, err := shared.NewRedis(shared.RedisConfig{URL: "redis://" + closedAddr(t) + "/6"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	h, _ := newTestServerStore(t, gw, &redisSessionStore{rdb: rdb})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv)
	// A returning visitor: the browser already holds a session ID.
	b.client.Jar.SetCookies(mustURL(t, srv.URL), []*http.Cookie{{Name: cookieSession, Value: newSessionID()}})

	for _, path := range []string{"/", "/products", "/products/p02"} {
		if p := b.get(path); p.status != http.StatusOK {
			t.Errorf("GET %s with Redis down: status = %d, want 200", path, p.status)
		}
	}
	check := func(what string, p page) {
		t.Helper()
		if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "temporarily unavailable") ||
			!strings.Contains(p.body, p.resp.Header.Get(shared.RequestIDHeader)) {
			t.Errorf("%s with Redis down: status = %d, want 503 with a friendly text and the request ID\n%s", what, p.status, p.body)
		}
	}
	check("GET /cart", b.get("/cart"))
	check("POST /cart/add", b.submit("/products/p02", "/cart/add", url.Values{"sku": {"SKU-02"}, "quantity": {"1"}}))
	check("POST /cart/update", b.submit("/products/p02", "/cart/update", url.Values{"sku": {"SKU-02"}, "quantity": {"1"}}))
	check("POST /login", b.submit("/login", "/login", url.Values{"email": {fakeCustomer.Email}, "password": {"demo-Passw0rd!"}}))
	if p := b.get("/orders"); p.status != http.StatusServiceUnavailable {
		t.Errorf("GET /orders with Redis down: status = %d, want 503 (the sign-in state is unknown, not absent)", p.status)
	}
}
