package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"maps"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/goshop/platform/shared"
)

// The user service sends the order mails: it owns the contact data (e-mail, name) and the
// preferences. It reads order.events as its own consumer group and queues one mail per event that
// needs one, the event ID being the mail ID, so a redelivered event never sends a second mail.

//go:embed templates/order_mail.txt templates/order_mail.html
var mailFS embed.FS

// orderMailGroup is the consumer group of the order mails, apart from the "user" group of
// user.events so that neither topic's backlog holds the other up.
const orderMailGroup = "user-order-mail"

// orderMailKind says which mail an order event causes: its kind (the metric label), subject and
// heading (%s is the order number), first paragraph, and whether it is optional: optional mail
// honours preferences.order_emails and carries List-Unsubscribe; the others are records of a
// purchase and always go out.
type orderMailKind struct {
	Kind, Subject, Intro string
	Optional             bool
	ShowItems            bool
}

// orderMails maps the order events that cause a mail to it; order.created causes none (the
// confirmation follows at once, or the rejection).
var orderMails = map[string]orderMailKind{
	"order.confirmed": {Kind: "order_confirmed", Subject: "Order %s confirmed: waiting for payment", ShowItems: true,
		Intro: "Thank you for your order. We have reserved your items; pay for the order on its page to complete it."},
	"order.paid": {Kind: "payment_receipt", Subject: "Receipt for order %s", ShowItems: true,
		Intro: "We have received your payment. This mail is your receipt."},
	"order.shipped": {Kind: "order_shipped", Subject: "Order %s has shipped", Optional: true,
		Intro: "Your order is on its way."},
	"order.delivered": {Kind: "order_delivered", Subject: "Order %s was delivered", Optional: true,
		Intro: "Your order has been delivered. We hope you enjoy it."},
	"order.cancelled": {Kind: "order_cancelled", Subject: "Order %s was cancelled", ShowItems: true,
		Intro: "Your order was cancelled. Nothing was charged."},
	"order.rejected": {Kind: "order_rejected", Subject: "We could not take order %s", ShowItems: true,
		Intro: "We are sorry: we could not reserve every item of your order, so it was not placed. Nothing was charged."},
}

// orderMailTypes, its keys, are the order mail consumer's ConsumerConfig.Types: order.created and
// whatever else causes no mail is skipped before it is decoded.
var orderMailTypes = slices.Sorted(maps.Keys(orderMails))

// orderRefunded is order.cancelled of a paid order (previous_status "paid").
var orderRefunded = orderMailKind{Kind: "order_refunded", Subject: "Order %s was cancelled and refunded", ShowItems: true,
	Intro: "Your order was cancelled and your payment is being refunded to your card."}

// orderEvent is the data of every order.* event (docs/events.md), as far as the mails need it.
type orderEvent struct {
	OrderID string `json:"order_id"`
	UserID  string `json:"user_id"`
	Items   []struct {
		SKU            string `json:"sku"`
		Name           string `json:"name"`
		UnitPriceCents int64  `json:"unit_price_cents"`
		Quantity       int64  `json:"quantity"`
	} `json:"items"`
	SubtotalCents int64  `json:"subtotal_cents"`
	TaxCents      int64  `json:"tax_cents"`
	ShippingCents int64  `json:"shipping_cents"`
	TotalCents    int64  `json:"total_cents"`
	Currency      string `json:"currency"`
	Reason        string `json:"reason"`
	// Status is the order's status after the event; PreviousStatus the status it left:
	// order.cancelled from "paid" is a refund, and both equal mark a repeat that mails nobody.
	Status         string `json:"status"`
	PreviousStatus string `json:"previous_status"`
}

// mailView is what the order mail templates show.
type mailView struct {
	Subject, Heading, Intro, Reason, Name, Number string
	Items                                         []mailLine
	Subtotal, Tax, Shipping, Total                string
	OrderURL                                      string
	ShopName, ShopAddress                         string
	Optional                                      bool
}

type mailLine struct {
	SKU, Name, LineTotal string
	Quantity             int64
}

// orderMailer renders and queues the order mails.
type orderMailer struct {
	logger   *slog.Logger
	profiles profileStore
	queue    shared.MailQueue
	wake     func() // the mail relay's Wake
	shop     shared.MailConfig
	links    links
	maxAge   time.Duration // events older than this cause no mail (Config.OrderMailMaxAge)
	text     *texttemplate.Template
	html     *htmltemplate.Template
}

// newOrderMailer parses the embedded templates; an error is a bug in them.
func newOrderMailer(logger *slog.Logger, profiles profileStore, queue shared.MailQueue, wake func(), shop shared.MailConfig, l links, maxAge time.Duration) (*orderMailer, error) {
	text, err := texttemplate.ParseFS(mailFS, "templates/order_mail.txt")
	if err != nil {
		return nil, fmt.Errorf("order mail text template: %w", err)
	}
	html, err := htmltemplate.ParseFS(mailFS, "templates/order_mail.html")
	if err != nil {
		return nil, fmt.Errorf("order mail html template: %w", err)
	}
	return &orderMailer{logger: logger, profiles: profiles, queue: queue, wake: wake, shop: shop, links: l, maxAge: maxAge,
		text: text, html: html}, nil
}

// profileWait is how long an order mail waits for its customer's profile (handle).
const profileWait = 2 * time.Minute

// handle is the order.events handler. It queues the mail e causes, if any; an event older than
// maxAge, for a user this service does not know, or whose mail cannot be built (a bad address on
// file), is logged and skipped rather than sent late or retried for ever. Store failures are returned, so Consume retries.
// A user not known yet is waited for while the event is younger than profileWait: the order can be
// placed before this service applied the customer's user.registered (its consumer restarting or
// behind), and the confirmation of a first order must not be lost to that.
func (om *orderMailer) handle(ctx context.Context, e shared.Event) error {
	kind, ok := orderMails[e.Type]
	if !ok {
		return nil
	}
	var d orderEvent
	if err := e.Decode(&d); err != nil {
		return err
	}
	if !shared.ValidID(e.ID) || !validID(d.UserID) || !validID(d.OrderID) {
		return e.Poison("bad event, user or order ID")
	}
	if e.Type == "order.cancelled" && d.PreviousStatus == "paid" {
		kind = orderRefunded
	}
	log := om.logger.With("event_id", e.ID, "type", e.Type, "order_id", d.OrderID, "user_id", d.UserID)
	if d.PreviousStatus != "" && d.PreviousStatus == d.Status {
		// A repeat asking inventory to act again, the order not moving (docs/events.md): the
		// customer was mailed about the move when it was made.
		log.DebugContext(ctx, "order mail skipped: a repeat, not a change")
		return nil
	}
	if age := time.Since(e.OccurredAt); age > om.maxAge {
		log.InfoContext(ctx, "order mail skipped: event too old", "age", age.Round(time.Second).String())
		return nil
	}
	p, err := om.profiles.Get(ctx, d.UserID)
	if errNoProfile(err) && time.Since(e.OccurredAt) < profileWait {
		return fmt.Errorf("%s %s: user %s has no profile yet (user.registered not applied), waiting for it", e.Type, e.ID, d.UserID)
	}
	if errNoProfile(err) {
		log.WarnContext(ctx, "order mail skipped: unknown user")
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	if kind.Optional && !p.Preferences.orderEmails() {
		log.DebugContext(ctx, "order mail skipped: order_emails off")
		return nil
	}
	m, err := om.render(e, kind, d, p)
	if err == nil {
		err = om.queue.Enqueue(ctx, m)
	}
	var refused *shared.Error
	if errors.As(err, &refused) {
		log.ErrorContext(ctx, "order mail skipped: cannot be sent", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: queue mail: %w", e.Type, e.ID, err)
	}
	om.wake()
	return nil
}

// render builds the mail of kind for event e about order d to profile p.
func (om *orderMailer) render(e shared.Event, kind orderMailKind, d orderEvent, p Profile) (shared.Mail, error) {
	number := strings.ToUpper(d.OrderID[:min(8, len(d.OrderID))])
	money := func(c int64) string { return shared.Money{Amount: shared.Cents(c), Currency: d.Currency}.String() }
	// A name that cannot stand in a To header (Mail.Check refuses control and bidi characters; auth
	// let bidi controls through at registration, and user.registered copies the name) is left out,
	// so the mail still goes: a receipt must not be dropped for the customer's name.
	name := p.Name
	if !shared.Printable(name, false) {
		name = ""
	}
	to := (&mail.Address{Name: name, Address: p.Email}).String()
	if name == "" {
		name = "customer"
	}
	v := mailView{Subject: fmt.Sprintf(kind.Subject, number), Intro: kind.Intro, Name: name, Number: number,
		OrderURL: om.links.order(d.OrderID), ShopName: om.shop.ShopName, ShopAddress: om.shop.ShopAddress, Optional: kind.Optional}
	v.Heading = v.Subject
	if e.Type == "order.rejected" || e.Type == "order.cancelled" {
		v.Reason = d.Reason
	}
	if kind.ShowItems {
		for _, it := range d.Items {
			v.Items = append(v.Items, mailLine{SKU: it.SKU, Name: it.Name, Quantity: it.Quantity, LineTotal: money(it.UnitPriceCents * it.Quantity)})
		}
		v.Subtotal, v.Tax, v.Shipping, v.Total = money(d.SubtotalCents), money(d.TaxCents), money(d.ShippingCents), money(d.TotalCents)
	}
	// Sized for a confirmation with a few lines, so the builders do not grow step by step; a
	// strings.Builder hands its bytes over as the string without copying them.
	var text, html strings.Builder
	text.Grow(1 << 10)
	html.Grow(4 << 10)
	if err := om.text.Execute(&text, v); err != nil {
		return shared.Mail{}, fmt.Errorf("render %s: %w", kind.Kind, err)
	}
	if err := om.html.Execute(&html, v); err != nil {
		return shared.Mail{}, fmt.Errorf("render %s: %w", kind.Kind, err)
	}
	m := shared.Mail{ID: e.ID, Kind: kind.Kind, To: to,
		Subject: v.Subject, Text: text.String(), HTML: html.String(), CreatedAt: time.Now().UTC()}
	if kind.Optional {
		m.Unsubscribe = om.links.unsubscribe(p.ID)
	}
	return m, nil
}

// links builds the URLs the mails carry.
type links struct {
	storefront, api string // base URLs without a trailing slash
	unsub           unsubscribeKey
}

func (l links) order(orderID string) string {
	return l.storefront + "/orders/" + url.PathEscape(orderID)
}

// unsubscribe is the one-click link (RFC 8058) that turns userID's order_emails off.
func (l links) unsubscribe(userID string) string {
	return l.api + "/user/users/" + url.PathEscape(userID) + "/unsubscribe?token=" + l.unsub.token(userID)
}
