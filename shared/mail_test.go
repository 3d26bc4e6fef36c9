package shared_test

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// TestMailCheck: every way a caller could smuggle a header or an oversized field in is refused with a
// 400 naming the field.
func TestMailCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(m *shared.Mail)
		field string // "" = accepted
	}{
		{"good", func(m *shared.Mail) {}, ""},
		{"bare address", func(m *shared.Mail) { m.To = "jane@example.com" }, ""},
		{"non-ASCII name and subject", func(m *shared.Mail) { m.To = "Zoë Åberg <zoe@example.com>"; m.Subject = "Bestätigung €" }, ""},
		{"text only", func(m *shared.Mail) { m.HTML = "" }, ""},
		{"LF in To", func(m *shared.Mail) { m.To = "jane@example.com\nBcc: all@example.com" }, "to"},
		{"CR in To name", func(m *shared.Mail) { m.To = "\"Jane\r\" <jane@example.com>" }, "to"},
		{"two recipients", func(m *shared.Mail) { m.To = "a@example.com, b@example.com" }, "to"},
		{"not an address", func(m *shared.Mail) { m.To = "jane" }, "to"},
		{"non-ASCII address", func(m *shared.Mail) { m.To = "zoë@example.com" }, "to"},
		{"over-long address", func(m *shared.Mail) { m.To = strings.Repeat("a", 250) + "@example.com" }, "to"},
		{"over-long name", func(m *shared.Mail) { m.To = strings.Repeat("J", 101) + " <jane@example.com>" }, "to"},
		{"CRLF in subject", func(m *shared.Mail) { m.Subject = "Hi\r\nBcc: all@example.com" }, "subject"},
		{"encoded-word subject", func(m *shared.Mail) { m.Subject = "=?utf-8?q?Hi=0D=0ABcc:_all@example.com?=" }, "subject"},
		{"empty subject", func(m *shared.Mail) { m.Subject = " " }, "subject"},
		{"over-long subject", func(m *shared.Mail) { m.Subject = strings.Repeat("s", 201) }, "subject"},
		{"over-long text", func(m *shared.Mail) { m.Text = strings.Repeat("x", shared.MaxMailBody+1) }, "text"},
		{"no text", func(m *shared.Mail) { m.Text = "" }, "text"},
		{"bad UTF-8 html", func(m *shared.Mail) { m.HTML = "\xff" }, "html"},
		{"bad id", func(m *shared.Mail) { m.ID = "../x" }, "id"},
		{"bad kind", func(m *shared.Mail) { m.Kind = "order confirmed" }, "kind"},
		{"javascript unsubscribe", func(m *shared.Mail) { m.Unsubscribe = "javascript:alert(1)" }, "unsubscribe"},
		{"unsubscribe breaking the header", func(m *shared.Mail) { m.Unsubscribe = "https://shop.example/u>, <mailto:x@evil.example" }, "unsubscribe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := testMail()
			tt.edit(&m)
			err := m.Check()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Check() = %v, want nil", err)
				}
				return
			}
			var e *shared.Error
			if !errors.As(err, &e) || e.Status() != 400 || e.Fields[tt.field] == "" {
				t.Fatalf("Check() = %v, want a 400 naming %q", err, tt.field)
			}
		})
	}
}

// sendOne sends m through a test server and returns the message the server received, parsed.
func sendOne(t *testing.T, m shared.Mail) *mail.Message {
	t.Helper()
	srv := &smtpServer{}
	mailer := shared.NewMailer(shared.MailConfig{Addr: "127.0.0.1:25", From: "GoShop <shop@shop.example>"})
	mailer.Dial = srv.pipeDial()
	if err := mailer.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.mails()
	if len(got) != 1 {
		t.Fatalf("server accepted %d mails, want 1", len(got))
	}
	msg, err := mail.ReadMessage(strings.NewReader(got[0].Data))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, got[0].Data)
	}
	return msg
}

// TestMailMessage parses what the mailer sent back with net/mail and mime/multipart: headers (a
// non-ASCII subject encoded and decoded back, Message-ID from the mail ID and From's domain, Date from
// CreatedAt), List-Unsubscribe only when set, and both parts with their text intact.
func TestMailMessage(t *testing.T) {
	t.Parallel()
	m := testMail()
	m.To = "Zoë Åberg <zoe@example.com>"
	m.Subject = "Bestätigung Ihrer Bestellung – Nr. 42"
	m.Text = "Hallo Zoë,\n\n" + strings.Repeat("eine lange Zeile ", 10) + "\n= Summe: 12,00 €"
	m.HTML = "<p>Hallo Zoë</p>"
	m.Unsubscribe = "https://shop.example/account?unsubscribe=1"
	m.CreatedAt = time.Date(2026, 12, 6, 4, 30, 0, 0, time.UTC)
	msg := sendOne(t, m)

	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject = %q (%v), want %q", subject, err, m.Subject)
	}
	if raw := msg.Header.Get("Subject"); !isASCII(raw) {
		t.Errorf("raw Subject %q is not ASCII", raw)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "zoe@example.com" || to[0].Name != "Zoë Åberg" {
		t.Errorf("To = %v (%v), want Zoë Åberg <zoe@example.com>", to, err)
	}
	if got, want := msg.Header.Get("Message-ID"), "<"+m.ID+"@shop.example>"; got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(m.CreatedAt) {
		t.Errorf("Date = %v (%v), want %v", d, err, m.CreatedAt)
	}
	if got := msg.Header.Get("List-Unsubscribe"); got != "<"+m.Unsubscribe+">" {
		t.Errorf("List-Unsubscribe = %q, want <%s>", got, m.Unsubscribe)
	}
	if got := msg.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for _, want := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body, _ := io.ReadAll(p)
		if pt != want.typ || pp["charset"] != "utf-8" {
			t.Errorf("part Content-Type = %q %v, want %s; charset=utf-8", pt, pp, want.typ)
		}
		if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != want.body {
			t.Errorf("%s part = %q, want %q", want.typ, got, want.body)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("a third part: err = %v, want io.EOF", err)
	}
}

// TestMailMessageTextOnly: without HTML the message is a single text/plain body, and essential mail
// (no Unsubscribe) has no List-Unsubscribe header.
func TestMailMessageTextOnly(t *testing.T) {
	t.Parallel()
	m := testMail()
	m.HTML = ""
	m.Text = "Your receipt: 12.00 €"
	msg := sendOne(t, m)
	for _, h := range []string{"List-Unsubscribe", "List-Unsubscribe-Post"} {
		if v := msg.Header.Get(h); v != "" {
			t.Errorf("%s = %q, want none on essential mail", h, v)
		}
	}
	if mt, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type")); mt != "text/plain" {
		t.Errorf("Content-Type = %q, want text/plain", mt)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if got := strings.TrimRight(string(body), "\r\n"); got != m.Text {
		t.Errorf("body = %q, want %q", got, m.Text)
	}
}

// TestMailHeaderLines: a header a customer's name or a subject fills stays within RFC 5322's line
// limits once encoded (a 100-character non-Latin name Q-encodes to well over 998 characters on one
// line, which servers may refuse or cut), folded only where unfolding gives the same value back.
func TestMailHeaderLines(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, to, subject string }{
		{"emoji name", strings.Repeat("😀", 100) + " <zoe@example.com>", "Your order"},
		{"CJK name", strings.Repeat("山田", 50) + " <yamada@example.com>", "Your order"},
		{"B-encoded name", `"` + strings.Repeat("Zoë, ", 19) + `Zoë" <zoe@example.com>`, "Your order"},
		{"quoted ASCII name", `"` + strings.Repeat(`Jane \"Q\" `, 9) + `" <jane@example.com>`, "Your order"},
		{"non-ASCII subject", "jane@example.com", strings.Repeat("€", 200)},
		{"non-ASCII words", "jane@example.com", strings.Repeat("Bestätigung ", 16) + "Nr.  42"},
		{"ASCII subject", "jane@example.com", strings.Repeat("order ", 32) + "now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := testMail()
			m.To, m.Subject = tt.to, tt.subject
			if err := m.Check(); err != nil {
				t.Fatalf("Check() = %v", err)
			}
			srv := &smtpServer{}
			mailer := shared.NewMailer(shared.MailConfig{Addr: "127.0.0.1:25", From: "GoShop <shop@shop.example>"})
			mailer.Dial = srv.pipeDial()
			if err := mailer.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			raw := strings.ReplaceAll(srv.mails()[0].Data, "\r\n", "\n")
			head, _, _ := strings.Cut(raw, "\n\n")
			for _, line := range strings.Split(head, "\n") {
				// Over 78 only when no space is left to fold at (one encoded-word is up to 75).
				_, value, _ := strings.Cut(strings.TrimLeft(line, " "), " ")
				folded := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "To:") || strings.HasPrefix(line, "Subject:")
				if len(line) > 998 || folded && len(line) > 78 && strings.Contains(value, " ") {
					t.Errorf("header line of %d characters: %.60s...", len(line), line)
				}
			}
			msg, err := mail.ReadMessage(strings.NewReader(raw))
			if err != nil {
				t.Fatalf("ReadMessage: %v", err)
			}
			want, _ := mail.ParseAddress(tt.to)
			if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 || *to[0] != *want {
				t.Errorf("To = %v (%v), want %v", to, err, want)
			}
			if s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || s != tt.subject {
				t.Errorf("Subject = %q (%v), want %q", s, err, tt.subject)
			}
		})
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestEnvMail: defaults, and every bad value reported at once.
func TestEnvMail(t *testing.T) {
	t.Parallel()
	env := shared.NewEnv(func(string) string { return "" })
	got := env.Mail()
	if err := env.Err(); err != nil || got.Addr != "" || got.From != `"GoShop" <shop@localhost>` || got.ShopName != "GoShop" {
		t.Errorf("defaults = %+v (%v)", got, err)
	}
	// SHOP_NAME starts every account mail's subject: one that Mail.Check refuses there would make
	// every reset and verification mail a 400 at run time.
	bad := map[string]string{"SMTP_ADDR": "mailpit", "MAIL_FROM": "shop\r\n@x", "SMTP_USERNAME": "shop", "SHOP_NAME": "Shop =?utf-8?q?x?="}
	env = shared.NewEnv(func(k string) string { return bad[k] })
	env.Mail()
	err := env.Err()
	for _, name := range []string{"SMTP_ADDR", "MAIL_FROM", "SMTP_PASSWORD", "SHOP_NAME"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Err() = %v, want it to name %s", err, name)
		}
	}
}
