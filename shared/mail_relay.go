package shared

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// MailLanes is how many mails the mail relay sends at once, each on an SMTP session of its own (the
// Mailer keeps as many open): one mail at a time waits out every round trip of its SMTP conversation
// and the server's work on it, which bounded the relay to fewer mails a second than the shop takes
// orders under load (docs/performance.md). A recipient's mails share a lane, so they still arrive in
// the order they were queued.
const MailLanes = 4

// NewMailRelay returns a Relay that sends q's mail with m, one mail per Publish call, MailLanes at once, retrying
// failures with the relay's backoff (the mail stays queued). A mail the server refused for good
// (ErrMailRejected) is set aside with Reject and logged. Without an SMTP server the relay holds: mail
// waits in the queue and one warning is logged. Metrics: mail_sent_total{kind},
// mail_failed_total{kind} (failed attempts), mail_queue_pending (at most a batch) and
// mail_queue_oldest_seconds.
func NewMailRelay(logger *slog.Logger, q MailQueue, m *Mailer, metrics *Metrics) *Relay {
	cfg := RelayConfig{OnePerPublish: true, Lanes: MailLanes, PublishTimeout: m.Timeout + 5*time.Second,
		Metrics: RelayMetrics{
			Published: MetricName{"mail_sent_total", "Mails the SMTP server accepted."},
			Errors:    MetricName{"mail_failed_total", "Failed attempts to send a mail (retried unless rejected for good)."},
			Pending:   MetricName{"mail_queue_pending", "Mails waiting at the mail relay's last pass (at most a batch)."},
			Oldest:    MetricName{"mail_queue_oldest_seconds", "Age of the oldest mail waiting at the mail relay's last pass."},
			Label:     "kind",
		}}
	if !m.Enabled() {
		cfg.Hold = "SMTP_ADDR is not set: mail stays queued"
	}
	o := &mailOutbox{MailQueue: q}
	return NewRelay(logger.With("relay", "mail"), o, mailPublisher{logger: logger, q: o, m: m}, metrics, cfg)
}

// mailOutbox is the mail relay's view of a MailQueue: its entries carry no JSON copy of their mail,
// which the publisher would only decode again; the publisher takes the mails of the last read from
// it instead. The relay reads and publishes in one goroutine, a read at a time.
type mailOutbox struct {
	MailQueue
	mu   sync.Mutex
	read map[string]Mail // the mails of the last PendingOutbox, by ID
}

func (o *mailOutbox) PendingOutbox(ctx context.Context, limit int) ([]OutboxEntry, error) {
	mails, err := o.pendingMails(ctx, limit)
	if err != nil {
		return nil, err
	}
	read := make(map[string]Mail, len(mails))
	out := make([]OutboxEntry, len(mails))
	for i, m := range mails {
		read[m.ID], out[i] = m, mailHeader(m)
	}
	o.mu.Lock()
	o.read = read
	o.mu.Unlock()
	return out, nil
}

// mail takes the mail of entry e from the last read. One missing (a second pass read meanwhile) is
// an error to retry, never a reason to set the mail aside.
func (o *mailOutbox) mail(e Event) (Mail, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m, ok := o.read[e.ID]
	delete(o.read, e.ID)
	return m, ok
}

// mailPublisher is the Relay's Publisher for mail: each event is a queued Mail.
type mailPublisher struct {
	logger *slog.Logger
	q      *mailOutbox
	m      *Mailer
}

func (p mailPublisher) Publish(ctx context.Context, _ string, events ...Event) error {
	for _, e := range events {
		ml, ok := p.q.mail(e)
		if !ok {
			return fmt.Errorf("mail %s: not in the relay's last read, retried", e.ID)
		}
		// A batch is leased for MongoMailQueue.Lease, but a slow server can take longer over a lane's
		// share of it: the lease is checked and extended right before each send.
		held, err := p.q.renew(ctx, ml.ID)
		if err != nil {
			return err
		}
		if !held {
			p.logger.Info("mail left to the copy that took it over (its lease ran out here)", "mail_id", ml.ID, "kind", ml.Kind)
			return fmt.Errorf("mail %s: %w", ml.ID, ErrEntryTaken)
		}
		err = p.m.Send(ctx, ml)
		if errors.Is(err, ErrMailRejected) {
			p.logger.Error("mail rejected for good, set aside", "mail_id", ml.ID, "kind", ml.Kind, "err", err)
			if rerr := p.q.Reject(context.WithoutCancel(ctx), ml.ID, err.Error()); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
