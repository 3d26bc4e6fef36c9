package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mailpit reads the stack's Mailpit through its HTTP API (/api/v1/messages, /api/v1/message/{id}).
type mailpit struct {
	t    *testing.T
	base string
}

// mailpitMessage is one message as Mailpit's API lists and shows it.
type mailpitMessage struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	To      []struct {
		Address string `json:"Address"`
	} `json:"To"`
	Text string `json:"Text"`
	HTML string `json:"HTML"`
}

// newMailpit returns the stack's Mailpit, skipping the test when the stack runs none.
func newMailpit(t *testing.T) *mailpit {
	t.Helper()
	base := fmt.Sprintf("http://127.0.0.1:%d", platform.Port(8025))
	resp, err := http.Get(base + "/api/v1/messages?limit=1")
	if err != nil {
		t.Skipf("no Mailpit at %s (the stack starts it from mailcore's launcher): %v", base, err)
	}
	resp.Body.Close()
	return &mailpit{t: t, base: base}
}

func (m *mailpit) get(path string, out any) {
	m.t.Helper()
	resp, err := http.Get(m.base + path)
	if err != nil {
		m.t.Fatalf("GET mailpit %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		m.t.Fatalf("GET mailpit %s: status %d: %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		m.t.Fatalf("GET mailpit %s: %v", path, err)
	}
}

// to returns every message to addr whose subject contains subject, with its parts, newest first.
func (m *mailpit) to(addr, subject string) []mailpitMessage {
	m.t.Helper()
	var list struct {
		Messages []mailpitMessage `json:"messages"`
	}
	m.get("/api/v1/messages?limit=200", &list)
	var out []mailpitMessage
	for _, msg := range list.Messages {
		for _, r := range msg.To {
			if strings.EqualFold(r.Address, addr) && strings.Contains(msg.Subject, subject) {
				var full mailpitMessage
				m.get("/api/v1/message/"+url.PathEscape(msg.ID), &full)
				out = append(out, full)
			}
		}
	}
	return out
}

// wait returns the one message to addr with subject, polling until it arrives.
func (m *mailpit) wait(addr, subject string) mailpitMessage {
	m.t.Helper()
	var got []mailpitMessage
	eventually(m.t, 20*time.Second, "mail "+subject+" to "+addr, func() bool {
		got = m.to(addr, subject)
		return len(got) > 0
	})
	if len(got) != 1 {
		m.t.Errorf("%d mails %q to %s, want exactly one", len(got), subject, addr)
	}
	return got[0]
}

var resetLink = regexp.MustCompile(`https?://[^\s"<>]+/reset-password\?token=([A-Za-z0-9_-]+)`)

// TestPasswordResetByMail: forgot → the mail in Mailpit → its link opens the storefront's page →
// reset through the gateway; the old session and refresh token are dead, the new password works, the
// old one does not, the link works once, and the "password changed" notice arrives.
func TestPasswordResetByMail(t *testing.T) {
	t.Parallel()
	mp := newMailpit(t)
	email := fmt.Sprintf("reset-%d@example.com", time.Now().UnixNano())
	c, _ := newCustomer(t, email, "first-Passw0rd!")
	var lr struct {
		RefreshToken string `json:"refresh_token"`
	}
	c.must(200, "POST", "/auth/login", map[string]string{"email": email, "password": "first-Passw0rd!"}, &lr)
	c.must(200, "GET", "/auth/session", nil, nil)

	anon := newClient(t, platform.URL("gateway"))
	var accepted map[string]string
	anon.must(202, "POST", "/auth/password/forgot", map[string]string{"email": strings.ToUpper(email)}, &accepted)
	var unknown map[string]string
	anon.must(202, "POST", "/auth/password/forgot", map[string]string{"email": "nobody-" + email}, &unknown)
	if fmt.Sprint(accepted) != fmt.Sprint(unknown) {
		t.Errorf("forgot answers differ: %v for an account, %v for none", accepted, unknown)
	}

	msg := mp.wait(email, "Reset your password")
	m := resetLink.FindStringSubmatch(msg.Text)
	if m == nil || !strings.Contains(msg.HTML, m[0]) {
		t.Fatalf("reset mail: no link in both parts; text %q", msg.Text)
	}
	token := m[1]

	// The link opens the storefront's page, which carries the token in its form.
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
	newClient(t, platform.URL("gateway")).must(401, "POST", "/auth/login", map[string]string{"email": email, "password": "first-Passw0rd!"}, nil)
	newClient(t, platform.URL("gateway")).login(email, "second-Passw0rd!")

	var again struct {
		Error struct{ Code string } `json:"error"`
	}
	anon.must(400, "POST", "/auth/password/reset", map[string]string{"token": token, "password": "third-Passw0rd!"}, &again)
	if again.Error.Code != "invalid_token" {
		t.Errorf("second use of the link: code %q, want invalid_token", again.Error.Code)
	}
	mp.wait(email, "Your password was changed")
	if n := len(mp.to("nobody-"+email, "Reset")); n != 0 {
		t.Errorf("%d reset mails to an address without an account", n)
	}
}
