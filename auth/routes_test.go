package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestTokenScopes: discovery lists the API's scopes; a first-party client's token carries no client
// or scope (full customer rights, like POST /login's), a third-party client's token carries its
// client and exactly the scopes the user approved, and a refresh keeps them.
func TestTokenScopes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	lr, sid := env.login(t, "u@example.com", "right-password")

	var disc struct {
		Scopes []string `json:"scopes_supported"`
	}
	json.Unmarshal(env.do(t, "GET", "/.well-known/openid-configuration", nil).Body.Bytes(), &disc)
	for _, s := range append([]string{"openid"}, shared.APIScopes...) {
		if !slices.Contains(disc.Scopes, s) {
			t.Errorf("scopes_supported = %v, lacks %s", disc.Scopes, s)
		}
	}

	if id, err := env.verify(t, lr.AccessToken); err != nil || id.Delegated() {
		t.Errorf("POST /login token: identity %+v, %v; want first-party", id, err)
	}

	first := env.codeFlow(t, sid, "storefront", storefrontRedirect, "openid profile offline_access")
	if id, err := env.verify(t, first["access_token"].(string)); err != nil || id.Delegated() || id.ClientID != "" || id.Scope != "" {
		t.Errorf("storefront token: identity %+v, %v; want first-party (no client, no scope)", id, err)
	}

	third := env.codeFlow(t, sid, "demo-app", "http://127.0.0.1:8080/callback", "openid orders:read offline_access")
	id, err := env.verify(t, third["access_token"].(string))
	if err != nil || id.ClientID != "demo-app" || !id.Allows(shared.ScopeOrdersRead) || id.Allows(shared.ScopeOrdersWrite) ||
		id.Allows(shared.ScopeAddresses) || id.Allows(shared.ScopeProfile) {
		t.Fatalf("demo-app token: identity %+v, %v; want client demo-app with orders:read only", id, err)
	}
	w := env.do(t, "POST", "/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"demo-app"},
		"refresh_token": {third["refresh_token"].(string)}})
	if w.Code != http.StatusOK {
		t.Fatalf("refresh for demo-app: %d %s", w.Code, w.Body)
	}
	refreshed := sharedtest.Decode[map[string]any](t, w)
	if id, err := env.verify(t, refreshed["access_token"].(string)); err != nil || id.ClientID != "demo-app" || id.Allows(shared.ScopeOrdersWrite) {
		t.Errorf("refreshed demo-app token: identity %+v, %v; want the same client and scopes", id, err)
	}

	// An app's token cannot sign the user out of the shop (nor end other apps' grants from the same
	// sign-in): logout is the holder's own. An app ends its own grant with POST /revoke.
	if w := env.do(t, "POST", "/logout", nil, "Authorization", "Bearer "+refreshed["access_token"].(string)); w.Code != http.StatusNoContent {
		t.Errorf("POST /logout with the demo-app token: status = %d, want 204", w.Code)
	}
	if w := env.do(t, "GET", "/session", nil, "Cookie", "session_id="+sid); w.Code != http.StatusOK {
		t.Errorf("GET /session after a logout with the demo-app token: status = %d, want 200 (the session lives)", w.Code)
	}
	if w := env.do(t, "POST", "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {lr.RefreshToken}}); w.Code != http.StatusOK {
		t.Errorf("the login's refresh token after a logout with the demo-app token: %d %s, want 200", w.Code, w.Body)
	}

	// A third-party client cannot ask for a scope it is not registered for.
	env2 := newTestEnv(t, func(cfg *Config, _ *deps) {
		cfg.Clients = append(cfg.Clients, client{ID: "narrow-app", RedirectURIs: []string{"http://127.0.0.1:9/cb"},
			GrantTypes: []string{grantAuthorizationCode}, Scopes: []string{"openid", shared.ScopeOrdersRead}})
	})
	env2.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid2 := env2.login(t, "u@example.com", "right-password")
	w = env2.do(t, "GET", authorizeQuery("narrow-app", "http://127.0.0.1:9/cb", shared.RandomToken(), "scope", "openid addresses"), nil,
		"Cookie", "session_id="+sid2)
	if loc, _ := url.Parse(w.Header().Get("Location")); w.Code != http.StatusFound || loc.Query().Get("error") != "invalid_scope" {
		t.Errorf("narrow-app asking for addresses: %d %s, want a redirect with invalid_scope", w.Code, w.Header().Get("Location"))
	}
}

// TestRouteBodies: every body-taking route of routes.go, JSON and form, answers 413 to a 2 MiB body
// and 400 to invalid UTF-8 in a text field or a percent-decoded form value.
func TestRouteBodies(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	m := sharedtest.Marker
	service := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("internal-service:service-secret-123"))}
	authorize := "response_type=code&client_id=storefront&redirect_uri=" + storefrontRedirect +
		"&code_challenge=" + challengeOf("v") + "&code_challenge_method=S256&scope=openid&state=st" + m
	// One account per credential-changing route, so the order the rows run in does not matter.
	bearer := func(email string) []string {
		env.addAccount(t, email, "right-password", shared.RoleCustomer)
		lr, _ := env.login(t, email, "right-password")
		return []string{"Authorization", "Bearer " + lr.AccessToken}
	}
	resetToken := env.forgot(t, "u@example.com", "u@example.com")
	// Another account's link: the reset row ends every pending link of u@example.com.
	a := env.addAccount(t, "v@example.com", "right-password", shared.RoleCustomer)
	l, verifyToken := newLink(linkVerify, a.ID, a.Email, time.Now())
	env.d.links.Save(context.Background(), l)
	sharedtest.CheckBodies(t, env.handler, "routes.go", map[string]sharedtest.BodyCase{
		"POST /password/forgot": {Body: `{"email":"nobody` + m + `@example.com"}`},
		"POST /password/reset":  {Body: `{"token":"` + resetToken + `","password":"a-new-passw0rd` + m + `"}`},
		// The valid body changes the password: the later sends are refused before it is checked.
		"POST /password/change": {Header: bearer("c@example.com"), Body: `{"current_password":"right-password","password":"b-new-passw0rd` + m + `"}`},
		"POST /email/verify":    {Body: `{"token":"` + verifyToken + m + `"}`},
		"POST /email/resend":    {},
		"POST /email/change":    {Header: bearer("e@example.com"), Body: `{"password":"right-password","email":"new` + m + `@example.com"}`},
		"POST /register":        {Body: `{"email":"new@example.com","password":"a-long-passw0rd","name":"Ann` + m + `"}`},
		"POST /login":           {Body: `{"email":"u@example.com","password":"right-password` + m + `"}`},
		"POST /logout":          {},
		"POST /authorize":       {Body: authorize},
		"POST /token":           {Header: service, Body: "grant_type=client_credentials&scope=service" + m},
		"POST /userinfo":        {},
		"POST /introspect":      {Header: service, Body: "token=abc" + m},
		"POST /revoke":          {Header: service, Body: "token=abc" + m},
	})
}
