package integration

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/devstack/stack"
	"github.com/goshop/platform/shared"
)

// mailpitMessage is a message as Mailpit's API lists it (GET /api/v1/messages).
type mailpitMessage struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	To        []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

// mailsTo returns the messages in Mailpit addressed to addr, newest first.
func mailsTo(tb testing.TB, addr string) []mailpitMessage {
	tb.Helper()
	var list struct {
		Messages []mailpitMessage `json:"messages"`
	}
	newClient(tb, platform.MailpitURL()).must(200, "GET", "/api/v1/messages?limit=1000", nil, &list)
	var out []mailpitMessage
	for _, m := range list.Messages {
		if len(m.To) == 1 && strings.EqualFold(m.To[0].Address, addr) {
			out = append(out, m)
		}
	}
	return out
}

// withSubject returns the messages whose subject contains s.
func withSubject(ms []mailpitMessage, s string) []mailpitMessage {
	var out []mailpitMessage
	for _, m := range ms {
		if strings.Contains(m.Subject, s) {
			out = append(out, m)
		}
	}
	return out
}

// waitMail waits until a mail to addr whose subject contains subject is in Mailpit and returns it.
func waitMail(tb testing.TB, addr, subject string) mailpitMessage {
	tb.Helper()
	var got []mailpitMessage
	eventually(tb, 20*time.Second, fmt.Sprintf("a mail %q to %s in Mailpit", subject, addr), func() bool {
		got = withSubject(mailsTo(tb, addr), subject)
		return len(got) > 0
	})
	return got[0]
}

// mailHeaders returns the headers of the Mailpit message id.
func mailHeaders(tb testing.TB, id string) map[string][]string {
	tb.Helper()
	var h map[string][]string
	newClient(tb, platform.MailpitURL()).must(200, "GET", "/api/v1/message/"+id+"/headers", nil, &h)
	return h
}

// findEvent reads order.events from the start and returns the event of typ about orderID.
func findEvent(tb testing.TB, orderID, typ string) shared.Event {
	tb.Helper()
	brokers := []string{fmt.Sprintf("127.0.0.1:%d", platform.Port(stack.KafkaPort))}
	var found shared.Event
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := shared.ReadTopic(ctx, slog.New(slog.DiscardHandler), brokers, shared.TopicOrder, 0, func(_ context.Context, e shared.Event) error {
		if e.Type == typ && e.AggregateID == orderID {
			found = e
		}
		return nil
	})
	if err != nil || found.ID == "" {
		tb.Fatalf("%s of order %s in %s: %v (found %q)", typ, orderID, shared.TopicOrder, err, found.ID)
	}
	return found
}

// TestOrderMailsOnceThroughMailpit: an order's confirmation reaches Mailpit once, even when
// order.confirmed is delivered to the user service a second time; the receipt follows; the shipped
// mail is optional and carries a one-click unsubscribe link that works through the gateway, and
// opens a page (changing nothing) when a browser follows it.
func TestOrderMailsOnceThroughMailpit(t *testing.T) {
	admin := newClient(t, platform.URL("gateway"))
	admin.login(adminEmail, adminPass)
	sku := fmt.Sprintf("MAIL-%d", time.Now().UnixNano()%1e9)
	newStockedProduct(t, admin, sku, "Mail Kettle", 20.00, 5)
	email := fmt.Sprintf("mail-%d@example.com", time.Now().UnixNano())
	c, me := newCustomer(t, email, "Mail-Passw0rd!")
	c.must(200, "GET", "/user/users/me", nil, nil)

	var o order
	ordered := time.Now()
	c.must(201, "POST", "/order/orders", orderBody(sku, 2), &o, "Idempotency-Key", "mail-"+sku)
	confirmation := waitMail(t, email, "confirmed")
	t.Logf("order placed → confirmation in Mailpit: %s (saga, order.confirmed, mail queue, SMTP; polled every 100 ms)",
		time.Since(ordered).Round(time.Millisecond))
	confirmed := findEvent(t, o.ID, "order.confirmed")
	if want := "<" + confirmed.ID + "@localhost>"; "<"+confirmation.MessageID+">" != want && confirmation.MessageID != want {
		t.Errorf("confirmation Message-ID = %q, want %s (the event ID)", confirmation.MessageID, want)
	}
	if h := mailHeaders(t, confirmation.ID); len(h["List-Unsubscribe"]) != 0 {
		t.Errorf("the confirmation (essential) has List-Unsubscribe %v", h["List-Unsubscribe"])
	}

	// Deliver order.confirmed again, as a crash before the consumer's commit would. It sits on the
	// order's partition before order.paid, so once the receipt is in, the redelivery was handled.
	brokers := []string{fmt.Sprintf("127.0.0.1:%d", platform.Port(stack.KafkaPort))}
	pub := shared.NewKafkaPublisher(brokers)
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, shared.TopicOrder, confirmed); err != nil {
		t.Fatal(err)
	}
	c.must(200, "POST", "/order/orders/"+o.ID+"/pay", map[string]any{"card_number": "4242424242424242", "exp_month": 12,
		"exp_year": time.Now().Year() + 2, "cvc": "123"}, &o)
	waitMail(t, email, "Receipt")
	if n := len(withSubject(mailsTo(t, email), "confirmed")); n != 1 {
		t.Errorf("confirmation mails after a redelivered order.confirmed: %d, want 1", n)
	}

	admin.must(200, "PATCH", "/order/orders/"+o.ID+"/status", map[string]string{"status": "shipped"}, nil)
	shipped := waitMail(t, email, "shipped")
	h := mailHeaders(t, shipped.ID)
	if len(h["List-Unsubscribe"]) != 1 || len(h["List-Unsubscribe-Post"]) != 1 {
		t.Fatalf("shipped mail headers: List-Unsubscribe %v, List-Unsubscribe-Post %v; want both", h["List-Unsubscribe"], h["List-Unsubscribe-Post"])
	}
	link, err := url.Parse(strings.Trim(h["List-Unsubscribe"][0], "<>"))
	if err != nil || link.Path != "/user/users/"+me.User.ID+"/unsubscribe" {
		t.Fatalf("List-Unsubscribe = %q, want the gateway's /user/users/%s/unsubscribe", h["List-Unsubscribe"][0], me.User.ID)
	}
	target := platform.URL("gateway") + link.RequestURI()
	var profile struct {
		Preferences struct {
			OrderEmails bool `json:"order_emails"`
		} `json:"preferences"`
	}
	// What a mail program without one-click support does: it opens the link in a browser. The page
	// offers a form that posts the one-click body to the same link; the GET itself changes nothing.
	browser := newClient(t, platform.URL("gateway")) // no session: only the link
	if code, page := send(t, browser, "GET", link.RequestURI(), "", "Accept", "text/html"); code != 200 ||
		!strings.HasPrefix(page, "<!doctype html>") || !strings.Contains(page, `<form method="post" action="?token=`) {
		t.Errorf("GET %s (a browser): %d\n%s", target, code, page)
	}
	if c.must(200, "GET", "/user/users/me", nil, &profile); !profile.Preferences.OrderEmails {
		t.Fatal("opening the unsubscribe link turned order_emails off")
	}
	// What a mail provider does for a one-click unsubscribe (RFC 8058): a cookie-less POST.
	for _, tt := range []struct {
		target string
		status int
	}{
		{strings.Replace(target, "token=", "token=x", 1), 400},
		{target, 200},
	} {
		code, body := send(t, browser, "POST", strings.TrimPrefix(tt.target, platform.URL("gateway")), "List-Unsubscribe=One-Click",
			"Content-Type", "application/x-www-form-urlencoded")
		if code != tt.status {
			t.Errorf("POST %s: %d %s, want %d", tt.target, code, body, tt.status)
		}
	}
	c.must(200, "GET", "/user/users/me", nil, &profile)
	if profile.Preferences.OrderEmails {
		t.Error("after the one-click unsubscribe, order_emails is still on")
	}
}
