package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

var linkPattern = regexp.MustCompile(`http://shop\.test(/[a-z-]+)\?token=([A-Za-z0-9_-]+)`)

// linkIn returns the storefront page and token of the link in m's text part, and checks that the
// HTML part carries the same link.
func linkIn(tb testing.TB, m shared.Mail) (page, token string) {
	tb.Helper()
	s := linkPattern.FindStringSubmatch(m.Text)
	if s == nil {
		tb.Fatalf("mail %s to %s has no link: %q", m.Kind, m.To, m.Text)
	}
	if !strings.Contains(m.HTML, `href="`+s[0]+`"`) {
		tb.Errorf("mail %s: HTML part lacks the link %s", m.Kind, s[0])
	}
	return s[1], s[2]
}

// lastMail returns the newest mail, failing when it is not of kind to to.
func (env *testEnv) lastMail(tb testing.TB, kind, to string) shared.Mail {
	tb.Helper()
	sent := env.mails.sent()
	if len(sent) == 0 {
		tb.Fatalf("no mail sent, want %s to %s", kind, to)
	}
	m := sent[len(sent)-1]
	if m.Kind != kind || m.To != to {
		tb.Fatalf("last mail is %s to %s, want %s to %s", m.Kind, m.To, kind, to)
	}
	return m
}

// forgot asks for a reset link for email (as typed) and returns its token; the mail goes to to.
func (env *testEnv) forgot(tb testing.TB, email, to string) string {
	tb.Helper()
	if w := env.do(tb, "POST", "/password/forgot", `{"email":"`+email+`"}`); w.Code != http.StatusAccepted {
		tb.Fatalf("POST /password/forgot: status = %d, want 202; body %s", w.Code, w.Body)
	}
	page, token := linkIn(tb, env.lastMail(tb, mailPasswordReset, to))
	if page != "/reset-password" {
		tb.Errorf("reset link leads to %s, want /reset-password", page)
	}
	return token
}

func resetBody(token, password string) string {
	return `{"token":"` + token + `","password":"` + password + `"}`
}

// TestPasswordReset: forgot → mailed link → reset ends every session and refresh family, the new
// password works and the old one not, a notice is mailed, and the link is single-use.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	lr, sid := env.login(t, "u@example.com", "right-password")
	token := env.forgot(t, "U@Example.com ", "u@example.com")

	// A password the policy refuses does not use up the link.
	w := env.do(t, "POST", "/password/reset", resetBody(token, "short"))
	if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); w.Code != http.StatusBadRequest || e.Error.Fields["password"] == "" {
		t.Fatalf("reset with a weak password: %d %s, want 400 with fields.password", w.Code, w.Body)
	}
	if w := env.do(t, "POST", "/password/reset", resetBody(token, "a-new-passw0rd")); w.Code != http.StatusNoContent {
		t.Fatalf("POST /password/reset: status = %d, want 204; body %s", w.Code, w.Body)
	}
	if w := env.do(t, "GET", "/session", nil, "Cookie", "session_id="+sid); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /session with the old session: status = %d, want 401", w.Code)
	}
	w = env.do(t, "POST", "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {lr.RefreshToken}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_grant") {
		t.Errorf("refresh with the old refresh token: %d %s, want 400 invalid_grant", w.Code, w.Body)
	}
	if w := env.do(t, "POST", "/login", loginBody("u@example.com", "right-password")); w.Code != http.StatusUnauthorized {
		t.Errorf("login with the old password: status = %d, want 401", w.Code)
	}
	env.login(t, "u@example.com", "a-new-passw0rd")
	notice := env.lastMail(t, mailPasswordChanged, "u@example.com")
	if !strings.Contains(notice.Text, "http://shop.test/forgot-password") || strings.Contains(notice.Text, "token=") {
		t.Errorf("password_changed notice: %q, want a link to /forgot-password and no token", notice.Text)
	}
	w = env.do(t, "POST", "/password/reset", resetBody(token, "another-passw0rd"))
	if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); w.Code != http.StatusBadRequest || e.Error.Code != shared.CodeInvalidToken {
		t.Errorf("second use of the link: %d %s, want 400 invalid_token", w.Code, w.Body)
	}
}

// TestForgotNoEnumeration: an unknown or suspended address gets the same status and body as a real
// one, and nothing is mailed or stored for it.
func TestForgotNoEnumeration(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	s := env.addAccount(t, "s@example.com", "right-password", shared.RoleCustomer)
	env.d.accounts.SetStatus(context.Background(), s.ID, statusSuspended, time.Now())
	known := env.do(t, "POST", "/password/forgot", `{"email":"u@example.com"}`)
	for _, email := range []string{"nobody@example.com", "s@example.com"} {
		before := len(env.mails.sent())
		w := env.do(t, "POST", "/password/forgot", `{"email":"`+email+`"}`)
		if w.Code != known.Code || w.Body.String() != known.Body.String() {
			t.Errorf("forgot %s: %d %s, want what a real account gets: %d %s", email, w.Code, w.Body, known.Code, known.Body)
		}
		if n := len(env.mails.sent()); n != before {
			t.Errorf("forgot %s: %d mails sent, want none", email, n-before)
		}
	}
}

// TestMailedTokenBadInput: every malformed, unknown, used or wrong-purpose token is 400 invalid_token
// (or a plain 400 when missing), never a 500; bad addresses and header injection are refused.
func TestMailedTokenBadInput(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	verifyTok := func() string {
		l, secret := newLink(linkVerify, a.ID, a.Email, time.Now())
		env.d.links.Save(context.Background(), l)
		return secret
	}()
	tests := []struct {
		name, route, body string
		want              int
		code              string
	}{
		{"reset: missing token", "/password/reset", `{"password":"a-new-passw0rd"}`, 400, shared.CodeInvalid},
		{"reset: short token", "/password/reset", resetBody("abc", "a-new-passw0rd"), 400, shared.CodeInvalidToken},
		{"reset: unknown token", "/password/reset", resetBody(shared.RandomToken(), "a-new-passw0rd"), 400, shared.CodeInvalidToken},
		{"reset: bad alphabet", "/password/reset", resetBody(strings.Repeat("!", 43), "a-new-passw0rd"), 400, shared.CodeInvalidToken},
		{"reset: very long token", "/password/reset", resetBody(strings.Repeat("a", 20000), "a-new-passw0rd"), 400, shared.CodeInvalidToken},
		{"reset: a verification token", "/password/reset", resetBody(verifyTok, "a-new-passw0rd"), 400, shared.CodeInvalidToken},
		{"reset: token as object", "/password/reset", `{"token":{"$ne":null},"password":"a-new-passw0rd"}`, 400, shared.CodeInvalid},
		{"verify: unknown token", "/email/verify", `{"token":"` + shared.RandomToken() + `"}`, 400, shared.CodeInvalidToken},
		{"verify: empty", "/email/verify", `{}`, 400, shared.CodeInvalid},
		{"verify: CR/LF", "/email/verify", `{"token":"abc\r\nBcc: x@evil.test"}`, 400, shared.CodeInvalidToken},
		{"forgot: header injection", "/password/forgot", `{"email":"u@example.com\r\nBcc: victim@example.com"}`, 400, shared.CodeInvalid},
		{"forgot: two addresses", "/password/forgot", `{"email":"u@example.com, x@evil.test"}`, 400, shared.CodeInvalid},
		{"forgot: very long", "/password/forgot", `{"email":"` + strings.Repeat("a", 5000) + `@example.com"}`, 400, shared.CodeInvalid},
		{"forgot: unknown field", "/password/forgot", `{"email":"u@example.com","to":"x@evil.test"}`, 400, shared.CodeInvalid},
	}
	for _, tt := range tests {
		w := env.do(t, "POST", tt.route, tt.body)
		e := sharedtest.Decode[sharedtest.ErrorBody](t, w)
		if w.Code != tt.want || e.Error.Code != tt.code {
			t.Errorf("%s: POST %s: %d %s, want %d %s", tt.name, tt.route, w.Code, w.Body, tt.want, tt.code)
		}
	}
	if n := len(env.mails.sent()); n != 0 {
		t.Errorf("%d mails sent for bad input, want none", n)
	}
}

// TestMailedLinkExpires: a reset link works for 30 minutes and not a second longer (synctest clock).
func TestMailedLinkExpires(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		after time.Duration
		want  int
	}{{linkTTL - time.Second, http.StatusNoContent}, {linkTTL, http.StatusBadRequest}, {linkTTL + time.Hour, http.StatusBadRequest}} {
		synctest.Test(t, func(t *testing.T) {
			env := newTestEnv(t)
			env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
			token := env.forgot(t, "u@example.com", "u@example.com")
			time.Sleep(tt.after)
			if w := env.do(t, "POST", "/password/reset", resetBody(token, "a-new-passw0rd")); w.Code != tt.want {
				t.Errorf("reset %v after the mail: status = %d, want %d; body %s", tt.after, w.Code, tt.want, w.Body)
			}
		})
	}
}

// TestForgotThrottle: an address gets two mails an hour free, then is locked (429, Retry-After)
// whether it has an account or not and from whichever client; one client address gets ten requests;
// the lock ends with its time (synctest clock).
func TestForgotThrottle(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		env := newTestEnv(t)
		env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
		for _, email := range []string{"u@example.com", "nobody@example.com"} {
			var codes []int
			for i := range mailPolicy.Threshold + 1 {
				from := "198.51.100." + string(rune('1'+i)) + ":1000"
				codes = append(codes, env.doFrom(t, from, "POST", "/password/forgot", `{"email":"`+email+`"}`).Code)
			}
			want := []int{202, 202, 202, 429}
			if !slices.Equal(codes, want) {
				t.Errorf("forgot %s four times from four addresses: %v, want %v", email, codes, want)
			}
		}
		if got := len(env.mails.sent()); got != mailPolicy.Threshold {
			t.Errorf("%d mails to u@example.com, want %d", got, mailPolicy.Threshold)
		}
		w := env.do(t, "POST", "/password/forgot", `{"email":"u@example.com"}`)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
			t.Errorf("locked address: %d Retry-After %q, want 429 60", w.Code, w.Header().Get("Retry-After"))
		}
		time.Sleep(mailPolicy.Base)
		if w := env.do(t, "POST", "/password/forgot", `{"email":"u@example.com"}`); w.Code != http.StatusAccepted {
			t.Errorf("after the lock: status = %d, want 202", w.Code)
		}

		// One client spraying addresses.
		var last int
		for i := range mailIPPolicy.Threshold + 1 {
			last = env.doFrom(t, "203.0.113.7:1", "POST", "/password/forgot", `{"email":"spray`+string(rune('a'+i))+`@example.com"}`).Code
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("request %d from one client: status = %d, want 429", mailIPPolicy.Threshold+1, last)
		}
	})
}

// TestResetDuringOutage: a reset that cannot end the sessions is a 503, mails no notice, and leaves
// the link usable for a retry, which then ends the sessions.
func TestResetDuringOutage(t *testing.T) {
	t.Parallel()
	flaky := &flakySessions{}
	env := newTestEnv(t, func(_ *Config, d *deps) { flaky.sessionStore = d.sessions; d.sessions = flaky })
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid := env.login(t, "u@example.com", "right-password")
	token := env.forgot(t, "u@example.com", "u@example.com")
	flaky.fail = true
	if w := env.do(t, "POST", "/password/reset", resetBody(token, "a-new-passw0rd")); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("reset with the session store down: status = %d, want 503; body %s", w.Code, w.Body)
	}
	if m := env.mails.sent(); m[len(m)-1].Kind == mailPasswordChanged {
		t.Errorf("a password_changed notice was queued for a failed reset")
	}
	flaky.fail = false
	if w := env.do(t, "POST", "/password/reset", resetBody(token, "a-new-passw0rd")); w.Code != http.StatusNoContent {
		t.Fatalf("retry: status = %d, want 204; body %s", w.Code, w.Body)
	}
	if w := env.do(t, "GET", "/session", nil, "Cookie", "session_id="+sid); w.Code != http.StatusUnauthorized {
		t.Errorf("old session after the retry: status = %d, want 401", w.Code)
	}
}

// TestResetLinkOfOldAddress: a reset link mailed before the account moved to another address does
// not work: whoever reads the old mailbox no longer controls the account.
func TestResetLinkOfOldAddress(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "old@example.com", "right-password", shared.RoleCustomer)
	token := env.forgot(t, "old@example.com", "old@example.com")
	if err := env.d.accounts.VerifyEmail(context.Background(), a.ID, "new@example.com", time.Now().UTC().Truncate(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	w := env.do(t, "POST", "/password/reset", resetBody(token, "a-new-passw0rd"))
	if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); w.Code != http.StatusBadRequest || e.Error.Code != shared.CodeInvalidToken {
		t.Errorf("reset with a link mailed to the old address: %d %s, want 400 invalid_token", w.Code, w.Body)
	}
}

// TestMailEscapesNames: a name with markup is text in the HTML part, never markup.
func TestMailEscapesNames(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	h, _ := env.d.hasher.hash("right-password")
	a := account{ID: shared.NewID(), Email: "x@example.com", Name: `<img src=x onerror=alert(1)>`, Role: shared.RoleCustomer,
		PasswordHash: h, Status: statusActive}
	if err := env.d.accounts.Create(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	env.forgot(t, "x@example.com", "x@example.com")
	m := env.lastMail(t, mailPasswordReset, "x@example.com")
	if strings.Contains(m.HTML, "<img") || !strings.Contains(m.HTML, "&lt;img src=x") {
		t.Errorf("HTML part does not escape the name:\n%s", m.HTML)
	}
}

// racingAccounts runs before just before storing a new password hash: a login that lands while a
// reset is under way.
type racingAccounts struct {
	accountStore
	before func()
}

func (r *racingAccounts) SetPasswordHash(ctx context.Context, id string, hash []byte) error {
	if r.before != nil {
		r.before()
	}
	return r.accountStore.SetPasswordHash(ctx, id, hash)
}

// TestResetEndsSessionsStartedDuringIt: a login with the old password that lands while the reset
// stores the new hash is ended too (sessions end on both sides of the write).
func TestResetEndsSessionsStartedDuringIt(t *testing.T) {
	t.Parallel()
	racing := &racingAccounts{}
	env := newTestEnv(t, func(_ *Config, d *deps) { racing.accountStore = d.accounts; d.accounts = racing })
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	token := env.forgot(t, "u@example.com", "u@example.com")
	var sid string
	racing.before = func() {
		racing.before = nil
		_, sid = env.login(t, "u@example.com", "right-password")
	}
	if w := env.do(t, "POST", "/password/reset", resetBody(token, "a-new-passw0rd")); w.Code != http.StatusNoContent {
		t.Fatalf("POST /password/reset: status = %d, want 204; body %s", w.Code, w.Body)
	}
	if sid == "" {
		t.Fatal("the racing login did not run")
	}
	if w := env.do(t, "GET", "/session", nil, "Cookie", "session_id="+sid); w.Code != http.StatusUnauthorized {
		t.Errorf("session started during the reset: status = %d, want 401", w.Code)
	}
}

// TestResetLinkSingleUseWhenNoticeFails: once the new password is stored the link is spent, even
// when a later step (here the notice's queue) fails: the answer is a 503 that says the password is
// set, the new password signs in, and the link no longer works.
func TestResetLinkSingleUseWhenNoticeFails(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	token := env.forgot(t, "u@example.com", "u@example.com")
	env.mails.mu.Lock()
	env.mails.err = errors.New("mail queue down")
	env.mails.mu.Unlock()
	w := env.do(t, "POST", "/password/reset", resetBody(token, "a-new-passw0rd"))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "new password is set") {
		t.Fatalf("reset with the mail queue down: status = %d, want 503 saying the password is set; body %s", w.Code, w.Body)
	}
	env.mails.mu.Lock()
	env.mails.err = nil
	env.mails.mu.Unlock()
	if w := env.do(t, "POST", "/password/reset", resetBody(token, "an-attacker-passw0rd")); w.Code != http.StatusBadRequest {
		t.Fatalf("second use of the link: status = %d, want 400; body %s", w.Code, w.Body)
	}
	env.login(t, "u@example.com", "a-new-passw0rd")
}
