package main

// Settling a reservation: commit (the order was paid) and release (it was cancelled or expired).

import (
	"context"
	"errors"
	"time"

	"github.com/goshop/platform/shared"
)

// Commit makes a held reservation's stock leave (order.paid), once. A payment for an order not yet
// reserved is remembered and committed when the reservation is held. A payment for a reservation the
// sweeper released at its expiry takes the stock again (retake): order accepted the payment before
// the expiry, and the event only reached inventory after it (Kafka or inventory down, a rebalance).
// One for a reservation that was rejected, or released by a cancellation, changes nothing.
func (inv *inventory) Commit(ctx context.Context, orderID string) (resState, error) {
	now := time.Now().UTC()
	for range 3 {
		r, err := inv.store.GetReservation(ctx, orderID)
		if errors.Is(err, shared.ErrNotFound) {
			err = inv.store.CreateReservation(ctx, Reservation{OrderID: orderID, State: statePaidEarly,
				CommitRequested: true, CreatedAt: now, UpdatedAt: now})
			if errors.Is(err, shared.ErrConflict) {
				continue
			}
			if err == nil {
				inv.logger.WarnContext(ctx, "order paid before it was reserved; will commit once reserved", "order_id", orderID)
			}
			return statePaidEarly, err
		}
		if err != nil {
			return "", err
		}
		switch r.State {
		case stateReserving:
			_, err = inv.store.TransitionReservation(ctx, orderID, []resState{stateReserving},
				reservationUpdate{State: stateReserving, At: now, CommitRequested: true})
			if errors.Is(err, shared.ErrConflict) {
				continue
			}
			return stateReserving, err
		case stateHeld:
			r, err = inv.store.TransitionReservation(ctx, orderID, []resState{stateHeld}, reservationUpdate{State: stateCommitting, At: now})
			if errors.Is(err, shared.ErrConflict) {
				continue
			}
			if err != nil {
				return "", err
			}
			return inv.finishCommit(ctx, r)
		case stateCommitting:
			return inv.finishCommit(ctx, r)
		case stateCommitted:
			return r.State, inv.replay(ctx, r)
		case statePaidEarly:
			return r.State, nil
		case stateReleased:
			if r.Reason != reasonExpired || r.Committed {
				return r.State, nil // cancelled, or refunded after the commit: the payment is not ours to act on
			}
			r, err = inv.store.TransitionReservation(ctx, orderID, []resState{stateReleased},
				reservationUpdate{State: stateReserving, At: now, CommitRequested: true, Reason: reasonPaidAfterExpiry})
			if errors.Is(err, shared.ErrConflict) {
				continue
			}
			if err != nil {
				return "", err
			}
			return inv.retake(ctx, r)
		default:
			inv.logger.WarnContext(ctx, "order paid but its reservation is not held; nothing to commit", "order_id", orderID, "state", string(r.State))
			return r.State, nil
		}
	}
	return "", errBusy
}

// retake holds again, and commits, the stock of a paid order whose reservation expired before the
// payment reached inventory (Commit). Every line or none, as a first reservation: held, the
// reservation commits at once (CommitRequested) and order hears nothing new (its inventory.reserved
// has the ID it already applied); short, it is rejected with its shortages and order, which holds
// the payment, cancels and refunds the order.
func (inv *inventory) retake(ctx context.Context, r Reservation) (resState, error) {
	inv.logger.WarnContext(ctx, "order paid after its reservation expired; taking the stock again", "order_id", r.OrderID)
	inv.results.Inc("retaken")
	return inv.take(ctx, r)
}

func (inv *inventory) finishCommit(ctx context.Context, r Reservation) (resState, error) {
	now := time.Now().UTC()
	var events []shared.Event
	for _, l := range r.Items {
		it, changed, err := inv.store.CommitHold(ctx, l.SKU, r.OrderID, now)
		if errors.Is(err, shared.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if changed {
			events = append(events, inv.stockEvents(it, it.Available)...)
		}
	}
	done, err := inv.store.TransitionReservation(ctx, r.OrderID, []resState{stateCommitting},
		reservationUpdate{State: stateCommitted, At: now, Committed: true})
	if err != nil {
		return inv.settledElsewhere(ctx, r.OrderID, err)
	}
	inv.results.Inc("committed")
	return stateCommitted, inv.emitOutcome(ctx, done, events)
}

// Release gives an order's stock back, once: a held reservation is released, a committed one is
// restocked (a refund). reason is reasonCancelled or reasonExpired. A cancellation that comes before
// the order was reserved leaves a tombstone so the later order.created reserves nothing.
func (inv *inventory) Release(ctx context.Context, orderID, userID, reason string) (resState, error) {
	now := time.Now().UTC()
	for range 3 {
		r, err := inv.store.GetReservation(ctx, orderID)
		if errors.Is(err, shared.ErrNotFound) {
			err = inv.store.CreateReservation(ctx, Reservation{OrderID: orderID, UserID: userID, State: stateCancelled,
				Reason: reason, CreatedAt: now, UpdatedAt: now})
			if errors.Is(err, shared.ErrConflict) {
				continue
			}
			return stateCancelled, err
		}
		if err != nil {
			return "", err
		}
		switch r.State {
		case stateHeld, stateCommitted:
			r, err = inv.store.TransitionReservation(ctx, orderID, []resState{r.State}, reservationUpdate{State: stateReleasing, At: now, Reason: reason})
			if errors.Is(err, shared.ErrConflict) {
				continue
			}
			if err != nil {
				return "", err
			}
			return inv.finishRelease(ctx, r)
		case stateReleasing:
			return inv.finishRelease(ctx, r)
		case statePaidEarly:
			_, err = inv.store.TransitionReservation(ctx, orderID, []resState{statePaidEarly}, reservationUpdate{State: stateCancelled, At: now, Reason: reason})
			if errors.Is(err, shared.ErrConflict) {
				continue
			}
			return stateCancelled, err
		case stateReserving, stateCommitting:
			return "", errBusy
		case stateReleased:
			return r.State, inv.replay(ctx, r)
		default: // rejected, cancelled: nothing is held
			return r.State, nil
		}
	}
	return "", errBusy
}

// finishRelease gives back every line of a releasing reservation (idempotent per line: holds and
// refunds are recorded by order ID) and settles it as released.
func (inv *inventory) finishRelease(ctx context.Context, r Reservation) (resState, error) {
	_, err := inv.finishReleaseWon(ctx, r)
	if err != nil {
		return "", err
	}
	return stateReleased, nil
}

// finishReleaseWon is finishRelease reporting whether this call settled the reservation (false when
// a concurrent caller did).
func (inv *inventory) finishReleaseWon(ctx context.Context, r Reservation) (bool, error) {
	now := time.Now().UTC()
	var events []shared.Event
	for _, l := range r.Items {
		var (
			it      StockItem
			changed bool
			err     error
		)
		if r.Committed {
			it, changed, err = inv.store.Restock(ctx, l.SKU, r.OrderID, l.Quantity, now)
		} else {
			it, changed, err = inv.store.Unhold(ctx, l.SKU, r.OrderID, now)
		}
		if errors.Is(err, shared.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if changed {
			events = append(events, inv.stockEvents(it, it.Available)...)
		}
	}
	done, err := inv.store.TransitionReservation(ctx, r.OrderID, []resState{stateReleasing}, reservationUpdate{State: stateReleased, At: now})
	if err != nil {
		_, err = inv.settledElsewhere(ctx, r.OrderID, err)
		return false, err
	}
	inv.results.Inc("released_" + done.Reason)
	return true, inv.emitOutcome(ctx, done, events)
}
