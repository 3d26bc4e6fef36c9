package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"regexp"

	"github.com/goshop/platform/devstack/stack"
)

// people are the signed-in callers the scripts share.
type people struct {
	gw, mailpit string
	anon        *client
	demo        *client // the seeded customer: session cookie in the jar, bearer set
	demoID      string
	admin       *client // bearer only
	thirdParty  *client // demo-app's token for the demo customer, scope "openid profile offline_access"
	// adminThirdParty is demo-app's token for the admin (scope "openid profile").
	adminThirdParty *client
	suspendedID     string
}

const (
	demoEmail, demoPassword   = "demo@shop.local", "demo-Passw0rd!"
	adminEmail, adminPassword = "admin@shop.local", "admin-Passw0rd!"
	demoAppRedirect           = "http://127.0.0.1:8080/callback"
)

// login signs cl in (its jar keeps the cookie), sets its bearer and returns the answer.
func (cl *client) login(email, password string) *answer {
	a := cl.must(200, "POST", "/auth/login", obj("email", email, "password", password))
	var la struct {
		AccessToken string `json:"access_token"`
	}
	a.json(&la)
	cl.bearer = la.AccessToken
	return a
}

// bearerOnly is a client that sends cl's token and no cookie.
func (c *capturer) bearerOnly(base, token string) *client {
	cl := c.client(base)
	cl.bearer = token
	return cl
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// codeFlow runs the authorization code flow of the third-party demo-app for the signed-in user of
// cl (consent approved) and returns the token endpoint's answer.
func (c *capturer) codeFlow(cl *client, scope string) *answer {
	var b [32]byte
	rand.Read(b[:])
	verifier := hex.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	params := url.Values{"response_type": {"code"}, "client_id": {"demo-app"}, "redirect_uri": {demoAppRedirect},
		"scope": {scope}, "state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	page := cl.must(200, "GET", "/auth/authorize?"+params.Encode(), nil)
	m := csrfField.FindSubmatch(page.body)
	if m == nil {
		c.problems = append(c.problems, "GET /auth/authorize: no consent form")
		return &answer{}
	}
	params.Set("csrf_token", string(m[1]))
	params.Set("consent", "approve")
	a := cl.must(302, "POST", "/auth/authorize", params)
	loc, _ := url.Parse(a.header.Get("Location"))
	code := loc.Query().Get("code")
	c.scrub.add(code)
	return c.client(cl.base).must(200, "POST", "/auth/token", url.Values{"grant_type": {"authorization_code"},
		"client_id": {"demo-app"}, "code": {code}, "redirect_uri": {demoAppRedirect}, "code_verifier": {verifier}})
}

// authScript captures auth's examples and signs in the callers the other scripts use.
func authScript(c *capturer, s *stack.Stack, serviceSecret string) *people {
	p := &people{gw: s.URL("gateway"), mailpit: s.MailpitURL()}
	p.anon = c.client(p.gw)
	const doc = "auth"

	// Sign-up: a new customer, the same again, a body with bad fields.
	const ncEmail, ncPassword = "new.customer@example.com", "correct-horse-battery"
	reg := obj("email", ncEmail, "password", ncPassword, "name", "New Customer")
	c.req(doc, "POST /register", "application/json", reg)
	c.resp(p.anon.do("POST", "/auth/register", reg), doc, "POST /register", 201, "")
	c.resp(p.anon.do("POST", "/auth/register", reg), doc, "POST /register", 409, "")
	c.comp(p.anon.do("POST", "/auth/register", obj("email", "not-an-email", "password", "short")), doc, "BadRequest", 400, "")

	// The registration's verification link, used, then used again.
	if tok := c.mailedToken(p.mailpit, ncEmail, "Confirm your e-mail address"); tok != "" {
		body := obj("token", tok)
		c.req(doc, "POST /email/verify", "application/json", body)
		c.resp(p.anon.do("POST", "/auth/email/verify", body), doc, "POST /email/verify", 200, "")
		c.resp(p.anon.do("POST", "/auth/email/verify", body), doc, "POST /email/verify", 400, "")
	}

	// Sign-in: the demo customer, a wrong password, a suspended account.
	p.demo = c.client(p.gw)
	login := obj("email", demoEmail, "password", demoPassword)
	c.req(doc, "POST /login", "application/json", login)
	la := p.demo.login(demoEmail, demoPassword)
	c.resp(la, doc, "POST /login", 200, "")
	var who struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	la.json(&who)
	p.demoID = who.User.ID
	c.resp(p.anon.do("POST", "/auth/login", obj("email", demoEmail, "password", "not-the-Passw0rd")), doc, "POST /login", 401, "")
	p.admin = c.client(p.gw)
	p.admin.login(adminEmail, adminPassword)
	var at struct {
		AccessToken string `json:"access_token"`
	}
	c.codeFlow(p.admin.cookieOnly(), "openid profile").json(&at)
	p.adminThirdParty = c.bearerOnly(p.gw, at.AccessToken)
	p.admin.http.Jar = nil // bearer only from here on
	const suspEmail = "suspended.customer@example.com"
	var sus struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	p.anon.must(201, "POST", "/auth/register", obj("email", suspEmail, "password", ncPassword, "name", "Suspended Customer")).json(&sus)
	p.suspendedID = sus.User.ID
	c.eventually("user has the profile of "+suspEmail, func() bool {
		return p.admin.do("GET", "/user/users/"+sus.User.ID, nil).status == 200
	})
	status := obj("status", "suspended")
	c.req("user", "PATCH /users/{id}/status", "application/json", status)
	c.resp(p.admin.do("PATCH", "/user/users/"+sus.User.ID+"/status", status), "user", "PATCH /users/{id}/status", 200, "")
	c.eventually("auth refuses the suspended account", func() bool {
		// A fresh client each time: a login that still succeeds must not leave its cookie behind.
		a := c.client(p.gw).do("POST", "/auth/login", obj("email", suspEmail, "password", ncPassword))
		if a.status == 403 {
			c.resp(a, doc, "POST /login", 403, "")
		}
		return a.status == 403
	})

	// The session behind the cookie; none without it.
	c.resp(p.demo.cookieOnly().do("GET", "/auth/session", nil), doc, "GET /session", 200, "")

	// The account holder's own changes, as the new customer (first party) and as a third-party app.
	nc := c.client(p.gw)
	nc.login(ncEmail, ncPassword)
	nc.http.Jar = nil
	c.resp(nc.do("POST", "/auth/email/resend", nil), doc, "POST /email/resend", 409, "")
	tp := c.codeFlow(p.demo.cookieOnly(), "openid profile offline_access")
	var tpTok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	tp.json(&tpTok)
	p.thirdParty = c.bearerOnly(p.gw, tpTok.AccessToken)
	c.resp(p.thirdParty.do("POST", "/auth/email/resend", nil), doc, "POST /email/resend", 403, "")
	change := obj("password", ncPassword, "email", "new.address@example.com")
	c.req(doc, "POST /email/change", "application/json", change)
	c.resp(nc.do("POST", "/auth/email/change", change), doc, "POST /email/change", 202, "")
	c.resp(nc.do("POST", "/auth/email/change", obj("password", ncPassword, "email", ncEmail)), doc, "POST /email/change", 400, "")
	c.resp(p.thirdParty.do("POST", "/auth/email/change", change), doc, "POST /email/change", 403, "")
	// Someone else takes the new address before the link is followed.
	if tok := c.mailedToken(p.mailpit, "new.address@example.com", "Confirm your e-mail address"); tok != "" {
		p.anon.must(201, "POST", "/auth/register", obj("email", "new.address@example.com", "password", ncPassword, "name", "Quick Customer"))
		c.resp(p.anon.do("POST", "/auth/email/verify", obj("token", tok)), doc, "POST /email/verify", 409, "")
	}
	pw := obj("current_password", ncPassword, "password", "a-new-Passw0rd!")
	c.req(doc, "POST /password/change", "application/json", pw)
	c.resp(nc.do("POST", "/auth/password/change", obj("current_password", "not-my-Passw0rd", "password", "a-new-Passw0rd!")), doc, "POST /password/change", 400, "")
	c.resp(p.thirdParty.do("POST", "/auth/password/change", pw), doc, "POST /password/change", 403, "")
	nc.must(204, "POST", "/auth/password/change", pw)

	// Sign-out (no body to capture: 204) of a session of its own.
	out := c.client(p.gw)
	out.login(ncEmail, "a-new-Passw0rd!")
	out.cookieOnly().must(204, "POST", "/auth/logout", nil)

	// A fresh, unverified account asks for its link again.
	rs := c.client(p.gw)
	rs.must(201, "POST", "/auth/register", obj("email", "resend.customer@example.com", "password", ncPassword, "name", "Resend Customer"))
	rs.login("resend.customer@example.com", ncPassword)
	rs.http.Jar = nil
	c.resp(rs.do("POST", "/auth/email/resend", nil), doc, "POST /email/resend", 202, "")

	// Forgotten password: the mail's link, used, then used again.
	forgot := obj("email", ncEmail)
	c.req(doc, "POST /password/forgot", "application/json", forgot)
	c.resp(p.anon.do("POST", "/auth/password/forgot", forgot), doc, "POST /password/forgot", 202, "")
	if tok := c.mailedToken(p.mailpit, ncEmail, "Reset your password"); tok != "" {
		reset := obj("token", tok, "password", "another-Passw0rd!")
		c.req(doc, "POST /password/reset", "application/json", reset)
		p.anon.must(204, "POST", "/auth/password/reset", reset)
		c.resp(p.anon.do("POST", "/auth/password/reset", reset), doc, "POST /password/reset", 400, "")
	}

	oidcScript(c, p, s, serviceSecret, tpTok.RefreshToken)
	return p
}

// cookieOnly is a client with cl's cookies and no bearer: the browser's view.
func (cl *client) cookieOnly() *client {
	c := *cl
	c.bearer = ""
	hc := *cl.http
	c.http = &hc
	return &c
}

// oidcScript captures the OpenID Connect provider's answers.
func oidcScript(c *capturer, p *people, s *stack.Stack, serviceSecret, refresh string) {
	const doc = "auth"
	c.resp(p.anon.do("GET", "/auth/.well-known/openid-configuration", nil), doc, "GET /.well-known/openid-configuration", 200, "")
	c.resp(p.anon.do("GET", "/auth/.well-known/jwks.json", nil), doc, "GET /.well-known/jwks.json", 200, "")
	c.resp(p.demo.cookieOnly().do("POST", "/auth/authorize", url.Values{"response_type": {"code"}, "client_id": {"demo-app"},
		"redirect_uri": {demoAppRedirect}, "scope": {"openid"}, "state": {"st"}, "code_challenge_method": {"S256"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "consent": {"approve"}, "csrf_token": {"forged"}}),
		doc, "POST /authorize", 403, "")

	// A refresh by demo-app, the same refresh token again (the grant is revoked), an unknown client.
	body, form := formObj("grant_type", "refresh_token", "refresh_token", refresh, "client_id", "demo-app")
	c.req(doc, "POST /token", "application/x-www-form-urlencoded", body)
	ta := p.anon.do("POST", "/auth/token", form)
	c.resp(ta, doc, "POST /token", 200, "")
	c.resp(p.anon.do("POST", "/auth/token", form), doc, "POST /token", 400, "")
	_, bad := formObj("grant_type", "refresh_token", "refresh_token", refresh, "client_id", "no-such-app")
	c.resp(p.anon.do("POST", "/auth/token", bad), doc, "POST /token", 401, "")

	c.resp(p.demo.do("GET", "/auth/userinfo", nil), doc, "GET /userinfo", 200, "")
	c.resp(p.demo.do("POST", "/auth/userinfo", nil), doc, "POST /userinfo", 200, "")

	// Introspection by the confidential client (HTTP Basic), without a token, without a client.
	svc := c.client(p.gw)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(serviceClient+":"+serviceSecret))
	ib, iform := formObj("token", p.demo.bearer)
	c.req(doc, "POST /introspect", "application/x-www-form-urlencoded", ib)
	c.resp(svc.do("POST", "/auth/introspect", iform, "Authorization", basic), doc, "POST /introspect", 200, "")
	// Without a token the answer is an unknown token's (RFC 7662); a repeated parameter is the 400.
	twice := url.Values{"token": {p.demo.bearer, p.demo.bearer}}
	c.resp(svc.do("POST", "/auth/introspect", twice, "Authorization", basic), doc, "POST /introspect", 400, "")
	_, public := formObj("token", p.demo.bearer, "client_id", "demo-app")
	c.resp(svc.do("POST", "/auth/introspect", public), doc, "POST /introspect", 401, "")

	// Revocation of a fresh grant's refresh token by its client.
	var again struct {
		RefreshToken string `json:"refresh_token"`
	}
	c.codeFlow(p.demo.cookieOnly(), "openid offline_access").json(&again)
	rb, rform := formObj("token", again.RefreshToken, "client_id", "demo-app")
	c.req(doc, "POST /revoke", "application/x-www-form-urlencoded", rb)
	c.resp(p.anon.do("POST", "/auth/revoke", rform), doc, "POST /revoke", 200, "")
	c.resp(p.anon.do("POST", "/auth/revoke", url.Values{"token": {again.RefreshToken, again.RefreshToken}, "client_id": {"demo-app"}}),
		doc, "POST /revoke", 400, "")
	_, rbad := formObj("token", again.RefreshToken, "client_id", "no-such-app")
	c.resp(p.anon.do("POST", "/auth/revoke", rbad), doc, "POST /revoke", 401, "")

	probes(c, doc, s)
}

// probes captures the liveness and readiness answers on the service's own port (and checks that
// it serves its metrics).
func probes(c *capturer, svc string, s *stack.Stack) {
	own := c.client(s.URL(svc))
	c.resp(own.do("GET", "/healthz", nil), svc, "GET /healthz", 200, "")
	c.resp(own.do("GET", "/readyz", nil), svc, "GET /readyz", 200, "")
	own.must(200, "GET", "/metrics", nil)
}
