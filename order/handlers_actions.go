package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// payRequest is the body of POST /orders/{id}/pay. The card number is used for the charge and then
// forgotten: only its last four digits and brand are stored.
type payRequest struct {
	CardNumber string `json:"card_number"`
	ExpMonth   int    `json:"exp_month"`
	ExpYear    int    `json:"exp_year"`
	CVC        string `json:"cvc"`
}

// reservationMargin is how long before the reservation's expiry pay stops accepting, so inventory
// does not let the stock go while the charge is in flight.
const reservationMargin = 5 * time.Second

// handleOrderPay serves POST /orders/{id}/pay (the owner only). A confirmed order is charged once
// (the provider's idempotency key is the order ID) and becomes paid; paying a paid order again
// answers 200 with the order and charges nothing. A declined card is 400 with
// fields.card_number "card was declined" (402 is not in the platform's code set); any other state is
// 409 naming it. If the order left confirmed while the charge ran (reservation expired), the charge
// is refunded and the answer is 409.
func handleOrderPay(logger *slog.Logger, co *checkout) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, id, err := loadVisible(r, co.store)
		if err == nil && o.UserID != id.UserID {
			err = shared.Errorf(shared.CodeForbidden, "only the customer who placed the order can pay it")
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		req, err := shared.DecodeLimit[payRequest](w, r, 4<<10)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		c, fields := parseCard(req.CardNumber, req.ExpMonth, req.ExpYear, req.CVC, co.now())
		if len(fields) > 0 {
			shared.WriteError(w, r, logger, shared.Invalid(fields))
			return
		}
		o, err = co.pay(r.Context(), o.ID, c)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusOK, newOrderView(o))
	})
}

// pay charges card for order id and moves it to paid; see handleOrderPay.
func (co *checkout) pay(ctx context.Context, id string, c card) (Order, error) {
	var ch *charge
	o, err := co.apply(ctx, id, func(o Order) (*move, error) {
		switch {
		case o.Status == StatusPaid:
			return nil, nil // paid already: idempotent success, no new charge
		case o.Status != StatusConfirmed:
			return nil, shared.Errorf(shared.CodeConflict, "order is %s: only a confirmed order can be paid", o.Status)
		case o.ReservationExpiresAt != nil && !co.now().Add(reservationMargin).Before(*o.ReservationExpiresAt):
			return nil, shared.Errorf(shared.CodeConflict, "the stock reservation has expired: place the order again")
		}
		if ch == nil {
			got, err := co.payments.Charge(ctx, chargeRequest{OrderID: o.ID, AmountCents: o.TotalCents, Currency: o.Currency, Card: c})
			if errors.Is(err, errDeclined) {
				return nil, &shared.Error{Code: shared.CodeInvalid, Message: "payment declined", Fields: map[string]string{"card_number": "card was declined"}}
			}
			if err != nil {
				return nil, fmt.Errorf("charge: %w: %w", shared.ErrUnavailable, err)
			}
			ch = &got
		}
		return &move{To: StatusPaid, By: actorPayment, Payment: &Payment{ChargeID: ch.ID, Last4: c.last4(), Brand: c.brand(),
			AmountCents: ch.AmountCents, PaidAt: co.now()}}, nil
	})
	if ch != nil && (o.Payment == nil || o.Payment.ChargeID != ch.ID) {
		// Charged, but the order is not paid with this charge: it moved elsewhere first, or another
		// copy's charge paid it (a provider without idempotency across copies charged twice). Give the
		// money back either way; the answer stays what apply said (paid already is a success).
		if _, rerr := co.payments.Refund(context.WithoutCancel(ctx), ch.ID); rerr != nil {
			co.logger.ErrorContext(ctx, "refund of orphan charge failed: refund by hand", "order_id", id, "charge_id", ch.ID, "err", rerr)
		}
	}
	return o, err
}

// cancelRequest is the optional body of POST /orders/{id}/cancel.
type cancelRequest struct {
	Reason string `json:"reason"`
}

func (c cancelRequest) Valid(context.Context) map[string]string {
	f := map[string]string{}
	checkField(f, "reason", c.Reason)
	return f
}

// handleOrderCancel serves POST /orders/{id}/cancel (body optional: {"reason"}). The owner cancels a
// pending or confirmed order; an admin also a paid one, which is refunded. Cancelling a cancelled
// order answers 200 as it is; other states are 409. order.cancelled makes inventory release the stock.
func handleOrderCancel(logger *slog.Logger, co *checkout) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, id, err := loadVisible(r, co.store)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		req, err := shared.DecodeOptional[cancelRequest](w, r, 4<<10)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		by, reason := actorOwner, "cancelled by the customer"
		if id.IsAdmin() {
			by, reason = actorAdmin, "cancelled by an admin"
		}
		if req.Reason = strings.TrimSpace(req.Reason); req.Reason != "" {
			reason = req.Reason
		}
		o, err = co.cancel(r.Context(), o.ID, by, reason)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusOK, newOrderView(o))
	})
}

// cancel moves order id to cancelled and refunds it if it was paid.
func (co *checkout) cancel(ctx context.Context, id string, by actor, reason string) (Order, error) {
	wasPaid := false
	o, err := co.apply(ctx, id, func(o Order) (*move, error) {
		if o.Status == StatusCancelled {
			return nil, nil
		}
		wasPaid = o.Status == StatusPaid
		return &move{To: StatusCancelled, By: by, Reason: reason}, nil
	})
	if err != nil || !wasPaid {
		return o, err
	}
	co.refund(context.WithoutCancel(ctx), o) // a failure is logged for an operator; the cancellation stands
	return co.store.Get(ctx, id)
}

// statusRequest is the body of PATCH /orders/{id}/status.
type statusRequest struct {
	Status Status `json:"status"`
	Reason string `json:"reason"`
}

func (s statusRequest) Valid(context.Context) map[string]string {
	f := map[string]string{}
	if !validStatus(s.Status) {
		f["status"] = "must be one of pending, confirmed, rejected, paid, cancelled, shipped, delivered"
	}
	checkField(f, "reason", s.Reason)
	return f
}

// handleOrderStatus serves admin PATCH /orders/{id}/status {"status","reason"}: only along the
// transition table's admin edges (paid → shipped → delivered, → cancelled with refund); anything else
// is 409 naming the current state.
func handleOrderStatus(logger *slog.Logger, co *checkout) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, _, err := loadVisible(r, co.store)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		req, err := shared.DecodeLimit[statusRequest](w, r, 4<<10)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		reason := strings.TrimSpace(req.Reason)
		if req.Status == StatusCancelled {
			if reason == "" {
				reason = "cancelled by an admin"
			}
			o, err = co.cancel(r.Context(), o.ID, actorAdmin, reason)
		} else {
			o, err = co.apply(r.Context(), o.ID, func(Order) (*move, error) {
				return &move{To: req.Status, By: actorAdmin, Reason: reason}, nil
			})
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusOK, newOrderView(o))
	})
}
