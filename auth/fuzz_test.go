package main

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// FuzzParseAuthorize: any query string parses without panicking, and a request it accepts has a
// registered redirect URI, a well-formed S256 challenge and allowed scopes.
func FuzzParseAuthorize(f *testing.F) {
	f.Add(strings.TrimPrefix(authorizeQuery("storefront", storefrontRedirect, "v"), "/authorize?"))
	f.Add("client_id=storefront&client_id=x")
	f.Add("response_type=code&client_id=demo-app&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcallback&code_challenge_method=S256&code_challenge=" + strings.Repeat("a", 43))
	f.Add("%zz&;;==")
	clients := newClientRegistry(defaultClients("s"))
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, oerr, _ := parseAuthorize(q, clients)
		if oerr != nil {
			if oerr.Code == "" || oerr.status < 400 {
				t.Fatalf("bad error %+v", oerr)
			}
			return
		}
		if !req.Client.redirectAllowed(req.RedirectURI) || len(req.Challenge) != 43 || !pkceShape(req.Challenge) {
			t.Fatalf("accepted a bad request: %+v", req)
		}
		for _, s := range req.Scope {
			if !strings.Contains(" "+strings.Join(req.Client.scopes(), " ")+" ", " "+s+" ") {
				t.Fatalf("accepted scope %q", s)
			}
		}
	})
}

// FuzzTokenForm: the /token form parser and the client-credential reader never panic, and repeated
// or oversized parameters are refused.
func FuzzTokenForm(f *testing.F) {
	f.Add("grant_type=authorization_code&code=a.b&code_verifier=x&redirect_uri=y&client_id=storefront", "")
	f.Add("grant_type=refresh_token&refresh_token=x&refresh_token=y", "Basic aW50ZXJuYWwtc2VydmljZTpz")
	f.Add("grant_type=client_credentials&client_secret=s", "Basic %%%")
	f.Add("", "Bearer x")
	clients := newClientRegistry(defaultClients("s"))
	f.Fuzz(func(t *testing.T, raw, authz string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, oerr := parseTokenForm(q)
		if oerr == nil {
			if req.GrantType == "" || len(req.Code) > 2048 || len(q["grant_type"]) != 1 {
				t.Fatalf("accepted %q as %+v", raw, req)
			}
		}
		r, _ := http.NewRequest("POST", "/token", nil)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		id, secret, oerr := clientCredentials(r, req.ClientID, req.ClientSecret)
		if oerr == nil {
			if c, oerr := authenticateClient(clients, id, secret); oerr == nil && !c.public() && !c.secretMatches(secret) {
				t.Fatalf("authenticated %q without its secret", id)
			}
		}
		tokenFamily(req.RefreshToken)
		pkceMatches(req.CodeVerifier, req.Code)
	})
}

// FuzzAccessToken: arbitrary strings never verify and never panic; only tokens the ring signed do.
func FuzzAccessToken(f *testing.F) {
	keys, err := newMemKeyring(2)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := keys.sign(typAccess, shared.AccessClaims{Role: "customer",
		RegisteredClaims: jwt.RegisteredClaims{Issuer: "iss", Subject: "u", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1IiwiaXNzIjoiaXNzIn0.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		var c shared.AccessClaims
		err := keys.parse(typAccess, raw, "iss", &c)
		if err == nil && raw != good {
			// Only a re-encoding of the good token could verify; its claims must be the good ones.
			if c.Subject != "u" {
				t.Fatalf("forged token verified: %q", raw)
			}
		}
	})
}

// FuzzNormalizeEmail: a normalised address is lower-case, trimmed, stable and has one @.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"A@B.co", " x@y.z ", "Bob <b@c.d>", "a@b", "\"q\"@x.y", "@.", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := normalizeEmail(s)
		if err != nil {
			return
		}
		if e != strings.ToLower(strings.TrimSpace(e)) || strings.Count(e, "@") < 1 {
			t.Fatalf("normalizeEmail(%q) = %q", s, e)
		}
		if again, err := normalizeEmail(e); err != nil || again != e {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", s, e, again, err)
		}
	})
}

// FuzzAccountBodies sends arbitrary bodies to POST /register, /login, /password/forgot,
// /password/reset and /email/verify: an answer or a 4xx in the error shape, never a 5xx, and no replacement characters stored or echoed that were not sent.
func FuzzAccountBodies(f *testing.F) {
	for _, s := range []string{`{"email":"new@example.com","password":"a-long-passw0rd","name":"Ann"}`,
		`{"email":"u@example.com","password":"right-password"}`, `{"email":"u@example.com","password":"a\udcff"}`,
		"{\"email\":\"x@example.com\",\"password\":\"a-long-passw0rd\",\"name\":\"\xff\xfe\"}", `{"email":{"$ne":null}}`,
		`{"email":"A@EXAMPLE.COM ","password":"right-password"}`, `[]`, ``,
		`{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","password":"a-long-passw0rd"}`, `{"email":"u@example.com\r\nBcc: x@y.z"}`} {
		f.Add(s)
	}
	env := newTestEnv(f)
	env.addAccount(f, "u@example.com", "right-password", shared.RoleCustomer)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/register", "/login", "/password/forgot", "/password/reset", "/email/verify"} {
			sharedtest.ServeFuzz(t, env.handler, http.MethodPost, path, body, nil)
		}
	})
}

// FuzzOAuthForms sends arbitrary form bodies to /token, /introspect and /revoke: an OAuth answer or a
// 4xx, never a 5xx.
func FuzzOAuthForms(f *testing.F) {
	for _, s := range []string{"grant_type=client_credentials&scope=service", "token=abc&token=def", "token=%FF%FE",
		"grant_type=refresh_token&refresh_token=a.b", "grant_type=authorization_code&code=x&code_verifier=y&redirect_uri=z",
		"%zz", "client_id=storefront&client_secret=x", ""} {
		f.Add(s)
	}
	env := newTestEnv(f)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("internal-service:service-secret-123"))
	f.Fuzz(func(t *testing.T, form string) {
		for _, path := range []string{"/token", "/introspect", "/revoke"} {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", basic)
			w := httptest.NewRecorder()
			env.handler.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("POST %s %q: status %d %s", path, form, w.Code, w.Body)
			}
		}
	})
}
