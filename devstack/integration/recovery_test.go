package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mailBody returns the text and HTML parts of the Mailpit message id (GET /api/v1/message/{id}).
func mailBody(tb testing.TB, id string) (text, html string) {
	tb.Helper()
	var m struct {
		Text string `json:"Text"`
		HTML string `json:"HTML"`
	}
	newClient(tb, platform.MailpitURL()).must(200, "GET", "/api/v1/message/"+url.PathEscape(id), nil, &m)
	return m.Text, m.HTML
}

var resetLink = regexp.MustCompile(`https?://[^\s"<>]+/reset-password\?token=([A-Za-z0-9_-]+)`)

// TestPasswordResetByMail: forgot → the mail in Mailpit → its link opens the storefront's page →
// reset through the gateway; the old session and refresh token are dead, the new password works and
// the old one does not, the link works once, the "password changed" notice arrives, and an address
// without an account gets the same answer and no mail.
func TestPasswordResetByMail(t *testing.T) {
	t.Parallel()
	email := fmt.Sprintf("reset-%d@example.com", time.Now().UnixNano())
	c, _ := newCustomer(t, email, "first-Passw0rd!")
	var lr struct {
		RefreshToken string `json:"refresh_token"`
	}
	c.must(200, "POST", "/auth/login", map[string]string{"email": email, "password": "first-Passw0rd!"}, &lr)
	c.must(200, "GET", "/auth/session", nil, nil)
	waitMail(t, email, "Confirm your e-mail address") // registration's verification mail

	anon := newClient(t, platform.URL("gateway"))
	var accepted, unknown map[string]string
	anon.must(202, "POST", "/auth/password/forgot", map[string]string{"email": strings.ToUpper(email)}, &accepted)
	anon.must(202, "POST", "/auth/password/forgot", map[string]string{"email": "nobody-" + email}, &unknown)
	if fmt.Sprint(accepted) != fmt.Sprint(unknown) {
		t.Errorf("forgot answers differ: %v for an account, %v for none", accepted, unknown)
	}

	msg := waitMail(t, email, "Reset your password")
	text, html := mailBody(t, msg.ID)
	m := resetLink.FindStringSubmatch(text)
	if m == nil || !strings.Contains(html, m[0]) {
		t.Fatalf("reset mail: no link in both parts; text %q", text)
	}
	token := m[1]

	// The link leads to the storefront's page (the same path on the running one), whose form
	// carries the token.
	page := newClient(t, platform.URL("storefront"))
	resp := page.do("GET", "/reset-password?token="+url.QueryEscape(token), nil, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `value="`+token+`"`) {
		t.Fatalf("GET storefront /reset-password: %d, token input missing", resp.StatusCode)
	}

	anon.must(204, "POST", "/auth/password/reset", map[string]string{"token": token, "password": "second-Passw0rd!"}, nil)
	c.must(401, "GET", "/auth/session", nil, nil)
	resp = postForm(t, anon, "/auth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {lr.RefreshToken}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("refresh with the old refresh token: status = %d, want 400", resp.StatusCode)
	}
	// The new password first: after a failed attempt from this address, auth's login throttle may
	// hold the next one back (by design), and this test is not about the throttle.
	newClient(t, platform.URL("gateway")).login(email, "second-Passw0rd!")
	newClient(t, platform.URL("gateway")).must(401, "POST", "/auth/login", map[string]string{"email": email, "password": "first-Passw0rd!"}, nil)

	var again struct {
		Error struct{ Code string } `json:"error"`
	}
	anon.must(400, "POST", "/auth/password/reset", map[string]string{"token": token, "password": "third-Passw0rd!"}, &again)
	if again.Error.Code != "invalid_token" {
		t.Errorf("second use of the link: code %q, want invalid_token", again.Error.Code)
	}
	waitMail(t, email, "Your password was changed")
	if n := len(withSubject(mailsTo(t, email), "Reset your password")); n != 1 {
		t.Errorf("%d reset mails to %s, want 1", n, email)
	}
	if n := len(mailsTo(t, "nobody-"+email)); n != 0 {
		t.Errorf("%d mails to an address without an account, want none", n)
	}
}
