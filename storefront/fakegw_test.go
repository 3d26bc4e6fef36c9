package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// fakeGateway is an in-memory stand-in for the public API: enough of auth, product, inventory, order
// and user to drive every page, following ARCHITECTURE.md's routes and JSON shapes. It records every
// request so tests can check what the storefront sent.
type fakeGateway struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	resends   int // POST /auth/email/resend calls: the second and later are throttled
	products  []product
	stock     map[string]stockItem
	sessions  map[string]apiUser   // auth's session_id → user
	tokens    map[string]fakeGrant // access token → grant
	refresh   map[string]fakeGrant // live refresh tokens → grant
	codes     map[string]fakeCode  // authorization codes not yet used
	tokenTTL  int                  // expires_in of issued access tokens (default 900)
	issuer    string               // AUTH_ISSUER: srv.URL + "/auth"
	passwords map[string]string    // email → password
	users     []apiUser
	orders    map[string]order
	idem      map[string]string // Idempotency-Key → order ID
	idemBody  map[string]string // Idempotency-Key → the body first sent with it
	// adjustKeys is inventory's adjust Idempotency-Key → the SKU and body first sent with it.
	adjustKeys map[string]string
	requests   []fakeRequest
	fail       map[string]int // "METHOD /path" prefix → status to answer with
	// refuse is a query parameter → field message: a list request carrying it is answered 400
	// invalid naming it, as a service refuses a bad filter.
	refuse    map[string]string
	nextID    int
	addresses map[string][]address // user ID → saved addresses
	// realtime, when set, serves GET /realtime/ws.
	realtime http.Handler
	notes    fakeNotifications // realtime's notification centre
}

type fakeRequest struct {
	// Session is auth's session behind the request: its session_id cookie, or the session its bearer
	// token was issued from.
	Method, Path, Query, Session, Token, IdempotencyKey, RequestID string
	Body                                                           string
}

// fakeGrant is what an access or refresh token stands for.
type fakeGrant struct {
	user    apiUser
	session string
	client  string
	expires time.Time
}

// fakeCode is an authorization code waiting for POST /auth/token.
type fakeCode struct {
	fakeGrant
	redirectURI, challenge string
}

var (
	fakeAdmin    = apiUser{ID: "u-admin", Email: "admin@shop.local", Name: "Ada Admin", Role: "admin", Status: "active"}
	fakeCustomer = apiUser{ID: "u-demo", Email: "demo@shop.local", Name: "Demo Customer", Role: "customer", Status: "active"}
)

func newFakeGateway(t testing.TB) *fakeGateway {
	t.Helper()
	g := &fakeGateway{
		t:          t,
		stock:      map[string]stockItem{},
		sessions:   map[string]apiUser{},
		tokens:     map[string]fakeGrant{},
		refresh:    map[string]fakeGrant{},
		codes:      map[string]fakeCode{},
		tokenTTL:   900,
		passwords:  map[string]string{fakeAdmin.Email: "admin-Passw0rd!", fakeCustomer.Email: "demo-Passw0rd!"},
		users:      []apiUser{fakeAdmin, fakeCustomer},
		orders:     map[string]order{},
		addresses:  map[string][]address{},
		idem:       map[string]string{},
		idemBody:   map[string]string{},
		adjustKeys: map[string]string{},
		fail:       map[string]int{},
		refuse:     map[string]string{},
	}
	cats := []string{"books", "garden", "kitchen", "toys"}
	for i := 1; i <= 14; i++ {
		p := product{
			ID: fmt.Sprintf("p%02d", i), SKU: fmt.Sprintf("SKU-%02d", i), Name: fmt.Sprintf("Product %02d", i),
			Description: "A fine thing.", Price: json.Number(fmt.Sprintf("%d.99", i*3)), Currency: "USD",
			Category: cats[i%len(cats)], Active: true, CreatedAt: time.Date(2026, 1, i, 0, 0, 0, 0, time.UTC),
		}
		g.products = append(g.products, p)
		g.stock[p.SKU] = stockItem{SKU: p.SKU, OnHand: i, Available: i - 1, LowStockThreshold: 3}
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	g.issuer = g.srv.URL + "/auth"
	t.Cleanup(g.srv.Close)
	return g
}

// stockItem is the stock of sku as inventory's reads show it to r: an inactive product's only with
// include_inactive=true, marked. Callers hold mu.
func (g *fakeGateway) stockItem(sku string, r *http.Request) (stockItem, bool) {
	it, ok := g.stock[sku]
	for _, p := range g.products {
		if p.SKU == sku {
			it.Inactive = !p.Active
		}
	}
	return it, ok && (!it.Inactive || r.URL.Query().Get("include_inactive") == "true")
}

// issue mints an access and a refresh token for u in session sid. Callers hold mu.
func (g *fakeGateway) issue(u apiUser, sid, client string) tokenAnswer {
	g.nextID++
	grant := fakeGrant{user: u, session: sid, client: client, expires: time.Now().Add(time.Duration(g.tokenTTL) * time.Second)}
	at, rt := fmt.Sprintf("at-%d", g.nextID), fmt.Sprintf("rt-%d", g.nextID)
	g.tokens[at], g.refresh[rt] = grant, grant
	return tokenAnswer{AccessToken: at, TokenType: "Bearer", ExpiresIn: g.tokenTTL, RefreshToken: rt}
}

// signedIn returns an authState for u as the code flow would store it, for tests that start signed in.
func (g *fakeGateway) signedIn(u apiUser) *authState {
	sid := g.login(u)
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.issue(u, sid, "storefront")
	return &authState{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: time.Now().Add(time.Duration(t.ExpiresIn) * time.Second), ClientID: "storefront", User: u}
}

// signedInSession stores a signed-in storefront session for u in store and returns its ID, for tests
// (Chromium) that cannot sign in through the form.
func signedInSession(tb testing.TB, store sessionStore, gw *fakeGateway, u apiUser) string {
	tb.Helper()
	sid := shared.RandomToken()
	b, _ := json.Marshal(gw.signedIn(u))
	if err := store.SetValue(context.Background(), sid, valueAuth, string(b)); err != nil {
		tb.Fatal(err)
	}
	return sid
}

func oauthErr(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": code})
}

// login returns a session ID for u, as if POST /auth/login had succeeded.
func (g *fakeGateway) login(u apiUser) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	id := fmt.Sprintf("sess-%d", g.nextID)
	g.sessions[id] = u
	return id
}

func (g *fakeGateway) failWith(prefix string, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fail[prefix] = status
}

// calls returns the recorded requests whose "METHOD path" starts with prefix, or is exactly prefix
// without its "$" when it ends with one ("POST /order/orders$" is not the quote).
func (g *fakeGateway) calls(prefix string) []fakeRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	exact, isExact := strings.CutSuffix(prefix, "$")
	var out []fakeRequest
	for _, r := range g.requests {
		if key := r.Method + " " + r.Path; isExact && key == exact || !isExact && strings.HasPrefix(key, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func (g *fakeGateway) writeErr(w http.ResponseWriter, status int, code, msg string, fields map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(shared.RequestIDHeader, "gw-req-1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "request_id": "gw-req-1", "fields": fields}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (g *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := fakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, IdempotencyKey: r.Header.Get("Idempotency-Key"),
		RequestID: r.Header.Get(shared.RequestIDHeader), Body: string(body)}
	if c, err := r.Cookie("session_id"); err == nil {
		rec.Session = c.Value
	}
	g.mu.Lock()
	var user apiUser
	signedIn := false
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		rec.Token = t
		if grant, ok := g.tokens[t]; ok && time.Now().Before(grant.expires) {
			user, signedIn, rec.Session = grant.user, true, grant.session
		}
	} else if rec.Session != "" {
		user, signedIn = g.sessions[rec.Session]
	}
	g.requests = append(g.requests, rec)
	for prefix, status := range g.fail {
		if strings.HasPrefix(r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery, prefix) {
			g.mu.Unlock()
			g.writeErr(w, status, "unavailable", "injected failure", nil)
			return
		}
	}
	for param, msg := range g.refuse {
		if r.Method == http.MethodGet && r.URL.Query().Has(param) {
			g.mu.Unlock()
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{param: msg})
			return
		}
	}
	g.mu.Unlock()

	mux := http.NewServeMux()
	if g.realtime != nil {
		mux.Handle("GET /realtime/ws", g.realtime)
	}
	g.notes.routes(mux, g, user, signedIn, body)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("POST /auth/login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Email, Password string }
		json.Unmarshal(body, &in)
		if _, err := mail.ParseAddress(in.Email); err != nil || strings.ContainsAny(in.Email, "<> ") { // as auth's normalizeEmail
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"email": "must be an email address like name@example.com"})
			return
		}
		switch { // as auth: throttled (Retry-After in whole seconds), suspended
		case strings.HasPrefix(in.Email, "locked"):
			w.Header().Set("Retry-After", strings.TrimPrefix(strings.Split(in.Email, "@")[0], "locked"))
			g.writeErr(w, 429, "too_many_requests", "too many failed attempts, retry in "+w.Header().Get("Retry-After")+" s", nil)
			return
		case strings.HasPrefix(in.Email, "suspended"):
			g.writeErr(w, 403, "forbidden", "account is suspended", nil)
			return
		}
		g.mu.Lock()
		ok := in.Password != "" && g.passwords[in.Email] == in.Password
		var u apiUser
		for _, x := range g.users {
			if x.Email == in.Email {
				u = x
			}
		}
		g.mu.Unlock()
		if !ok {
			g.writeErr(w, 401, "unauthorized", "invalid credentials", nil)
			return
		}
		sid := g.login(u)
		http.SetCookie(w, &http.Cookie{Name: "session_id", Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		g.mu.Lock()
		t := g.issue(u, sid, "")
		g.mu.Unlock()
		writeJSON(w, 200, map[string]any{"access_token": t.AccessToken, "token_type": "Bearer", "expires_in": t.ExpiresIn, "refresh_token": t.RefreshToken, "user": u})
	})
	mux.HandleFunc("POST /auth/register", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Email, Password, Name string }
		json.Unmarshal(body, &in)
		if local, _, _ := strings.Cut(in.Email, "@"); len(local) > 2 && strings.Contains(strings.ToLower(in.Password), local) {
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"password": "must not contain your email name"}) // as auth
			return
		}
		g.mu.Lock()
		_, taken := g.passwords[in.Email]
		if !taken {
			g.passwords[in.Email] = in.Password
			g.users = append(g.users, apiUser{ID: "u-" + in.Email, Email: in.Email, Name: in.Name, Role: "customer", Status: "active"})
		}
		g.mu.Unlock()
		if taken {
			g.writeErr(w, 409, "conflict", "email already registered", map[string]string{"email": "is already registered"}) // as auth
			return
		}
		writeJSON(w, 201, map[string]any{"id": "u-" + in.Email, "email": in.Email})
	})
	mux.HandleFunc("POST /auth/logout", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		delete(g.sessions, rec.Session)
		for _, m := range []map[string]fakeGrant{g.tokens, g.refresh} {
			for k, grant := range m {
				if grant.session == rec.Session {
					delete(m, k)
				}
			}
		}
		g.mu.Unlock()
		w.WriteHeader(204)
	})
	mux.HandleFunc("GET /auth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "storefront" || !strings.HasSuffix(q.Get("redirect_uri"), "/auth/callback") {
			g.writeErr(w, 400, "invalid", "unknown client_id or redirect_uri", nil)
			return
		}
		if !signedIn {
			g.writeErr(w, 401, "unauthorized", "sign in first (POST /login), then retry this request", nil)
			return
		}
		if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("response_type") != "code" {
			http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"error": {"invalid_request"}, "state": {q.Get("state")}, "iss": {g.issuer}}.Encode(), http.StatusFound)
			return
		}
		g.mu.Lock()
		g.nextID++
		code := fmt.Sprintf("code-%d", g.nextID)
		g.codes[code] = fakeCode{fakeGrant: fakeGrant{user: user, session: rec.Session, client: "storefront"}, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
		g.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {g.issuer}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /auth/token", func(w http.ResponseWriter, r *http.Request) {
		form, _ := url.ParseQuery(string(body))
		g.mu.Lock()
		defer g.mu.Unlock()
		switch form.Get("grant_type") {
		case "authorization_code":
			c, ok := g.codes[form.Get("code")]
			delete(g.codes, form.Get("code"))
			sum := sha256.Sum256([]byte(form.Get("code_verifier")))
			if !ok || c.redirectURI != form.Get("redirect_uri") || form.Get("client_id") != c.client ||
				base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
				oauthErr(w, 400, "invalid_grant")
				return
			}
			writeJSON(w, 200, g.issue(c.user, c.session, c.client))
		case "refresh_token":
			grant, ok := g.refresh[form.Get("refresh_token")]
			delete(g.refresh, form.Get("refresh_token"))
			if !ok || form.Get("client_id") != grant.client {
				oauthErr(w, 400, "invalid_grant")
				return
			}
			if _, live := g.sessions[grant.session]; !live {
				oauthErr(w, 400, "invalid_grant")
				return
			}
			writeJSON(w, 200, g.issue(grant.user, grant.session, grant.client))
		default:
			oauthErr(w, 400, "unsupported_grant_type")
		}
	})
	mux.HandleFunc("GET /auth/userinfo", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn {
			g.writeErr(w, 401, "unauthorized", "invalid token", nil)
			return
		}
		writeJSON(w, 200, map[string]any{"sub": user.ID, "email": user.Email, "name": user.Name, "role": user.Role, "email_verified": user.EmailVerified})
	})
	mux.HandleFunc("POST /auth/revoke", func(w http.ResponseWriter, r *http.Request) {
		form, _ := url.ParseQuery(string(body))
		g.mu.Lock()
		delete(g.refresh, form.Get("token"))
		g.mu.Unlock()
		w.WriteHeader(200)
	})
	mux.HandleFunc("GET /product/categories", func(w http.ResponseWriter, r *http.Request) {
		all := r.URL.Query().Get("include_inactive") == "true"
		if all && (!signedIn || user.Role != "admin") {
			g.writeErr(w, 403, "forbidden", "include_inactive is for admins", nil)
			return
		}
		counts := map[string]int{}
		g.mu.Lock()
		for _, p := range g.products {
			if p.Active || all {
				counts[p.Category]++
			}
		}
		g.mu.Unlock()
		var items []map[string]any
		for name, n := range counts {
			items = append(items, map[string]any{"name": name, "count": n})
		}
		writeJSON(w, 200, map[string]any{"items": items, "total": len(items)})
	})
	mux.HandleFunc("GET /product/products", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if c := q.Get("category"); strings.ContainsAny(c, " !") {
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"category": "must be a slug"})
			return
		}
		if q.Get("include_inactive") == "true" && (!signedIn || user.Role != "admin") {
			g.writeErr(w, 403, "forbidden", "include_inactive is for admins", nil)
			return
		}
		page, _ := strconv.Atoi(q.Get("page"))
		if page > 1000 { // the product service's maxPage
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"page": "must be an integer from 1 to 1000"})
			return
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		page, limit = max(page, 1), min(max(limit, 1), 100)
		var items []product
		g.mu.Lock()
		for _, p := range g.products {
			if c := q.Get("category"); c != "" && p.Category != c {
				continue
			}
			if s := q.Get("q"); s != "" && !strings.Contains(strings.ToLower(p.Name), strings.ToLower(s)) {
				continue
			}
			items = append(items, p)
		}
		g.mu.Unlock()
		total := len(items)
		from, to := min((page-1)*limit, total), min(page*limit, total)
		writeJSON(w, 200, map[string]any{"items": append([]product{}, items[from:to]...), "total": total, "page": page, "limit": limit})
	})
	findProduct := func(match func(product) bool) (product, bool) {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, p := range g.products {
			if match(p) {
				return p, true
			}
		}
		return product{}, false
	}
	mux.HandleFunc("GET /product/products/{id}", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.PathValue("id"), "bad") {
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"id": "must be a product ID (32 hex digits)"})
			return
		}
		if p, ok := findProduct(func(p product) bool { return p.ID == r.PathValue("id") }); ok {
			writeJSON(w, 200, p)
			return
		}
		g.writeErr(w, 404, "not_found", "product not found", nil)
	})
	mux.HandleFunc("GET /product/products/sku/{sku}", func(w http.ResponseWriter, r *http.Request) {
		if p, ok := findProduct(func(p product) bool { return p.SKU == r.PathValue("sku") }); ok {
			writeJSON(w, 200, p)
			return
		}
		g.writeErr(w, 404, "not_found", "product not found", nil)
	})
	requireAdmin := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !signedIn {
				g.writeErr(w, 401, "unauthorized", "authentication required", nil)
				return
			}
			if user.Role != "admin" {
				g.writeErr(w, 403, "forbidden", "requires role admin", nil)
				return
			}
			h(w, r)
		}
	}
	requireUser := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !signedIn {
				g.writeErr(w, 401, "unauthorized", "authentication required", nil)
				return
			}
			h(w, r)
		}
	}
	g.dashboardRoutes(mux, requireAdmin) // dashboard_test.go
	mux.HandleFunc("POST /product/products", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		var in productBody
		if err := json.Unmarshal(body, &in); err != nil {
			g.writeErr(w, 400, "invalid", "malformed JSON", nil)
			return
		}
		for i, img := range in.Images {
			if strings.Contains(img, "@") { // like the product API: no user info in an image URL
				g.writeErr(w, 400, "invalid", shared.InvalidMessage, map[string]string{fmt.Sprintf("images[%d]", i): "must be an absolute http or https URL"})
				return
			}
		}
		if _, dup := findProduct(func(p product) bool { return p.SKU == in.SKU }); dup {
			g.writeErr(w, 409, "conflict", "sku already exists", map[string]string{"sku": "already exists"})
			return
		}
		g.mu.Lock()
		g.nextID++
		p := product{ID: fmt.Sprintf("new%d", g.nextID), SKU: in.SKU, Name: in.Name, Price: in.Price, Currency: in.Currency, Category: in.Category, Active: in.Active}
		g.products = append(g.products, p)
		if in.Stock != nil {
			g.stock[p.SKU] = stockItem{SKU: p.SKU, OnHand: *in.Stock, Available: *in.Stock}
		}
		g.mu.Unlock()
		writeJSON(w, 201, p)
	}))
	mux.HandleFunc("PUT /product/products/{id}", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		var in productBody
		json.Unmarshal(body, &in)
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, p := range g.products {
			if p.ID == r.PathValue("id") {
				g.products[i].Name, g.products[i].Price = in.Name, in.Price
				writeJSON(w, 200, g.products[i])
				return
			}
		}
		g.writeErr(w, 404, "not_found", "product not found", nil)
	}))
	mux.HandleFunc("DELETE /product/products/{id}", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, p := range g.products {
			if p.ID == r.PathValue("id") {
				g.products = append(g.products[:i], g.products[i+1:]...)
				w.WriteHeader(204)
				return
			}
		}
		g.writeErr(w, 404, "not_found", "product not found", nil)
	}))
	// Like inventory, stock reads show an inactive product's item only to include_inactive=true.
	mux.HandleFunc("GET /inventory/inventory/batch", func(w http.ResponseWriter, r *http.Request) {
		var items []stockItem
		g.mu.Lock()
		for _, s := range strings.Split(r.URL.Query().Get("skus"), ",") {
			if it, ok := g.stockItem(s, r); ok {
				items = append(items, it)
			}
		}
		g.mu.Unlock()
		writeJSON(w, 200, map[string]any{"items": items, "total": len(items), "page": 1, "limit": len(items)})
	})
	mux.HandleFunc("GET /inventory/inventory", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		var items []stockItem
		g.mu.Lock()
		for _, p := range g.products {
			if it, ok := g.stockItem(p.SKU, r); ok {
				items = append(items, it)
			}
		}
		g.mu.Unlock()
		writeJSON(w, 200, pageOf(r, items, 50))
	}))
	mux.HandleFunc("POST /inventory/inventory/{sku}/adjust", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Delta  int    `json:"delta"`
			Reason string `json:"reason"`
		}
		json.Unmarshal(body, &in)
		g.mu.Lock()
		defer g.mu.Unlock()
		it, ok := g.stock[r.PathValue("sku")]
		if !ok {
			g.writeErr(w, 404, "not_found", "not found", nil) // inventory's words
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if first, ok := g.adjustKeys[key]; ok && key != "" { // as inventory: a repeat changes nothing
			if first != it.SKU+" "+string(body) {
				g.writeErr(w, 409, "conflict", "Idempotency-Key was already used with a different request", nil)
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, 200, it)
			return
		}
		if it.OnHand+in.Delta < 0 {
			g.writeErr(w, 409, "conflict", "conflict", nil)
			return
		}
		it.OnHand += in.Delta
		it.Available += in.Delta
		g.stock[it.SKU] = it
		if key != "" {
			g.adjustKeys[key] = it.SKU + " " + string(body)
		}
		writeJSON(w, 200, it)
	}))
	// The quote prices like the real order service's defaults (8 % tax half up, 4.99 shipping under
	// 50.00), so pages show numbers worth checking; the equality with real orders is tested in
	// devstack/integration/quote_test.go.
	mux.HandleFunc("POST /order/orders/quote", requireUser(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Items []struct {
				SKU      string `json:"sku"`
				Quantity int64  `json:"quantity"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &in); err != nil || len(in.Items) == 0 {
			g.writeErr(w, 400, "invalid", "invalid quote", nil)
			return
		}
		var sub shared.Cents
		currencies := map[string]bool{}
		for i, it := range in.Items {
			p, ok := findProduct(func(p product) bool { return p.SKU == it.SKU && p.Active })
			if !ok {
				g.writeErr(w, 400, "invalid", "invalid request", map[string]string{fmt.Sprintf("items[%d].sku", i): "no active product with this SKU"})
				return
			}
			if currencies[p.Currency] = true; len(currencies) > 1 {
				g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"items": "products are priced in different currencies (EUR, USD): order them separately"})
				return
			}
			c, _ := shared.ParseCents(string(p.Price))
			sub += c * shared.Cents(it.Quantity)
		}
		tax := (sub*800 + 5000) / 10000
		ship := shared.Cents(499)
		if sub >= 5000 {
			ship = 0
		}
		writeJSON(w, 200, map[string]any{"items": []any{}, "subtotal": sub, "tax": tax, "shipping": ship, "total": sub + tax + ship, "currency": "USD"})
	}))
	mux.HandleFunc("POST /order/orders", requireUser(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Items []struct {
				SKU      string `json:"sku"`
				Quantity int    `json:"quantity"`
			} `json:"items"`
			ShippingAddress *address `json:"shipping_address"`
			AddressID       string   `json:"address_id"`
		}
		if err := json.Unmarshal(body, &in); err != nil || len(in.Items) == 0 {
			g.writeErr(w, 400, "invalid", "invalid order", nil)
			return
		}
		if in.ShippingAddress != nil && in.ShippingAddress.ZipCode == "00000" {
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"shipping_address.zip_code": "unknown ZIP code"})
			return
		}
		currencies := map[string]bool{}
		for i, it := range in.Items {
			p, ok := findProduct(func(p product) bool { return p.SKU == it.SKU && p.Active })
			if !ok {
				g.writeErr(w, 400, "invalid", "invalid request", map[string]string{fmt.Sprintf("items[%d].sku", i): "no active product with this SKU"})
				return
			}
			if currencies[p.Currency] = true; len(currencies) > 1 {
				g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"items": "products are priced in different currencies (EUR, USD): order them separately"})
				return
			}
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if in.AddressID != "" && !slices.ContainsFunc(g.addresses[user.ID], func(a address) bool { return a.ID == in.AddressID }) {
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"address_id": "you have no saved address with this ID"})
			return
		}
		if id, ok := g.idem[rec.IdempotencyKey]; ok && rec.IdempotencyKey != "" {
			if g.idemBody[rec.IdempotencyKey] != rec.Body {
				g.writeErr(w, 409, "conflict", "Idempotency-Key was already used with a different request body", nil)
				return
			}
			writeJSON(w, 200, g.orders[id])
			return
		}
		g.nextID++
		o := order{ID: fmt.Sprintf("ord-%04d-abcdef", g.nextID), UserID: user.ID, Status: "pending", Currency: "USD",
			Subtotal: "10.00", Tax: "0.80", Total: "10.80", ShippingAddress: in.ShippingAddress, CreatedAt: time.Now()}
		for _, it := range in.Items {
			o.Items = append(o.Items, orderLine{SKU: it.SKU, Name: "Item " + it.SKU, UnitPrice: "5.00", Quantity: it.Quantity, LineTotal: "10.00"})
		}
		g.orders[o.ID] = o
		if rec.IdempotencyKey != "" {
			g.idem[rec.IdempotencyKey] = o.ID
			g.idemBody[rec.IdempotencyKey] = rec.Body
		}
		writeJSON(w, 201, o)
	}))
	mux.HandleFunc("GET /order/orders", requireUser(func(w http.ResponseWriter, r *http.Request) {
		var items []order
		g.mu.Lock()
		status := r.URL.Query().Get("status")
		for _, o := range g.orders {
			if status != "" && o.Status != status {
				continue
			}
			if user.Role == "admin" {
				o.NextStatuses = fakeNextStatuses[o.Status]
				items = append(items, o)
			} else if o.UserID == user.ID {
				items = append(items, o)
			}
		}
		g.mu.Unlock()
		writeJSON(w, 200, pageOf(r, items, 20))
	}))
	orderOf := func(w http.ResponseWriter, r *http.Request) (order, bool) {
		g.mu.Lock()
		o, ok := g.orders[r.PathValue("id")]
		g.mu.Unlock()
		if !ok || (o.UserID != user.ID && user.Role != "admin") {
			g.writeErr(w, 404, "not_found", "order not found", nil)
			return o, false
		}
		return o, true
	}
	setStatus := func(id, status string) {
		g.mu.Lock()
		o := g.orders[id]
		o.Status = status
		g.orders[id] = o
		g.mu.Unlock()
	}
	mux.HandleFunc("GET /order/orders/{id}", requireUser(func(w http.ResponseWriter, r *http.Request) {
		if o, ok := orderOf(w, r); ok {
			if user.Role == "admin" {
				o.NextStatuses = fakeNextStatuses[o.Status]
			} else {
				o.History = nil
			}
			writeJSON(w, 200, o)
		}
	}))
	mux.HandleFunc("POST /order/orders/{id}/pay", requireUser(func(w http.ResponseWriter, r *http.Request) {
		o, ok := orderOf(w, r)
		if !ok {
			return
		}
		var in struct {
			CardNumber string `json:"card_number"`
			ExpMonth   int    `json:"exp_month"`
			ExpYear    int    `json:"exp_year"`
			CVC        string `json:"cvc"`
		}
		json.Unmarshal(body, &in)
		if o.Status != "confirmed" {
			g.writeErr(w, 409, "conflict", "order is "+o.Status, nil)
			return
		}
		if in.CardNumber != "4242424242424242" {
			// As the order service (handlers_actions.go) answers a declined card.
			g.writeErr(w, 400, "invalid", "payment declined", map[string]string{"card_number": "card was declined"})
			return
		}
		setStatus(o.ID, "paid")
		writeJSON(w, 200, o)
	}))
	mux.HandleFunc("POST /order/orders/{id}/cancel", requireUser(func(w http.ResponseWriter, r *http.Request) {
		if o, ok := orderOf(w, r); ok {
			setStatus(o.ID, "cancelled")
			writeJSON(w, 200, o)
		}
	}))
	mux.HandleFunc("PATCH /order/orders/{id}/status", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Status string `json:"status"`
		}
		json.Unmarshal(body, &in)
		if o, ok := orderOf(w, r); ok {
			setStatus(o.ID, in.Status)
			writeJSON(w, 200, o)
		}
	}))
	mux.HandleFunc("GET /user/users/me/addresses", requireUser(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		list, ok := g.addresses[user.ID]
		if !ok {
			list = []address{{ID: "addr-1", IsDefault: true, Name: user.Name, Street: "1 Main St", City: "Springfield", ZipCode: "12345", Country: "US"}}
			g.addresses[user.ID] = list
		}
		writeJSON(w, 200, map[string]any{"items": list, "total": len(list), "page": 1, "limit": 10})
	}))
	mux.HandleFunc("GET /user/users/me/addresses/{id}", requireUser(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		list, ok := g.addresses[user.ID]
		if !ok { // as GET /user/users/me/addresses
			list = []address{{ID: "addr-1", IsDefault: true, Name: user.Name, Street: "1 Main St", City: "Springfield", ZipCode: "12345", Country: "US"}}
			g.addresses[user.ID] = list
		}
		for _, a := range list {
			if a.ID == r.PathValue("id") {
				writeJSON(w, 200, a)
				return
			}
		}
		g.writeErr(w, 404, "not_found", "address not found", nil)
	}))
	mux.HandleFunc("POST /user/users/me/addresses", requireUser(func(w http.ResponseWriter, r *http.Request) {
		var a address
		json.Unmarshal(body, &a)
		g.mu.Lock()
		defer g.mu.Unlock()
		g.nextID++
		a.ID = fmt.Sprintf("addr-%d", g.nextID+100)
		g.addresses[user.ID] = append(g.addresses[user.ID], a)
		writeJSON(w, 201, a)
	}))
	mux.HandleFunc("DELETE /user/users/me/addresses/{id}", requireUser(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		list := g.addresses[user.ID]
		for i, a := range list {
			if a.ID == r.PathValue("id") {
				g.addresses[user.ID] = append(list[:i:i], list[i+1:]...)
				w.WriteHeader(204)
				return
			}
		}
		g.writeErr(w, 404, "not_found", "address not found", nil)
	}))
	mux.HandleFunc("GET /user/users/me", requireUser(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, profile{ID: user.ID, Email: user.Email, Name: user.Name})
	}))
	mux.HandleFunc("PATCH /user/users/me", requireUser(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name string `json:"name"`
		}
		json.Unmarshal(body, &in)
		g.mu.Lock()
		defer g.mu.Unlock()
		for sid, u := range g.sessions {
			if u.ID == user.ID {
				u.Name = in.Name
				g.sessions[sid] = u
			}
		}
		for _, m := range []map[string]fakeGrant{g.tokens, g.refresh} {
			for k, grant := range m {
				if grant.user.ID == user.ID {
					grant.user.Name = in.Name
					m[k] = grant
				}
			}
		}
		writeJSON(w, 200, profile{ID: user.ID, Email: user.Email, Name: in.Name})
	}))
	mux.HandleFunc("GET /user/users", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		users := append([]apiUser{}, g.users...)
		g.mu.Unlock()
		writeJSON(w, 200, pageOf(r, users, 20))
	}))
	mux.HandleFunc("GET /user/users/{id}", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, u := range g.users {
			if u.ID == r.PathValue("id") {
				writeJSON(w, 200, u)
				return
			}
		}
		g.writeErr(w, 404, "not_found", "user not found", nil)
	}))
	mux.HandleFunc("PATCH /user/users/{id}/status", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Status string `json:"status"`
		}
		json.Unmarshal(body, &in)
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, u := range g.users {
			if u.ID == r.PathValue("id") {
				g.users[i].Status = in.Status
				writeJSON(w, 200, g.users[i])
				return
			}
		}
		g.writeErr(w, 404, "not_found", "user not found", nil)
	}))
	g.accountRoutes(mux, body, user, requireUser)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		g.writeErr(w, 404, "not_found", "no route for "+r.Method+" "+r.URL.Path, nil)
	})
	mux.ServeHTTP(w, r)
}

// fakeNextStatuses is what the fake order service tells admins they may set, by status: a fixture
// for the pages, not the order service's rule.
var fakeNextStatuses = map[string][]string{"paid": {"shipped", "cancelled"}, "shipped": {"delivered"}}

// putOrder stores o as the order service would answer it.
func (g *fakeGateway) putOrder(o order) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.orders[o.ID] = o
}

// setOrderStatus changes an order behind the storefront's back, like the saga would.
func (g *fakeGateway) setOrderStatus(id, status string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	o := g.orders[id]
	o.Status = status
	g.orders[id] = o
}

func (g *fakeGateway) orderCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.orders)
}

// newTestServer builds the storefront's handler against gw with an in-memory session store, as run
// does without Redis.
func newTestServer(tb testing.TB, gw *fakeGateway) http.Handler {
	tb.Helper()
	h, _ := newTestServerStore(tb, gw, newMemSessionStore())
	return h
}

// newTestServerStore is newTestServer with the given session store; it also returns the config.
func newTestServerStore(tb testing.TB, gw *fakeGateway, store sessionStore) (http.Handler, Config) {
	tb.Helper()
	cfg, err := loadConfig(mapEnv(map[string]string{"GATEWAY_URL": gw.srv.URL, "STOREFRONT_SECRET": strings.Repeat("s", 32),
		"AUTH_ISSUER": gw.issuer, "STOREFRONT_PUBLIC_URL": "http://shop.test"}))
	if err != nil {
		tb.Fatal(err)
	}
	pg, err := parsePages(assets)
	if err != nil {
		tb.Fatal(err)
	}
	metrics := shared.NewMetrics("storefront")
	ready := shared.NewReadiness()
	client := newGatewayClient(cfg.GatewayURL, metrics)
	ready.Add("gateway", client.ping)
	return NewServer(slog.New(slog.DiscardHandler), cfg, metrics, ready, pg, client, store), cfg
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// pageOf is the list answer for the request's ?page= and ?limit= (default def, at most 100) of items.
func pageOf[T any](r *http.Request, items []T, def int) map[string]any {
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil {
		limit = def
	}
	limit = min(max(limit, 1), 100)
	from, to := min((page-1)*limit, len(items)), min(page*limit, len(items))
	return map[string]any{"items": append([]T{}, items[from:to]...), "total": len(items), "page": page, "limit": limit}
}
