package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/goshop/platform/shared"
)

// relay publishes the events every order keeps in its outbox to order.events, in order per order,
// and marks them sent. It runs until its context ends. A failed publish (Kafka down) is retried with
// exponential backoff from relayMinBackoff doubling to relayMaxBackoff; nothing is dropped because an
// event leaves the outbox only after the broker acknowledged it. A crash between publish and mark
// re-sends the event with the same ID, which consumers drop as a duplicate.
type relay struct {
	logger    *slog.Logger
	store     orderStore
	publisher shared.Publisher
	poll      time.Duration // idle re-check interval
	kick      chan struct{} // a write happened: look now
	batch     int           // orders per pass

	published  *shared.CounterVec
	failures   *shared.CounterVec
	lastUnsent atomic.Int64 // orders with unsent events seen by the last pass, for the gauge
}

const (
	relayMinBackoff = 100 * time.Millisecond
	relayMaxBackoff = 30 * time.Second
)

func newRelay(logger *slog.Logger, store orderStore, pub shared.Publisher, metrics *shared.Metrics, poll time.Duration) *relay {
	r := &relay{logger: logger, store: store, publisher: pub, poll: poll, kick: make(chan struct{}, 1), batch: 100,
		published: metrics.Counter("order_outbox_published_total", "Order events published from the outbox.", "type"),
		failures:  metrics.Counter("order_outbox_publish_failures_total", "Failed outbox publish passes."),
	}
	metrics.Gauge("order_outbox_unsent_orders", "Orders holding unsent events at the relay's last pass.", func() float64 { return float64(r.lastUnsent.Load()) })
	return r
}

// Notify wakes the relay after a write; it never blocks.
func (r *relay) Notify() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends. It returns nil.
func (r *relay) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		wait := r.poll
		more, err := r.pass(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.failures.Inc()
			backoff = min(max(backoff*2, relayMinBackoff), relayMaxBackoff)
			wait = backoff
			r.logger.Warn("outbox relay: publish failed, retrying", "err", err, "backoff", backoff.String())
		case more:
			backoff = 0
			continue
		default:
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.kick:
			t.Stop()
			if err != nil {
				// A new write does not mean Kafka is back: keep honouring the backoff.
				if !sleepCtx(ctx, backoff) {
					return nil
				}
			}
		case <-t.C:
		}
	}
}

// pass publishes one batch; more reports that a full batch was found (look again at once). The
// unsent events of every order in the batch go out in one Publish call: one broker round trip for
// the batch instead of one per order, with each order's events still in order (same key, same
// partition, written in sequence). If the call fails nothing is marked, so all are retried.
func (r *relay) pass(ctx context.Context) (more bool, err error) {
	orders, err := r.store.Unsent(ctx, r.batch)
	if err != nil {
		return false, err
	}
	r.lastUnsent.Store(int64(len(orders)))
	var evs []shared.Event
	for _, o := range orders {
		for _, se := range o.Events[min(o.SentSeq, len(o.Events)):] {
			evs = append(evs, se.envelope(o.ID))
		}
	}
	if len(evs) > 0 {
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := r.publisher.Publish(pctx, shared.TopicOrder, evs...)
		cancel()
		if err != nil {
			return false, err
		}
		for _, e := range evs {
			r.published.Inc(e.Type)
		}
	}
	for _, o := range orders {
		if err := r.store.MarkSent(ctx, o.ID, len(o.Events)); err != nil {
			return false, err
		}
	}
	return len(orders) == r.batch, nil
}

// sleepCtx sleeps d or until ctx ends; it reports whether the full sleep happened.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
