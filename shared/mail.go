package shared

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Mail is one message to one recipient, rendered by the service that sends it (html/template for
// HTML, text/template for Text). ID is the idempotency key and seeds the Message-ID
// (<ID@domain of MAIL_FROM>): an event ID for mail caused by an event, NewID() otherwise.
// Check states the limits; MailQueue.Enqueue refuses a mail that breaks them.
type Mail struct {
	ID          string    `bson:"_id" json:"id"`
	Kind        string    `bson:"kind" json:"kind"`                                   // "password_reset", "order_confirmed", ...: a metric label, a closed set per service
	To          string    `bson:"to" json:"to"`                                       // one address, "a@b.c" or "Name <a@b.c>"
	Subject     string    `bson:"subject" json:"subject"`                             // one line; non-ASCII is Q-encoded
	Text        string    `bson:"text" json:"text"`                                   // the text/plain part, always sent
	HTML        string    `bson:"html" json:"html"`                                   // the text/html part; "" = text only
	Unsubscribe string    `bson:"unsubscribe,omitempty" json:"unsubscribe,omitempty"` // List-Unsubscribe URL; "" for essential mail
	CreatedAt   time.Time `bson:"created_at" json:"created_at"`                       // the Date header; zero = set by Enqueue
}

// Limits of a Mail's fields, checked by Check. A subject is one line; a body far beyond what a shop
// sends is a bug or an attack, not a mail.
const (
	MaxMailAddress = 254 // RFC 5321's limit on a forward path
	MaxMailName    = 100 // the display name of To
	MaxMailSubject = 200 // characters
	MaxMailBody    = 256 << 10
	maxMailKind    = 40
	maxShopName    = 100 // leaves room in MaxMailSubject for auth's subjects after "<SHOP_NAME>: "
)

// ErrMailRejected marks a mail the SMTP server refused for good (a 5xx reply to RCPT or DATA): sending
// it again cannot succeed, so the queue sets it aside instead of retrying.
var ErrMailRejected = errors.New("mail rejected")

// Check reports what is wrong with m as a 400 *Error whose fields name the bad ones: an ID that is
// not NewID's shape, a Kind that is not a short word, a To that is not one address (net/mail) or holds
// CR/LF, a Subject with control characters or an RFC 2047 encoded-word, a body over MaxMailBody or not UTF-8, an Unsubscribe that
// is not an absolute http(s) URL. It returns nil for a good mail.
func (m Mail) Check() error {
	bad := map[string]string{}
	if !ValidID(m.ID) {
		bad["id"] = "must be 32 lower-case hex digits"
	}
	if !IsWord(m.Kind, maxMailKind, "_") {
		bad["kind"] = "must be a word of letters, digits and _"
	}
	if _, err := parseRecipient(m.To); err != nil {
		bad["to"] = err.Error()
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		bad["subject"] = "is required"
	case !Printable(m.Subject, false):
		bad["subject"] = "must be one line of printable UTF-8"
	case strings.Contains(m.Subject, "=?"):
		// ASCII passes through QEncoding unencoded, so "=?utf-8?q?...?=" would reach mail programs as
		// an encoded-word and decode to whatever it hides, line breaks included.
		bad["subject"] = "must not contain =? (an encoded-word)"
	case utf8.RuneCountInString(m.Subject) > MaxMailSubject:
		bad["subject"] = fmt.Sprintf("must be at most %d characters", MaxMailSubject)
	}
	for name, body := range map[string]string{"text": m.Text, "html": m.HTML} {
		switch {
		case len(body) > MaxMailBody:
			bad[name] = fmt.Sprintf("must be at most %d bytes", MaxMailBody)
		case !utf8.ValidString(body):
			bad[name] = "must be UTF-8"
		}
	}
	if m.Text == "" {
		bad["text"] = "is required"
	}
	if m.Unsubscribe != "" && !unsubscribeURL(m.Unsubscribe) {
		bad["unsubscribe"] = "must be an absolute http(s) URL"
	}
	if len(bad) > 0 {
		return &Error{Code: CodeInvalid, Message: "mail refused", Fields: bad}
	}
	return nil
}

// CheckMailAddress reports why a mail to s would fail Check's rule for To (see parseRecipient), or
// nil: a service that stores an address to mail later checks it with this before it keeps it.
func CheckMailAddress(s string) error {
	_, err := parseRecipient(s)
	return err
}

// parseRecipient parses one address, refusing CR/LF (header injection), lists, over-long or non-ASCII
// addresses (net/smtp speaks no SMTPUTF8 to every server) and names over MaxMailName.
func parseRecipient(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("must not hold line breaks")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, errors.New("must be one e-mail address")
	}
	switch {
	case len(a.Address) > MaxMailAddress || !IsWord(a.Address, MaxMailAddress, "!#$%&'*+-/=?^_`{|}~.@"):
		return nil, errors.New("must be a plain ASCII address of at most 254 characters")
	case utf8.RuneCountInString(a.Name) > MaxMailName || !Printable(a.Name, false):
		return nil, fmt.Errorf("name must be at most %d printable characters", MaxMailName)
	}
	return a, nil
}

func unsubscribeURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		Printable(s, false) && !strings.ContainsAny(s, "<> ")
}

// MailConfig is how a program sends mail, read by Env.Mail.
type MailConfig struct {
	Addr        string // SMTP server host:port; "" = mail disabled (it stays queued)
	Username    string // AUTH PLAIN user; "" = no AUTH
	Password    string
	From        string // the From header, "Name <addr>"; its domain also names Message-IDs
	ShopName    string // for templates: greeting and footer
	ShopAddress string // for templates: the footer's postal address
}

// Mail reads SMTP_ADDR (host:port, default "" = mail disabled: queued mail waits), SMTP_USERNAME and
// SMTP_PASSWORD (AUTH PLAIN; net/smtp sends them only over TLS or to localhost), MAIL_FROM (default
// "GoShop <shop@localhost>", one address with a domain), SHOP_NAME (default "GoShop"; one printable
// line of at most 100 characters without "=?", as it goes into subjects) and SHOP_ADDRESS
// (default "1 Market Street, Springfield"). A username without a password is reported.
func (e *Env) Mail() MailConfig {
	c := MailConfig{
		Addr:     e.HostPort("SMTP_ADDR", ""),
		Username: e.String("SMTP_USERNAME", ""),
		Password: e.Secret("SMTP_PASSWORD"),
		From: EnvParse(e, "MAIL_FROM", "address", "GoShop <shop@localhost>", func(s string) (string, error) {
			a, err := parseRecipient(s)
			if err != nil || mailDomain(a.Address) == "" {
				return "", errors.New("one address with a domain")
			}
			return a.String(), nil
		}),
		// It starts the subject of auth's mails, so it must pass Check there: a name Check refuses
		// would turn every reset and verification mail into a 400 at run time.
		ShopName: EnvParse(e, "SHOP_NAME", "string", "GoShop", func(s string) (string, error) {
			if strings.TrimSpace(s) == "" || !Printable(s, false) || strings.Contains(s, "=?") || utf8.RuneCountInString(s) > maxShopName {
				return "", fmt.Errorf("one line of at most %d printable characters, without =?", maxShopName)
			}
			return s, nil
		}),
		ShopAddress: e.String("SHOP_ADDRESS", "1 Market Street, Springfield"),
	}
	if c.Username != "" && c.Password == "" {
		e.Errorf("SMTP_PASSWORD", "required when SMTP_USERNAME is set")
	}
	return c
}

func mailDomain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// buildMessage renders m as an RFC 5322 message from from to to (m.To, parsed): Date, Message-ID
// <ID@from's domain>, List-Unsubscribe (with RFC 8058's List-Unsubscribe-Post) only when
// m.Unsubscribe is set, and a quoted-printable text/plain part, inside multipart/alternative with a
// text/html part when m.HTML is set. m must have passed Check. It writes the multipart framing
// itself, as mime/multipart would (a random 60-hex-digit boundary, each part's two headers in sorted
// order), into one buffer sized up front: every order mail goes through here.
func buildMessage(from, to *mail.Address, m Mail) []byte {
	var b bytes.Buffer
	// Quoted-printable grows text by up to a third for a shop's mail (=3D in HTML attributes, a soft
	// break per 76 characters, non-ASCII letters); 1 KiB covers the headers and the framing.
	b.Grow(1<<10 + len(m.Subject)*3 + len(m.Unsubscribe) + (len(m.Text)+len(m.HTML))*4/3)
	header := func(k, v string) {
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteString("\r\n")
	}
	header("From", foldHeader(len("From: "), from.String()))
	header("To", foldHeader(len("To: "), to.String()))
	// Without white space at its ends: a mail reader drops it from a plain ASCII subject anyway (and
	// would keep it inside an encoded one), so the subject arrives the same whatever its letters.
	header("Subject", foldHeader(len("Subject: "), mime.QEncoding.Encode("utf-8", strings.TrimSpace(m.Subject))))
	header("Date", m.CreatedAt.UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+m.ID+"@"+mailDomain(from.Address)+">")
	if m.Unsubscribe != "" {
		header("List-Unsubscribe", "<"+m.Unsubscribe+">")
		header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, m.Text)
		return b.Bytes()
	}
	var r [30]byte
	rand.Read(r[:])
	boundary := hex.EncodeToString(r[:])
	header("Content-Type", "multipart/alternative; boundary="+boundary)
	b.WriteString("\r\n")
	for i, p := range [...]struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("--" + boundary + "\r\n")
		header("Content-Transfer-Encoding", "quoted-printable")
		header("Content-Type", p.typ+"; charset=utf-8")
		b.WriteString("\r\n")
		writeQP(&b, p.body)
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes()
}

// foldHeader folds the header value v, whose line starts with used characters ("To: "), so that its
// lines keep to 78 characters where a space allows (RFC 5322 2.1.1; 998 is the hard limit). The
// encoders write one line: a 100-character non-Latin name Q-encodes to some 1,500 characters, in
// encoded-words of at most 75 separated by single spaces. It folds only at a single space between
// two non-space characters, so unfolding (which a reader does, net/textproto joining with one
// space) gives v back, and white space between encoded-words is not part of the text anyway.
func foldHeader(used int, v string) string {
	const max = 78
	if used+len(v) <= max {
		return v
	}
	words := strings.Split(v, " ")
	var b strings.Builder
	b.Grow(len(v) + len(v)/32)
	line := used
	for i, w := range words {
		if i > 0 {
			if words[i-1] != "" && w != "" && line+1+len(w) > max {
				b.WriteString("\r\n")
				line = 0
			}
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// writeQP appends s to b quoted-printable; writing to a bytes.Buffer cannot fail.
func writeQP(b *bytes.Buffer, s string) {
	qp := quotedprintable.NewWriter(b)
	qp.Write([]byte(s))
	qp.Close()
}
