// Command mailsend sends order-sized mails to an SMTP server the way the user service does (one
// shared.Mailer, its session kept between mails), to measure what a mail costs the server, Mailpit
// in the dev stack (docs/performance.md, "Mailpit's CPU per mail"):
//
//	cd devstack && go run ./cmd/mailsend -smtp 127.0.0.1:1025 -n 2000 -rate 250
//
// It prints how many mails it sent and how long it took; read the server's CPU around it (for
// Mailpit, utime+stime in /proc/<pid>/stat).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

func main() {
	addr := flag.String("smtp", "127.0.0.1:1025", "SMTP server host:port")
	n := flag.Int("n", 1000, "mails to send")
	rate := flag.Float64("rate", 0, "mails per second; 0: each as soon as the last was accepted")
	flag.Parse()
	if err := run(*addr, *n, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "mailsend:", err)
		os.Exit(1)
	}
}

func run(addr string, n int, rate float64) error {
	m := shared.NewMailer(shared.MailConfig{Addr: addr, From: "GoShop <shop@localhost>"})
	defer m.Close(context.Background())
	start := time.Now()
	for i := range n {
		if rate > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		}
		if err := m.Send(context.Background(), orderMail(i)); err != nil {
			return fmt.Errorf("mail %d: %w", i, err)
		}
	}
	el := time.Since(start)
	fmt.Printf("%d mails in %v (%.0f/s)\n", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

// orderMail is shaped like user's order confirmation (user/templates): a text part and an HTML part
// of inline-styled table rows, about 2.8 KB on the wire.
func orderMail(i int) shared.Mail {
	number := fmt.Sprintf("%08X", i)
	row := `<tr><td style="padding:4px 0">1 &times; Insulated Water Bottle 750 ml <small style="color:#666">SPRT-BTL-003</small></td><td style="text-align:right">$27.95</td></tr>`
	html := `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Order ` + number + ` confirmed: waiting for payment</title></head>
<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;color:#222;background:#fff">
<h1 style="font-size:20px">Order ` + number + ` confirmed: waiting for payment</h1>
<p>Hello Load Customer,</p>
<p>Thank you for your order. We have reserved your items; pay for the order on its page to complete it.</p>
<table style="border-collapse:collapse;width:100%;max-width:560px" role="presentation">
<caption style="text-align:left;font-weight:bold;padding:4px 0">Order ` + number + `</caption>
` + row + `
<tr><td style="border-top:1px solid #ccc;padding-top:4px">Subtotal</td><td style="border-top:1px solid #ccc;text-align:right">$27.95</td></tr>
<tr><td>Tax</td><td style="text-align:right">$2.24</td></tr>
<tr><td>Shipping</td><td style="text-align:right">$4.99</td></tr>
<tr><td><strong>Total</strong></td><td style="text-align:right"><strong>$35.18</strong></td></tr>
</table>
<p><a href="http://localhost:3000/orders/` + strings.ToLower(number) + `">See your order</a></p>
<hr style="border:0;border-top:1px solid #ccc">
<p style="font-size:12px;color:#666">GoShop, 1 Market Street, Springfield</p>
</body>
</html>`
	text := "Hello Load Customer,\n\nThank you for your order. We have reserved your items; pay for the order on its page to complete it.\n\n" +
		"Order " + number + "\n  1 x Insulated Water Bottle 750 ml (SPRT-BTL-003)  $27.95\n\n" +
		"  Subtotal  $27.95\n  Tax       $2.24\n  Shipping  $4.99\n  Total     $35.18\n\n" +
		"See your order: http://localhost:3000/orders/" + strings.ToLower(number) + "\n\n--\nGoShop, 1 Market Street, Springfield"
	return shared.Mail{ID: shared.NewID(), Kind: "order_confirmed", To: "Load Customer <load@shop.local>",
		Subject: "Order " + number + " confirmed: waiting for payment", Text: text, HTML: html}
}
