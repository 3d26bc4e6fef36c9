package shared_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// mailQueueContract is what every MailQueue keeps, checked on an empty queue: the outbox contract,
// refusal of bad mail, idempotent Enqueue (also after sending), Reject, and bodies dropped once a
// mail is finished (bodies returns what the queue still stores of a mail's Text and HTML).
func mailQueueContract(t *testing.T, q shared.MailQueue, bodies func(id string) string) {
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second)
	n := 0
	enqueue := func(t *testing.T, m shared.Mail) shared.Mail {
		t.Helper()
		n++
		m.CreatedAt = base.Add(time.Duration(n) * time.Millisecond) // write order = queue order
		if err := q.Enqueue(ctx, m); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		return m
	}
	sharedtest.OutboxContract{Store: q, Write: func(t *testing.T, key string) string {
		return enqueue(t, testMail()).ID
	}}.Run(t)

	bad := testMail()
	bad.Subject = "Hi\r\nBcc: all@example.com"
	var e *shared.Error
	if err := q.Enqueue(ctx, bad); !errors.As(err, &e) || e.Status() != 400 {
		t.Errorf("Enqueue(CR/LF in subject) = %v, want a 400 *Error", err)
	}

	first := enqueue(t, testMail())
	again := first
	again.Subject = "a redelivered event"
	enqueue(t, again)
	pending, err := q.PendingOutbox(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].Event.ID != first.ID {
		t.Fatalf("after enqueueing one ID twice: pending = %v (%v), want only %s", pending, err, first.ID)
	}
	var got shared.Mail
	if err := pending[0].Event.Decode(&got); err != nil || got.Subject != first.Subject || got.HTML != first.HTML ||
		got.To != first.To || !got.CreatedAt.Equal(first.CreatedAt) || pending[0].Topic != first.Kind {
		t.Errorf("pending mail = %+v (%v), want the first one enqueued, %+v", got, err, first)
	}
	if err := q.MarkPublished(ctx, pending); err != nil {
		t.Fatal(err)
	}
	enqueue(t, first) // the event arrives once more after the mail went out
	if pending, _ := q.PendingOutbox(ctx, 10); len(pending) != 0 {
		t.Errorf("an ID enqueued again after sending is pending: %v", pending)
	}
	if b := bodies(first.ID); b != "" {
		t.Errorf("a sent mail still stores its bodies: %q", b)
	}

	rejected, kept := enqueue(t, testMail()), enqueue(t, testMail())
	if err := q.Reject(ctx, rejected.ID, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	if err := q.Reject(ctx, shared.NewID(), "unknown"); err != nil {
		t.Errorf("Reject(unknown) = %v, want nil", err)
	}
	if pending, _ := q.PendingOutbox(ctx, 10); len(pending) != 1 || pending[0].Event.ID != kept.ID {
		t.Errorf("after Reject: pending = %v, want only %s", pending, kept.ID)
	}
	if b := bodies(rejected.ID); b != "" {
		t.Errorf("a rejected mail still stores its bodies: %q", b)
	}
}

func TestMemMailQueue(t *testing.T) {
	t.Parallel()
	q := shared.NewMemMailQueue()
	mailQueueContract(t, q, func(id string) string {
		_, m := q.Status(id)
		return m.Text + m.HTML
	})
}

// TestMongoMailQueue runs the contract against MONGO_TEST_URI (MongoDB or FerretDB; skipped without it).
func TestMongoMailQueue(t *testing.T) {
	ctx, coll := shared.TestCollection(t)
	q := shared.NewMongoMailQueue(coll)
	for range 2 { // at every start
		if err := q.EnsureIndexes(ctx); err != nil {
			t.Fatalf("EnsureIndexes: %v", err)
		}
	}
	mailQueueContract(t, q, func(id string) string {
		var doc bson.M
		if err := coll.FindOne(ctx, bson.M{"_id": id}).Decode(&doc); err != nil {
			t.Fatalf("find %s: %v", id, err)
		}
		text, _ := doc["text"].(string)
		html, _ := doc["html"].(string)
		return text + html
	})
}

// TestMongoMailQueueRetention runs against MONGO_TEST_URI (skipped without it): a finished mail
// carries finished_at as a date and a pending one none, and EnsureRetention (twice, as at every
// start) leaves a TTL index on it, so the collection does not keep a document per mail ever sent.
// A server without TTL indexes (FerretDB) refuses the index: that part is skipped there.
func TestMongoMailQueueRetention(t *testing.T) {
	ctx, coll := shared.TestCollection(t)
	q := shared.NewMongoMailQueue(coll)
	sent, pending := testMail(), testMail()
	for _, m := range []shared.Mail{sent, pending} {
		if err := q.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.MarkPublished(ctx, []shared.OutboxEntry{{Event: shared.Event{ID: sent.ID}}}); err != nil {
		t.Fatal(err)
	}
	for id, wantDate := range map[string]bool{sent.ID: true, pending.ID: false} {
		raw, err := coll.FindOne(ctx, bson.M{"_id": id}).Raw()
		if err != nil {
			t.Fatalf("find %s: %v", id, err)
		}
		_, isDate := raw.Lookup("finished_at").TimeOK()
		if isDate != wantDate {
			t.Errorf("mail %s: finished_at is a date = %v, want %v (a TTL index reads dates only)", id, isDate, wantDate)
		}
	}
	for range 2 {
		if err := q.EnsureRetention(ctx); err != nil {
			t.Skipf("EnsureRetention: %v (a server without TTL indexes)", err)
		}
	}
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := int32(shared.MailRetention.Seconds())
	for _, s := range specs {
		if s.ExpireAfterSeconds != nil && *s.ExpireAfterSeconds == want && strings.Contains(string(s.KeysDocument), "finished_at") {
			return
		}
	}
	t.Errorf("no TTL index of %d s on finished_at among %v", want, specs)
}

// TestMongoMailQueueLease runs against MONGO_TEST_URI (skipped without it): two copies of a program
// sharing the collection never hold the same mail at once, each copy gets its own leased mails again,
// and a mail whose lease ran out (its sender died, or was slow) is taken over; the slow copy, which
// asks before each send (renew), then leaves it alone.
func TestMongoMailQueueLease(t *testing.T) {
	ctx, coll := shared.TestCollection(t)
	a, b := shared.NewMongoMailQueue(coll), shared.NewMongoMailQueue(coll)
	t0 := time.Now()
	aNow := t0
	shared.SetMailQueueClock(a, func() time.Time { return aNow })
	later := t0
	shared.SetMailQueueClock(b, func() time.Time { return later })
	// Both stamped here, m2 a millisecond (Mongo's precision) after m1: a CreatedAt left to
	// Enqueue's clock could come after m2's when the test is descheduled for a millisecond.
	m1, m2 := testMail(), testMail()
	m1.CreatedAt = time.Now()
	m2.CreatedAt = m1.CreatedAt.Add(time.Millisecond)
	for _, m := range []shared.Mail{m1, m2} {
		if err := a.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(q *shared.MongoMailQueue) []string {
		t.Helper()
		got, err := q.PendingOutbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range got {
			out = append(out, e.Event.ID)
		}
		return out
	}
	both := []string{m1.ID, m2.ID}
	if got := ids(a); !slices.Equal(got, both) {
		t.Fatalf("copy a: pending %v, want %v", got, both)
	}
	if got := ids(b); len(got) != 0 {
		t.Errorf("copy b while a holds the lease: pending %v, want none", got)
	}
	if got := ids(a); !slices.Equal(got, both) {
		t.Errorf("copy a again (its own lease): pending %v, want %v", got, both)
	}
	later = t0.Add(3 * time.Minute) // a's lease (2 min) ran out: a died while sending
	if got := ids(b); !slices.Equal(got, both) {
		t.Fatalf("copy b after a's lease ran out: pending %v, want %v", got, both)
	}
	if got := ids(a); len(got) != 0 {
		t.Errorf("copy a while b holds the lease: pending %v, want none", got)
	}
	renew := func(q *shared.MongoMailQueue, id string) bool {
		t.Helper()
		held, err := shared.RenewMail(ctx, q, id)
		if err != nil {
			t.Fatal(err)
		}
		return held
	}
	if renew(a, m1.ID) || !renew(b, m1.ID) {
		t.Errorf("renew after b took m1 over: a holds %v, b holds %v; want false, true", renew(a, m1.ID), renew(b, m1.ID))
	}
	// A renew holds the mail for a lease from now: b renews m1 at t0+4 min (to t0+6), not m2 (its
	// lease from the read at t0+3 ends at t0+5), so at t0+5.5 a may take m2 but not m1.
	later = t0.Add(4 * time.Minute)
	renew(b, m1.ID)
	aNow = t0.Add(5*time.Minute + 30*time.Second)
	if got := ids(a); !slices.Equal(got, []string{m2.ID}) {
		t.Errorf("copy a at t0+5.5 min: pending %v, want only %s (b renewed m1 to t0+6 min)", got, m2.ID)
	}
	if err := b.MarkPublished(ctx, []shared.OutboxEntry{{Event: shared.Event{ID: m1.ID}}}); err != nil {
		t.Fatal(err)
	}
	if renew(b, m1.ID) {
		t.Errorf("renew of a sent mail: held, want not")
	}
}

// mailRelay returns a queue and a running mail relay sending to srv over net.Pipe, for a synctest
// bubble; stop ends the relay, waits for it and closes the mailer's kept session.
func mailRelay(t *testing.T, srv *smtpServer) (q *shared.MemMailQueue, r *shared.Relay, metrics *shared.Metrics, stop func()) {
	q, metrics = shared.NewMemMailQueue(), shared.NewMetrics("test")
	m := shared.NewMailer(shared.MailConfig{Addr: "127.0.0.1:25", From: "shop@shop.example"})
	m.Dial = srv.pipeDial()
	r = shared.NewMailRelay(quiet(), q, m, metrics)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	return q, r, metrics, func() {
		cancel()
		<-done
		m.Close(context.Background())
	}
}

func messageIDs(t *testing.T, sessions []smtpSession) []string {
	var out []string
	for _, s := range sessions {
		msg, err := mail.ReadMessage(strings.NewReader(s.Data))
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := strings.Cut(strings.Trim(msg.Header.Get("Message-ID"), "<>"), "@")
		out = append(out, id)
	}
	return out
}

// TestMailRelayRetry: a 4xx leaves the mail queued and the relay retries it after its backoff (100 ms,
// then 200 ms), counting each failure; then it is sent once and leaves the queue.
func TestMailRelayRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &smtpServer{rcptReplies: []string{"451 try later", "451 try later"}}
		q, r, metrics, stop := mailRelay(t, srv)
		defer stop()
		m := testMail()
		if err := q.Enqueue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		r.Wake()
		synctest.Wait()
		for i, step := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
			if status, _ := q.Status(m.ID); status != "pending" || len(srv.mails()) != 0 {
				t.Fatalf("after failure %d: status %q, %d sent; want pending, none sent", i+1, status, len(srv.mails()))
			}
			time.Sleep(step - time.Nanosecond)
			synctest.Wait()
			if srv.rcptCount() != i+1 {
				t.Fatalf("retried before the backoff of %v: %d attempts", step, srv.rcptCount())
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
		}
		if got := messageIDs(t, srv.mails()); !slices.Equal(got, []string{m.ID}) {
			t.Fatalf("sent %v, want [%s] once", got, m.ID)
		}
		if status, _ := q.Status(m.ID); status != "sent" {
			t.Errorf("status = %q, want sent", status)
		}
		failed := metrics.Counter("mail_failed_total", "").Value(m.Kind)
		sent := metrics.Counter("mail_sent_total", "").Value(m.Kind)
		if failed != 2 || sent != 1 {
			t.Errorf("mail_failed_total = %d, mail_sent_total = %d; want 2, 1", failed, sent)
		}
	})
}

// TestMailRelayOneMailPerSend: a failure in the middle of a batch never re-sends the mails before it:
// each of three mails reaches the server exactly once, in order.
func TestMailRelayOneMailPerSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &smtpServer{rcptReplies: []string{"250 ok", "421 closing"}}
		q, r, _, stop := mailRelay(t, srv)
		defer stop()
		var want []string
		for i := range 3 {
			m := testMail()
			m.CreatedAt = time.Now().Add(time.Duration(i) * time.Millisecond)
			if err := q.Enqueue(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			want = append(want, m.ID)
		}
		r.Wake()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := messageIDs(t, srv.mails()); !slices.Equal(got, want) {
			t.Errorf("server received %v, want each of %v once, in order", got, want)
		}
	})
}

// TestMailRelayRejected: a 5xx to RCPT sets that mail aside (logged, counted, never retried) and the
// mails behind it still go out.
func TestMailRelayRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &smtpServer{rcptReplies: []string{"550 no such user"}}
		q, r, metrics, stop := mailRelay(t, srv)
		defer stop()
		bounced, next := testMail(), testMail()
		next.CreatedAt = time.Now().Add(time.Millisecond)
		for _, m := range []shared.Mail{bounced, next} {
			if err := q.Enqueue(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		r.Wake()
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := messageIDs(t, srv.mails()); !slices.Equal(got, []string{next.ID}) {
			t.Errorf("server received %v, want only %s", got, next.ID)
		}
		if status, _ := q.Status(bounced.ID); status != "rejected" || srv.rcptCount() != 2 {
			t.Errorf("bounced mail: status %q after %d RCPTs, want rejected after 2 (no retry)", status, srv.rcptCount())
		}
		if failed := metrics.Counter("mail_failed_total", "").Value(bounced.Kind); failed != 1 {
			t.Errorf("mail_failed_total = %d, want 1", failed)
		}
	})
}

// TestMailRelayHeld: without SMTP_ADDR the relay sends nothing, warns once, and the gauges still show
// what waits.
func TestMailRelayHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		q, metrics := shared.NewMemMailQueue(), shared.NewMetrics("test")
		r := shared.NewMailRelay(slog.New(slog.NewTextHandler(&logs, nil)), q, shared.NewMailer(shared.MailConfig{}), metrics)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.Run(ctx) }()
		m := testMail()
		if err := q.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		<-done
		if status, _ := q.Status(m.ID); status != "pending" {
			t.Errorf("status = %q, want pending", status)
		}
		if n := strings.Count(logs.String(), "SMTP_ADDR"); n != 1 {
			t.Errorf("warned %d times, want once:\n%s", n, logs.String())
		}
		var b strings.Builder
		metrics.WriteTo(&b)
		if !strings.Contains(b.String(), `mail_queue_pending{service="test"} 1`) ||
			!strings.Contains(b.String(), `mail_queue_oldest_seconds{service="test"} 60`) {
			t.Errorf("gauges:\n%s\nwant mail_queue_pending 1, mail_queue_oldest_seconds 60", b.String())
		}
	})
}
