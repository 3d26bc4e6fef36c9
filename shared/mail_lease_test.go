package shared

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// lostQueue is a queue whose lease on every mail was taken over by another copy.
type lostQueue struct{ *MemMailQueue }

func (lostQueue) renew(context.Context, string) (bool, error) { return false, nil }

// TestMailPublisherAsksBeforeSending: the mail relay's publisher asks the queue before each send and
// leaves a mail another copy took over to that copy (ErrEntryTaken, nothing sent: the mailer here
// has no server and would fail).
func TestMailPublisherAsksBeforeSending(t *testing.T) {
	t.Parallel()
	m := Mail{ID: NewID(), Kind: "order_paid", To: "a@shop.example", Subject: "Paid", Text: "paid"}
	o := &mailOutbox{MailQueue: lostQueue{NewMemMailQueue()}, read: map[string]Mail{m.ID: m}}
	p := mailPublisher{logger: slog.New(slog.DiscardHandler), q: o, m: NewMailer(MailConfig{})}
	if err := p.Publish(context.Background(), m.Kind, Event{ID: m.ID}); !errors.Is(err, ErrEntryTaken) {
		t.Errorf("Publish of a mail taken over = %v, want ErrEntryTaken", err)
	}
}
