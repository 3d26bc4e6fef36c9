package shared

import (
	"flag"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// orderMail is a mail the size and shape of user's order confirmation: two short text lines, an
// HTML part of inline-styled table rows, a non-ASCII name and lines long enough for soft breaks.
func orderMail() Mail {
	return Mail{ID: "0123456789abcdef0123456789abcdef", Kind: "order_confirmed", To: "Zoë Åberg <zoe@example.com>",
		Subject: "Order 01234567 confirmed: waiting for payment",
		Text: "Hello Zoë Åberg,\n\nThank you for your order. We have reserved your items; pay for the order on its page to complete it.\n\n" +
			"Order 01234567\n  2 x Teapot (TEA-1)  $49.00\n  1 x Cup (CUP-2)  $5.00\n\n  Subtotal  $54.00\n  Tax       $4.32\n" +
			"  Shipping  $4.99\n  Total     $63.31\n\nSee your order: http://localhost:3000/orders/0123456789abcdef0123456789abcdef\n\n--\nGoShop, 1 Market Street, Springfield",
		HTML: "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Order 01234567 confirmed</title></head>\n" +
			"<body style=\"margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;color:#222;background:#fff\">\n" +
			strings.Repeat("<tr><td style=\"padding:4px 0\">2 &times; Teapot <small style=\"color:#666\">TEA-1</small></td><td style=\"text-align:right\">$49.00</td></tr>\n", 6) +
			"</table>\n<p><a href=\"http://localhost:3000/orders/0123456789abcdef0123456789abcdef\">See your order</a></p>\n</body>\n</html>\n",
		CreatedAt: time.Date(2026, 12, 6, 4, 30, 0, 0, time.UTC)}
}

// BenchmarkBuildMessage measures rendering one order-sized mail into its RFC 5322 bytes, the part
// of Mailer.Send before the SMTP conversation.
func BenchmarkBuildMessage(b *testing.B) {
	from := &mail.Address{Name: "GoShop", Address: "shop@localhost"}
	m := orderMail()
	to, err := parseRecipient(m.To)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		buildMessage(from, to, m)
	}
}

// TestBuildMessageBytes pins the bytes of an order-sized mail (the boundary aside, which is random):
// headers in their order, the multipart framing and the quoted-printable soft breaks, as
// testdata/order_mail.eml holds them; the essential mail of the test is text only.
func TestBuildMessageBytes(t *testing.T) {
	t.Parallel()
	from := &mail.Address{Name: "GoShop", Address: "shop@localhost"}
	full := orderMail()
	full.Kind, full.Unsubscribe = "order_shipped", "https://shop.example/user/users/u1/unsubscribe?token=abc"
	textOnly := orderMail()
	textOnly.HTML = ""
	for _, tt := range []struct {
		name string
		m    Mail
	}{{"order_mail.eml", full}, {"order_mail_text.eml", textOnly}} {
		t.Run(tt.name, func(t *testing.T) {
			to, err := parseRecipient(tt.m.To)
			if err != nil {
				t.Fatal(err)
			}
			got := string(buildMessage(from, to, tt.m))
			if _, params, err := mime.ParseMediaType(mimeHeader(got, "Content-Type")); err == nil && params["boundary"] != "" {
				if b := params["boundary"]; len(b) != 60 || strings.Trim(b, "0123456789abcdef") != "" {
					t.Errorf("boundary %q, want 60 hex digits", b)
				}
				got = strings.ReplaceAll(got, params["boundary"], "BOUNDARY")
			}
			path := filepath.Join("testdata", tt.name)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("message differs from %s:\n%s", path, got)
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite the testdata files of TestBuildMessageBytes")

// mimeHeader is the value of the first header k of a raw message.
func mimeHeader(raw, k string) string {
	for _, line := range strings.Split(raw, "\r\n") {
		if v, ok := strings.CutPrefix(line, k+": "); ok {
			return v
		}
		if line == "" {
			break
		}
	}
	return ""
}
