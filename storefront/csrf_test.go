package main

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// postRoutes lists every state-changing route in routes.go, with sample path values, so that a route
// added there is covered here without anyone remembering to.
func postRoutes(tb testing.TB) []string {
	tb.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`"(POST|PUT|PATCH|DELETE) (/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, strings.NewReplacer("{id}", "p01", "{sku}", "SKU-01").Replace(m[2]))
	}
	if len(out) < 17 {
		tb.Fatalf("found %d state-changing routes in routes.go, want at least 17: %v", len(out), out)
	}
	return append(out, "/no/such/page") // the catch-all: refused before it answers 404
}

// TestCSRFBoundToSession: on every state-changing route a signed-in victim's form post is refused
// without a token, with a token of another session, and with a CSRF key and token an attacker minted
// for themselves and planted in the victim's browser next to the victim's sf_sid; the victim's own
// token is accepted.
func TestCSRFBoundToSession(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	// The attacker's own pairs: one minted signed out, one from the attacker's signed-in session.
	mint := func(signedIn bool) (key, token string) {
		a := newBrowser(t, srv)
		if signedIn {
			a.signIn(fakeCustomer.Email, "demo-Passw0rd!")
		}
		token = a.csrf("/login")
		return a.cookie(cookieCSRF).Value, token
	}
	anonKey, anonToken := mint(false)
	inKey, inToken := mint(true)
	other := newBrowser(t, srv)
	other.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	otherToken := other.csrf("/login")

	rows := []struct {
		name    string
		key     string // planted in the victim's sf_csrf cookie when not empty
		token   func(victim *browser) string
		refused bool
	}{
		{"no token", "", func(*browser) string { return "" }, true},
		{"token of another session", "", func(*browser) string { return otherToken }, true},
		{"minted pair, attacker signed out", anonKey, func(*browser) string { return anonToken }, true},
		{"minted pair, attacker signed in", inKey, func(*browser) string { return inToken }, true},
		{"right token", "", func(v *browser) string { return v.csrf("/login") }, false},
	}
	logins := len(gw.calls("POST /auth/login"))
	for _, path := range postRoutes(t) {
		for _, row := range rows {
			t.Run(path+" "+row.name, func(t *testing.T) {
				victim := newBrowser(t, srv)
				victim.signIn(fakeAdmin.Email, "admin-Passw0rd!")
				logins++
				token := row.token(victim)
				if row.key != "" {
					victim.client.Jar.SetCookies(mustURL(t, srv.URL), []*http.Cookie{{Name: cookieCSRF, Value: row.key, Path: "/"}})
				}
				form := url.Values{"sku": {"SKU-02"}, "quantity": {"1"}, "email": {fakeCustomer.Email}, "password": {"demo-Passw0rd!"},
					"status": {"suspended"}, "delta": {"1"}, "reason": {"r"}, "name": {"N"}}
				if token != "" {
					form.Set("csrf_token", token)
				}
				p := victim.post(path, form)
				refused := p.status == http.StatusForbidden && strings.Contains(p.body, "This form has expired")
				if refused != row.refused {
					t.Errorf("POST %s with %s: status = %d, refused %v, want refused %v", path, row.name, p.status, refused, row.refused)
				}
			})
		}
	}
	if n := len(gw.calls("POST /auth/login")); n != logins+1 { // +1: the right-token POST /login
		t.Errorf("POST /auth/login calls = %d, want %d: a refused form reached the API", n, logins+1)
	}
}
