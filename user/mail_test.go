package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

var testUnsubscribeKey = unsubscribeKey("0123456789abcdef0123456789abcdef")

const mailUser = "u-mail"

// mailEnv is the order mail handler over an in-memory store and queue, with one known user.
type mailEnv struct {
	om       *orderMailer
	profiles *memProfileStore
	queue    *shared.MemMailQueue
	wakes    int
}

func newMailEnv(t testing.TB) *mailEnv {
	t.Helper()
	env := &mailEnv{profiles: newMemProfileStore(), queue: shared.NewMemMailQueue()}
	p := newProfile(mailUser, "zoe@example.com", "Zoë Åberg", shared.RoleCustomer, testTime)
	if err := env.profiles.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	om, err := newOrderMailer(discardLogger(), env.profiles, env.queue, func() { env.wakes++ },
		shared.MailConfig{ShopName: "GoShop", ShopAddress: "1 Market Street, Springfield"},
		links{storefront: "https://shop.example", api: "https://api.shop.example", unsub: testUnsubscribeKey}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	env.om = om
	return env
}

// orderEventOf returns an order event of typ for user, with two lines and totals.
func orderEventOf(t testing.TB, typ, user string, edit func(d map[string]any)) shared.Event {
	t.Helper()
	d := map[string]any{"order_id": "0123456789abcdef0123456789abcdef", "user_id": user, "status": strings.TrimPrefix(typ, "order."),
		"items": []map[string]any{
			{"sku": "TEA-1", "name": "Teapot <b>bold</b>", "unit_price_cents": 2450, "quantity": 2},
			{"sku": "CUP-2", "name": "Cup", "unit_price_cents": 500, "quantity": 1},
		},
		"subtotal_cents": 5400, "tax_cents": 432, "shipping_cents": 499, "total_cents": 6331, "currency": "USD", "reason": ""}
	if edit != nil {
		edit(d)
	}
	e, err := shared.NewEvent(typ, "0123456789abcdef0123456789abcdef", d)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// queued returns the mail the queue holds for event id ("" status when none).
func (env *mailEnv) queued(id string) (string, shared.Mail) { return env.queue.Status(id) }

// TestOrderMails: each order event that needs a mail queues one under the event's ID, with the right
// kind and subject, items and totals where they matter, and List-Unsubscribe only on optional mail.
func TestOrderMails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ      string
		edit     func(d map[string]any)
		kind     string // "" = no mail
		subject  string
		items    bool
		optional bool
		text     string // also in the text part
	}{
		{typ: "order.created"},
		{typ: "order.confirmed", kind: "order_confirmed", subject: "Order 01234567 confirmed: waiting for payment", items: true},
		{typ: "order.paid", kind: "payment_receipt", subject: "Receipt for order 01234567", items: true},
		{typ: "order.shipped", kind: "order_shipped", subject: "Order 01234567 has shipped", optional: true},
		{typ: "order.delivered", kind: "order_delivered", subject: "Order 01234567 was delivered", optional: true},
		{typ: "order.cancelled", edit: func(d map[string]any) { d["reason"] = "changed my mind"; d["previous_status"] = "confirmed" },
			kind: "order_cancelled", subject: "Order 01234567 was cancelled", items: true, text: "changed my mind"},
		{typ: "order.cancelled", edit: func(d map[string]any) { d["previous_status"] = "paid" },
			kind: "order_refunded", subject: "Order 01234567 was cancelled and refunded", items: true, text: "refunded"},
		{typ: "order.rejected", edit: func(d map[string]any) { d["reason"] = "out of stock: TEA-1 (requested 2, available 1)" },
			kind: "order_rejected", subject: "We could not take order 01234567", items: true, text: "out of stock: TEA-1"},
		{typ: "order.unknown_future_type"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.kind, func(t *testing.T) {
			t.Parallel()
			env := newMailEnv(t)
			e := orderEventOf(t, tt.typ, mailUser, tt.edit)
			if err := env.om.handle(context.Background(), e); err != nil {
				t.Fatalf("handle: %v", err)
			}
			status, m := env.queued(e.ID)
			if tt.kind == "" {
				if status != "" || env.wakes != 0 {
					t.Fatalf("%s queued a mail (%q), want none", tt.typ, status)
				}
				return
			}
			if status != "pending" || env.wakes != 1 {
				t.Fatalf("%s: mail status %q, %d wakes; want pending, 1", tt.typ, status, env.wakes)
			}
			if m.Kind != tt.kind || m.Subject != tt.subject || m.To != `=?utf-8?q?Zo=C3=AB_=C3=85berg?= <zoe@example.com>` {
				t.Errorf("mail = kind %q, subject %q, to %q; want %q, %q, Zoë Åberg <zoe@example.com>", m.Kind, m.Subject, m.To, tt.kind, tt.subject)
			}
			wantUnsub := ""
			if tt.optional {
				wantUnsub = "https://api.shop.example/user/users/" + mailUser + "/unsubscribe?token=" + testUnsubscribeKey.token(mailUser)
			}
			if m.Unsubscribe != wantUnsub {
				t.Errorf("Unsubscribe = %q, want %q", m.Unsubscribe, wantUnsub)
			}
			for _, part := range []string{m.Text, m.HTML} {
				for _, want := range []string{"Zoë Åberg", "GoShop, 1 Market Street, Springfield", "https://shop.example/orders/0123456789abcdef0123456789abcdef", tt.text} {
					if !strings.Contains(part, want) {
						t.Errorf("part lacks %q:\n%s", want, part)
					}
				}
				if has := strings.Contains(part, "$63.31") && strings.Contains(part, "$49.00") && strings.Contains(part, "$4.99"); has != tt.items {
					t.Errorf("items and totals shown = %v, want %v:\n%s", has, tt.items, part)
				}
			}
			if tt.items && (strings.Contains(m.HTML, "<b>bold</b>") || !strings.Contains(m.HTML, "Teapot &lt;b&gt;bold&lt;/b&gt;")) {
				t.Errorf("HTML part does not escape the product name:\n%s", m.HTML)
			}
		})
	}
}

// TestOrderMailOnce: the same event delivered twice queues one mail (the event ID is the mail ID),
// also after the first went out.
func TestOrderMailOnce(t *testing.T) {
	t.Parallel()
	env := newMailEnv(t)
	ctx := context.Background()
	e := orderEventOf(t, "order.confirmed", mailUser, nil)
	for range 2 {
		if err := env.om.handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	pending, _ := env.queue.PendingOutbox(ctx, 10)
	if len(pending) != 1 || pending[0].Event.ID != e.ID {
		t.Fatalf("pending after a redelivery = %v, want only %s", pending, e.ID)
	}
	env.queue.MarkPublished(ctx, pending)
	if err := env.om.handle(ctx, e); err != nil {
		t.Fatal(err)
	}
	if pending, _ := env.queue.PendingOutbox(ctx, 10); len(pending) != 0 {
		t.Errorf("the event once more after sending queued %v, want nothing", pending)
	}
}

// TestOrderMailPreference: with order_emails off the optional mails are skipped and the records of a
// purchase still go out.
func TestOrderMailPreference(t *testing.T) {
	t.Parallel()
	env := newMailEnv(t)
	ctx := context.Background()
	env.profiles.Update(ctx, mailUser, func(p *Profile) error { p.Preferences.OrderEmailsOff = true; return nil })
	for typ, want := range map[string]string{"order.shipped": "", "order.delivered": "", "order.paid": "pending", "order.confirmed": "pending"} {
		e := orderEventOf(t, typ, mailUser, nil)
		if err := env.om.handle(ctx, e); err != nil {
			t.Fatal(err)
		}
		if status, _ := env.queued(e.ID); status != want {
			t.Errorf("%s with order_emails off: mail %q, want %q", typ, status, want)
		}
	}
}

// TestOrderMailUnprintableName: a profile name that cannot stand in a To header (a bidi override
// auth let through at registration, copied by user.registered) costs the mail its name, not the mail:
// the receipt goes to the bare address and greets the customer without it.
func TestOrderMailUnprintableName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newMailEnv(t)
	env.profiles.Create(ctx, newProfile("u-bidi", "ann@example.com", "Ann\u202Egnp.exe", shared.RoleCustomer, testTime))
	e := orderEventOf(t, "order.paid", "u-bidi", nil)
	if err := env.om.handle(ctx, e); err != nil {
		t.Fatalf("handle: %v", err)
	}
	status, m := env.queued(e.ID)
	if status != "pending" || m.To != "<ann@example.com>" {
		t.Fatalf("mail %q to %q, want pending to <ann@example.com>", status, m.To)
	}
	for _, part := range []string{m.Text, m.HTML} {
		if strings.Contains(part, "\u202E") || !strings.Contains(part, "Hello customer,") {
			t.Errorf("part greets with the name or without \"Hello customer,\":\n%s", part)
		}
	}
}

// TestOrderMailSkips: what can never become a mail is logged and dropped (nil or ErrPoison, so the
// consumer moves on); a store failure is returned, so it is retried.
func TestOrderMailSkips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newMailEnv(t)
	env.profiles.Create(ctx, newProfile("u-badmail", "not an address\r\nBcc: x@example.com", "Eve", shared.RoleCustomer, testTime))
	bad := orderEventOf(t, "order.paid", mailUser, nil)
	bad.Data = json.RawMessage(`{"order_id":`)
	badID := orderEventOf(t, "order.paid", mailUser, nil)
	badID.ID = "not-hex"
	old := orderEventOf(t, "order.paid", mailUser, nil)
	old.OccurredAt = time.Now().Add(-2 * time.Hour) // older than the mailer's maxAge of 1 h
	nobody := orderEventOf(t, "order.paid", "u-nobody", nil)
	nobody.OccurredAt = time.Now().Add(-profileWait - time.Second) // waited for the profile long enough
	tests := []struct {
		name   string
		e      shared.Event
		poison bool
	}{
		{"event older than ORDER_MAIL_MAX_AGE (a first start reading history)", old, false},
		{"unknown user, past the wait for its profile", nobody, false},
		{"bad address on file", orderEventOf(t, "order.paid", "u-badmail", nil), false},
		{"malformed data", bad, true},
		{"event ID not an ID", badID, true},
		{"user ID with a dollar", orderEventOf(t, "order.paid", "$ne", nil), true},
		// order.cancelled that only releases a reservation made after the order ended: the customer
		// was told when it was cancelled (or rejected).
		{"repeat of a cancellation", orderEventOf(t, "order.cancelled", mailUser, func(d map[string]any) {
			d["previous_status"], d["reason"] = "cancelled", "late reservation released"
		}), false},
		{"repeat after a rejection", orderEventOf(t, "order.cancelled", mailUser, func(d map[string]any) {
			d["status"], d["previous_status"], d["reason"] = "rejected", "rejected", "late reservation released"
		}), false},
	}
	for _, tt := range tests {
		err := env.om.handle(ctx, tt.e)
		if (tt.poison && !errors.Is(err, shared.ErrPoison)) || (!tt.poison && err != nil) {
			t.Errorf("%s: handle = %v, want poison %v", tt.name, err, tt.poison)
		}
		if status, _ := env.queued(tt.e.ID); status != "" {
			t.Errorf("%s: queued a mail", tt.name)
		}
	}
	broken := *env.om
	broken.profiles = brokenStore{shared.ErrUnavailable}
	if err := broken.handle(ctx, orderEventOf(t, "order.paid", mailUser, nil)); err == nil || errors.Is(err, shared.ErrPoison) {
		t.Errorf("store down: handle = %v, want an error to retry", err)
	}
}

// TestOrderMailWaitsForProfile: an order event can come before this service applied its customer's
// user.registered; while the event is young the handler fails (Consume retries it) instead of
// dropping the mail, and once the profile is there the mail is queued.
func TestOrderMailWaitsForProfile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newMailEnv(t)
	const newcomer = "0a0b0c0d0e0f00010203040506070809"
	e := orderEventOf(t, "order.paid", newcomer, nil)
	if err := env.om.handle(ctx, e); err == nil || errors.Is(err, shared.ErrPoison) {
		t.Fatalf("handle before the profile exists = %v, want an error to retry", err)
	}
	if status, _ := env.queued(e.ID); status != "" {
		t.Fatalf("queued a mail without a profile")
	}
	env.profiles.Create(ctx, newProfile(newcomer, "new@example.com", "New Customer", shared.RoleCustomer, testTime))
	if err := env.om.handle(ctx, e); err != nil {
		t.Fatalf("handle once the profile exists = %v", err)
	}
	if status, m := env.queued(e.ID); status != "pending" || m.To != `"New Customer" <new@example.com>` {
		t.Errorf("mail %q to %q, want pending to New Customer", status, m.To)
	}
}

// TestUnsubscribePage: a mail program without one-click support opens the link in a browser. The GET
// shows a page (styled under a CSP that allows its one style by hash) whose form posts the one-click
// body to the same link, and changes nothing (link scanners follow links); a bad link gets a page
// saying so; the form's POST, which asks for HTML, turns the mails off and answers a page.
func TestUnsubscribePage(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	env.profiles.Create(ctx, newProfile("u-ann", "ann@example.com", "Ann", shared.RoleCustomer, testTime))
	token := testUnsubscribeKey.token("u-ann")
	good := "/users/u-ann/unsubscribe?token=" + url.QueryEscape(token)
	for _, tt := range []struct {
		name, target string
		status       int
		want         string
	}{
		{"the link", good, 200, `<form method="post" action="?token=` + token + `">`},
		{"another user's token", "/users/u-ann/unsubscribe?token=" + testUnsubscribeKey.token("u-bob"), 400, "This unsubscribe link does not work"},
		{"no token", "/users/u-ann/unsubscribe", 400, "This unsubscribe link does not work"},
		{"bad user ID", "/users/u$ne/unsubscribe?token=" + testUnsubscribeKey.token("u$ne"), 400, "This unsubscribe link does not work"},
	} {
		rec := send(env.h, "GET", tt.target, "", "")
		body := rec.Body.String()
		_, css, _ := strings.Cut(body, "<style>")
		css, _, _ = strings.Cut(css, "</style>")
		if rec.Code != tt.status || !strings.Contains(body, tt.want) || css != string(shared.PageStyle) ||
			rec.Header().Get("Content-Security-Policy") != shared.PageCSP || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s (%s): %d %v\n%s", tt.target, tt.name, rec.Code, rec.Header(), body)
		}
		if tt.status != 200 && strings.Contains(body, "<form") {
			t.Errorf("GET %s (%s): a form on a bad link's page", tt.target, tt.name)
		}
	}
	if p, _ := env.profiles.Get(ctx, "u-ann"); !p.Preferences.orderEmails() {
		t.Fatal("a GET turned the order mails off")
	}
	rec := sharedtest.Serve(env.h, "POST", good, "List-Unsubscribe=One-Click",
		"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html,application/xhtml+xml")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Order update e-mails are off") {
		t.Errorf("the page's POST: %d %s, want 200 and a page", rec.Code, rec.Body)
	}
	if p, _ := env.profiles.Get(ctx, "u-ann"); p.Preferences.orderEmails() {
		t.Error("the page's POST left the order mails on")
	}
}

// TestUnsubscribe: the one-click link turns order_emails off for its own user only; everything else
// is a 4xx in the error shape and changes nothing.
func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	for _, id := range []string{"u-ann", "u-bob", "u-cy"} {
		env.profiles.Create(ctx, newProfile(id, id+"@example.com", id, shared.RoleCustomer, testTime))
	}
	path := func(id, token string) string { return "/users/" + id + "/unsubscribe?token=" + url.QueryEscape(token) }
	good := path("u-ann", testUnsubscribeKey.token("u-ann"))
	oneClick := "List-Unsubscribe=One-Click"
	// RFC 8058 3.2: mail receivers SHOULD send the one-click body as multipart/form-data.
	multipartType := "multipart/form-data; boundary=b0undary"
	multipartOf := func(name, value string) string {
		return "--b0undary\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n--b0undary--\r\n"
	}
	tests := []struct {
		name, method, target, ctype, body string
		status                            int
	}{
		{"no token", "POST", "/users/u-ann/unsubscribe", "application/x-www-form-urlencoded", oneClick, 400},
		{"another user's token", "POST", path("u-ann", testUnsubscribeKey.token("u-bob")), "application/x-www-form-urlencoded", oneClick, 400},
		{"token of another key", "POST", path("u-ann", unsubscribeKey("another-key-another-key-another-key").token("u-ann")), "application/x-www-form-urlencoded", oneClick, 400},
		{"truncated token", "POST", path("u-ann", testUnsubscribeKey.token("u-ann")[:20]), "application/x-www-form-urlencoded", oneClick, 400},
		{"no body", "POST", good, "application/x-www-form-urlencoded", "", 400},
		{"JSON body", "POST", good, "application/json", `{"List-Unsubscribe":"One-Click"}`, 415},
		{"other body", "POST", good, "application/x-www-form-urlencoded", "List-Unsubscribe=All", 400},
		{"oversized body", "POST", good, "application/x-www-form-urlencoded", oneClick + "&x=" + strings.Repeat("a", 2000), 413},
		{"multipart, other value", "POST", good, multipartType, multipartOf("List-Unsubscribe", "All"), 400},
		{"multipart, no boundary", "POST", good, "multipart/form-data", multipartOf("List-Unsubscribe", "One-Click"), 400},
		{"multipart, malformed", "POST", good, multipartType, "--b0undary\r\nno headers", 400},
		{"multipart, another user's token", "POST", path("u-ann", testUnsubscribeKey.token("u-bob")), multipartType, multipartOf("List-Unsubscribe", "One-Click"), 400},
		{"multipart, oversized", "POST", good, multipartType, multipartOf("List-Unsubscribe", "One-Click") + strings.Repeat("a", 2000), 413},
		{"bad user ID", "POST", path("u$ne", testUnsubscribeKey.token("u$ne")), "application/x-www-form-urlencoded", oneClick, 400},
		{"unknown user", "POST", path("u-nobody", testUnsubscribeKey.token("u-nobody")), "application/x-www-form-urlencoded", oneClick, 404},
	}
	for _, tt := range tests {
		rec := send(env.h, tt.method, tt.target, tt.ctype, tt.body)
		if rec.Code != tt.status {
			t.Errorf("%s: %s %s = %d, want %d (%s)", tt.name, tt.method, tt.target, rec.Code, tt.status, rec.Body)
		}
		if e := sharedtest.Decode[sharedtest.ErrorBody](t, rec); e.Error.Code == "" {
			t.Errorf("%s: body %s is not the error shape", tt.name, rec.Body)
		}
	}
	for _, id := range []string{"u-ann", "u-bob", "u-cy"} {
		if p, _ := env.profiles.Get(ctx, id); !p.Preferences.orderEmails() {
			t.Fatalf("a refused request turned %s's order mails off", id)
		}
	}
	for range 2 { // a replay is harmless
		if rec := send(env.h, "POST", good, "application/x-www-form-urlencoded", oneClick); rec.Code != 200 {
			t.Fatalf("POST %s = %d, want 200 (%s)", good, rec.Code, rec.Body)
		}
	}
	cy := path("u-cy", testUnsubscribeKey.token("u-cy"))
	if rec := send(env.h, "POST", cy, multipartType, multipartOf("List-Unsubscribe", "One-Click")); rec.Code != 200 {
		t.Fatalf("POST %s as multipart/form-data = %d, want 200 (%s)", cy, rec.Code, rec.Body)
	}
	if p, _ := env.profiles.Get(ctx, "u-cy"); p.Preferences.orderEmails() {
		t.Errorf("the multipart one-click left u-cy's order mails on")
	}
	ann, _ := env.profiles.Get(ctx, "u-ann")
	bob, _ := env.profiles.Get(ctx, "u-bob")
	if ann.Preferences.orderEmails() || !bob.Preferences.orderEmails() {
		t.Errorf("after u-ann's link: ann on %v, bob on %v; want off, on", ann.Preferences.orderEmails(), bob.Preferences.orderEmails())
	}
}

// send serves one request with a raw body of the content type.
func send(h http.Handler, method, target, ctype, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	return serve(h, r)
}

// TestOrderEmailsPreference: the switch is on by default, shown in the profile, and PATCH turns it off.
func TestOrderEmailsPreference(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	me := ident("u-pref", shared.RoleCustomer)
	type prefs struct {
		Preferences struct {
			OrderEmails *bool `json:"order_emails"`
		} `json:"preferences"`
	}
	rec := env.do(t, "GET", "/users/me", me, "")
	if p := sharedtest.Decode[prefs](t, rec); p.Preferences.OrderEmails == nil || !*p.Preferences.OrderEmails {
		t.Fatalf("GET /users/me: order_emails = %v, want true by default (%s)", p.Preferences.OrderEmails, rec.Body)
	}
	rec = env.do(t, "PATCH", "/users/me", me, `{"preferences":{"order_emails":false}}`)
	if p := sharedtest.Decode[prefs](t, rec); rec.Code != 200 || p.Preferences.OrderEmails == nil || *p.Preferences.OrderEmails {
		t.Fatalf("PATCH order_emails false: %d %s", rec.Code, rec.Body)
	}
	rec = env.do(t, "PATCH", "/users/me", me, `{"preferences":{"order_emails":"no"}}`)
	wantError(t, "PATCH", "/users/me", rec, 400, shared.CodeInvalid)
}
