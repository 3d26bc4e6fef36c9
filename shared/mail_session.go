package shared

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"time"
)

// The Mailer keeps up to MaxIdle SMTP sessions open between mails, one per Send in flight at most (a
// mail relay with lanes sends several at once). A session is kept only after a mail
// was accepted (250 to the end of DATA), so it always stands between two transactions and the next
// MAIL needs no RSET (RFC 5321 4.1.4). Any failure closes the session, so a half-done transaction
// or a connection out of step with the server is never used again. The rules:
//   - a kept session the server has closed meanwhile (its idle timeout, a restart: an I/O error or
//     421 to MAIL) is replaced by a new one once within the same Send; no part of that mail had
//     been sent, so it cannot arrive twice;
//   - a 5xx to RCPT or DATA rejects that mail only (ErrMailRejected); the next mail gets a new session;
//   - anything else (a 4xx, a connection lost during the transaction) fails that Send: the relay
//     keeps the mail and the ones after it pending and retries them with its backoff;
//   - a session unused for IdleTimeout is ended with QUIT, as is the kept one on Close.

// quitTimeout bounds the QUIT that ends an idle session.
const quitTimeout = 5 * time.Second

// errSessionGone marks a failed MAIL on a kept session that the server has closed: a new session may
// carry the mail.
var errSessionGone = errors.New("smtp session closed by the server")

// smtpSession is one SMTP connection past its greeting, STARTTLS and AUTH: ready for MAIL.
type smtpSession struct {
	conn  net.Conn // the raw connection, under TLS when STARTTLS was used
	c     *smtp.Client
	timer *time.Timer // ends the session once it has waited IdleTimeout; nil until first kept
}

// send delivers msg to to on the kept session when there is one, else on a new one, and keeps the
// session for the next mail once the server accepted this one.
func (m *Mailer) send(ctx context.Context, to string, msg []byte) error {
	s := m.take()
	reused := s != nil
	for {
		if s == nil {
			var err error
			if s, err = m.dial(ctx); err != nil {
				return err
			}
		}
		err := s.deliver(ctx, m.from.Address, to, msg)
		if err == nil {
			m.keep(s)
			return nil
		}
		s.c.Close()
		if !reused || !errors.Is(err, errSessionGone) || ctx.Err() != nil {
			return err
		}
		s, reused = nil, false
	}
}

// bound makes ctx's deadline and cancellation reach conn: net/smtp knows no context, so the deadline
// bounds every read and write and cancellation closes the connection under it. Call the returned
// stop when done.
func bound(ctx context.Context, conn net.Conn) (stop func() bool) {
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	return context.AfterFunc(ctx, func() { conn.Close() })
}

// dial opens a session: connect, EHLO, STARTTLS whenever offered, AUTH PLAIN when a user is set.
func (m *Mailer) dial(ctx context.Context) (*smtpSession, error) {
	host, _, err := net.SplitHostPort(m.cfg.Addr)
	if err != nil {
		return nil, err
	}
	dial := m.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", m.cfg.Addr)
	if err != nil {
		return nil, err
	}
	defer bound(ctx, conn)()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return nil, err
	}
	fail := func(err error) (*smtpSession, error) {
		c.Close()
		return nil, err
	}
	if err := c.Hello(mailDomain(m.from.Address)); err != nil {
		return fail(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := m.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fail(fmt.Errorf("starttls: %w", err))
		}
	}
	if m.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, host)); err != nil {
			return fail(fmt.Errorf("auth: %w", err))
		}
	}
	return &smtpSession{conn: conn, c: c}, nil
}

// deliver runs one mail transaction: MAIL, RCPT, DATA.
func (s *smtpSession) deliver(ctx context.Context, from, to string, msg []byte) error {
	defer bound(ctx, s.conn)()
	if err := s.c.Mail(from); err != nil {
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code == 421 {
			return fmt.Errorf("mail from: %w: %w", errSessionGone, err)
		}
		return fmt.Errorf("mail from: %w", err)
	}
	if err := s.c.Rcpt(to); err != nil {
		return fmt.Errorf("rcpt: %w", permanent(err))
	}
	w, err := s.c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", permanent(err))
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", permanent(err))
	}
	return nil
}

// quit ends the session politely; the server has taken its mails already, so a failed QUIT changes
// nothing.
func (s *smtpSession) quit() {
	s.conn.SetDeadline(time.Now().Add(quitTimeout))
	if s.c.Quit() != nil {
		s.c.Close()
	}
}

// take returns a kept session, nil when there is none.
func (m *Mailer) take() *smtpSession {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.idle)
	if n == 0 {
		return nil
	}
	s := m.idle[n-1]
	m.idle = m.idle[:n-1]
	s.timer.Stop()
	return s
}

// keep keeps s open for IdleTimeout for a later Send; with MaxIdle (at least one) kept already,
// after Close, or with a negative IdleTimeout it ends s instead.
func (m *Mailer) keep(s *smtpSession) {
	m.mu.Lock()
	if m.IdleTimeout <= 0 || len(m.idle) >= max(m.MaxIdle, 1) || m.closed {
		m.mu.Unlock()
		s.quit()
		return
	}
	m.idle = append(m.idle, s)
	if s.timer == nil {
		s.timer = time.AfterFunc(m.IdleTimeout, func() { m.expire(s) })
	} else {
		s.timer.Reset(m.IdleTimeout)
	}
	m.mu.Unlock()
}

// expire ends s if it is still kept (a Send may have taken it since the timer fired).
func (m *Mailer) expire(s *smtpSession) {
	m.mu.Lock()
	i := slices.Index(m.idle, s)
	if i >= 0 {
		m.idle = slices.Delete(m.idle, i, i+1)
	}
	m.mu.Unlock()
	if i >= 0 {
		s.quit()
	}
}

// Close ends the kept sessions with QUIT and keeps no more; Send still works, one session per mail.
// Its signature suits Program.OnClose.
func (m *Mailer) Close(context.Context) error {
	m.mu.Lock()
	idle := m.idle
	m.idle, m.closed = nil, true
	m.mu.Unlock()
	for _, s := range idle {
		s.timer.Stop()
		s.quit()
	}
	return nil
}
