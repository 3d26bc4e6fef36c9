package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// Inventory event types this service reacts to (docs/events.md).
const (
	evReserved = "inventory.reserved"
	evRejected = "inventory.rejected"
	evReleased = "inventory.released"
)

// inventoryTypes are the types handleInventoryEvent acts on, the consumer's ConsumerConfig.Types:
// the others of inventory.events (inventory.updated, one per reservation, above all) are skipped
// before they are decoded. TestInventoryTypes checks the list against the handler.
var inventoryTypes = []string{evReserved, evRejected, evReleased}

// reasonExpired is the status_reason of an order whose reservation expired before payment.
const reasonExpired = "reservation expired"

type reservedData struct {
	OrderID   string    `json:"order_id"`
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

type rejectedData struct {
	OrderID   string `json:"order_id"`
	UserID    string `json:"user_id"`
	Reason    string `json:"reason"`
	Shortages []struct {
		SKU       string `json:"sku"`
		Requested int64  `json:"requested"`
		Available int64  `json:"available"`
	} `json:"shortages"`
}

type releasedData struct {
	OrderID string `json:"order_id"`
	UserID  string `json:"user_id"`
	Reason  string `json:"reason"`
}

// handleInventoryEvent is the saga's consumer of inventory.events (group "order"). It is idempotent
// and tolerates reordering: each event is applied only from the states where it makes sense, its ID
// is recorded in the same write as the change it causes, and a late inventory.reserved for an order
// that is already cancelled or rejected queues order.cancelled again so inventory releases the stock
// instead of the order coming back to life. Undecodable events are shared.ErrPoison; store errors are
// returned so Consume retries.
func (c *checkout) handleInventoryEvent(ctx context.Context, e shared.Event) error {
	switch e.Type {
	case evReserved:
		var d reservedData
		if err := e.Decode(&d); err != nil || d.OrderID == "" {
			return cmp.Or(err, e.Poison("no order_id"))
		}
		return c.applyEvent(ctx, d.OrderID, e.ID, func(o Order) (*move, bool) {
			switch o.Status {
			case StatusPending:
				var exp *time.Time
				if !d.ExpiresAt.IsZero() {
					t := d.ExpiresAt.UTC()
					exp = &t
				}
				return &move{To: StatusConfirmed, By: actorSaga, ReservationExpiresAt: exp}, false
			case StatusCancelled, StatusRejected:
				return nil, true
			}
			return nil, false // confirmed already (duplicate), or later states
		})
	case evRejected:
		var d rejectedData
		if err := e.Decode(&d); err != nil || d.OrderID == "" {
			return cmp.Or(err, e.Poison("no order_id"))
		}
		reason := rejectionReason(d)
		err := c.applyEvent(ctx, d.OrderID, e.ID, func(o Order) (*move, bool) {
			switch o.Status {
			case StatusPending:
				return &move{To: StatusRejected, By: actorSaga, Reason: reason}, false
			case StatusPaid:
				// The payment reached inventory after the reservation expired, and the stock was gone
				// by then (inventory's retake): the customer paid for what cannot be sent.
				return &move{To: StatusCancelled, By: actorSaga, Reason: reasonPaidTooLate + reason}, false
			}
			return nil, false
		})
		if err != nil {
			return err
		}
		return c.refundCancelled(ctx, d.OrderID, e.ID)
	case evReleased:
		var d releasedData
		if err := e.Decode(&d); err != nil || d.OrderID == "" {
			return cmp.Or(err, e.Poison("no order_id"))
		}
		if d.Reason != "expired" {
			return nil // "cancelled": our own cancellation, already applied
		}
		return c.applyEvent(ctx, d.OrderID, e.ID, func(o Order) (*move, bool) {
			switch o.Status {
			case StatusPending, StatusConfirmed:
				return &move{To: StatusCancelled, By: actorSaga, Reason: reasonExpired}, false
			case StatusPaid:
				// Pay refuses within reservationMargin of expiry, yet order.paid can reach inventory
				// later (Kafka or inventory down, a rebalance): inventory then takes the stock again and
				// commits it, or rejects the reservation, which cancels and refunds the order (above).
				c.logger.WarnContext(ctx, "reservation expired after payment; inventory takes the stock again when the payment reaches it", "order_id", o.ID)
			}
			return nil, false
		})
	}
	return nil
}

// reasonPaidTooLate begins the status_reason of a paid order the saga cancelled and refunded.
const reasonPaidTooLate = "refunded: the payment reached the stock after the reservation expired, and it was sold out: "

// refundCancelled refunds order id when inventory event eventID cancelled it after payment, once
// (refund is idempotent, and a refund already recorded is skipped). A failing refund is returned,
// so the consumer retries the event: the move is recorded, the refund is tried again.
func (c *checkout) refundCancelled(ctx context.Context, id, eventID string) error {
	o, err := c.store.Get(ctx, id)
	if errors.Is(err, shared.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.Status != StatusCancelled || !o.applied(eventID) {
		return nil
	}
	return c.refund(ctx, o)
}

// rejectionReason names the short SKUs: "out of stock: A (requested 3, available 1), B (...)".
func rejectionReason(d rejectedData) string {
	if len(d.Shortages) == 0 {
		if d.Reason != "" {
			return "rejected by inventory: " + d.Reason
		}
		return "rejected by inventory"
	}
	parts := make([]string, 0, len(d.Shortages))
	for _, s := range d.Shortages {
		parts = append(parts, fmt.Sprintf("%s (requested %d, available %d)", s.SKU, s.Requested, s.Available))
	}
	return "out of stock: " + strings.Join(parts, ", ")
}

// applyEvent applies inventory event eventID to order orderID: decide returns the move to make, or
// compensate=true to queue order.cancelled again (a reservation that arrived after the order ended).
// An unknown order is not ours (an order is stored before its order.created can be published), so
// its events are logged and skipped.
func (c *checkout) applyEvent(ctx context.Context, orderID, eventID string, decide func(o Order) (m *move, compensate bool)) error {
	var compensate bool
	_, err := c.apply(ctx, orderID, func(o Order) (*move, error) {
		compensate = false
		if o.applied(eventID) {
			return nil, nil
		}
		m, comp := decide(o)
		if m != nil {
			m.AppliedEventID = eventID
			return m, nil
		}
		if comp {
			compensate = true
			return nil, c.compensate(ctx, o, eventID)
		}
		return nil, nil
	})
	switch {
	case errors.Is(err, shared.ErrNotFound):
		c.logger.WarnContext(ctx, "inventory event for unknown order, skipped", "order_id", orderID, "event_id", eventID)
		return nil
	case errors.Is(err, errStale) && compensate:
		return nil // recorded by a concurrent delivery of the same event
	case err != nil:
		var se *shared.Error
		if errors.As(err, &se) && se.Code == shared.CodeConflict && !errors.Is(err, errBusy) {
			// The table refused a move decide planned: cannot happen with the switch above; log, move on.
			c.logger.ErrorContext(ctx, "inventory event not applicable", "order_id", orderID, "event_id", eventID, "err", err)
			return nil
		}
		return err
	}
	return nil
}

// compensate records eventID and queues order.cancelled for o, which is already cancelled or
// rejected, so inventory releases a reservation made too late.
func (c *checkout) compensate(ctx context.Context, o Order, eventID string) error {
	at := c.now()
	ev := newRepeatEvent(o, "order.cancelled", "late reservation released", at).withTrace(ctx)
	if err := c.store.Record(ctx, o.ID, eventID, &ev, at); err != nil {
		return err
	}
	c.logger.WarnContext(ctx, "late reservation for ended order: asking inventory to release", "order_id", o.ID, "status", string(o.Status), "event_id", eventID)
	c.wake()
	return nil
}
