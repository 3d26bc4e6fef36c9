package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// Event types this service consumes and produces on user.events (docs/events.md).
const (
	eventUserRegistered    = "user.registered"
	eventUserStatusChanged = "user.status_changed"
	eventUserUpdated       = "user.updated"
)

// userRegistered is the data of user.registered, published by auth.
type userRegistered struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
}

// userStatusChanged is the data of user.status_changed; auth ends the sessions of a suspended user.
type userStatusChanged struct {
	UserID string `json:"user_id"`
	Status string `json:"status"`
}

// userUpdated is the data of user.updated, published when a user's name changes.
type userUpdated struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
}

// newProfile returns an active profile as created from user.registered or from a token's claims.
func newProfile(id, email, name, role string, now time.Time) Profile {
	if role != shared.RoleAdmin {
		role = shared.RoleCustomer
	}
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > maxNameLen {
		name = string(r[:maxNameLen])
	}
	now = now.UTC().Truncate(time.Millisecond)
	return Profile{ID: id, Email: strings.TrimSpace(email), Name: name, Role: role, Status: statusActive,
		Preferences: Preferences{Currency: defaultCurrency}, Addresses: []Address{}, CreatedAt: now, UpdatedAt: now}
}

// handleUserEvent applies user.events to the store: user.registered creates the profile if it does
// not exist yet. It is idempotent by state: a replayed event, or one arriving after GET /users/me
// created the profile from the token, finds the profile there and changes nothing. Other types (our
// own events among them) are ignored.
func handleUserEvent(logger *slog.Logger, profiles profileStore) shared.EventHandler {
	return func(ctx context.Context, e shared.Event) error {
		if e.Type != eventUserRegistered {
			return nil
		}
		var d userRegistered
		if err := e.Decode(&d); err != nil {
			return fmt.Errorf("%w: %v", shared.ErrPoison, err)
		}
		if !validID(d.UserID) {
			return fmt.Errorf("%w: user.registered %s: bad user_id %q", shared.ErrPoison, e.ID, d.UserID)
		}
		err := profiles.Create(ctx, newProfile(d.UserID, d.Email, d.Name, d.Role, time.Now()))
		switch {
		case errors.Is(err, shared.ErrConflict):
			logger.DebugContext(ctx, "profile exists, user.registered ignored", "user_id", d.UserID, "event_id", e.ID)
			return nil
		case err != nil:
			return fmt.Errorf("user.registered %s: %w", e.ID, err)
		}
		logger.InfoContext(ctx, "profile created", "user_id", d.UserID, "event_id", e.ID)
		return nil
	}
}

// addEvent appends an event to p's outbox; the store writes it with the change itself, and the relay
// publishes it afterwards. occurred_at is in whole milliseconds (what Mongo keeps) and strictly
// increases per user, so a consumer that keeps only newer events never drops a quick second change.
func addEvent(p *Profile, typ string, data any) error {
	e, err := shared.NewEvent(typ, p.ID, data)
	if err != nil {
		return err
	}
	at := e.OccurredAt.UTC().Truncate(time.Millisecond)
	if !at.After(p.LastEventAt) {
		at = p.LastEventAt.Truncate(time.Millisecond).Add(time.Millisecond)
	}
	e.OccurredAt, p.LastEventAt = at, at
	p.Outbox = append(p.Outbox, newOutboxEvent(shared.TopicUser, e))
	return nil
}

// outboxRelay publishes the events waiting in profile outboxes and removes them once Kafka acknowledged
// them. A failed publish leaves them in place and is retried with backoff, so a status change made
// while Kafka is down is published when it returns, never dropped. Delivery is at least once.
type outboxRelay struct {
	logger    *slog.Logger
	profiles  profileStore
	pub       shared.Publisher
	kick      chan struct{}
	published *shared.CounterVec
	failures  *shared.CounterVec

	// Interval is the poll period when idle (default 5 s): it also picks up events left behind by a
	// crash or by another instance. Backoff doubles from MinBackoff (100 ms) to MaxBackoff (10 s) while
	// publishing fails: short, because a suspension takes effect in auth only once its event is out.
	Interval, MinBackoff, MaxBackoff time.Duration
}

// pendingBatch is how many profiles with pending events one relay pass reads at a time.
const pendingBatch = 100

func newOutboxRelay(logger *slog.Logger, profiles profileStore, pub shared.Publisher, metrics *shared.Metrics) *outboxRelay {
	return &outboxRelay{
		logger: logger, profiles: profiles, pub: pub, kick: make(chan struct{}, 1),
		published:  metrics.Counter("user_outbox_published_total", "Events published from the outbox.", "type"),
		failures:   metrics.Counter("user_outbox_publish_failures_total", "Failed outbox publish attempts."),
		Interval:   5 * time.Second,
		MinBackoff: 100 * time.Millisecond,
		MaxBackoff: 10 * time.Second,
	}
}

// Kick asks the relay to publish now; it never blocks.
func (r *outboxRelay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run publishes pending events when kicked and every Interval until ctx ends.
func (r *outboxRelay) Run(ctx context.Context) {
	backoff := time.Duration(0)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		kick := r.kick
		if backoff > 0 {
			kick = nil // while Kafka is failing only the backoff timer retries
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-t.C:
		}
		if err := r.Flush(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(backoff*2, r.MinBackoff), r.MaxBackoff)
			r.logger.Warn("outbox publish failed, retrying", "err", err, "backoff", backoff.String())
			t.Reset(backoff)
			continue
		}
		backoff = 0
		t.Reset(r.Interval)
	}
}

// Flush publishes every pending event once, oldest first per user, and removes the published ones from
// their outboxes. It returns the first error; what failed stays pending.
func (r *outboxRelay) Flush(ctx context.Context) error {
	for {
		ps, err := r.profiles.Pending(ctx, pendingBatch)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := r.flushOne(ctx, p); err != nil {
				r.failures.Inc()
				return err
			}
		}
		if len(ps) < pendingBatch {
			return nil
		}
	}
}

func (r *outboxRelay) flushOne(ctx context.Context, p Profile) error {
	done := make(map[string]bool, len(p.Outbox))
	// One Publish per topic keeps a user's events in order: they share the key, so the partition.
	byTopic := map[string][]shared.Event{}
	var topics []string
	for _, o := range p.Outbox {
		if _, ok := byTopic[o.Topic]; !ok {
			topics = append(topics, o.Topic)
		}
		byTopic[o.Topic] = append(byTopic[o.Topic], o.event())
	}
	for _, topic := range topics {
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := r.pub.Publish(pctx, topic, byTopic[topic]...)
		cancel()
		if err != nil {
			return fmt.Errorf("outbox %s: %w", p.ID, err)
		}
		for _, e := range byTopic[topic] {
			done[e.ID] = true
			r.published.Inc(e.Type)
		}
	}
	_, err := r.profiles.Update(ctx, p.ID, func(q *Profile) error {
		q.Outbox = slices.DeleteFunc(q.Outbox, func(o outboxEvent) bool { return done[o.ID] })
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox %s: ack: %w", p.ID, err)
	}
	return nil
}

// countEvents wraps h to count consumed events by type and result (ok, poison, error) in
// user_events_consumed_total.
func countEvents(metrics *shared.Metrics, h shared.EventHandler) shared.EventHandler {
	c := metrics.Counter("user_events_consumed_total", "Events consumed from user.events.", "type", "result")
	return func(ctx context.Context, e shared.Event) error {
		err := h(ctx, e)
		result := "ok"
		switch {
		case errors.Is(err, shared.ErrPoison):
			result = "poison"
		case err != nil:
			result = "error"
		}
		c.Inc(e.Type, result)
		return err
	}
}
