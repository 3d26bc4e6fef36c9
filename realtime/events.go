package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// consumer turns Kafka events into hub messages, routed by its catalog (catalog.route). It is
// idempotent over redeliveries: it remembers the IDs of the last dedupSize events (at-least-once
// delivery repeats recent ones after a rebalance or restart). Events older than maxAge when they
// arrive are skipped: realtime pushes what is happening now, and a fresh consumer group starting at
// the first offset must not replay the shop's history into browsers.
type consumer struct {
	hub    *hub
	logger *slog.Logger
	maxAge time.Duration
	now    func() time.Time

	mu        sync.Mutex
	catalog   *catalog
	seen      map[string]struct{}
	order     []string // ring of seen IDs, oldest at next
	next      int
	consumed  uint64
	duplicate uint64
	stale     uint64
	lag       time.Duration
	events    *shared.CounterVec // by result: consumed, duplicate, stale; nil in tests
}

// instrument registers the consumer's counter in m.
func (c *consumer) instrument(m *shared.Metrics) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = m.Counter("realtime_events_total", "Kafka events by result: consumed, duplicate, stale.", "result")
}

// count records one event result. Call with c.mu held.
func (c *consumer) count(result string) {
	if c.events != nil {
		c.events.Inc(result)
	}
}

const dedupSize = 10000

// liveTopics are read by the instance's first group (Config.ConsumerGroup) as soon as an event is
// there: a customer's order events, the last step of the checkout they watch, and a suspension,
// which closes the user's sockets.
var liveTopics = []string{shared.TopicOrder, shared.TopicUser}

// catalogTopics are read by the instance's second group (Config.CatalogGroup) with catalogFetchWait:
// stock, price and catalog changes, which every order makes two of (inventory.reserved and
// inventory.updated). Read at once, each was a fetch of its own at the broker and a wake-up of this
// program, on the checkout's path though no step of it waits for them.
var catalogTopics = []string{shared.TopicProduct, shared.TopicInventory}

// catalogFetchWait is how long the broker may hold the catalog group's fetch to gather a partition's
// events (shared.ConsumerConfig.FetchWait): a product page's stock or price moves at most this much
// later, the same bound as the gateway's cache purge (docs/events.md).
const catalogFetchWait = 200 * time.Millisecond

func newConsumer(h *hub, logger *slog.Logger, maxAge time.Duration, now func() time.Time) *consumer {
	if now == nil {
		now = time.Now
	}
	return &consumer{hub: h, logger: logger, maxAge: maxAge, now: now,
		catalog: newCatalog(), seen: make(map[string]struct{}, dedupSize), order: make([]string, dedupSize)}
}

// handle is the shared.EventHandler for every topic.
func (c *consumer) handle(ctx context.Context, e shared.Event) error {
	d, n, list, notify, err := parseLive(e)
	if err != nil {
		return err
	}
	now := c.now()
	c.mu.Lock()
	// A product event older than the product's state the catalog holds is a re-delivery too, under
	// another offset: two product copies' relays may publish one again after a newer one. An order
	// event that repeats a move (orderRepeat) tells nobody anything new either.
	if _, dup := c.seen[e.ID]; dup || c.catalog.stale(e.Type, d) || orderRepeat(e.Type, d.Status, d.PreviousStatus) {
		c.duplicate++
		c.count("duplicate")
		c.mu.Unlock()
		return nil
	}
	if old := c.order[c.next]; old != "" {
		delete(c.seen, old)
	}
	c.order[c.next] = e.ID
	c.next = (c.next + 1) % len(c.order)
	c.seen[e.ID] = struct{}{}
	c.consumed++
	c.count("consumed")
	c.lag = now.Sub(e.OccurredAt)
	// Stale events still teach the catalog: a consumer starting at the first offset learns every
	// product's state without replaying it to browsers.
	aud := c.catalog.route(e.Type, d)
	c.catalog.learn(e.Type, d)
	if c.maxAge > 0 && !e.OccurredAt.IsZero() && c.lag > c.maxAge {
		c.stale++
		c.count("stale")
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()

	c.hub.publish(e.Type, e.Data, e.OccurredAt, aud)
	// The bell's live bump. Every instance pushes to its own connections; storing is the notifier's.
	if notify {
		pushNotification(c.hub, n, list)
	}
	if e.Type == "user.status_changed" {
		var d struct {
			UserID string `json:"user_id"`
			Status string `json:"status"`
		}
		if json.Unmarshal(e.Data, &d) == nil && d.Status == "suspended" && d.UserID != "" {
			c.hub.kickUser(d.UserID, policyViolation, "account suspended")
			c.logger.InfoContext(ctx, "disconnected suspended user", "user_id", d.UserID)
		}
	}
	return nil
}

// counts returns consumed, duplicate and stale event counts and the lag of the last event.
func (c *consumer) counts() (consumed, duplicate, stale uint64, lag time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.consumed, c.duplicate, c.stale, c.lag
}

// notifier turns events into stored notifications. It runs in a consumer group shared by every
// realtime instance (notifyGroup), so each event is normally handled by one instance; the store's
// idempotency key makes a redelivery or a rebalance write nothing twice. A store error is returned,
// so shared.Consume retries the event until Redis is back: this group lags, the live push (the
// per-instance group) does not.
type notifier struct {
	store  notificationStore
	logger *slog.Logger
	now    func() time.Time
	count  *shared.CounterVec // by result: added, duplicate, old; nil in tests
}

// notifyGroup is the consumer group of the notifier, one for all instances.
const notifyGroup = "realtime-notifications"

// notifyBatchWait is how long the notifier collects events into one batch (one Redis round trip):
// under checkout load events arrive one at a time, each a round trip, unless a batch waits for the
// next ones. Stored notifications are only read by GET /notifications; the bell's live bump comes
// from the per-instance consumer, so the wait delays nothing a user sees happen.
const notifyBatchWait = 100 * time.Millisecond

// notifyFetchWait is how long the broker may hold the notifier's fetch to gather a partition's events
// (shared.ConsumerConfig.FetchWait), rather than answer a fetch per event: with notifyBatchWait a
// stored notification is written at most 350 ms after its event reached Kafka, which again delays
// nothing a user sees happen.
const notifyFetchWait = 250 * time.Millisecond

// notifyTopics are the topics whose events can make a notification.
var notifyTopics = []string{shared.TopicOrder, shared.TopicInventory, shared.TopicProduct}

// handle is the notifier's shared.BatchHandler: the notifications of a batch's events are written
// in one store call (one Redis round trip).
func (n *notifier) handle(ctx context.Context, events []shared.Event) error {
	var adds []notifyAdd
	old := 0
	for _, e := range events {
		nt, list, ok := notificationFor(e)
		if !ok {
			continue
		}
		if age := n.now().Sub(e.OccurredAt); !e.OccurredAt.IsZero() && age > notifyMaxEventAge {
			old++
			continue
		}
		adds = append(adds, notifyAdd{list: list, n: nt, key: e.ID})
	}
	if len(adds) > 0 {
		added, err := n.store.Add(ctx, adds, notifyMaxEventAge)
		if err != nil {
			return err
		}
		for _, ok := range added {
			if ok {
				n.inc("added")
			} else {
				n.inc("duplicate")
			}
		}
	}
	for range old {
		n.inc("old")
	}
	return nil
}

func (n *notifier) inc(result string) {
	if n.count != nil {
		n.count.Inc(result)
	}
}
