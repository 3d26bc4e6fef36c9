package shared

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync/atomic"
	"time"
)

// OutboxEntry is one event waiting in a service's transactional outbox to be published to Topic. Seq
// is the store's own position mark (a version, an index into an event list, or 0 when the store needs
// none); the relay hands it back to MarkPublished unchanged.
type OutboxEntry struct {
	Topic string
	Event Event
	Seq   int64
}

// ByAggregate yields entries grouped by their event's AggregateID: each aggregate once, in the order
// it first appears, with its entries in their order. A store that keeps events per aggregate
// acknowledges a group in one write (MarkPublished).
func ByAggregate(entries []OutboxEntry) iter.Seq2[string, []OutboxEntry] {
	return func(yield func(string, []OutboxEntry) bool) {
		groups := map[string][]OutboxEntry{}
		var ids []string
		for _, e := range entries {
			id := e.Event.AggregateID
			if _, ok := groups[id]; !ok {
				ids = append(ids, id)
			}
			groups[id] = append(groups[id], e)
		}
		for _, id := range ids {
			if !yield(id, groups[id]) {
				return
			}
		}
	}
}

// OutboxStore is the part of a service's store the Relay uses. Events are written to the outbox in the
// same atomic operation as the change that caused them; the relay publishes and then acknowledges them.
type OutboxStore interface {
	// PendingOutbox returns a batch of unpublished entries, at most about limit (a store that keeps
	// events per aggregate may count aggregates). One aggregate's entries come in publish order.
	PendingOutbox(ctx context.Context, limit int) ([]OutboxEntry, error)
	// MarkPublished acknowledges entries the broker accepted, so they are not returned again. Entries
	// already acknowledged are ignored; entries written since PendingOutbox read them stay pending.
	MarkPublished(ctx context.Context, entries []OutboxEntry) error
}

// ErrEntryTaken is what a Publisher returns, wrapped, for an entry another copy of the program holds
// now (its lease on the entry ran out and the other copy took it over): the relay neither counts nor
// acknowledges it and goes on, leaving it to that copy. It applies to one-entry calls (OnePerPublish,
// Lanes); in a call of several entries it is a failure like any other.
var ErrEntryTaken = errors.New("entry taken over by another copy")

// RelayConfig tunes a Relay. Zero fields take the default named on each.
type RelayConfig struct {
	Batch          int           // entries read per pass; default 100
	Interval       time.Duration // poll period when nothing woke the relay; default 1 s
	MinBackoff     time.Duration // first wait after a failed pass; default 100 ms
	MaxBackoff     time.Duration // cap of the doubling wait while passes fail; default 10 s
	PublishTimeout time.Duration // bound of one Publish call; default 10 s
	FinalFlush     time.Duration // bound of the last flush when Run's context ends; default 5 s
	// OnePerPublish gives each entry its own Publish call (default: consecutive entries of one topic
	// share a call), for a publisher that cannot deliver a batch atomically, such as SMTP: a failure
	// in the middle then never re-sends the entries before it.
	OnePerPublish bool
	// Lanes, above 1, publishes a pass's entries one per Publish call on that many goroutines at
	// once, for a publisher whose calls mostly wait on a server (SMTP). An aggregate's entries all
	// go to one lane, in their order, and a lane stops at its first failure, so an aggregate's
	// entries still never overtake each other while the other lanes go on. Implies OnePerPublish.
	Lanes int
	// Hold, when set, keeps Run from publishing: it logs Hold once as a warning and only reads the
	// outbox every Interval so the gauges stay current (mail queued while no SMTP server is set).
	Hold string
	// Metrics renames the relay's metrics; the zero value keeps the outbox_* names.
	Metrics RelayMetrics
}

// RelayMetrics names a relay's metrics, for a relay that carries something other than Kafka events.
// Each empty field keeps its outbox_* default. With Label set, both counters carry that one label,
// valued by the entry's Topic, instead of topic (and type on the published counter).
type RelayMetrics struct {
	Published, Errors, Pending, Oldest MetricName
	Label                              string
}

// MetricName is a metric's name and help text.
type MetricName struct{ Name, Help string }

func (n MetricName) or(def MetricName) MetricName {
	if n.Name == "" {
		return def
	}
	return n
}

func (c RelayConfig) withDefaults() RelayConfig {
	c.Batch = cmpOr(c.Batch, 100)
	c.Interval = cmpOr(c.Interval, time.Second)
	c.MinBackoff = cmpOr(c.MinBackoff, 100*time.Millisecond)
	c.MaxBackoff = cmpOr(c.MaxBackoff, 10*time.Second)
	c.PublishTimeout = cmpOr(c.PublishTimeout, 10*time.Second)
	c.FinalFlush = cmpOr(c.FinalFlush, 5*time.Second)
	return c
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Relay publishes a service's outbox: woken by Wake after a write, and every Interval to pick up what
// another instance or a crash left behind. Delivery is at least once: an entry is acknowledged only
// after the broker accepted it, so a Kafka outage delays events and never loses them, and a crash
// between publish and acknowledgement re-sends an event with the same ID, which consumers drop.
// Entries are published in the store's order, consecutive entries of one topic in one Publish call,
// and a pass stops at the first failure, so one aggregate's events never overtake each other.
//
// Metrics: outbox_published_total{topic,type}, outbox_publish_errors_total{topic} (failed Publish
// calls), outbox_pending (entries the last pass saw waiting, at most a batch) and
// outbox_oldest_pending_seconds (age of the oldest of those; 0 when none).
type Relay struct {
	logger    *slog.Logger
	store     OutboxStore
	publisher Publisher
	cfg       RelayConfig
	wake      chan struct{}

	published *CounterVec
	errors    *CounterVec
	byTopic   bool // the counters carry the entry's Topic only (RelayMetrics.Label)
	pending   atomic.Int64
	oldest    atomic.Int64 // UnixNano of the oldest pending entry seen by the last pass; 0 when none
}

// NewRelay returns a relay of store's outbox to publisher that registers its metrics in metrics.
func NewRelay(logger *slog.Logger, store OutboxStore, publisher Publisher, metrics *Metrics, cfg RelayConfig) *Relay {
	r := &Relay{logger: logger, store: store, publisher: publisher, cfg: cfg.withDefaults(), wake: make(chan struct{}, 1)}
	names := cfg.Metrics
	published := names.Published.or(MetricName{"outbox_published_total", "Events the outbox relay published."})
	errs := names.Errors.or(MetricName{"outbox_publish_errors_total", "Failed publish calls of the outbox relay (the events stay in the outbox)."})
	pending := names.Pending.or(MetricName{"outbox_pending", "Outbox entries waiting at the relay's last pass (at most a batch)."})
	oldest := names.Oldest.or(MetricName{"outbox_oldest_pending_seconds", "Age of the oldest outbox entry waiting at the relay's last pass."})
	if names.Label != "" {
		r.byTopic = true
		r.published = metrics.Counter(published.Name, published.Help, names.Label)
		r.errors = metrics.Counter(errs.Name, errs.Help, names.Label)
	} else {
		r.published = metrics.Counter(published.Name, published.Help, "topic", "type")
		r.errors = metrics.Counter(errs.Name, errs.Help, "topic")
	}
	metrics.Gauge(pending.Name, pending.Help, func() float64 {
		return float64(r.pending.Load())
	})
	metrics.Gauge(oldest.Name, oldest.Help, func() float64 {
		if o := r.oldest.Load(); o != 0 {
			return time.Since(time.Unix(0, o)).Seconds()
		}
		return 0
	})
	return r
}

// Wake asks the relay to publish now; a handler calls it after writing an event. It never blocks, and
// while the relay is backing off from a failure it does not cut the backoff short.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends: at once, then on Wake and every Interval. A failed pass is retried
// after MinBackoff doubling to MaxBackoff. When ctx ends it makes one last flush bounded by
// FinalFlush, for the events of the last requests; what fails stays in the outbox for the next start.
// It returns nil.
func (r *Relay) Run(ctx context.Context) error {
	if r.cfg.Hold != "" {
		r.hold(ctx)
		return nil
	}
	backoff := Backoff{Min: r.cfg.MinBackoff, Max: r.cfg.MaxBackoff}
	wait, failing := time.Duration(0), false
	for {
		wake := r.wake
		if failing {
			wake = nil // a new write does not mean Kafka is back
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.FinalFlush)
			defer cancel()
			if err := r.Flush(fctx); err != nil {
				r.logger.Warn("outbox relay: events left for the next start", "err", err)
			}
			return nil
		case <-wake:
			t.Stop()
		case <-t.C:
		}
		if err := r.Flush(ctx); err != nil {
			if ctx.Err() != nil {
				continue
			}
			failing, wait = true, backoff.Next()
			r.logger.Warn("outbox relay: publish failed, will retry", "err", err, "backoff", wait.String())
			continue
		}
		failing, wait = false, r.cfg.Interval
		backoff.Reset()
	}
}

// Flush publishes pending entries until the outbox is empty or a step fails, and returns the first
// error; what failed stays pending.
func (r *Relay) Flush(ctx context.Context) error {
	for {
		entries, err := r.store.PendingOutbox(ctx, r.cfg.Batch)
		if err != nil {
			return fmt.Errorf("outbox pending: %w", err)
		}
		r.observe(entries)
		publish := r.publishRuns
		if r.cfg.Lanes > 1 {
			publish = r.publishLanes
		}
		if err := publish(ctx, entries); err != nil {
			return err
		}
		if len(entries) < r.cfg.Batch {
			return nil
		}
	}
}

// publishRuns publishes entries in order, consecutive entries of one topic in one call unless
// OnePerPublish, and stops at the first failure.
func (r *Relay) publishRuns(ctx context.Context, entries []OutboxEntry) error {
	for start := 0; start < len(entries); {
		end := start + 1
		for !r.cfg.OnePerPublish && end < len(entries) && entries[end].Topic == entries[start].Topic {
			end++
		}
		if err := r.publish(ctx, entries[start:end]); err != nil {
			return err
		}
		r.observe(entries[end:])
		start = end
	}
	return nil
}

// publish publishes a run of entries of one topic and acknowledges them.
func (r *Relay) publish(ctx context.Context, run []OutboxEntry) error {
	topic := run[0].Topic
	events := make([]Event, len(run))
	for i, e := range run {
		events[i] = e.Event
	}
	pctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	err := r.publisher.Publish(pctx, topic, events...)
	cancel()
	if len(run) == 1 && errors.Is(err, ErrEntryTaken) {
		return nil
	}
	if err != nil {
		r.errors.Inc(topic)
		return fmt.Errorf("outbox publish: %w", err)
	}
	for _, e := range events {
		if r.byTopic {
			r.published.Inc(topic)
		} else {
			r.published.Inc(topic, e.Type)
		}
	}
	// The events are out: a failed acknowledgement only means they are published again.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.PublishTimeout)
	defer cancel()
	if err := r.store.MarkPublished(mctx, run); err != nil {
		return fmt.Errorf("outbox mark published: %w", err)
	}
	return nil
}

// hold is Run while the relay must not publish: it warns once and keeps the gauges current.
func (r *Relay) hold(ctx context.Context) {
	r.logger.Warn("outbox relay held: entries stay pending", "reason", r.cfg.Hold)
	check := func(ctx context.Context) {
		entries, err := r.store.PendingOutbox(ctx, r.cfg.Batch)
		if err == nil {
			r.observe(entries)
		}
	}
	check(ctx)
	Every(ctx, r.cfg.Interval, check)
}

// observe records entries as what waits in the outbox now, for the gauges.
func (r *Relay) observe(entries []OutboxEntry) {
	var oldest int64
	for _, e := range entries {
		if t := e.Event.OccurredAt.UnixNano(); oldest == 0 || t < oldest {
			oldest = t
		}
	}
	r.pending.Store(int64(len(entries)))
	r.oldest.Store(oldest)
}
