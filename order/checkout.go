package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/goshop/platform/shared"
)

// checkout holds what every order change needs: the store, the relay to wake, the payment provider
// and the clock. Handlers and the inventory consumer both change orders through move, so the
// transition table is checked in one place and every change is one conditional write.
type checkout struct {
	logger   *slog.Logger
	store    orderStore
	payments paymentProvider
	wake     func() // wakes the outbox relay
	now      func() time.Time

	moved      *shared.CounterVec
	reconciled *shared.CounterVec
}

// newCheckout returns the checkout over store; wake (the relay's Wake, or nil) is called after every
// change.
func newCheckout(logger *slog.Logger, store orderStore, payments paymentProvider, metrics *shared.Metrics, wake func()) *checkout {
	if wake == nil {
		wake = func() {}
	}
	return &checkout{logger: logger, store: store, payments: payments, wake: wake,
		now:        func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
		moved:      metrics.Counter("order_transitions_total", "Order state changes by target state and actor.", "to", "by"),
		reconciled: metrics.Counter("order_reconcile_nudges_total", "Pending orders whose order.created was queued again because inventory had not answered."),
	}
}

// move is the plan for one transition; decide returns nil for "nothing to do".
type move struct {
	To                   Status
	By                   actor
	Reason               string
	AppliedEventID       string
	Payment              *Payment
	ReservationExpiresAt *time.Time
}

// maxMoveAttempts bounds the optimistic retries of one change under contention.
const maxMoveAttempts = 8

// errBusy is returned when an order kept changing under a writer for maxMoveAttempts tries.
var errBusy = shared.Errorf(shared.CodeConflict, "the order is being changed concurrently, try again")

// apply reads order id, lets decide plan a move from its current state, checks the move against the
// transition table and writes it with a conditional update on the status it read, together with the
// order.<to> event. When another writer changed the status first, it reads again and decides again.
// It returns the order after the change (or as it is when decide planned nothing).
func (c *checkout) apply(ctx context.Context, id string, decide func(o Order) (*move, error)) (Order, error) {
	for range maxMoveAttempts {
		o, err := c.store.Get(ctx, id)
		if err != nil {
			return Order{}, err
		}
		m, err := decide(o)
		if err != nil || m == nil {
			return o, err
		}
		if err := checkTransition(o.Status, m.To, m.By); err != nil {
			return o, err
		}
		at := c.now()
		ev := newOrderEvent(o, m.To, m.Reason, at)
		ev.By = actorOf(ctx, m.By)
		ev = ev.withTrace(ctx)
		n, err := c.store.Transition(ctx, id, transition{From: o.Status, To: m.To, Reason: m.Reason, Event: ev, At: at,
			AppliedEventID: m.AppliedEventID, Payment: m.Payment, ReservationExpiresAt: m.ReservationExpiresAt})
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return o, err
		}
		c.done(ctx, id, o.Status, m)
		return n, nil
	}
	return Order{}, fmt.Errorf("order %s: %w", id, errBusy)
}

// create stores o, priced and addressed by the caller, as the owner's move from statusNone to
// pending: the order, its idempotency record (key, hash) and its order.created event in one insert,
// checked against the transition table like every other move. It returns the stored order, or an
// error wrapping shared.ErrConflict when the user already used key.
func (c *checkout) create(ctx context.Context, o Order, key, hash string) (Order, error) {
	m := move{To: StatusPending, By: actorOwner}
	if err := checkTransition(statusNone, m.To, m.By); err != nil {
		return Order{}, err
	}
	o.ID, o.IdempotencyKey, o.RequestHash, o.Status = shared.NewID(), key, hash, m.To
	o.CreatedAt = c.now()
	o.UpdatedAt = o.CreatedAt
	ev := newOrderEvent(o, m.To, "", o.CreatedAt)
	ev.By = actorOf(ctx, m.By)
	ev = ev.withTrace(ctx)
	o.Events, o.EventSeq, o.SentSeq, o.OutboxPending, o.AppliedEvents = []storedEvent{ev}, 1, 0, true, []string{}
	if err := c.store.Create(ctx, o); err != nil {
		return Order{}, err
	}
	c.done(ctx, o.ID, statusNone, &m)
	return o, nil
}

// actorOf is who makes a move by in ctx, for the order's history: the kind always, and the signed-in
// caller of the request for the moves people make (owner, admin, payment). Saga moves are the
// system's even when a request's context carries them.
func actorOf(ctx context.Context, by actor) *eventActor {
	a := &eventActor{Kind: by.String()}
	if id, ok := shared.IdentityFrom(ctx); ok && by != actorSaga {
		a.UserID, a.Name, a.Email = id.UserID, id.Name, id.Email
	}
	return a
}

// done counts and logs a move that was stored and wakes the relay to publish its event.
func (c *checkout) done(ctx context.Context, id string, from Status, m *move) {
	c.moved.Inc(string(m.To), m.By.String())
	c.logger.InfoContext(ctx, "order moved", "order_id", id, "from", string(from), "to", string(m.To),
		"by", m.By.String(), "reason", m.Reason, "request_id", shared.RequestIDFrom(ctx))
	c.wake()
}

// refund returns the payment of a cancelled paid order and records the refund; a refund already
// recorded is not asked again. The cancellation is already stored (and order.cancelled queued), so a
// failing provider only leaves refund_id empty and an error in the log for an operator (the admin's
// cancel) or for the consumer to retry (the saga's); the stub never fails.
func (c *checkout) refund(ctx context.Context, o Order) error {
	if o.Payment == nil || o.Payment.RefundID != "" {
		return nil
	}
	rid, err := c.payments.Refund(ctx, o.Payment.ChargeID)
	if err == nil {
		err = c.store.SetRefund(ctx, o.ID, rid, c.now())
	}
	if err != nil {
		c.logger.ErrorContext(ctx, "refund failed", "order_id", o.ID, "charge_id", o.Payment.ChargeID, "err", err)
		return fmt.Errorf("refund of order %s: %w", o.ID, err)
	}
	return nil
}
