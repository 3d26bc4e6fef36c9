package shared_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
)

// enqueueMails queues n mails, oldest first, and returns their IDs in that order.
func enqueueMails(t *testing.T, q shared.MailQueue, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		m := testMail()
		m.CreatedAt = time.Now().Add(time.Duration(i) * time.Millisecond)
		if err := q.Enqueue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// connections returns the server connection that carried each accepted mail, in order.
func connections(sessions []smtpSession) []int {
	var out []int
	for _, s := range sessions {
		out = append(out, s.Connection)
	}
	return out
}

// wantSent fails t unless srv accepted exactly the mails ids, in order, on the connections conns.
func wantSent(t *testing.T, srv *smtpServer, ids []string, conns []int) {
	t.Helper()
	if got := messageIDs(t, srv.mails()); !slices.Equal(got, ids) {
		t.Fatalf("server accepted %v, want each of %v once, in order", got, ids)
	}
	if c := connections(srv.mails()); !slices.Equal(c, conns) {
		t.Errorf("connections of the mails = %v, want %v", c, conns)
	}
}

// relayBatch starts a mail relay to srv (mailRelay), queues n mails and lets one pass run.
func relayBatch(t *testing.T, srv *smtpServer, n int) (q *shared.MemMailQueue, ids []string, r *shared.Relay, metrics *shared.Metrics, stop func()) {
	t.Helper()
	q, r, metrics, stop = mailRelay(t, srv)
	ids = enqueueMails(t, q, n)
	r.Wake()
	synctest.Wait()
	return q, ids, r, metrics, stop
}

// wantStatus fails t unless each mail of ids has status want in q.
func wantStatus(t *testing.T, q *shared.MemMailQueue, want string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if got, _ := q.Status(id); got != want {
			t.Errorf("mail %s: status %q, want %q", id, got, want)
		}
	}
}

// TestMailerKeepsSession: over TCP with STARTTLS and AUTH, mails sent one after the other share one
// connection (TLS and AUTH once), and Close ends it with QUIT.
func TestMailerKeepsSession(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := testTLS(t)
	srv := &smtpServer{tls: srvTLS, auth: true}
	m := shared.NewMailer(shared.MailConfig{Addr: srv.listen(t), Username: "shop", Password: "s3cret",
		From: "GoShop <shop@shop.example>"})
	m.TLS = cliTLS
	for range 3 {
		if err := m.Send(context.Background(), testMail()); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.mails()
	if c := connections(got); !slices.Equal(c, []int{1, 1, 1}) {
		t.Errorf("connections of the mails = %v, want [1 1 1]", c)
	}
	for i, s := range got {
		if !s.TLS || s.Auth != "\x00shop\x00s3cret" {
			t.Errorf("mail %d: TLS %v, AUTH %q; want both", i, s.TLS, s.Auth)
		}
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if conns, quits := srv.counts(); conns != 1 || quits != 1 {
		t.Errorf("server: %d connections, %d QUITs; want 1, 1", conns, quits)
	}
	// After Close a Send still works, on a session of its own.
	if err := m.Send(context.Background(), testMail()); err != nil {
		t.Fatal(err)
	}
	if conns, quits := srv.counts(); conns != 2 || quits != 2 {
		t.Errorf("after Close: %d connections, %d QUITs; want 2, 2", conns, quits)
	}
}

// TestMailRelaySessionPerBatch: a batch goes over one connection, which stays open for IdleTimeout
// after the last mail and is then ended with QUIT; the next mail dials anew.
func TestMailRelaySessionPerBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &smtpServer{}
		q, ids, r, _, stop := relayBatch(t, srv, 3)
		defer stop()
		wantSent(t, srv, ids, []int{1, 1, 1})
		idle := shared.NewMailer(shared.MailConfig{}).IdleTimeout
		time.Sleep(idle - time.Nanosecond)
		synctest.Wait()
		if conns, quits := srv.counts(); conns != 1 || quits != 0 {
			t.Fatalf("just before the idle timeout: %d connections, %d QUITs; want 1, 0", conns, quits)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if _, quits := srv.counts(); quits != 1 {
			t.Fatalf("after the idle timeout: %d QUITs, want 1", quits)
		}
		enqueueMails(t, q, 1)
		r.Wake()
		synctest.Wait()
		if c := connections(srv.mails()); !slices.Equal(c, []int{1, 1, 1, 2}) {
			t.Errorf("connections of the mails = %v, want [1 1 1 2]", c)
		}
	})
}

// TestMailRelayServerHangsUp: a server that closes the connection after each mail (its own idle
// limit) costs a new connection, not an error; one that hangs up during a transaction fails that
// mail, which the relay sends again after its backoff with the ones behind it, each once.
func TestMailRelayServerHangsUp(t *testing.T) {
	t.Run("between mails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := &smtpServer{closeAfter: 1}
			_, ids, _, metrics, stop := relayBatch(t, srv, 3)
			defer stop()
			wantSent(t, srv, ids, []int{1, 2, 3})
			if failed := metrics.Counter("mail_failed_total", "").Value("order_confirmed"); failed != 0 {
				t.Errorf("mail_failed_total = %d, want 0", failed)
			}
		})
	})
	t.Run("during DATA", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := &smtpServer{dataReplies: []string{"250 ok", "drop"}}
			q, ids, _, metrics, stop := relayBatch(t, srv, 3)
			defer stop()
			if got := messageIDs(t, srv.mails()); !slices.Equal(got, ids[:1]) {
				t.Fatalf("first pass sent %v, want %v", got, ids[:1])
			}
			wantStatus(t, q, "sent", ids[0])
			wantStatus(t, q, "pending", ids[1:]...)
			time.Sleep(100 * time.Millisecond) // the relay's first backoff
			synctest.Wait()
			wantSent(t, srv, ids, []int{1, 2, 2})
			wantStatus(t, q, "sent", ids...)
			if failed := metrics.Counter("mail_failed_total", "").Value("order_confirmed"); failed != 1 {
				t.Errorf("mail_failed_total = %d, want 1", failed)
			}
		})
	})
}

// TestMailRelaySessionReplies: a 4xx to one mail's RCPT leaves it and the mails behind it pending
// until the relay's retry; a 5xx to one mail's RCPT or DATA sets that mail aside for good and the
// rest follow at the relay's retry. Either way the next mail gets a new connection.
func TestMailRelaySessionReplies(t *testing.T) {
	t.Run("4xx to RCPT", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := &smtpServer{rcptReplies: []string{"250 ok", "452 mailbox full"}}
			q, ids, _, _, stop := relayBatch(t, srv, 3)
			defer stop()
			wantStatus(t, q, "sent", ids[0])
			wantStatus(t, q, "pending", ids[1:]...)
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			wantSent(t, srv, ids, []int{1, 2, 2})
		})
	})
	for _, tt := range []struct {
		name string
		srv  *smtpServer
	}{
		{"5xx to RCPT", &smtpServer{rcptReplies: []string{"250 ok", "550 no such user"}}},
		{"5xx to DATA", &smtpServer{dataReplies: []string{"250 ok", "554 content refused"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := tt.srv
				q, ids, _, _, stop := relayBatch(t, srv, 3)
				defer stop()
				wantStatus(t, q, "sent", ids[0])
				wantStatus(t, q, "rejected", ids[1])
				time.Sleep(100 * time.Millisecond)
				synctest.Wait()
				wantSent(t, srv, []string{ids[0], ids[2]}, []int{1, 2})
				wantStatus(t, q, "sent", ids[0], ids[2])
				wantStatus(t, q, "rejected", ids[1])
			})
		})
	}
}

// TestMailerStaleSessionRedialOnce: a kept session that answers 421 to MAIL is replaced within the
// same Send; a new session that does the same fails the Send (no endless redialling).
func TestMailerStaleSessionRedialOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &smtpServer{mailReplies: []string{"250 ok", "421 closing", "421 closing"}}
		m := shared.NewMailer(shared.MailConfig{Addr: "127.0.0.1:25", From: "shop@shop.example"})
		m.Dial = srv.pipeDial()
		defer m.Close(context.Background())
		if err := m.Send(context.Background(), testMail()); err != nil {
			t.Fatal(err)
		}
		err := m.Send(context.Background(), testMail())
		if err == nil || errors.Is(err, shared.ErrMailRejected) {
			t.Fatalf("Send = %v, want a temporary error", err)
		}
		if conns, _ := srv.counts(); conns != 2 {
			t.Errorf("%d connections, want 2 (one redial)", conns)
		}
		if err := m.Send(context.Background(), testMail()); err != nil {
			t.Fatal(err)
		}
		if c := connections(srv.mails()); !slices.Equal(c, []int{1, 3}) {
			t.Errorf("connections of the mails = %v, want [1 3]", c)
		}
	})
}

// BenchmarkMailerSend sends the test mail over TCP to the test server, on a kept session and with
// one session per mail (IdleTimeout -1: dial, EHLO, MAIL, RCPT, DATA, QUIT each time). Client and
// server share the process, so ns/op is the cost of both ends.
func BenchmarkMailerSend(b *testing.B) {
	for _, bb := range []struct {
		name string
		idle time.Duration
	}{{"kept", 5 * time.Second}, {"per-mail", -1}} {
		b.Run(bb.name, func(b *testing.B) {
			srv := &smtpServer{}
			addr := srv.listen(b)
			m := shared.NewMailer(shared.MailConfig{Addr: addr, From: "GoShop <shop@shop.example>"})
			m.IdleTimeout = bb.idle
			defer m.Close(context.Background())
			ml := testMail()
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Send(context.Background(), ml); err != nil {
					b.Fatal(err)
				}
			}
			if conns, _ := srv.counts(); bb.idle > 0 && conns != 1 {
				b.Errorf("%d connections, want 1", conns)
			}
		})
	}
}

// TestMailRelayLanes: mails to several recipients go out at once, each lane on a session of its
// own; the sessions are kept and carry the next batch; each recipient's mails arrive in the order
// they were queued.
func TestMailRelayLanes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &smtpServer{hold: make(chan struct{})}
		q, r, _, stop := mailRelay(t, srv)
		defer stop()
		to := []string{"ann@example.com", "bob@example.com", "eve@example.com", "joe@example.com",
			"max@example.com", "sue@example.com", "tom@example.com", "zoe@example.com"}
		want := map[string][]string{}
		queue := func() {
			for _, addr := range to {
				m := testMail()
				m.To = addr
				if err := q.Enqueue(context.Background(), m); err != nil {
					t.Fatal(err)
				}
				want[addr] = append(want[addr], m.ID)
			}
		}
		synctest.Wait() // the relay's first pass, over an empty queue, is done
		queue()
		r.Wake()
		synctest.Wait()
		conns, _ := srv.counts()
		if conns < 2 || conns > shared.MailLanes {
			t.Errorf("%d sessions open while the server holds each mail, want one per lane in use (2 to %d)", conns, shared.MailLanes)
		}
		close(srv.hold)
		synctest.Wait()
		queue()
		r.Wake()
		synctest.Wait()
		if again, _ := srv.counts(); again != conns {
			t.Errorf("the second batch opened %d more sessions, want none (the lanes' sessions are kept)", again-conns)
		}
		got := map[string][]string{}
		for _, s := range srv.mails() {
			addr := strings.Trim(s.To, "TO:<>")
			got[addr] = append(got[addr], messageIDs(t, []smtpSession{s})[0])
		}
		for _, addr := range to {
			if !slices.Equal(got[addr], want[addr]) {
				t.Errorf("%s got %v, want %v in that order", addr, got[addr], want[addr])
			}
		}
	})
}

// TestMailRelayLanesOverlapRoundTrips: against a server that takes 5 ms over every command (a
// remote relay's round trip), one mail at a time costs at least 3 × 5 ms (MAIL, RCPT, DATA; one lane
// took 606 ms for 40 mails); the lanes send 40 mails to 40 recipients in under half of that sum. Fake time (synctest),
// so the bound is exact, not a guess about the machine.
func TestMailRelayLanesOverlapRoundTrips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, delay = 40, 5 * time.Millisecond
		srv := &smtpServer{delay: delay}
		q, r, _, stop := mailRelay(t, srv)
		defer stop()
		synctest.Wait() // the relay's first pass, over an empty queue, is done
		for i := range n {
			m := testMail()
			m.To = fmt.Sprintf("customer%d@example.com", i)
			if err := q.Enqueue(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		r.Wake()
		for len(srv.mails()) < n {
			time.Sleep(time.Millisecond)
		}
		took, oneAtATime := time.Since(start), n*3*delay
		t.Logf("%d mails in %v; one at a time at least %v", n, took, oneAtATime)
		if took > oneAtATime/2 {
			t.Errorf("%d mails took %v, want under %v (half of one at a time)", n, took, oneAtATime/2)
		}
	})
}
