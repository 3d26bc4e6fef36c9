package shared

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// TestMailOutboxEntries: the relay's entries carry no copy of their mail; the publisher takes each
// mail of the last read once, and a mail it cannot find there (a second read came between) fails
// the publish to be retried, and is never set aside as rejected.
func TestMailOutboxEntries(t *testing.T) {
	q := NewMemMailQueue()
	m := Mail{ID: NewID(), Kind: "order_confirmed", To: "jane@example.com", Subject: "Your order", Text: "Hello"}
	if err := q.Enqueue(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	o := &mailOutbox{MailQueue: q}
	entries, err := o.PendingOutbox(context.Background(), 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("PendingOutbox = %v, %v; want one entry", entries, err)
	}
	if e := entries[0].Event; e.ID != m.ID || e.Type != m.Kind || e.Data != nil {
		t.Errorf("entry = %+v, want ID and Kind of the mail and no data", e)
	}
	if got, ok := o.mail(entries[0].Event); !ok || got.Text != m.Text || got.To != m.To {
		t.Fatalf("mail() = %+v, %v; want the queued mail", got, ok)
	}
	if _, ok := o.mail(entries[0].Event); ok {
		t.Error("mail() gave the same mail twice")
	}
	p := mailPublisher{logger: slog.New(slog.DiscardHandler), q: o, m: NewMailer(MailConfig{Addr: "127.0.0.1:1"})}
	err = p.Publish(context.Background(), m.Kind, entries[0].Event)
	if err == nil || errors.Is(err, ErrMailRejected) {
		t.Errorf("Publish of a mail not in the last read = %v, want an error to retry", err)
	}
	if status, _ := q.Status(m.ID); status != mailPending {
		t.Errorf("status = %q, want pending", status)
	}
}
