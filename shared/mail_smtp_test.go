package shared_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// smtpServer is a minimal SMTP server for tests, speaking net/textproto over any connection (TCP on
// 127.0.0.1:0, or net.Pipe inside a synctest bubble). It offers STARTTLS when tls is set and AUTH
// PLAIN when auth is, answers each MAIL, RCPT and end of DATA with the next of mailReplies,
// rcptReplies and dataReplies (then 250; "drop" closes the connection without a reply), hangs up
// after closeAfter mails on one connection when it is set, and records every mail it accepted.
type smtpServer struct {
	tls         *tls.Config
	auth        bool
	closeAfter  int
	hold        chan struct{} // non-nil: each end of DATA waits for it to close before the reply
	delay       time.Duration // how long the server takes over each command before it answers
	mu          sync.Mutex
	mailReplies []string
	rcptReplies []string
	dataReplies []string
	rcpts       int
	conns       int // connections served
	quits       int // QUITs answered
	got         []smtpSession
}

// smtpSession is what one accepted mail came with.
type smtpSession struct {
	TLS        bool
	Auth       string // the decoded AUTH PLAIN response: "\x00user\x00password"
	From, To   string
	Data       string
	Connection int // which connection of the server's carried it, from 1
}

func (s *smtpServer) serve(c net.Conn) {
	defer func() { c.Close() }()
	s.mu.Lock()
	s.conns++
	sess := smtpSession{Connection: s.conns}
	s.mu.Unlock()
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 test ESMTP")
	accepted := 0
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		time.Sleep(s.delay)
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"test"}
			if s.tls != nil && !sess.TLS {
				ext = append(ext, "STARTTLS")
			}
			if s.auth {
				ext = append(ext, "AUTH PLAIN")
			}
			ext = append(ext, "8BITMIME")
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				tp.PrintfLine("250%s%s", sep, e)
			}
		case "STARTTLS":
			tp.PrintfLine("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, tp, sess.TLS = tc, textproto.NewConn(tc), true
		case "AUTH":
			_, resp, _ := strings.Cut(arg, " ")
			b, _ := base64.StdEncoding.DecodeString(resp)
			sess.Auth = string(b)
			tp.PrintfLine("235 ok")
		case "MAIL":
			sess.From = arg
			if !reply(tp, s.next(&s.mailReplies)) {
				return
			}
		case "RCPT":
			sess.To = arg
			s.mu.Lock()
			s.rcpts++
			s.mu.Unlock()
			if !reply(tp, s.next(&s.rcptReplies)) {
				return
			}
		case "DATA":
			tp.PrintfLine("354 go on")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			if s.hold != nil {
				<-s.hold
			}
			r := s.next(&s.dataReplies)
			if strings.HasPrefix(r, "2") {
				sess.Data = string(data)
				s.mu.Lock()
				s.got = append(s.got, sess)
				s.mu.Unlock()
				accepted++
			}
			if !reply(tp, r) || accepted == s.closeAfter {
				return
			}
		case "QUIT":
			s.mu.Lock()
			s.quits++
			s.mu.Unlock()
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("250 ok")
		}
	}
}

// next pops the next scripted reply from list, "250 ok" when it is empty.
func (s *smtpServer) next(list *[]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(*list) > 0 {
		r := (*list)[0]
		*list = (*list)[1:]
		return r
	}
	return "250 ok"
}

// reply sends r, or reports false for "drop": the caller hangs up without a reply.
func reply(tp *textproto.Conn, r string) bool {
	if r == "drop" {
		return false
	}
	tp.PrintfLine("%s", r)
	return true
}

// counts returns how many connections the server served and how many QUITs it answered.
func (s *smtpServer) counts() (conns, quits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, s.quits
}

func (s *smtpServer) mails() []smtpSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpSession(nil), s.got...)
}

// listen serves s on 127.0.0.1:0 until t ends and returns its address.
func (s *smtpServer) listen(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return ln.Addr().String()
}

// pipeDial returns a Mailer.Dial that serves each connection with s over net.Pipe, so no socket
// leaves a synctest bubble.
func (s *smtpServer) pipeDial() func(context.Context, string, string) (net.Conn, error) {
	return func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		go s.serve(server)
		return client, nil
	}
}

// testTLS returns a server config and a client config trusting it, for 127.0.0.1, from httptest's
// certificate.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert, leaf := ts.TLS.Certificates[0], ts.Certificate()
	ts.Close()
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func testMail() shared.Mail {
	return shared.Mail{ID: shared.NewID(), Kind: "order_confirmed", To: "Jane Doe <jane@example.com>",
		Subject: "Your order", Text: "Hello Jane", HTML: "<p>Hello Jane</p>"}
}

// TestMailerSMTP sends through the test server over TCP: STARTTLS is used whenever offered, AUTH PLAIN
// only when a username is set, the envelope names the bare addresses, and a 4xx/5xx reply is an error
// (5xx to RCPT: ErrMailRejected).
func TestMailerSMTP(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := testTLS(t)
	tests := []struct {
		name         string
		tls, auth    bool
		user         string
		reply        string
		wantErr      bool
		wantRejected bool
	}{
		{name: "plain, no auth", reply: "250 ok"},
		{name: "starttls offered", tls: true, reply: "250 ok"},
		{name: "starttls and auth", tls: true, auth: true, user: "shop", reply: "250 ok"},
		{name: "auth to localhost without tls", auth: true, user: "shop", reply: "250 ok"},
		{name: "4xx is temporary", reply: "451 try later", wantErr: true},
		{name: "5xx is permanent", reply: "550 no such user", wantErr: true, wantRejected: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &smtpServer{auth: tt.auth, rcptReplies: []string{tt.reply}}
			if tt.tls {
				srv.tls = srvTLS
			}
			m := shared.NewMailer(shared.MailConfig{Addr: srv.listen(t), Username: tt.user, Password: "s3cret",
				From: "GoShop <shop@shop.example>"})
			m.TLS = cliTLS
			t.Cleanup(func() { m.Close(context.Background()) })
			err := m.Send(context.Background(), testMail())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send: err = %v, want error %v", err, tt.wantErr)
			}
			if got := errors.Is(err, shared.ErrMailRejected); got != tt.wantRejected {
				t.Errorf("Send: err = %v, ErrMailRejected %v, want %v", err, got, tt.wantRejected)
			}
			if tt.wantErr {
				if n := len(srv.mails()); n != 0 {
					t.Errorf("server accepted %d mails, want none", n)
				}
				return
			}
			got := srv.mails()
			if len(got) != 1 {
				t.Fatalf("server accepted %d mails, want 1", len(got))
			}
			s := got[0]
			if s.TLS != tt.tls {
				t.Errorf("TLS = %v, want %v", s.TLS, tt.tls)
			}
			if wantAuth := map[bool]string{true: "\x00shop\x00s3cret"}[tt.user != ""]; s.Auth != wantAuth {
				t.Errorf("AUTH = %q, want %q", s.Auth, wantAuth)
			}
			if !strings.HasPrefix(s.From, "FROM:<shop@shop.example>") || !strings.HasPrefix(s.To, "TO:<jane@example.com>") {
				t.Errorf("envelope = %q, %q; want the bare addresses", s.From, s.To)
			}
		})
	}
}

// TestMailerRefusesBeforeConnecting: a mail that fails Check, or a mailer without SMTP_ADDR, never
// reaches a server.
func TestMailerRefusesBeforeConnecting(t *testing.T) {
	t.Parallel()
	srv := &smtpServer{}
	m := shared.NewMailer(shared.MailConfig{Addr: "127.0.0.1:25", From: "shop@shop.example"})
	m.Dial = srv.pipeDial()
	bad := testMail()
	bad.To = "jane@example.com\r\nBcc: all@example.com"
	if err := m.Send(context.Background(), bad); !errors.Is(err, shared.ErrMailRejected) {
		t.Errorf("Send(CR/LF in To) = %v, want ErrMailRejected", err)
	}
	if n := len(srv.mails()); n != 0 {
		t.Errorf("server accepted %d mails, want none", n)
	}
	off := shared.NewMailer(shared.MailConfig{From: "shop@shop.example"})
	if err := off.Send(context.Background(), testMail()); !errors.Is(err, shared.ErrMailDisabled) || off.Enabled() {
		t.Errorf("Send without SMTP_ADDR = %v (enabled %v), want ErrMailDisabled", err, off.Enabled())
	}
}

func (s *smtpServer) rcptCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcpts
}
