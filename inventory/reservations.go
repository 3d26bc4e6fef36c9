package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goshop/platform/shared"
)

// errBusy means another step of the same order is in flight (or died mid-way and is being resumed);
// the consumer retries the event with backoff.
var errBusy = fmt.Errorf("reservation busy, retry: %w", shared.ErrUnavailable)

// Event payloads of reservation outcomes.
type (
	reservedData struct {
		OrderID   string    `json:"order_id"`
		UserID    string    `json:"user_id"`
		Items     []Line    `json:"items"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	rejectedData struct {
		OrderID   string     `json:"order_id"`
		UserID    string     `json:"user_id"`
		Reason    string     `json:"reason"`
		Shortages []Shortage `json:"shortages"`
	}
	releasedData struct {
		OrderID string `json:"order_id"`
		UserID  string `json:"user_id"`
		Reason  string `json:"reason"`
	}
	committedData struct {
		OrderID string `json:"order_id"`
		UserID  string `json:"user_id"`
	}
)

// Reserve holds every line of an order or none, once per order. The reservation record (unique by
// order ID) is written first, in state reserving; then each line is one conditional update of its
// item that also records the order's hold, so a resumed attempt never holds a line twice; on a
// shortage the lines already held are given back. It returns the reservation's final state.
func (inv *inventory) Reserve(ctx context.Context, o orderData) (resState, error) {
	now := time.Now().UTC()
	lines, lerr := o.lines()
	r := Reservation{OrderID: o.OrderID, UserID: o.UserID, State: stateReserving, Items: lines, CreatedAt: now, UpdatedAt: now}
	if lerr != nil {
		r.State, r.Reason, r.Items = stateRejected, "invalid order: "+lerr.Error(), nil
	}
	err := inv.store.CreateReservation(ctx, r)
	if errors.Is(err, shared.ErrConflict) {
		existing, err := inv.store.GetReservation(ctx, o.OrderID)
		if err != nil {
			return "", err
		}
		switch existing.State {
		case stateReserving:
			r = existing // a previous attempt died mid-way: finish it
		case statePaidEarly:
			if lerr != nil {
				r = existing
				break
			}
			// order.paid came first: reserve now, and commit as soon as every line is held.
			r, err = inv.store.TransitionReservation(ctx, o.OrderID, []resState{statePaidEarly},
				reservationUpdate{State: stateReserving, At: now, UserID: o.UserID, Items: lines})
			if err != nil {
				return "", err
			}
		case stateCancelled:
			inv.logger.InfoContext(ctx, "order cancelled before it was created; not reserving", "order_id", o.OrderID)
			inv.results.Inc("cancelled_before")
			return stateCancelled, nil
		default:
			inv.results.Inc("duplicate")
			return existing.State, inv.replay(ctx, existing)
		}
	} else if err != nil {
		return "", err
	}
	if r.State == stateRejected || r.State == statePaidEarly {
		// Invalid lines: nothing to hold, but the order must hear why.
		if r.State == statePaidEarly {
			r, err = inv.store.TransitionReservation(ctx, o.OrderID, []resState{statePaidEarly},
				reservationUpdate{State: stateRejected, At: now, UserID: o.UserID, Reason: "invalid order: " + lerr.Error()})
			if err != nil {
				return "", err
			}
		}
		inv.results.Inc("rejected")
		return stateRejected, inv.replay(ctx, r)
	}
	return inv.take(ctx, r)
}

// take holds r's lines and settles the reservation as held or rejected.
func (inv *inventory) take(ctx context.Context, r Reservation) (resState, error) {
	now := time.Now().UTC()
	var (
		taken     []Line
		shortages []Shortage
		events    []shared.Event
	)
	for _, l := range r.Items {
		if len(shortages) > 0 {
			// The order is rejected already; look at the rest only to report every short line.
			if avail := inv.availableOf(ctx, l.SKU); avail < l.Quantity {
				shortages = append(shortages, Shortage{SKU: l.SKU, Requested: l.Quantity, Available: avail})
			}
			continue
		}
		it, held, err := inv.store.Hold(ctx, l.SKU, r.OrderID, l.Quantity, now)
		switch {
		case errors.Is(err, shared.ErrNotFound):
			shortages = append(shortages, Shortage{SKU: l.SKU, Requested: l.Quantity, Available: 0})
		case err != nil:
			// Left in state reserving: the redelivered event resumes, and holds already taken
			// are recognised by order ID.
			return "", err
		case !held:
			avail := it.Available
			if it.Deleted {
				avail = 0
			}
			shortages = append(shortages, Shortage{SKU: l.SKU, Requested: l.Quantity, Available: max(avail, 0)})
		default:
			taken = append(taken, l)
			events = append(events, inv.stockEvents(it, it.Available+l.Quantity)...)
		}
	}
	if len(shortages) > 0 {
		for _, l := range taken {
			it, changed, err := inv.store.Unhold(ctx, l.SKU, r.OrderID, now)
			if err != nil {
				return "", err
			}
			if changed {
				events = append(events, inv.stockEvents(it, it.Available-l.Quantity)...)
			}
		}
		done, err := inv.store.TransitionReservation(ctx, r.OrderID, []resState{stateReserving},
			reservationUpdate{State: stateRejected, At: now, Shortages: shortages, Reason: "insufficient stock"})
		if err != nil {
			return inv.settledElsewhere(ctx, r.OrderID, err)
		}
		inv.results.Inc("rejected")
		return stateRejected, inv.emitOutcome(ctx, done, events)
	}
	done, err := inv.store.TransitionReservation(ctx, r.OrderID, []resState{stateReserving},
		reservationUpdate{State: stateHeld, At: now, ExpiresAt: now.Add(inv.ttl)})
	if err != nil {
		return inv.settledElsewhere(ctx, r.OrderID, err)
	}
	inv.results.Inc("reserved")
	if err := inv.emitOutcome(ctx, done, events); err != nil {
		return "", err
	}
	if done.CommitRequested {
		return inv.Commit(ctx, r.OrderID)
	}
	return stateHeld, nil
}

// settledElsewhere handles a lost race on the final transition: another attempt settled the order,
// whose outcome is replayed.
func (inv *inventory) settledElsewhere(ctx context.Context, orderID string, err error) (resState, error) {
	if !errors.Is(err, shared.ErrConflict) {
		return "", err
	}
	r, err := inv.store.GetReservation(ctx, orderID)
	if err != nil {
		return "", err
	}
	return r.State, inv.replay(ctx, r)
}

// availableOf is what a shortage reports for sku: 0 for a missing or deleted item.
func (inv *inventory) availableOf(ctx context.Context, sku string) int64 {
	it, err := inv.store.Get(ctx, sku)
	if err != nil || it.Deleted {
		return 0
	}
	return max(it.Available, 0)
}

// outcomeEvent is the event that tells the order service where r stands; ok is false for states
// that have none (in flight, tombstones).
func (inv *inventory) outcomeEvent(r Reservation) (shared.Event, bool, error) {
	var (
		e   shared.Event
		err error
	)
	switch r.State {
	case stateHeld:
		e, err = inv.outcome(evReserved, r, reservedData{r.OrderID, r.UserID, r.Items, r.ExpiresAt})
	case stateRejected:
		shortages := r.Shortages
		if shortages == nil {
			shortages = []Shortage{}
		}
		e, err = inv.outcome(evRejected, r, rejectedData{r.OrderID, r.UserID, r.Reason, shortages})
	case stateCommitted:
		e, err = inv.outcome(evCommitted, r, committedData{r.OrderID, r.UserID})
	case stateReleased:
		e, err = inv.outcome(evReleased, r, releasedData{r.OrderID, r.UserID, r.Reason})
	default:
		return shared.Event{}, false, nil
	}
	return e, err == nil, err
}

func (inv *inventory) emitOutcome(ctx context.Context, r Reservation, stock []shared.Event) error {
	e, ok, err := inv.outcomeEvent(r)
	if err != nil {
		return err
	}
	if ok {
		stock = append([]shared.Event{e}, stock...)
	}
	return inv.emit(ctx, stock...)
}

// replay re-emits the outcome of a settled reservation under its fixed event ID: if the first
// emission was lost to a crash it goes out now, and if not the outbox or the consumers drop it.
// A held reservation whose order was paid early is committed.
func (inv *inventory) replay(ctx context.Context, r Reservation) error {
	if err := inv.emitOutcome(ctx, r, nil); err != nil {
		return err
	}
	if r.State == stateHeld && r.CommitRequested {
		_, err := inv.Commit(ctx, r.OrderID)
		return err
	}
	return nil
}
