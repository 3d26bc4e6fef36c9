package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// Reconciliation: an order waits in pending for inventory's answer to its order.created. Both events
// travel through the outbox and consumers with at-least-once delivery, so normally the answer comes.
// But an answer can still be lost outside this service (an inventory instance killed with its
// in-memory outbox, a broker that loses a partition's tail), and then the order would stay pending
// forever. The reconciler bounds that: a pending order that has not changed for reconcileAfter, with
// nothing left unsent in its outbox, gets its order.created queued again. Inventory treats a repeat
// order.created as a question: it reserves if it never saw the order, and otherwise re-emits the
// reservation's outcome under its fixed event ID (inventory.reserved, .rejected, .released), which
// the saga applies once. A late repeat is harmless for the same reason.

// reasonAskAgain is the reason of a reconciliation's order.created (a newRepeatEvent): the order was
// placed once, this only asks inventory again.
const reasonAskAgain = "asking inventory again: no answer yet"

// reconcileBatch bounds how many orders one pass nudges, so a long outage does not flood the
// outbox at once; the next pass takes the rest.
const reconcileBatch = 100

// reconcile runs a pass every interval until ctx ends. after 0 turns it off.
func (c *checkout) reconcile(ctx context.Context, after, interval time.Duration) error {
	if after <= 0 {
		return nil
	}
	shared.Every(ctx, interval, func(ctx context.Context) {
		if _, err := c.nudgeStale(ctx, after); err != nil && ctx.Err() == nil {
			c.logger.Warn("reconcile: pass failed, next one retries", "err", err)
		}
	})
	return nil
}

// reconcilePrefix begins the ID a nudge records on its order: its event's ID, which is unique per
// nudge and never an inventory event's.
const reconcilePrefix = "reconcile:"

// reconcileGiveUp is how many times reconciliation asks inventory again before it cancels the order
// instead (reasonNoAnswer): with the default 30 s and the capped backoff, about a day after the
// order was placed. Each nudge stays on the order (its event and applied ID), so without an end an
// order inventory never answers grew by ~45 events a day, and a 50-line one passed MongoDB's 16 MB
// in about two months; by then the customer, who has paid nothing (a pending order is unpaid), has
// long stopped waiting. The cancellation is order.cancelled, which releases whatever inventory may
// hold for the order, and tells the customer.
const reconcileGiveUp = 50

// reasonNoAnswer is the status_reason of an order reconciliation gave up on.
const reasonNoAnswer = "not confirmed in time: the stock could not be checked"

// reconcileMaxDoublings caps the backoff between nudges of one order at after × 2^6 (32 min at the
// default 30 s).
const reconcileMaxDoublings = 6

// nudgeStale queues order.created again for up to reconcileBatch pending orders unchanged for after
// and returns how many it nudged. The queued event also refreshes the order's updated_at. An order
// already nudged n times waits after × 2^n (at most reconcileMaxDoublings doublings) since its last
// change: each nudge stays on the order (its event and applied ID), so a fixed 30 s would grow a
// document by ~120 events an hour of an inventory outage, a 50-line order past Mongo's 16 MB in about
// a day; with the backoff it is ~50 a day. An order skipped for its backoff keeps its place at the
// front of StalePending's answer for at most the capped wait, so the others wait no longer than that.
func (c *checkout) nudgeStale(ctx context.Context, after time.Duration) (int, error) {
	now := c.now()
	orders, err := c.store.StalePending(ctx, now.Add(-after), reconcileBatch)
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, o := range orders {
		nudges := o.nudges()
		if wait := after << min(nudges, reconcileMaxDoublings); now.Sub(o.UpdatedAt) < wait {
			continue
		}
		if nudges >= reconcileGiveUp {
			if err := c.giveUp(ctx, o.ID); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		ev := newRepeatEvent(o, "order.created", reasonAskAgain, now)
		// The event's own ID, prefixed, is what Record remembers: unique per nudge, and never an
		// inventory event's ID.
		if err := c.store.Record(ctx, o.ID, reconcilePrefix+ev.ID, &ev, now); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		c.logger.WarnContext(ctx, "order still pending: asking inventory again", "order_id", o.ID,
			"pending_for", now.Sub(o.CreatedAt).Round(time.Second).String())
	}
	if n > 0 {
		c.reconciled.Add(uint64(n))
		c.wake()
	}
	return n, errors.Join(errs...)
}

// giveUp cancels a pending order inventory never answered (reconcileGiveUp); an order that moved on
// meanwhile is left alone.
func (c *checkout) giveUp(ctx context.Context, id string) error {
	moved := false
	o, err := c.apply(ctx, id, func(o Order) (*move, error) {
		moved = o.Status == StatusPending
		if !moved {
			return nil, nil
		}
		return &move{To: StatusCancelled, By: actorSaga, Reason: reasonNoAnswer}, nil
	})
	if err == nil && moved {
		c.logger.ErrorContext(ctx, "order never confirmed by inventory: cancelled", "order_id", id,
			"pending_for", c.now().Sub(o.CreatedAt).Round(time.Second).String(), "asked", reconcileGiveUp)
	}
	return err
}

// nudges counts the times reconciliation asked inventory again for o (its applied "reconcile:" IDs).
func (o Order) nudges() int {
	n := 0
	for _, id := range o.AppliedEvents {
		if strings.HasPrefix(id, reconcilePrefix) {
			n++
		}
	}
	return n
}
