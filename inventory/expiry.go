package main

import (
	"context"
	"errors"
	"time"

	"github.com/goshop/platform/shared"
)

// Sweep releases reservations held past their expiry, and finishes releases whose instance died,
// up to batch at a time until none is due. Each is claimed by a conditional state change, so
// several instances sweeping at once release each reservation once. It returns how many it released.
func (inv *inventory) Sweep(ctx context.Context, batch int) (int, error) {
	released := 0
	for {
		now := time.Now().UTC()
		due, err := inv.store.DueReservations(ctx, now, now.Add(-releasingStaleAfter), batch)
		if err != nil {
			return released, err
		}
		for _, r := range due {
			if r.State == stateHeld {
				r, err = inv.store.TransitionReservation(ctx, r.OrderID, []resState{stateHeld},
					reservationUpdate{State: stateReleasing, At: now, Reason: reasonExpired})
				if errors.Is(err, shared.ErrConflict) {
					continue // paid, cancelled or claimed by another sweeper meanwhile
				}
				if err != nil {
					return released, err
				}
			}
			won, err := inv.finishReleaseWon(ctx, r)
			if err != nil {
				return released, err
			}
			if won {
				released++
			}
		}
		if len(due) < batch {
			return released, nil
		}
	}
}

// ClearRefundMarkers takes the refund markers (refunds.<order>) of refunds settled over
// refundMarkerRetention ago off their items, up to batch reservations at a time until none is due,
// so a stock document does not grow by one key per refunded order for good. It returns how many
// reservations it cleared. Several instances clearing at once do the same idempotent writes.
func (inv *inventory) ClearRefundMarkers(ctx context.Context, batch int) (int, error) {
	cleared := 0
	for {
		due, err := inv.store.RefundsToClear(ctx, time.Now().UTC().Add(-refundMarkerRetention), batch)
		if err != nil {
			return cleared, err
		}
		for _, r := range due {
			skus := make([]string, len(r.Items))
			for i, l := range r.Items {
				skus[i] = l.SKU
			}
			if err := inv.store.ClearRefunds(ctx, r.OrderID, skus); err != nil {
				return cleared, err
			}
			cleared++
		}
		if len(due) < batch {
			return cleared, nil
		}
	}
}

// sweeper runs Sweep and ClearRefundMarkers every interval until ctx ends. Errors are logged; the
// next round retries.
func (inv *inventory) sweeper(ctx context.Context, interval time.Duration) {
	shared.Every(ctx, interval, func(ctx context.Context) {
		n, err := inv.Sweep(ctx, 100)
		if err != nil && ctx.Err() == nil {
			inv.logger.Warn("reservation sweep failed", "err", err)
		}
		if n > 0 {
			inv.logger.Info("released expired reservations", "count", n)
		}
		n, err = inv.ClearRefundMarkers(ctx, 100)
		if err != nil && ctx.Err() == nil {
			inv.logger.Warn("clearing refund markers failed", "err", err)
		}
		if n > 0 {
			inv.logger.Info("cleared the refund markers of settled refunds", "count", n)
		}
	})
}
