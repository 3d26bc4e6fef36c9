package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
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
	refreshes := 0
	for _, r := range gw.calls("POST /auth/token") {
		form, _ := url.ParseQuery(r.Body)
		if form.Get("grant_type") != "refresh_token" {
			continue
		}
		refreshes++
		if form.Get("client_id") != "storefront" || !strings.HasPrefix(form.Get("refresh_token"), "rt-") {
			t.Errorf("refresh body = %s, want client_id=storefront and the session's refresh token", r.Body)
		}
	}
	if refreshes == 0 {
		t.Fatal("no refresh with an access token about to expire")
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

// TestRedisDown: with the session store unreachable, the cart pages and add-to-cart show the
// friendly 503 page with the request ID (nothing is lost silently, nothing is a 500), and the rest of
// the shop keeps working.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	gw := newFakeGateway(t)
	rdb, err := shared.NewRedis(shared.RedisConfig{URL: "redis://" + sharedtest.ClosedAddr + "/6"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	h, _ := newTestServerStore(t, gw, &redisSessionStore{rdb: rdb})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv)
	// A returning visitor: the browser already holds a session ID.
	b.client.Jar.SetCookies(mustURL(t, srv.URL), []*http.Cookie{{Name: cookieSession, Value: shared.RandomToken()}})

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

// startLogin posts the login form and returns the callback URL the storefront sends the browser to,
// without following it.
func startLogin(t *testing.T, b *browser) *url.URL {
	t.Helper()
	p := b.submit("/login", "/login", url.Values{"email": {fakeCustomer.Email}, "password": {"demo-Passw0rd!"}, "next": {"/orders"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/auth/callback?") {
		t.Fatalf("POST /login: status = %d, Location %q, want 303 to /auth/callback", p.status, location(p))
	}
	u, err := url.Parse(location(p))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAuthCallback: the callback signs in only with this browser's state, auth's issuer and a code
// auth accepts with this login's PKCE verifier; anything else is a friendly page asking to sign in
// again (never a 500), and nothing is signed in.
func TestAuthCallback(t *testing.T) {
	t.Parallel()
	with := func(u *url.URL, k, v string) string {
		q := u.Query()
		q.Set(k, v)
		return u.Path + "?" + q.Encode()
	}
	signedOut := func(t *testing.T, b *browser) {
		t.Helper()
		if p := b.get("/orders"); p.status != http.StatusSeeOther {
			t.Errorf("after a refused callback GET /orders: status = %d, want 303 to sign-in", p.status)
		}
	}
	for _, tt := range []struct {
		name   string
		mutate func(t *testing.T, gw *fakeGateway, b *browser, u *url.URL) string
		status int
	}{
		{"bad state", func(t *testing.T, _ *fakeGateway, _ *browser, u *url.URL) string {
			return with(u, "state", shared.RandomToken())
		}, http.StatusBadRequest},
		{"missing state", func(t *testing.T, _ *fakeGateway, _ *browser, u *url.URL) string { return with(u, "state", "") }, http.StatusBadRequest},
		{"wrong iss", func(t *testing.T, _ *fakeGateway, _ *browser, u *url.URL) string {
			return with(u, "iss", "http://evil.example/auth")
		}, http.StatusBadRequest},
		{"auth refused", func(t *testing.T, _ *fakeGateway, _ *browser, u *url.URL) string {
			q := u.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			return u.Path + "?" + q.Encode()
		}, http.StatusBadRequest},
		{"another browser's callback", func(t *testing.T, gw *fakeGateway, b *browser, u *url.URL) string {
			other := newBrowser(t, &httptest.Server{URL: b.base})
			return startLogin(t, other).String() // its code and state, our session
		}, http.StatusBadRequest},
		{"code refused at exchange", func(t *testing.T, _ *fakeGateway, _ *browser, u *url.URL) string {
			return with(u, "code", "code-forged")
		}, http.StatusBadRequest},
		{"auth down at exchange", func(t *testing.T, gw *fakeGateway, _ *browser, u *url.URL) string {
			gw.failWith("POST /auth/token", http.StatusServiceUnavailable)
			return u.String()
		}, http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gw, srv := newSite(t)
			b := newBrowser(t, srv)
			u := startLogin(t, b)
			p := b.get(tt.mutate(t, gw, b, u))
			if p.status != tt.status || !strings.Contains(p.body, p.resp.Header.Get(shared.RequestIDHeader)) {
				t.Fatalf("callback: status = %d, want %d with the request ID\n%s", p.status, tt.status, p.body)
			}
			if tt.status == http.StatusBadRequest && !strings.Contains(p.body, "Please sign in again") {
				t.Errorf("callback: the page does not ask to sign in again")
			}
			signedOut(t, b)
			// The pending login is spent: even the genuine callback no longer works.
			if p := b.get(u.String()); p.status != http.StatusBadRequest {
				t.Errorf("genuine callback after a refused one: status = %d, want 400", p.status)
			}
		})
	}

	t.Run("genuine, then replayed", func(t *testing.T) {
		t.Parallel()
		gw, srv := newSite(t)
		b := newBrowser(t, srv)
		u := startLogin(t, b)
		// What the storefront asked of auth: code flow, PKCE S256, our client and redirect URI.
		az := gw.calls("GET /auth/authorize")
		q, _ := url.ParseQuery(az[len(az)-1].Query)
		if q.Get("response_type") != "code" || q.Get("client_id") != "storefront" || q.Get("code_challenge_method") != "S256" ||
			q.Get("redirect_uri") != "http://shop.test/auth/callback" || q.Get("state") != u.Query().Get("state") || az[len(az)-1].Session == "" {
			t.Errorf("authorize request = %v (session %q)", q, az[len(az)-1].Session)
		}
		p := b.get(u.String())
		if p.status != http.StatusSeeOther || location(p) != "/orders" {
			t.Fatalf("callback: status = %d, Location %q, want 303 /orders", p.status, location(p))
		}
		if home := b.get("/"); !strings.Contains(home.body, "Welcome back") || !strings.Contains(home.body, "Signed in as "+fakeCustomer.Email) {
			t.Errorf("after the callback the visitor is not signed in\n%s", home.body)
		}
		ex := gw.calls("POST /auth/token")
		form, _ := url.ParseQuery(ex[len(ex)-1].Body)
		if form.Get("grant_type") != "authorization_code" || form.Get("client_id") != "storefront" || len(form.Get("code_verifier")) != 43 ||
			pkceChallenge(form.Get("code_verifier")) != q.Get("code_challenge") {
			t.Errorf("code exchange = %v, want the verifier of the challenge sent", form)
		}
		if p := b.get(u.String()); p.status != http.StatusBadRequest {
			t.Errorf("replayed callback: status = %d, want 400", p.status)
		}
	})

	t.Run("callback without a session", func(t *testing.T) {
		t.Parallel()
		_, srv := newSite(t)
		if p := newBrowser(t, srv).get("/auth/callback?code=x&state=y&iss=z"); p.status != http.StatusBadRequest {
			t.Errorf("callback without a session: status = %d, want 400", p.status)
		}
	})
	t.Run("authorize refused", func(t *testing.T) {
		t.Parallel()
		gw, srv := newSite(t)
		gw.failWith("GET /auth/authorize", http.StatusBadRequest)
		b := newBrowser(t, srv)
		p := b.submit("/login", "/login", url.Values{"email": {fakeCustomer.Email}, "password": {"demo-Passw0rd!"}})
		if p.status != http.StatusBadGateway || !strings.Contains(p.body, "not available right now") {
			t.Errorf("POST /login with authorize refused: status = %d, want 502 with a friendly text", p.status)
		}
	})
}

// TestRefreshWaitsForOtherInstance: when another instance holds the session's refresh lock, a request
// waits for its result instead of spending the refresh token a second time; if none comes within
// refreshWait it goes on with the old token while that is still valid, and fails once it is not.
func TestRefreshWaitsForOtherInstance(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store := newMemSessionStore()
		s := &site{store: store, logger: slog.New(slog.DiscardHandler)}
		sid := shared.RandomToken()
		old := &authState{AccessToken: "at-old", RefreshToken: "rt-old", Expiry: time.Now().Add(30 * time.Second), User: fakeCustomer}
		if err := s.saveAuth(ctx, sid, old); err != nil {
			t.Fatal(err)
		}
		if ok, _ := store.Lock(ctx, sid, "refresh", time.Minute); !ok {
			t.Fatal("could not take the lock as the other instance")
		}

		// The other instance stores its result after a second: the waiting request takes it.
		go func() {
			time.Sleep(time.Second)
			s.saveAuth(ctx, sid, &authState{AccessToken: "at-new", RefreshToken: "rt-new", Expiry: time.Now().Add(15 * time.Minute), User: fakeCustomer})
		}()
		start := time.Now()
		got, err := s.refresh(ctx, sid, old)
		if err != nil || got == nil || got.AccessToken != "at-new" {
			t.Fatalf("refresh while another instance refreshes = %+v, %v; want the other's at-new", got, err)
		}
		if waited := time.Since(start); waited < time.Second || waited > 2*time.Second {
			t.Errorf("waited %v, want about 1 s", waited)
		}

		// Nobody finishes: after refreshWait the still-valid old token is used...
		s.saveAuth(ctx, sid, old)
		start = time.Now()
		got, err = s.refresh(ctx, sid, old)
		if err != nil || got.AccessToken != "at-old" || time.Since(start) < refreshWait {
			t.Fatalf("refresh with the lock never released = %+v, %v after %v; want at-old after %v", got, err, time.Since(start), refreshWait)
		}
		// ...and once it has expired, the request fails (503) rather than using a dead token.
		time.Sleep(time.Until(old.Expiry))
		if got, err := s.refresh(ctx, sid, old); err == nil || asAPIError(err).Status != http.StatusServiceUnavailable {
			t.Fatalf("refresh with an expired token and the lock held = %+v, %v; want a 503", got, err)
		}
	})
}

// TestSignOutEndsAuthSession: signing out ends the auth session the sign-in started (and with it
// every refresh family issued from it), even when the access token has already expired and auth
// cannot be reached for a refresh: the storefront keeps that session's ID server-side for this.
func TestSignOutEndsAuthSession(t *testing.T) {
	t.Parallel()
	gw := newFakeGateway(t)
	store := newMemSessionStore()
	h, _ := newTestServerStore(t, gw, store)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	authSessions := func() int {
		gw.mu.Lock()
		defer gw.mu.Unlock()
		n := 0
		for _, u := range gw.sessions {
			if u.ID == fakeCustomer.ID {
				n++
			}
		}
		return n
	}
	if n := authSessions(); n != 1 {
		t.Fatalf("auth sessions of the customer after sign-in = %d, want 1", n)
	}

	// The access token expires and auth's token endpoint is down: no refresh can save it.
	sid := b.cookie(cookieSession).Value
	vals, err := store.Values(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	a := decodeAuth(vals[valueAuth])
	if a == nil {
		t.Fatal("no sign-in state in the session")
	}
	a.Expiry = time.Now().Add(-time.Minute)
	raw, _ := json.Marshal(a)
	if err := store.SetValue(context.Background(), sid, valueAuth, string(raw)); err != nil {
		t.Fatal(err)
	}
	gw.failWith("POST /auth/token", http.StatusServiceUnavailable)

	// The home page cannot show who is signed in now (auth unreachable): take the form's CSRF token
	// from the sign-in page, which always has one.
	if p := b.submit("/login", "/logout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("POST /logout: status = %d, want 303", p.status)
	}
	if n := authSessions(); n != 0 {
		t.Errorf("auth sessions of the customer after sign-out = %d, want 0 (left alive at auth)", n)
	}
}
