package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// quoteRequest is the body of POST /orders/quote: the body of POST /orders, except that the address
// may be left out (tax and shipping do not depend on it). An address that is given is checked as
// for an order, so a saved address_id must be the caller's.
type quoteRequest createOrderRequest

// Valid checks the request's shape like createOrderRequest.Valid, without requiring an address.
func (r quoteRequest) Valid(context.Context) map[string]string {
	return createOrderRequest(r).problems(false)
}

// quoteView is the answer of POST /orders/quote: the lines and amounts the same request to
// POST /orders would create the order with, to the cent.
type quoteView struct {
	Items    []lineView   `json:"items"`
	Subtotal shared.Cents `json:"subtotal"`
	Tax      shared.Cents `json:"tax"`
	Shipping shared.Cents `json:"shipping"`
	Total    shared.Cents `json:"total"`
	Currency string       `json:"currency"`
}

// handleOrderQuote serves POST /orders/quote: it prices the lines through pricing.build, the code
// that prices POST /orders, and changes nothing (no order, no event, no reservation, no idempotency
// record). The answer depends on live prices, so it is never cached.
func handleOrderQuote(logger *slog.Logger, p pricing) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := shared.IdentityFrom(r.Context())
		req, err := shared.Decode[quoteRequest](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		o, err := p.build(r, id.UserID, createOrderRequest(req))
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		v := newOrderView(o)
		w.Header().Set("Cache-Control", "private, no-store")
		shared.Encode(w, http.StatusOK, quoteView{Items: v.Items, Subtotal: v.Subtotal, Tax: v.Tax,
			Shipping: v.Shipping, Total: v.Total, Currency: v.Currency})
	})
}
