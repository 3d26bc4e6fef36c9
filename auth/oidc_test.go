package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

const storefrontRedirect = "http://localhost:3000/auth/callback"

// oidcClient drives the server over real HTTP without following redirects.
type oidcClient struct {
	t      *testing.T
	base   string
	cookie string
	http   *http.Client
}

func newOIDCClient(t *testing.T, env *testEnv) *oidcClient {
	srv := httptest.NewServer(env.handler)
	t.Cleanup(srv.Close)
	return &oidcClient{t: t, base: srv.URL, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
}

func (c *oidcClient) send(method, path string, form url.Values, headers ...string) (*http.Response, []byte) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", "session_id="+c.cookie)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorizeQuery(clientID, redirect, verifier string, extra ...string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect},
		"scope": {"openid profile email offline_access"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challengeOf(verifier)}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			q.Del(extra[i])
		} else {
			q.Set(extra[i], extra[i+1])
		}
	}
	return "/authorize?" + q.Encode()
}

// code runs /authorize for the storefront and returns the code from the redirect.
func (c *oidcClient) code(verifier string) string {
	c.t.Helper()
	resp, body := c.send("GET", authorizeQuery("storefront", storefrontRedirect, verifier), nil)
	if resp.StatusCode != http.StatusFound {
		c.t.Fatalf("GET /authorize: status = %d, want 302; body %s", resp.StatusCode, body)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != storefrontRedirect || q.Get("state") != "st-1" || q.Get("iss") != "http://auth.test" || q.Get("code") == "" {
		c.t.Fatalf("GET /authorize: Location = %s", loc)
	}
	return q.Get("code")
}

func (c *oidcClient) token(form url.Values, headers ...string) (int, map[string]any) {
	c.t.Helper()
	resp, body := c.send("POST", "/token", form, headers...)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		c.t.Fatalf("POST /token: %s: %v", body, err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		c.t.Errorf("POST /token: Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, out
}

func exchange(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {"storefront"}, "code": {code},
		"redirect_uri": {storefrontRedirect}, "code_verifier": {verifier}}
}

func refresh(token string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {"storefront"}, "refresh_token": {token}}
}

func wantOAuthError(t *testing.T, what string, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["error"] != wantCode {
		t.Fatalf("%s: status = %d error %v, want %d %s (%v)", what, status, body["error"], wantStatus, wantCode, body)
	}
}

// TestOIDCCodeFlow runs the authorization code flow with PKCE end to end, including a wrong verifier,
// a reused code and a reused refresh token.
func TestOIDCCodeFlow(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "demo@shop.local", "demo-Passw0rd!", shared.RoleCustomer)
	_, sid := env.login(t, "demo@shop.local", "demo-Passw0rd!")
	c := newOIDCClient(t, env)
	c.cookie = sid
	verifier := shared.RandomToken() + "-verifier"

	// Discovery names the issuer and every endpoint under it.
	resp, body := c.send("GET", "/.well-known/openid-configuration", nil)
	var disc map[string]any
	json.Unmarshal(body, &disc)
	if resp.StatusCode != 200 || disc["issuer"] != "http://auth.test" || disc["token_endpoint"] != "http://auth.test/token" ||
		disc["jwks_uri"] != "http://auth.test/.well-known/jwks.json" {
		t.Fatalf("discovery = %d %v", resp.StatusCode, disc)
	}
	// JWKS publishes current + next.
	_, body = c.send("GET", "/.well-known/jwks.json", nil)
	var set shared.JWKS
	if json.Unmarshal(body, &set); len(set.Keys) < 2 {
		t.Fatalf("JWKS has %d keys, want ≥ 2", len(set.Keys))
	}

	// A wrong verifier fails, and burns the code.
	code := c.code(verifier)
	st, out := c.token(exchange(code, shared.RandomToken()+"-wrong-verifier"))
	wantOAuthError(t, "wrong verifier", st, out, 400, "invalid_grant")
	st, out = c.token(exchange(code, verifier))
	wantOAuthError(t, "code after wrong verifier", st, out, 400, "invalid_grant")

	// The right verifier gets tokens.
	code = c.code(verifier)
	st, out = c.token(exchange(code, verifier))
	if st != 200 || out["token_type"] != "Bearer" || out["refresh_token"] == nil || out["id_token"] == nil {
		t.Fatalf("POST /token: %d %v", st, out)
	}
	access := out["access_token"].(string)
	id, err := env.verify(t, access)
	if err != nil || id.UserID != a.ID || id.Role != "customer" || id.SessionID != sessionSID(sid) {
		t.Fatalf("shared verifier on code-flow token: %+v, %v", id, err)
	}
	var idc idClaims
	if err := env.d.keys.parse(typID, out["id_token"].(string), "http://auth.test", &idc); err != nil ||
		idc.Subject != a.ID || idc.Nonce != "n-1" || len(idc.Audience) != 1 || idc.Audience[0] != "storefront" {
		t.Fatalf("id_token = %+v, %v", idc, err)
	}
	firstRefresh := out["refresh_token"].(string)
	idToken := out["id_token"].(string)

	// Reusing the code fails and revokes what it issued.
	st, out = c.token(exchange(code, verifier))
	wantOAuthError(t, "reused code", st, out, 400, "invalid_grant")
	st, out = c.token(refresh(firstRefresh))
	wantOAuthError(t, "refresh token of a reused code", st, out, 400, "invalid_grant")

	// userinfo with the access token.
	resp, body = c.send("GET", "/userinfo", nil, "Authorization", "Bearer "+access)
	var ui map[string]any
	json.Unmarshal(body, &ui)
	if resp.StatusCode != 200 || ui["sub"] != a.ID || ui["email"] != a.Email {
		t.Fatalf("GET /userinfo: %d %v", resp.StatusCode, ui)
	}
	// An ID token is not an access token (typ JWT, not at+jwt).
	if resp, _ := c.send("GET", "/userinfo", nil, "Authorization", "Bearer "+idToken); resp.StatusCode != 401 {
		t.Fatalf("GET /userinfo with an ID token: status = %d, want 401", resp.StatusCode)
	}
	if resp, _ := c.send("GET", "/userinfo", nil); resp.StatusCode != 401 {
		t.Fatalf("GET /userinfo without token: status = %d, want 401", resp.StatusCode)
	}

	// Refresh rotation and reuse detection.
	code = c.code(verifier)
	_, out = c.token(exchange(code, verifier))
	rt1 := out["refresh_token"].(string)
	st, out = c.token(refresh(rt1))
	if st != 200 || out["refresh_token"] == nil || out["refresh_token"] == rt1 || out["access_token"] == nil {
		t.Fatalf("refresh: %d %v", st, out)
	}
	rt2 := out["refresh_token"].(string)
	st, out = c.token(refresh(rt1))
	wantOAuthError(t, "reused refresh token", st, out, 400, "invalid_grant")
	st, out = c.token(refresh(rt2))
	wantOAuthError(t, "refresh token of a revoked family", st, out, 400, "invalid_grant")

	// A refresh token is bound to its client.
	code = c.code(verifier)
	_, out = c.token(exchange(code, verifier))
	other := refresh(out["refresh_token"].(string))
	other.Set("client_id", "demo-app")
	st, out = c.token(other)
	wantOAuthError(t, "refresh by another client", st, out, 400, "invalid_grant")

	// The refresh token from POST /login works without a client and rotates too.
	lr, _ := env.login(t, "demo@shop.local", "demo-Passw0rd!")
	st, out = c.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {lr.RefreshToken}})
	if st != 200 || out["access_token"] == nil {
		t.Fatalf("refresh of login token: %d %v", st, out)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	c := newOIDCClient(t, env)
	basic := func(id, secret string) []string {
		return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}
	}
	tests := []struct {
		name       string
		form       url.Values
		headers    []string
		wantStatus int
		wantCode   string
	}{
		{"no grant type", url.Values{}, nil, 400, "invalid_request"},
		{"unknown grant type", url.Values{"grant_type": {"password"}}, nil, 400, "unsupported_grant_type"},
		{"repeated parameter", url.Values{"grant_type": {"refresh_token", "refresh_token"}}, nil, 400, "invalid_request"},
		{"code without verifier", url.Values{"grant_type": {"authorization_code"}, "client_id": {"storefront"}, "code": {"x"}, "redirect_uri": {storefrontRedirect}}, nil, 400, "invalid_request"},
		{"unknown code", exchange("0123456789abcdef0123456789abcdef."+shared.RandomToken(), shared.RandomToken()), nil, 400, "invalid_grant"},
		{"unknown client", url.Values{"grant_type": {"authorization_code"}, "client_id": {"nope"}}, nil, 401, "invalid_client"},
		{"unknown refresh token", refresh("garbage"), nil, 400, "invalid_grant"},
		{"client_credentials ok", url.Values{"grant_type": {"client_credentials"}}, basic("internal-service", "service-secret-123"), 200, ""},
		{"client_credentials wrong secret", url.Values{"grant_type": {"client_credentials"}}, basic("internal-service", "wrong"), 401, "invalid_client"},
		{"client_credentials post", url.Values{"grant_type": {"client_credentials"}, "client_id": {"internal-service"}, "client_secret": {"service-secret-123"}}, nil, 200, ""},
		{"client_credentials two methods", url.Values{"grant_type": {"client_credentials"}, "client_secret": {"service-secret-123"}}, basic("internal-service", "service-secret-123"), 400, "invalid_request"},
		{"client_credentials public client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"storefront"}}, nil, 400, "unauthorized_client"},
		{"client_credentials bad scope", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, basic("internal-service", "service-secret-123"), 400, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, out := c.token(tt.form, tt.headers...)
			if tt.wantCode == "" {
				if st != 200 || out["access_token"] == nil {
					t.Fatalf("POST /token: %d %v", st, out)
				}
				id, err := env.verify(t, out["access_token"].(string))
				if err != nil || id.UserID != "client:internal-service" || id.Role != roleService {
					t.Fatalf("service token identity = %+v, %v", id, err)
				}
				return
			}
			wantOAuthError(t, "POST /token", st, out, tt.wantStatus, tt.wantCode)
		})
	}
	// Not a form at all.
	if w := env.do(t, "POST", "/token", `{"grant_type":"client_credentials"}`); w.Code != 415 {
		t.Errorf("POST /token with JSON: status = %d, want 415", w.Code)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(cfg *Config, _ *deps) { cfg.LoginURL = "http://localhost:3000/login" })
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid := env.login(t, "u@example.com", "right-password")
	v := shared.RandomToken()
	tests := []struct {
		name      string
		target    string
		session   bool
		wantCode  int
		wantError string // error= in the redirect
	}{
		{"unknown client", authorizeQuery("nope", storefrontRedirect, v), true, 400, ""},
		{"unregistered redirect", authorizeQuery("storefront", "http://evil.example/cb", v), true, 400, ""},
		{"redirect prefix", authorizeQuery("storefront", storefrontRedirect+"/x", v), true, 400, ""},
		{"no PKCE", authorizeQuery("storefront", storefrontRedirect, v, "code_challenge", ""), true, 302, "invalid_request"},
		{"plain PKCE", authorizeQuery("storefront", storefrontRedirect, v, "code_challenge_method", "plain"), true, 302, "invalid_request"},
		{"short challenge", authorizeQuery("storefront", storefrontRedirect, v, "code_challenge", "abc"), true, 302, "invalid_request"},
		{"token response", authorizeQuery("storefront", storefrontRedirect, v, "response_type", "token"), true, 302, "unsupported_response_type"},
		{"bad scope", authorizeQuery("storefront", storefrontRedirect, v, "scope", "openid admin"), true, 302, "invalid_scope"},
		{"prompt none without session", authorizeQuery("storefront", storefrontRedirect, v, "prompt", "none"), false, 302, "login_required"},
		{"no session: to login page", authorizeQuery("storefront", storefrontRedirect, v), false, 303, ""},
		{"third party, prompt none", authorizeQuery("demo-app", "http://127.0.0.1:8080/callback", v, "prompt", "none"), true, 302, "consent_required"},
		// prompt=none forbids any page, so it cannot go with another value (OIDC Core §3.1.2.1).
		{"prompt none and login", authorizeQuery("demo-app", "http://127.0.0.1:8080/callback", v, "prompt", "none login"), true, 302, "invalid_request"},
		{"prompt none and consent, no session", authorizeQuery("storefront", storefrontRedirect, v, "prompt", "consent none"), false, 302, "invalid_request"},
		// A client asking for a new sign-in (prompt=login, or max_age shorter than the session's age)
		// must not get a code from the old one: auth cannot ask for the password itself.
		{"prompt login", authorizeQuery("storefront", storefrontRedirect, v, "prompt", "login"), true, 302, "login_required"},
		{"max_age passed", authorizeQuery("storefront", storefrontRedirect, v, "max_age", "0"), true, 302, "login_required"},
		{"max_age not passed", authorizeQuery("storefront", storefrontRedirect, v, "max_age", "3600"), true, 302, ""},
		{"bad max_age", authorizeQuery("storefront", storefrontRedirect, v, "max_age", "-1"), true, 302, "invalid_request"},
		{"long max_age", authorizeQuery("storefront", storefrontRedirect, v, "max_age", "9999999999"), true, 302, ""},
		{"huge max_age", authorizeQuery("storefront", storefrontRedirect, v, "max_age", "99999999999999999999"), true, 302, ""},
		{"max_age not a number", authorizeQuery("storefront", storefrontRedirect, v, "max_age", "1e3"), true, 302, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.session {
				h = []string{"Cookie", "session_id=" + sid}
			}
			w := env.do(t, "GET", tt.target, nil, h...)
			if w.Code != tt.wantCode {
				t.Fatalf("GET /authorize: status = %d, want %d; body %s", w.Code, tt.wantCode, w.Body)
			}
			loc := w.Header().Get("Location")
			switch {
			case tt.wantError != "":
				u, _ := url.Parse(loc)
				if u.Query().Get("error") != tt.wantError || u.Query().Get("state") != "st-1" {
					t.Fatalf("Location = %s, want error=%s with state", loc, tt.wantError)
				}
			case tt.wantCode == 302:
				if u, _ := url.Parse(loc); u.Query().Get("code") == "" {
					t.Fatalf("Location = %s, want a code", loc)
				}
			case tt.wantCode == 303:
				if !strings.HasPrefix(loc, "http://localhost:3000/login?return_to=http%3A%2F%2Fauth.test%2Fauthorize%3F") {
					t.Fatalf("Location = %s, want the login page with return_to", loc)
				}
			case tt.wantCode == 400:
				if loc != "" {
					t.Fatalf("redirected to an unverified URI: %s", loc)
				}
			}
		})
	}
	// Without a session the login page signs the user in anew, which is what prompt=login and max_age
	// ask for: the way back must not ask again, or the user comes back to login_required.
	w := env.do(t, "GET", authorizeQuery("storefront", storefrontRedirect, v, "prompt", "login", "max_age", "0"), nil)
	loc, _ := url.Parse(w.Header().Get("Location"))
	back, _ := url.Parse(loc.Query().Get("return_to"))
	if w.Code != 303 || back.Query().Get("state") != "st-1" || back.Query().Has("prompt") || back.Query().Has("max_age") {
		t.Fatalf("prompt=login without a session: %d, return_to %s, want the request without prompt and max_age", w.Code, back)
	}
	// Without AUTH_LOGIN_URL an anonymous request gets 401 JSON.
	plain := newTestEnv(t)
	if w := plain.do(t, "GET", authorizeQuery("storefront", storefrontRedirect, v), nil); w.Code != 401 {
		t.Fatalf("GET /authorize anonymous: status = %d, want 401", w.Code)
	}
}

// TestConsent: a third-party client sees a consent page; the POST needs the CSRF token; deny and
// approve redirect accordingly.
func TestConsent(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid := env.login(t, "u@example.com", "right-password")
	verifier := shared.RandomToken()
	target := authorizeQuery("demo-app", "http://127.0.0.1:8080/callback", verifier)
	w := env.do(t, "GET", target, nil, "Cookie", "session_id="+sid)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Allow demo-app") {
		t.Fatalf("GET /authorize (third party): status = %d, want a consent page; body %s", w.Code, w.Body)
	}
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatal("consent page has no csrf_token")
	}
	u, _ := url.Parse(target)
	form := u.Query()
	post := func(extra ...string) *httptest.ResponseRecorder {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return env.do(t, "POST", "/authorize", f, "Cookie", "session_id="+sid)
	}
	if w := post("consent", "approve"); w.Code != http.StatusForbidden {
		t.Fatalf("POST /authorize without csrf: status = %d, want 403", w.Code)
	}
	if w := post("consent", "approve", "csrf_token", "forged"); w.Code != http.StatusForbidden {
		t.Fatalf("POST /authorize with forged csrf: status = %d, want 403", w.Code)
	}
	w = post("consent", "deny", "csrf_token", m[1])
	if loc, _ := url.Parse(w.Header().Get("Location")); w.Code != 302 || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("deny: %d %s", w.Code, w.Header().Get("Location"))
	}
	w = post("consent", "approve", "csrf_token", m[1])
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != 302 || loc.Query().Get("code") == "" {
		t.Fatalf("approve: %d %s", w.Code, w.Header().Get("Location"))
	}
	// demo-app is public: PKCE alone authenticates the exchange.
	f := url.Values{"grant_type": {"authorization_code"}, "client_id": {"demo-app"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1:8080/callback"}, "code_verifier": {verifier}}
	if w := env.do(t, "POST", "/token", f); w.Code != 200 {
		t.Fatalf("POST /token for demo-app: status = %d; body %s", w.Code, w.Body)
	}
}

func TestIntrospectAndRevoke(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	lr, _ := env.login(t, "u@example.com", "right-password")
	svc := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("internal-service:service-secret-123"))}
	introspect := func(token string, headers ...string) (int, map[string]any) {
		w := env.do(t, "POST", "/introspect", url.Values{"token": {token}}, headers...)
		var out map[string]any
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	tests := []struct {
		name, token string
		active      bool
	}{
		{"access token", lr.AccessToken, true},
		{"refresh token", lr.RefreshToken, true},
		{"garbage", "garbage", false},
		{"tampered access token", lr.AccessToken[:len(lr.AccessToken)-4] + "AAAA", false},
	}
	for _, tt := range tests {
		st, out := introspect(tt.token, svc...)
		if st != 200 || out["active"] != tt.active {
			t.Errorf("introspect %s: %d %v, want active=%v", tt.name, st, out, tt.active)
		}
		if tt.active && out["sub"] != a.ID {
			t.Errorf("introspect %s: sub = %v, want %s", tt.name, out["sub"], a.ID)
		}
	}
	if st, out := introspect(lr.AccessToken); st != 401 || out["error"] != "invalid_client" {
		t.Errorf("introspect without client: %d %v, want 401 invalid_client", st, out)
	}
	if st, _ := introspect(lr.AccessToken, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("storefront:"))); st != 401 {
		t.Errorf("introspect by a public client: status = %d, want 401", st)
	}

	// Malformed requests and bad client credentials.
	if w := env.do(t, "POST", "/introspect", `{"token":"x"}`, svc...); w.Code != 415 {
		t.Errorf("POST /introspect with JSON: status = %d, want 415", w.Code)
	}
	if w := env.do(t, "POST", "/introspect", url.Values{"token": {"a", "b"}}, svc...); w.Code != 400 {
		t.Errorf("POST /introspect with a repeated token: status = %d, want 400", w.Code)
	}
	if w := env.do(t, "POST", "/revoke", url.Values{"token": {lr.RefreshToken}, "client_id": {"internal-service"}, "client_secret": {"wrong"}}); w.Code != 401 {
		t.Errorf("POST /revoke with a wrong secret: status = %d, want 401", w.Code)
	}
	if _, out := introspect(lr.RefreshToken, svc...); out["active"] != true {
		t.Errorf("a rejected revoke revoked the token")
	}

	// Revoke: the login refresh token dies; unknown tokens still get 200.
	for _, tok := range []string{lr.RefreshToken, "unknown"} {
		if w := env.do(t, "POST", "/revoke", url.Values{"token": {tok}}); w.Code != 200 {
			t.Errorf("POST /revoke %s: status = %d, want 200", tok, w.Code)
		}
	}
	if _, out := introspect(lr.RefreshToken, svc...); out["active"] != false {
		t.Errorf("refresh token active after revoke: %v", out)
	}
	// A client cannot revoke another client's token.
	ctx := context.Background()
	tok, _ := newFamilyToken()
	env.d.grants.StartFamily(ctx, grant{UserID: a.ID, ClientID: "storefront", ExpiresAt: time.Now().Add(time.Hour)}, tok)
	env.do(t, "POST", "/revoke", url.Values{"token": {tok}, "client_id": {"demo-app"}})
	if _, err := env.d.grants.Peek(ctx, tok); err != nil {
		t.Errorf("demo-app revoked a storefront token")
	}
	env.do(t, "POST", "/revoke", url.Values{"token": {tok}, "client_id": {"storefront"}})
	if _, err := env.d.grants.Peek(ctx, tok); err == nil {
		t.Errorf("storefront could not revoke its own token")
	}
}

// TestUserinfoScopes: an OAuth token sees only the claims of its scopes.
func TestUserinfoScopes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	tokens := tokenIssuer{keys: env.d.keys, issuer: env.cfg.Issuer, ttl: env.cfg.AccessTTL}
	for _, tt := range []struct {
		client, scope       string
		wantEmail, wantName bool
	}{{"demo-app", "openid", false, false}, {"demo-app", "openid email", true, false}, {"demo-app", "openid profile", false, true},
		{"demo-app", "", false, false}, {"", "", true, true}} {
		tok, _ := tokens.access(a, "", tt.client, tt.scope)
		w := env.do(t, "GET", "/userinfo", nil, "Authorization", "Bearer "+tok)
		ui := sharedtest.Decode[map[string]any](t, w)
		_, hasEmail := ui["email"]
		_, hasName := ui["name"]
		if w.Code != 200 || ui["sub"] != a.ID || hasEmail != tt.wantEmail || hasName != tt.wantName {
			t.Errorf("GET /userinfo client %q scope %q: %d %v", tt.client, tt.scope, w.Code, ui)
		}
	}
	// Service tokens have no user behind them.
	tok, _ := tokens.access(account{ID: "client:internal-service", Role: roleService}, "", "internal-service", "service")
	if w := env.do(t, "GET", "/userinfo", nil, "Authorization", "Bearer "+tok); w.Code != 401 {
		t.Errorf("GET /userinfo with a service token: status = %d, want 401", w.Code)
	}
}

// TestRefreshOfSuspendedAccount: even before the status event has swept its grants, a suspended
// account's refresh token gets invalid_grant and its family is revoked.
func TestRefreshOfSuspendedAccount(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	lr, _ := env.login(t, "u@example.com", "right-password")
	env.d.accounts.SetStatus(context.Background(), a.ID, statusSuspended, time.Now())
	w := env.do(t, "POST", "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {lr.RefreshToken}})
	if e := sharedtest.Decode[map[string]any](t, w); w.Code != 400 || e["error"] != "invalid_grant" {
		t.Fatalf("refresh of suspended account: %d %v, want 400 invalid_grant", w.Code, e)
	}
	if _, err := env.d.grants.Peek(context.Background(), lr.RefreshToken); err == nil {
		t.Fatal("family still live after a refresh by a suspended account")
	}
}

// TestCodeOfEndedSignIn: a code is worth no more than the sign-in it came from. Once that session has
// ended (logout, a password change or reset) its codes no longer exchange: otherwise whoever held a
// stolen session could keep a fresh code at hand (a code lasts a minute, and a first-party client
// gets one without consent) and turn it into a refresh family that outlives the victim's reset.
func TestCodeOfEndedSignIn(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"logout", "password change"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
			lr, sid := env.login(t, "u@example.com", "right-password")
			c := newOIDCClient(t, env)
			c.cookie = sid
			verifier := shared.RandomToken()
			code := c.code(verifier)
			var w *httptest.ResponseRecorder
			if end == "logout" {
				w = env.do(t, "POST", "/logout", nil, "Cookie", "session_id="+sid)
			} else {
				w = env.do(t, "POST", "/password/change", `{"current_password":"right-password","password":"a-new-passw0rd"}`,
					"Authorization", "Bearer "+lr.AccessToken)
			}
			if w.Code != http.StatusNoContent {
				t.Fatalf("%s: status = %d, want 204; body %s", end, w.Code, w.Body)
			}
			status, body := c.token(exchange(code, verifier))
			wantOAuthError(t, "exchange of a code after "+end, status, body, 400, "invalid_grant")
		})
	}
}

// TestIDTokenAuthTime: auth_time is when the user signed in (OIDC Core §2), not when the client asked
// for a code: an ID token from an hour-old session must not tell the client the user has just
// authenticated (a client enforcing max_age on auth_time would accept a stale sign-in).
func TestIDTokenAuthTime(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	signedIn := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	sess := session{ID: shared.RandomToken(), UserID: a.ID, CreatedAt: signedIn, ExpiresAt: signedIn.Add(env.cfg.SessionMaxTTL)}
	if err := env.d.sessions.Create(context.Background(), sess, env.cfg.SessionIdleTTL); err != nil {
		t.Fatal(err)
	}
	c := newOIDCClient(t, env)
	c.cookie = sess.ID
	verifier := shared.RandomToken()
	status, out := c.token(exchange(c.code(verifier), verifier))
	if status != 200 {
		t.Fatalf("POST /token: %d %v", status, out)
	}
	check := func(what, raw string) {
		t.Helper()
		var idc idClaims
		if err := env.d.keys.parse(typID, raw, "http://auth.test", &idc); err != nil || idc.AuthTime != signedIn.Unix() {
			t.Errorf("%s: auth_time = %d, want the sign-in %d (%v)", what, idc.AuthTime, signedIn.Unix(), err)
		}
	}
	check("id_token", out["id_token"].(string))
	// A refreshed ID token keeps the original auth_time (OIDC Core §12.2).
	status, out = c.token(refresh(out["refresh_token"].(string)))
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, out)
	}
	check("refreshed id_token", out["id_token"].(string))
}
