package shared

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"sync"
	"time"
)

// Mailer sends mail over SMTP with net/smtp: STARTTLS whenever the server offers it, AUTH PLAIN when
// a username is configured (net/smtp refuses to send the password unencrypted except to localhost).
// A session that delivered a mail is kept open for a later Send for IdleTimeout (mail_session.go):
// a relay's batch then costs one dial, greeting, STARTTLS and AUTH per lane instead of one per mail.
// It is safe for concurrent use; call Close at shutdown to end the kept sessions with QUIT.
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
	// IdleTimeout is how long a session waits open for the next mail before it is ended with QUIT;
	// NewMailer sets 5 s, well below the usual server idle limits (RFC 5321 asks servers for 5 min).
	// Zero or negative: one session per mail.
	IdleTimeout time.Duration
	// MaxIdle is how many sessions stay open at once for later mails; NewMailer sets MailLanes, one
	// per lane of the mail relay. Below 1: one.
	MaxIdle int

	mu     sync.Mutex
	idle   []*smtpSession // the kept sessions, the most recently used last
	closed bool           // Close was called: sessions are no longer kept
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
	return &Mailer{cfg: cfg, from: from, Timeout: 30 * time.Second, IdleTimeout: 5 * time.Second, MaxIdle: MailLanes}
}

// Enabled reports whether an SMTP server is configured.
func (m *Mailer) Enabled() bool { return m.cfg.Addr != "" }

// Send delivers mail and returns nil once the server accepted it. A mail that fails Check is refused
// before connecting; a 5xx reply to RCPT or DATA wraps ErrMailRejected (the recipient or content is
// refused for good), as does a mail that fails Check; any other failure (connection, TLS, AUTH, a 4xx
// reply) may succeed later. After any failure the session is closed and the next Send dials anew.
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
	to, _ := parseRecipient(ml.To) // Check has parsed it
	msg := buildMessage(m.from, to, ml)
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

// permanent wraps ErrMailRejected around a 5xx reply.
func permanent(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return fmt.Errorf("%w: %w", ErrMailRejected, err)
	}
	return err
}
