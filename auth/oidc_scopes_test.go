package main

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// codeFlow runs /authorize for clientID as the session sid (approving the consent page when there is
// one) and /token, with form (name, value pairs such as client_secret) added to the token request.
func (env *testEnv) codeFlow(t *testing.T, sid, clientID, redirect, scope string, form ...string) map[string]any {
	t.Helper()
	verifier := shared.RandomToken()
	target := authorizeQuery(clientID, redirect, verifier, "scope", scope)
	w := env.do(t, "GET", target, nil, "Cookie", "session_id="+sid)
	if w.Code == http.StatusOK {
		m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(w.Body.String())
		if m == nil {
			t.Fatalf("consent page for %s has no csrf_token", clientID)
		}
		u, _ := url.Parse(target)
		q := u.Query()
		q.Set("csrf_token", m[1])
		q.Set("consent", "approve")
		w = env.do(t, "POST", "/authorize", q, "Cookie", "session_id="+sid)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("authorize %s: %d %s", clientID, w.Code, w.Header().Get("Location"))
	}
	f := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}}
	for i := 0; i+1 < len(form); i += 2 {
		f.Set(form[i], form[i+1])
	}
	w = env.do(t, "POST", "/token", f)
	if w.Code != http.StatusOK {
		t.Fatalf("POST /token for %s: %d %s", clientID, w.Code, w.Body)
	}
	return sharedtest.Decode[map[string]any](t, w)
}

const demoRedirect = "http://127.0.0.1:8080/callback"

// TestScopedClaims: the ID token, and a third-party app's access token (a JWT it can read), carry the
// e-mail only with scope email and the name only with profile (OIDC Core §5.4), as /userinfo does;
// the storefront's access token (first party) carries both. A third-party app gets a refresh token
// only when the user approved offline_access (OIDC Core §11); the storefront's belongs to its sign-in.
func TestScopedClaims(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid := env.login(t, "u@example.com", "right-password")
	for _, tt := range []struct {
		client, redirect, scope     string
		wantEmail, wantName, wantRT bool
	}{
		{"demo-app", demoRedirect, "openid orders:read", false, false, false},
		{"demo-app", demoRedirect, "openid orders:read offline_access", false, false, true},
		{"demo-app", demoRedirect, "openid email", true, false, false},
		{"demo-app", demoRedirect, "openid profile", false, true, false},
		{"storefront", storefrontRedirect, "openid", false, false, true},
		{"storefront", storefrontRedirect, "openid email profile", true, true, true},
	} {
		out := env.codeFlow(t, sid, tt.client, tt.redirect, tt.scope)
		var idc idClaims
		if err := env.d.keys.parse(typID, out["id_token"].(string), env.cfg.Issuer, &idc); err != nil {
			t.Fatalf("%s %q: id_token: %v", tt.client, tt.scope, err)
		}
		_, hasRT := out["refresh_token"]
		if (idc.Email != "") != tt.wantEmail || idc.Verified && !tt.wantEmail || (idc.Name != "") != tt.wantName || hasRT != tt.wantRT {
			t.Errorf("%s %q: id_token email %q name %q, refresh token %v; want email %v name %v refresh token %v",
				tt.client, tt.scope, idc.Email, idc.Name, hasRT, tt.wantEmail, tt.wantName, tt.wantRT)
		}
		var ac shared.AccessClaims
		if err := env.d.keys.parse(typAccess, out["access_token"].(string), env.cfg.Issuer, &ac); err != nil {
			t.Fatalf("%s %q: access_token: %v", tt.client, tt.scope, err)
		}
		firstParty := tt.client == "storefront"
		if (ac.Email != "") != (tt.wantEmail || firstParty) || (ac.Name != "") != (tt.wantName || firstParty) {
			t.Errorf("%s %q: access token email %q name %q; want email %v name %v",
				tt.client, tt.scope, ac.Email, ac.Name, tt.wantEmail || firstParty, tt.wantName || firstParty)
		}
	}
}

// TestConsentSaysWhat: the consent page says in words what each scope lets the app do, and how long
// offline access lasts.
func TestConsentSaysWhat(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid := env.login(t, "u@example.com", "right-password")
	for _, tt := range []struct{ scope, want, not string }{
		{"openid orders:write", "place, pay for and cancel orders for you", "30 days"},
		{"openid orders:read offline_access", "for up to 30 days", "ends within minutes"},
		{"openid profile", "see your name and your profile", "30 days"},
	} {
		w := env.do(t, "GET", authorizeQuery("demo-app", demoRedirect, shared.RandomToken(), "scope", tt.scope), nil,
			"Cookie", "session_id="+sid)
		body := w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(body, tt.want) || strings.Contains(body, tt.not) {
			t.Errorf("consent page for %q: %d, want %q and not %q in:\n%s", tt.scope, w.Code, tt.want, tt.not, body)
		}
	}
}

// TestConsentPageStyle: the consent page is styled by its own inline <style>, which its CSP allows by
// hash and nothing else: the served style must hash to the header's value, or browsers drop it.
func TestConsentPageStyle(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid := env.login(t, "u@example.com", "right-password")
	w := env.do(t, "GET", authorizeQuery("demo-app", demoRedirect, shared.RandomToken(), "scope", "openid"), nil, "Cookie", "session_id="+sid)
	_, css, _ := strings.Cut(w.Body.String(), "<style>")
	css, _, ok := strings.Cut(css, "</style>")
	sum := sha256.Sum256([]byte(css))
	want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	csp := w.Header().Get("Content-Security-Policy")
	if w.Code != http.StatusOK || !ok || !strings.Contains(csp, want) || !strings.HasPrefix(csp, "default-src 'none';") ||
		strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
		t.Errorf("consent page: %d, CSP %q, want %q beside default-src 'none' and no script", w.Code, csp, want)
	}
}

// TestRequestObjectRefused: request, request_uri and registration are refused at the redirect URI
// with OIDC Core §3.1.2.6's codes, not silently ignored.
func TestRequestObjectRefused(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid := env.login(t, "u@example.com", "right-password")
	for _, p := range []string{"request", "request_uri", "registration"} {
		w := env.do(t, "GET", authorizeQuery("storefront", storefrontRedirect, shared.RandomToken(), p, "eyJhbGciOiJub25lIn0.e30."),
			nil, "Cookie", "session_id="+sid)
		loc, _ := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusFound || loc.Query().Get("error") != p+"_not_supported" || loc.Query().Get("state") != "st-1" ||
			loc.Query().Get("code") != "" {
			t.Errorf("authorize with %s: %d %s, want a redirect with %s_not_supported", p, w.Code, w.Header().Get("Location"), p)
		}
	}
	disc := sharedtest.Decode[map[string]any](t, env.do(t, "GET", "/.well-known/openid-configuration", nil))
	if disc["request_parameter_supported"] != false || disc["request_uri_parameter_supported"] != false {
		t.Errorf("discovery: request_parameter_supported %v, request_uri_parameter_supported %v; want false, false",
			disc["request_parameter_supported"], disc["request_uri_parameter_supported"])
	}
}

// TestIntrospectOwnTokens: a registered confidential app learns only about the tokens issued to it;
// the shop's own tokens and another app's are inactive to it. The platform's service client sees all.
func TestIntrospectOwnTokens(t *testing.T) {
	t.Parallel()
	const appRedirect = "http://127.0.0.1:9/cb"
	env := newTestEnv(t, func(cfg *Config, _ *deps) {
		cfg.Clients = append(cfg.Clients, client{ID: "conf-app", Secret: "conf-app-secret-123", RedirectURIs: []string{appRedirect},
			GrantTypes: []string{grantAuthorizationCode, grantRefreshToken}, Scopes: []string{"openid", shared.ScopeOrdersRead, scopeOfflineAccess}})
	})
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	lr, sid := env.login(t, "u@example.com", "right-password")
	own := env.codeFlow(t, sid, "conf-app", appRedirect, "openid orders:read offline_access", "client_secret", "conf-app-secret-123")
	other := env.codeFlow(t, sid, "demo-app", demoRedirect, "openid orders:read offline_access")
	basic := func(id, secret string) []string {
		return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}
	}
	app, svc := basic("conf-app", "conf-app-secret-123"), basic("internal-service", "service-secret-123")
	for _, tt := range []struct {
		name, token      string
		byApp, byService bool
	}{
		{"its own access token", own["access_token"].(string), true, true},
		{"its own refresh token", own["refresh_token"].(string), true, true},
		{"the shop's access token", lr.AccessToken, false, true},
		{"the shop's refresh token", lr.RefreshToken, false, true},
		{"another app's access token", other["access_token"].(string), false, true},
		{"another app's refresh token", other["refresh_token"].(string), false, true},
	} {
		for _, by := range []struct {
			name   string
			who    []string
			active bool
		}{{"conf-app", app, tt.byApp}, {"internal-service", svc, tt.byService}} {
			w := env.do(t, "POST", "/introspect", url.Values{"token": {tt.token}}, by.who...)
			out := sharedtest.Decode[map[string]any](t, w)
			if w.Code != http.StatusOK || out["active"] != by.active || !by.active && len(out) != 1 {
				t.Errorf("introspect %s as %s: %d %v, want active=%v and nothing else when inactive", tt.name, by.name, w.Code, out, by.active)
			}
			// The app was not granted email: the answer has none (its token carries none).
			if email, has := out["email"]; tt.name == "its own access token" && has {
				t.Errorf("introspect %s as %s: email %v, want none without the email scope", tt.name, by.name, email)
			}
		}
	}
}
