package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestForgotPasswordPage: the form posts the address to auth and shows the same notice for every
// address; bad input is a field error with nothing sent, a throttled address a clear message, and a
// post without the CSRF token is refused.
func TestForgotPasswordPage(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	if p := b.get("/login"); !strings.Contains(p.body, `href="/forgot-password"`) {
		t.Errorf("the sign-in page does not link to /forgot-password")
	}
	tests := []struct {
		name, email string
		want        int
		text        string
		calls       int
	}{
		{"an address", "anyone@example.com", 200, "If an account uses", 1},
		{"not an address", "nope", 400, "Enter the email address of your account.", 0},
		{"too long", strings.Repeat("a", 300) + "@example.com", 400, "Enter the email address", 0},
		// When to ask again, from auth's Retry-After, not "later".
		{"throttled", "busy@example.com", 429, "We have sent several links to this address lately. Please check your inbox (and spam folder), or ask again in 1 minute.", 1},
	}
	for _, tt := range tests {
		before := len(gw.calls("POST /auth/password/forgot"))
		p := b.submit("/forgot-password", "/forgot-password", url.Values{"email": {tt.email}})
		if p.status != tt.want || !strings.Contains(p.body, tt.text) {
			t.Errorf("%s: POST /forgot-password: status = %d, want %d with %q", tt.name, p.status, tt.want, tt.text)
		}
		if n := len(gw.calls("POST /auth/password/forgot")) - before; n != tt.calls {
			t.Errorf("%s: %d calls to auth, want %d", tt.name, n, tt.calls)
		}
	}
	if c := gw.calls("POST /auth/password/forgot"); !strings.Contains(c[0].Body, `"email":"anyone@example.com"`) {
		t.Errorf("forgot call body %s", c[0].Body)
	}
	if p := b.post("/forgot-password", url.Values{"email": {"anyone@example.com"}}); p.status != http.StatusForbidden {
		t.Errorf("POST /forgot-password without CSRF token: status = %d, want 403", p.status)
	}
}

// TestResetPasswordPage: the token travels in a hidden input of a page nobody caches and that sends no
// referrer; mismatched or weak passwords are field errors, a bad or missing token offers a new link,
// and success sends the visitor to sign in with the new password.
func TestResetPasswordPage(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	page := "/reset-password?token=" + fakeResetToken
	p := b.get(page)
	if p.status != 200 || !strings.Contains(p.body, `name="token" value="`+fakeResetToken+`"`) {
		t.Fatalf("GET %s: status = %d, token input missing", page, p.status)
	}
	if h := p.resp.Header; h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("Cache-Control"), "no-store") {
		t.Errorf("GET %s: Referrer-Policy %q Cache-Control %q, want no-referrer and no-store", page, h.Get("Referrer-Policy"), h.Get("Cache-Control"))
	}
	for _, bad := range []string{"/reset-password", "/reset-password?token=" + strings.Repeat("x", 500)} {
		if p := b.get(bad); !strings.Contains(p.body, "invalid or has expired") || strings.Contains(p.body, `name="password"`) {
			t.Errorf("GET %.40s: want the expired-link notice and no form", bad)
		}
	}
	tests := []struct {
		name               string
		token, pass, again string
		want               int
		text               string
		calls              int
	}{
		{"passwords differ", fakeResetToken, "a-new-passw0rd", "another-one", 400, "The two passwords differ.", 0},
		{"empty", fakeResetToken, "", "", 400, "Choose a new password.", 0},
		{"unknown token", "wrong-token", "a-new-passw0rd", "a-new-passw0rd", 400, "invalid or has expired", 1},
		{"weak", fakeResetToken, "short", "short", 400, "must have at least 10 characters", 1},
		{"tag in the token", `"><script>x</script>`, "a-new-passw0rd", "a-new-passw0rd", 400, "invalid or has expired", 1},
	}
	for _, tt := range tests {
		before := len(gw.calls("POST /auth/password/reset"))
		p := b.submit(page, "/reset-password", url.Values{"token": {tt.token}, "password": {tt.pass}, "confirm": {tt.again}})
		if p.status != tt.want || !strings.Contains(p.body, tt.text) || strings.Contains(p.body, "<script>x") {
			t.Errorf("%s: POST /reset-password: status = %d, want %d with %q", tt.name, p.status, tt.want, tt.text)
		}
		if n := len(gw.calls("POST /auth/password/reset")) - before; n != tt.calls {
			t.Errorf("%s: %d calls to auth, want %d", tt.name, n, tt.calls)
		}
	}
	p = b.submit(page, "/reset-password", url.Values{"token": {fakeResetToken}, "password": {"a-new-passw0rd"}, "confirm": {"a-new-passw0rd"}})
	if p.status != http.StatusSeeOther || location(p) != "/login" {
		t.Fatalf("POST /reset-password: status = %d Location %q, want 303 /login", p.status, location(p))
	}
	if p := b.get("/login"); !strings.Contains(p.body, "Your password is changed.") {
		t.Errorf("sign-in page after the reset lacks the notice")
	}
	b.signIn(fakeCustomer.Email, "a-new-passw0rd")
}

// TestVerifyEmailPage: opening the link changes nothing (mail scanners open every link); the button
// confirms, and a signed-in visitor's banner goes away at once.
func TestVerifyEmailPage(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	// The banner claims no mail: seeded accounts never got one, and a link lasts 30 minutes.
	if p := b.get("/products"); !strings.Contains(p.body, "<span>Please confirm your email address.</span>") ||
		!strings.Contains(p.body, `<button type="submit" class="link">Send me a confirmation link</button>`) || strings.Contains(p.body, "we sent you a link") {
		t.Errorf("unverified visitor: no banner, or one saying a link was sent\n%s", p.body)
	}
	page := "/verify-email?token=" + fakeVerifyToken
	if p := b.get(page); p.status != 200 || !strings.Contains(p.body, "Confirm my address") || len(gw.calls("POST /auth/email/verify")) != 0 {
		t.Fatalf("GET %s: status = %d, calls %d; want the button and no call", page, p.status, len(gw.calls("POST /auth/email/verify")))
	} else if strings.Contains(p.body, `action="/account/verify"`) {
		// The banner's button would mail a new link and so void the one this page holds.
		t.Errorf("GET %s: the page offers to send a new link beside the button that uses this one\n%s", page, p.body)
	}
	if p := b.submit(page, "/verify-email", url.Values{"token": {"stale"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Send me a new link") {
		t.Errorf("POST /verify-email with a bad token: status = %d, want 400 offering a new link", p.status)
	}
	p := b.submit(page, "/verify-email", url.Values{"token": {fakeVerifyToken}})
	if p.status != http.StatusSeeOther || location(p) != "/account" {
		t.Fatalf("POST /verify-email: status = %d Location %q, want 303 /account", p.status, location(p))
	}
	if p := b.get("/products"); strings.Contains(p.body, "Please confirm your email address") || !strings.Contains(p.body, "Your email address is confirmed") {
		t.Errorf("after verifying: banner still there or notice missing")
	}
	if p := b.post("/verify-email", url.Values{"token": {fakeVerifyToken}}); p.status != http.StatusForbidden {
		t.Errorf("POST /verify-email without CSRF token: status = %d, want 403", p.status)
	}
}

// TestAccountSecurity: change password (re-signs in here), change e-mail and resend from /account,
// with auth's field errors shown at their inputs and every form needing the CSRF token and a user.
func TestAccountSecurity(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	anon := newBrowser(t, srv)
	for _, path := range []string{"/account/password", "/account/email", "/account/verify"} {
		if p := anon.submit("/login", path, url.Values{}); p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/login") {
			t.Errorf("POST %s signed out: status = %d Location %q, want 303 to /login", path, p.status, location(p))
		}
	}
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	for _, path := range []string{"/account/password", "/account/email", "/account/verify"} {
		if p := b.post(path, url.Values{"password": {"x"}}); p.status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF token: status = %d, want 403", path, p.status)
		}
	}
	tests := []struct {
		name, action string
		form         url.Values
		want         int
		text         string
	}{
		{"wrong current password", "/account/password", url.Values{"current_password": {"nope"}, "password": {"a-new-passw0rd"}, "confirm": {"a-new-passw0rd"}}, 400, "This is not your current password."},
		{"new passwords differ", "/account/password", url.Values{"current_password": {"demo-Passw0rd!"}, "password": {"a-new-passw0rd"}, "confirm": {"x"}}, 400, "The two passwords differ."},
		{"email without password", "/account/email", url.Values{"email": {"new@example.com"}}, 400, "Enter your password to confirm it is you."},
		{"email wrong password", "/account/email", url.Values{"email": {"new@example.com"}, "password": {"nope"}}, 400, "This is not your current password."},
		{"email not an address", "/account/email", url.Values{"email": {"nope"}, "password": {"demo-Passw0rd!"}}, 400, "Enter a valid email address."},
	}
	// The section is at the foot of the page, below the fold on a phone: the page's top says
	// something went wrong and links down to it.
	const summary = `<p class="alert" role="alert" id="security-summary">Nothing was changed: see why under <a href="#security">Email and password</a>.</p>`
	for _, tt := range tests {
		if p := b.submit("/account", tt.action, tt.form); p.status != tt.want || !strings.Contains(p.body, tt.text) || !strings.Contains(p.body, summary) {
			t.Errorf("%s: POST %s: status = %d, want %d with %q and the summary at the top", tt.name, tt.action, p.status, tt.want, tt.text)
		}
	}
	if p := b.get("/account"); strings.Contains(p.body, "security-summary") {
		t.Error("GET /account: the error summary shows with nothing refused")
	}
	if p := b.submit("/account", "/account/email", url.Values{"email": {"new@example.com"}, "password": {"demo-Passw0rd!"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST /account/email: status = %d, want 303", p.status)
	}
	if c := gw.calls("POST /auth/email/change"); len(c) != 2 || c[1].Token == "" || !strings.Contains(c[1].Body, `"email":"new@example.com"`) {
		t.Errorf("email change calls = %+v, want the last with the bearer token and the new address", c)
	}
	if p := b.submit("/account", "/account/verify", nil); p.status != http.StatusSeeOther {
		t.Errorf("POST /account/verify: status = %d, want 303", p.status)
	}
	if p := b.get("/account"); !strings.Contains(p.body, "We have sent you a new link.") {
		t.Errorf("no notice after resending")
	}
	if p := b.submit("/account", "/account/verify", nil); p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "or ask again in 2 minutes.") {
		t.Errorf("POST /account/verify throttled: status = %d, want 429 saying when to ask again", p.status)
	}
	p := b.submit("/account", "/account/password", url.Values{"current_password": {"demo-Passw0rd!"}, "password": {"a-new-passw0rd"}, "confirm": {"a-new-passw0rd"}})
	p = b.follow(p)
	if p.status != http.StatusSeeOther || location(p) != "/account" {
		t.Fatalf("POST /account/password: ends in %d %q, want 303 /account after signing in again", p.status, location(p))
	}
	if p := b.get("/account"); p.status != 200 || !strings.Contains(p.body, "Your password is changed.") {
		t.Errorf("GET /account after the change: status = %d, notice missing", p.status)
	}
	if c := gw.calls("POST /auth/login"); !strings.Contains(c[len(c)-1].Body, "a-new-passw0rd") {
		t.Errorf("the storefront did not sign in again with the new password")
	}
}
