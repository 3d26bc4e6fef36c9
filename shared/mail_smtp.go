package shared

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"time"
)

// Mailer sends mail over SMTP with net/smtp: STARTTLS whenever the server offers it, AUTH PLAIN when
// a username is configured (net/smtp refuses to send the password unencrypted except to localhost),
// one connection per mail. It is safe for concurrent use.
type Mailer struct {
	cfg  MailConfig
	from *mail.Address
	// TLS is the client configuration for STARTTLS; nil = the system roots and the SMTP host's name.
	// Tests and private CAs set it before the first Send.
	TLS *tls.Config
	// Timeout bounds one Send when ctx has no earlier deadline; default 30 s.
	Timeout time.Duration
	// Dial opens the connection to the SMTP server; nil = a net.Dialer. Tests swap in an in-memory pipe.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ErrMailDisabled is Send's error when no SMTP server is configured.
var ErrMailDisabled = errors.New("mail disabled: SMTP_ADDR is not set")

// NewMailer returns a mailer for cfg, whose From Env.Mail has checked; a From that does not parse
// falls back to "shop@localhost".
func NewMailer(cfg MailConfig) *Mailer {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		from = &mail.Address{Name: cfg.ShopName, Address: "shop@localhost"}
	}
	return &Mailer{cfg: cfg, from: from, Timeout: 30 * time.Second}
}

// Enabled reports whether an SMTP server is configured.
func (m *Mailer) Enabled() bool { return m.cfg.Addr != "" }

// Send delivers mail and returns nil once the server accepted it. A mail that fails Check is refused
// before connecting; a 5xx reply to RCPT or DATA wraps ErrMailRejected (the recipient or content is
// refused for good), as does a mail that fails Check; any other failure (connection, TLS, AUTH, a 4xx reply) may succeed later.
func (m *Mailer) Send(ctx context.Context, ml Mail) error {
	if m.cfg.Addr == "" {
		return ErrMailDisabled
	}
	if err := ml.Check(); err != nil {
		return fmt.Errorf("mail %s: %w: %w", ml.ID, ErrMailRejected, err)
	}
	if ml.CreatedAt.IsZero() {
		ml.CreatedAt = time.Now()
	}
	msg, err := buildMessage(m.from, ml)
	if err != nil {
		return fmt.Errorf("mail %s: %w", ml.ID, err)
	}
	to, _ := parseRecipient(ml.To)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.Timeout)
		defer cancel()
	}
	if err := m.send(ctx, to.Address, msg); err != nil {
		return fmt.Errorf("mail %s to smtp %s: %w", ml.ID, m.cfg.Addr, err)
	}
	return nil
}

func (m *Mailer) send(ctx context.Context, to string, msg []byte) error {
	host, _, err := net.SplitHostPort(m.cfg.Addr)
	if err != nil {
		return err
	}
	dial := m.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", m.cfg.Addr)
	if err != nil {
		return err
	}
	// net/smtp knows no context: the deadline bounds every read and write, and cancellation closes
	// the connection under it.
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(mailDomain(m.from.Address)); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := m.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if m.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("rcpt: %w", permanent(err))
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", permanent(err))
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", permanent(err))
	}
	// The server has taken the mail: a failed QUIT changes nothing.
	c.Quit()
	return nil
}

// permanent wraps ErrMailRejected around a 5xx reply.
func permanent(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return fmt.Errorf("%w: %w", ErrMailRejected, err)
	}
	return err
}
