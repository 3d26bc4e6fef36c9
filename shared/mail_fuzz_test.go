package shared

import (
	"mime"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzMailHeaders: whatever To, Subject and Unsubscribe a caller passes, a mail that passes Check
// renders to a message with exactly the headers the mailer writes, once each (no injected Bcc or
// second To), whose To is the one address given and whose Subject decodes to the one given, and no
// line of which is longer than RFC 5322's 998 characters.
func FuzzMailHeaders(f *testing.F) {
	for _, seed := range [][3]string{
		{"jane@example.com", "Your order", ""},
		{"Zoë <zoe@example.com>", "Bestätigung €", "https://shop.example/u?t=1"},
		{"jane@example.com\r\nBcc: all@example.com", "hi", ""},
		{"\"Jane\r\nBcc: x@example.com\" <jane@example.com>", "hi", ""},
		{"=?utf-8?q?Jane=0D=0ABcc:_x@example.com?= <jane@example.com>", "hi", ""},
		{"jane@example.com", "=?utf-8?q?a=0D=0ABcc:_x@example.com?=", ""},
		{"jane@example.com", "hi", "https://shop.example/u>, <mailto:x@evil.example"},
		{"a@b.c, d@e.f", "hi", ""},
		{strings.Repeat("😀", 100) + " <a@b.c>", strings.Repeat("€", 200), ""},
		{`"` + strings.Repeat("a ", 49) + `b" <a@b.c>`, strings.Repeat("ab ", 66) + "c", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	from := &mail.Address{Name: "GoShop", Address: "shop@shop.example"}
	f.Fuzz(func(t *testing.T, to, subject, unsub string) {
		m := Mail{ID: "0123456789abcdef0123456789abcdef", Kind: "k", To: to, Subject: subject, Text: "x", HTML: "<p>x</p>",
			Unsubscribe: unsub, CreatedAt: time.Unix(1e9, 0)}
		if m.Check() != nil {
			return
		}
		rcpt, err := parseRecipient(m.To)
		if err != nil {
			t.Fatalf("parseRecipient of a checked mail: %v", err)
		}
		raw := buildMessage(from, rcpt, m)
		for _, line := range strings.Split(string(raw), "\r\n") {
			if len(line) > 998 {
				t.Fatalf("a line of %d characters (RFC 5322: at most 998): %.80s", len(line), line)
			}
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatalf("ReadMessage: %v\n%s", err, raw)
		}
		want := []string{"Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
		if unsub != "" {
			want = append(want, "List-Unsubscribe", "List-Unsubscribe-Post")
		}
		var got []string
		for k, vs := range msg.Header {
			if len(vs) != 1 {
				t.Errorf("header %s appears %d times", k, len(vs))
			}
			got = append(got, k)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("headers %v, want %v\n%s", got, want, raw)
		}
		addrs, err := msg.Header.AddressList("To")
		wantTo, _ := mail.ParseAddress(to)
		if err != nil || len(addrs) != 1 || addrs[0].Address != wantTo.Address {
			t.Errorf("To = %v (%v), want %s", addrs, err, wantTo.Address)
		}
		if s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || s != strings.TrimSpace(subject) {
			t.Errorf("Subject decodes to %q (%v), want %q (the subject without white space at its ends)", s, err, strings.TrimSpace(subject))
		}
	})
}
