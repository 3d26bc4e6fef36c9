package main

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	texttemplate "text/template"
	"time"

	"github.com/goshop/platform/shared"
)

// Kinds of the mails auth sends: the closed set of the mail_sent_total{kind} label.
const (
	mailPasswordReset        = "password_reset"
	mailPasswordChanged      = "password_changed"
	mailEmailVerify          = "email_verify"
	mailEmailChangeRequested = "email_change_requested"
)

// mailSubjects are the subjects, after the shop's name.
var mailSubjects = map[string]string{
	mailPasswordReset:        "Reset your password",
	mailPasswordChanged:      "Your password was changed",
	mailEmailVerify:          "Confirm your e-mail address",
	mailEmailChangeRequested: "A change of your e-mail address was requested",
}

// accountMail renders auth's account mails (html/template and text/template, both parsed at start)
// and queues them in the mail outbox, which the mail relay sends. Every one is essential mail: no
// List-Unsubscribe.
type accountMail struct {
	queue mailQueue
	wake  func() // wakes the mail relay after an Enqueue
	cfg   shared.MailConfig
	// storefront is the storefront's public base URL, where mailed links lead.
	storefront string
	text       *texttemplate.Template
	html       map[string]*htmltemplate.Template
}

// mailQueue is what auth needs of shared.MailQueue: storing a mail for the mail relay to send.
type mailQueue interface {
	Enqueue(ctx context.Context, m shared.Mail) error
}

// mailData is what the templates see. Every field is escaped by html/template in the HTML part.
type mailData struct {
	Subject, Name, To, Link, NewEmail string
	ShopName, ShopAddress             string
}

// newAccountMail parses the mail templates; an error is a broken template in the binary.
func newAccountMail(queue mailQueue, wake func(), cfg shared.MailConfig, storefront string) (*accountMail, error) {
	text, err := texttemplate.ParseFS(templatesFS, "templates/mail/mail.txt")
	if err != nil {
		return nil, err
	}
	base, err := htmltemplate.ParseFS(templatesFS, "templates/mail/mail.html")
	if err != nil {
		return nil, err
	}
	m := &accountMail{queue: queue, wake: wake, cfg: cfg, storefront: storefront, text: text,
		html: map[string]*htmltemplate.Template{}}
	for kind := range mailSubjects {
		if text.Lookup(kind) == nil {
			return nil, fmt.Errorf("mail.txt lacks %q", kind)
		}
		t, err := base.Clone()
		if err == nil {
			_, err = t.Parse(`{{define "body"}}{{template "` + kind + `" .}}{{end}}`)
		}
		if err != nil {
			return nil, fmt.Errorf("mail.html %q: %w", kind, err)
		}
		m.html[kind] = t
	}
	return m, nil
}

// link is the storefront URL of page with the token in its query.
func (m *accountMail) link(page, token string) string {
	if token == "" {
		return m.storefront + page
	}
	return m.storefront + page + "?" + url.Values{"token": {token}}.Encode()
}

// render builds and checks (shared.Mail.Check) the mail of kind for a, sent to to (a's address unless
// it is a new one). It does not queue it, so a caller can do the same work for an address without an
// account.
func (m *accountMail) render(kind string, a account, to string, d mailData) (shared.Mail, error) {
	d.Subject = m.cfg.ShopName + ": " + mailSubjects[kind]
	d.Name, d.To, d.ShopName, d.ShopAddress = a.Name, to, m.cfg.ShopName, m.cfg.ShopAddress
	if d.Name == "" {
		d.Name = "there"
	}
	var text, html bytes.Buffer
	if err := m.text.ExecuteTemplate(&text, kind, d); err != nil {
		return shared.Mail{}, fmt.Errorf("mail %s: %w", kind, err)
	}
	if err := m.html[kind].ExecuteTemplate(&html, "mail", d); err != nil {
		return shared.Mail{}, fmt.Errorf("mail %s: %w", kind, err)
	}
	m2 := shared.Mail{ID: shared.NewID(), Kind: kind, To: to, Subject: d.Subject, Text: text.String(),
		HTML: html.String(), CreatedAt: time.Now().UTC()}
	// The queue checks again; checking here makes an unsendable address (say, non-ASCII) the same 400
	// whether an account has it or not.
	return m2, m2.Check()
}

// send renders and queues the mail of kind, then wakes the relay.
func (m *accountMail) send(ctx context.Context, kind string, a account, to string, d mailData) error {
	mail, err := m.render(kind, a, to, d)
	if err != nil {
		return err
	}
	if err := m.queue.Enqueue(ctx, mail); err != nil {
		return err
	}
	m.wake()
	return nil
}

// sendLink mails a fresh link of purpose to to, then stores it: the link works only once both are
// stored, so a crash in between leaves a mail whose link answers invalid_token (the user asks again),
// never a live link nobody was sent. The secret is in the queued mail until it is sent, and nowhere
// else; the link store keeps its hash.
func (m *accountMail) sendLink(ctx context.Context, links linkStore, kind, purpose string, a account, to string) error {
	l, secret := newLink(purpose, a.ID, to, time.Now())
	page := "/reset-password"
	if purpose == linkVerify {
		page = "/verify-email"
	}
	if err := m.send(ctx, kind, a, to, mailData{Link: m.link(page, secret)}); err != nil {
		return err
	}
	return links.Save(ctx, l)
}
