package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// register creates an account through POST /register and returns the token of its verification mail.
func (env *testEnv) register(tb testing.TB, email, password string) (userJSON, string) {
	tb.Helper()
	w := env.do(tb, "POST", "/register", `{"email":"`+email+`","password":"`+password+`","name":"Ann"}`)
	if w.Code != http.StatusCreated {
		tb.Fatalf("POST /register: status = %d, want 201; body %s", w.Code, w.Body)
	}
	page, token := linkIn(tb, env.lastMail(tb, mailEmailVerify, email))
	if page != "/verify-email" {
		tb.Errorf("verification link leads to %s, want /verify-email", page)
	}
	return sharedtest.Decode[map[string]userJSON](tb, w)["user"], token
}

// emailEvents returns the user.email_verified events published for userID.
func (env *testEnv) emailEvents(tb testing.TB, userID string) []userEmailVerified {
	tb.Helper()
	var out []userEmailVerified
	for _, e := range env.pub.Events(shared.TopicUser) {
		if e.Type == eventUserEmailVerified && e.AggregateID == userID {
			var d userEmailVerified
			if err := e.Decode(&d); err != nil {
				tb.Fatal(err)
			}
			out = append(out, d)
		}
	}
	return out
}

// TestVerifyEmail: registration mails a link; following it sets email_verified in the account, the
// next tokens and /userinfo, publishes user.email_verified once, and the link is single-use.
func TestVerifyEmail(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u, token := env.register(t, "ann@example.com", "correct horse battery")
	if u.EmailVerified {
		t.Fatalf("new account: email_verified = true")
	}
	lr, _ := env.login(t, "ann@example.com", "correct horse battery")
	if id, _ := env.verify(t, lr.AccessToken); id.EmailVerified {
		t.Errorf("token before verification: email_verified = true")
	}
	w := env.do(t, "POST", "/email/verify", `{"token":"`+token+`"}`)
	if got := sharedtest.Decode[map[string]userJSON](t, w)["user"]; w.Code != http.StatusOK || !got.EmailVerified {
		t.Fatalf("POST /email/verify: %d %s, want 200 with email_verified", w.Code, w.Body)
	}
	lr, _ = env.login(t, "ann@example.com", "correct horse battery")
	if id, err := env.verify(t, lr.AccessToken); err != nil || !id.EmailVerified || !lr.User.EmailVerified {
		t.Errorf("token after verification: %+v %v, user %+v; want email_verified", id, err, lr.User)
	}
	w = env.do(t, "GET", "/userinfo", nil, "Authorization", "Bearer "+lr.AccessToken)
	if !strings.Contains(w.Body.String(), `"email_verified":true`) {
		t.Errorf("GET /userinfo: %s, want email_verified true", w.Body)
	}
	if evs := env.emailEvents(t, u.ID); len(evs) != 1 || evs[0].Email != "ann@example.com" {
		t.Errorf("user.email_verified events = %+v, want one for ann@example.com", evs)
	}
	if a, _ := env.d.accounts.ByID(context.Background(), u.ID); a.EmailEventPending {
		t.Errorf("email event still pending after a successful publish")
	}
	w = env.do(t, "POST", "/email/verify", `{"token":"`+token+`"}`)
	if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); w.Code != http.StatusBadRequest || e.Error.Code != shared.CodeInvalidToken {
		t.Errorf("second use: %d %s, want 400 invalid_token", w.Code, w.Body)
	}
	// Verified: nothing to resend.
	if w := env.do(t, "POST", "/email/resend", nil, "Authorization", "Bearer "+lr.AccessToken); w.Code != http.StatusConflict {
		t.Errorf("resend when verified: status = %d, want 409", w.Code)
	}
}

// TestResendVerification: a new link replaces the old one, and resending is throttled per address.
func TestResendVerification(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	_, first := env.register(t, "ann@example.com", "correct horse battery")
	lr, _ := env.login(t, "ann@example.com", "correct horse battery")
	bearer := "Bearer " + lr.AccessToken
	if w := env.do(t, "POST", "/email/resend", nil, "Authorization", bearer); w.Code != http.StatusAccepted {
		t.Fatalf("POST /email/resend: status = %d, want 202; body %s", w.Code, w.Body)
	}
	_, second := linkIn(t, env.lastMail(t, mailEmailVerify, "ann@example.com"))
	if w := env.do(t, "POST", "/email/verify", `{"token":"`+first+`"}`); w.Code != http.StatusBadRequest {
		t.Errorf("the replaced link: status = %d, want 400", w.Code)
	}
	// Registration's mail was not counted; resends are: two free, the third locks.
	codes := []int{}
	for range mailPolicy.Threshold + 1 {
		codes = append(codes, env.do(t, "POST", "/email/resend", nil, "Authorization", bearer).Code)
	}
	if codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Errorf("resends: %v, want the last one 429", codes)
	}
	if w := env.do(t, "POST", "/email/verify", `{"token":"`+second+`"}`); w.Code != http.StatusBadRequest {
		t.Errorf("a link replaced by later resends: status = %d, want 400", w.Code)
	}
}

// TestChangePassword: the current password is required (and guessing it is throttled like login);
// a change ends every session and mails a notice.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	lr, sid := env.login(t, "u@example.com", "right-password")
	bearer := "Bearer " + lr.AccessToken
	tests := []struct {
		name, body string
		want       int
		field      string
	}{
		{"wrong current", `{"current_password":"wrong-password","password":"a-new-passw0rd"}`, 400, "current_password"},
		{"weak new", `{"current_password":"right-password","password":"short"}`, 400, "password"},
		{"common new", `{"current_password":"right-password","password":"password123"}`, 400, "password"},
		{"missing current", `{"password":"a-new-passw0rd"}`, 400, "current_password"},
		{"unknown field", `{"current_password":"right-password","password":"a-new-passw0rd","user_id":"x"}`, 400, "user_id"},
	}
	for _, tt := range tests {
		w := env.do(t, "POST", "/password/change", tt.body, "Authorization", bearer)
		if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); w.Code != tt.want || e.Error.Fields[tt.field] == "" {
			t.Errorf("%s: %d %s, want %d with fields.%s", tt.name, w.Code, w.Body, tt.want, tt.field)
		}
	}
	w := env.do(t, "POST", "/password/change", `{"current_password":"right-password","password":"a-new-passw0rd"}`, "Authorization", bearer)
	if w.Code != http.StatusNoContent {
		t.Fatalf("POST /password/change: status = %d, want 204; body %s", w.Code, w.Body)
	}
	if w := env.do(t, "GET", "/session", nil, "Cookie", "session_id="+sid); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /session after the change: status = %d, want 401", w.Code)
	}
	env.login(t, "u@example.com", "a-new-passw0rd")
	env.lastMail(t, mailPasswordChanged, "u@example.com")

	// Guessing the current password locks like login does.
	var last *http.Response
	for range accountPolicy.Threshold + 1 {
		last = env.do(t, "POST", "/password/change", `{"current_password":"wrong-guess","password":"b-new-passw0rd"}`, "Authorization", bearer).Result()
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Errorf("guess %d of the current password: status = %d, want 429", accountPolicy.Threshold+1, last.StatusCode)
	}
}

// TestResendKeepsEmailChange: while a change of address waits for its link, a resend (the shop's
// "send me a confirmation link" banner) mails a new link to the new address, so the change goes
// through; before, it mailed the current address, and since an account has one live verification
// link, that voided the change without a word. A verified account may resend its pending change's
// link too (it got 409); once that link expired, a verified account gets 409 again.
func TestResendKeepsEmailChange(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.register(t, "ann@example.com", "correct horse battery")
	lr, _ := env.login(t, "ann@example.com", "correct horse battery")
	bearer := "Bearer " + lr.AccessToken
	if w := env.do(t, "POST", "/email/change", `{"password":"correct horse battery","email":"ann.new@example.com"}`, "Authorization", bearer); w.Code != http.StatusAccepted {
		t.Fatalf("POST /email/change: status = %d; body %s", w.Code, w.Body)
	}
	if w := env.do(t, "POST", "/email/resend", nil, "Authorization", bearer); w.Code != http.StatusAccepted {
		t.Fatalf("POST /email/resend: status = %d, want 202; body %s", w.Code, w.Body)
	}
	_, token := linkIn(t, env.lastMail(t, mailEmailVerify, "ann.new@example.com"))
	w := env.do(t, "POST", "/email/verify", `{"token":"`+token+`"}`)
	if got := sharedtest.Decode[map[string]userJSON](t, w)["user"]; w.Code != http.StatusOK || got.Email != "ann.new@example.com" || !got.EmailVerified {
		t.Fatalf("verify with the resent link: %d %s, want the new address verified", w.Code, w.Body)
	}

	// Verified, with a change waiting: the resend goes to the change's address.
	lr, _ = env.login(t, "ann.new@example.com", "correct horse battery")
	bearer = "Bearer " + lr.AccessToken
	env.do(t, "POST", "/email/change", `{"password":"correct horse battery","email":"ann.third@example.com"}`, "Authorization", bearer)
	if w := env.do(t, "POST", "/email/resend", nil, "Authorization", bearer); w.Code != http.StatusAccepted {
		t.Errorf("resend while verified with a change waiting: status = %d, want 202; body %s", w.Code, w.Body)
	}
	env.lastMail(t, mailEmailVerify, "ann.third@example.com")
	a, err := env.d.accounts.ByEmail(context.Background(), "ann.new@example.com")
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := newLink(linkVerify, a.ID, "ann.third@example.com", time.Now().Add(-time.Hour))
	if err := env.d.links.Save(context.Background(), expired); err != nil {
		t.Fatal(err)
	}
	if w := env.do(t, "POST", "/email/resend", nil, "Authorization", bearer); w.Code != http.StatusConflict {
		t.Errorf("resend while verified, the change's link expired: status = %d, want 409", w.Code)
	}
}

// TestChangeEmail: the new address gets a link, the old one a notice; the address changes only when
// the link is followed, and not onto an address another account took meanwhile.
func TestChangeEmail(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "old@example.com", "right-password", shared.RoleCustomer)
	lr, _ := env.login(t, "old@example.com", "right-password")
	bearer := "Bearer " + lr.AccessToken
	for _, tt := range []struct{ name, body, field string }{
		{"wrong password", `{"password":"wrong-password","email":"new@example.com"}`, "password"},
		{"same address", `{"password":"right-password","email":"OLD@example.com"}`, "email"},
		{"not an address", `{"password":"right-password","email":"new@"}`, "email"},
		{"header injection", `{"password":"right-password","email":"new@example.com\nBcc: x@evil.test"}`, "email"},
		{"non-ASCII address", `{"password":"right-password","email":"zoë@example.com"}`, "email"},
	} {
		w := env.do(t, "POST", "/email/change", tt.body, "Authorization", bearer)
		if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); w.Code != http.StatusBadRequest || e.Error.Fields[tt.field] == "" {
			t.Errorf("%s: %d %s, want 400 with fields.%s", tt.name, w.Code, w.Body, tt.field)
		}
	}
	if n := len(env.mails.sent()); n != 0 {
		t.Fatalf("%d mails after refused changes, want none", n)
	}
	w := env.do(t, "POST", "/email/change", `{"password":"right-password","email":"New@Example.com"}`, "Authorization", bearer)
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST /email/change: status = %d, want 202; body %s", w.Code, w.Body)
	}
	sent := env.mails.sent()
	if len(sent) != 2 {
		t.Fatalf("mails = %d, want a link to the new address and a notice to the old", len(sent))
	}
	_, token := linkIn(t, sent[0])
	if sent[0].To != "new@example.com" || sent[1].Kind != mailEmailChangeRequested || sent[1].To != "old@example.com" ||
		!strings.Contains(sent[1].Text, "new@example.com") {
		t.Errorf("mails: %s to %s, %s to %s", sent[0].Kind, sent[0].To, sent[1].Kind, sent[1].To)
	}
	// Not yet changed.
	env.login(t, "old@example.com", "right-password")

	w = env.do(t, "POST", "/email/verify", `{"token":"`+token+`"}`)
	if got := sharedtest.Decode[map[string]userJSON](t, w)["user"]; w.Code != http.StatusOK || got.Email != "new@example.com" || !got.EmailVerified {
		t.Fatalf("verify the new address: %d %s", w.Code, w.Body)
	}
	env.login(t, "new@example.com", "right-password")
	if w := env.do(t, "POST", "/login", loginBody("old@example.com", "right-password")); w.Code != http.StatusUnauthorized {
		t.Errorf("login with the old address: status = %d, want 401", w.Code)
	}
	if evs := env.emailEvents(t, a.ID); len(evs) != 1 || evs[0].Email != "new@example.com" {
		t.Errorf("user.email_verified events = %+v, want one with the new address", evs)
	}

	// A change onto an address someone registered meanwhile: 409 at verification.
	env.do(t, "POST", "/email/change", `{"password":"right-password","email":"third@example.com"}`, "Authorization", bearer)
	_, token = linkIn(t, env.mails.sent()[len(env.mails.sent())-2])
	env.addAccount(t, "third@example.com", "whatever-password", shared.RoleCustomer)
	if w := env.do(t, "POST", "/email/verify", `{"token":"`+token+`"}`); w.Code != http.StatusConflict {
		t.Errorf("verify an address taken meanwhile: status = %d, want 409; body %s", w.Code, w.Body)
	}

	// A change asked for by whoever knew the password is void once the holder resets or changes it
	// (that is how they take the account back): its link would move the account to the asker's
	// address, where the next reset link would go.
	for _, how := range []string{"reset", "change"} {
		env.do(t, "POST", "/email/change", `{"password":"right-password","email":"asker-`+how+`@example.com"}`, "Authorization", bearer)
		_, token = linkIn(t, env.mails.sent()[len(env.mails.sent())-2])
		var w *httptest.ResponseRecorder
		if how == "reset" {
			w = env.do(t, "POST", "/password/reset", resetBody(env.forgot(t, "new@example.com", "new@example.com"), "right-password"))
		} else {
			w = env.do(t, "POST", "/password/change", `{"current_password":"right-password","password":"right-password"}`, "Authorization", bearer)
		}
		if w.Code != http.StatusNoContent {
			t.Fatalf("password %s: status = %d, want 204; body %s", how, w.Code, w.Body)
		}
		w = env.do(t, "POST", "/email/verify", `{"token":"`+token+`"}`)
		if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); w.Code != http.StatusBadRequest || e.Error.Code != shared.CodeInvalidToken {
			t.Errorf("e-mail change link after a password %s: %d %s, want 400 invalid_token", how, w.Code, w.Body)
		}
	}
}

// TestVerifyEmailAfterSkewedCopy: user applies user.email_verified only when its occurred_at is after
// the one applied last, so a verification must be dated after the account's previous one even when
// another auth copy (its clock 5 min ahead) or this copy before a clock step back made that one.
func TestVerifyEmailAfterSkewedCopy(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "old@example.com", "right-password", shared.RoleCustomer)
	ahead := time.Now().UTC().Add(5 * time.Minute).Truncate(time.Millisecond)
	if err := env.d.accounts.VerifyEmail(context.Background(), a.ID, "old@example.com", ahead); err != nil {
		t.Fatal(err)
	}
	env.d.wake()
	lr, _ := env.login(t, "old@example.com", "right-password")
	env.do(t, "POST", "/email/change", `{"password":"right-password","email":"new@example.com"}`, "Authorization", "Bearer "+lr.AccessToken)
	_, token := linkIn(t, env.mails.sent()[len(env.mails.sent())-2])
	if w := env.do(t, "POST", "/email/verify", `{"token":"`+token+`"}`); w.Code != http.StatusOK {
		t.Fatalf("POST /email/verify: %d %s", w.Code, w.Body)
	}
	var evs []shared.Event
	for _, e := range env.pub.Events(shared.TopicUser) {
		if e.Type == eventUserEmailVerified && e.AggregateID == a.ID {
			evs = append(evs, e)
		}
	}
	if len(evs) != 2 || !evs[1].OccurredAt.After(evs[0].OccurredAt) || evs[1].ID == evs[0].ID {
		for _, e := range evs {
			t.Logf("user.email_verified %s at %s: %s", e.ID, e.OccurredAt, e.Data)
		}
		t.Errorf("the second verification is not newer than the first: user keeps the old address")
	}
}

// TestAccountRoutesAccess: the credential-changing routes take only the account holder's first-party
// token: no token, an expired or forged one, a third-party app's (whatever its scopes) and a service
// client's are refused, in the error shape; a first-party token of a suspended account is 401.
func TestAccountRoutesAccess(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	s := env.addAccount(t, "s@example.com", "right-password", shared.RoleCustomer)
	tokens := tokenIssuer{keys: env.d.keys, issuer: env.cfg.Issuer, ttl: env.cfg.AccessTTL}
	mint := func(a account, client, scope string) string {
		tok, err := tokens.access(a, "sid", client, scope)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	expired := tokenIssuer{keys: env.d.keys, issuer: env.cfg.Issuer, ttl: -env.cfg.AccessTTL}
	old, _ := expired.access(a, "sid", "", "")
	otherIssuer := tokenIssuer{keys: env.d.keys, issuer: "http://evil.test", ttl: env.cfg.AccessTTL}
	forged, _ := otherIssuer.access(a, "sid", "", "")
	suspended := mint(s, "", "")
	env.d.accounts.SetStatus(context.Background(), s.ID, statusSuspended, time.Now())
	callers := []struct {
		name, auth string
		want       int
	}{
		{"no token", "", 401},
		{"expired", "Bearer " + old, 401},
		{"other issuer", "Bearer " + forged, 401},
		{"third-party app with every scope", mint(a, "demo-app", "openid profile email "+strings.Join(shared.APIScopes, " ")), 403},
		{"service client", mint(account{ID: "client:internal-service", Role: "service"}, "internal-service", "service"), 403},
		{"suspended account", suspended, 401},
	}
	bodies := map[string]string{
		"/password/change": `{"current_password":"right-password","password":"a-new-passw0rd"}`,
		"/email/change":    `{"password":"right-password","email":"new@example.com"}`,
		"/email/resend":    ``,
	}
	for route, body := range bodies {
		for _, c := range callers {
			var b any
			if body != "" {
				b = body
			}
			w := env.do(t, "POST", route, b, "Authorization", c.auth)
			if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); w.Code != c.want || e.Error.Code == "" {
				t.Errorf("POST %s with %s: %d %s, want %d in the error shape", route, c.name, w.Code, w.Body, c.want)
			}
		}
	}
	if n := len(env.mails.sent()); n != 0 {
		t.Errorf("%d mails sent to refused callers, want none", n)
	}
}
