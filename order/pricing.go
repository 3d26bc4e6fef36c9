package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/errgroup"
)

// Pricing: one function, pricing.build, prices both POST /orders and POST /orders/quote, so the
// quote a shopper sees is the order they get, to the cent.

// pricing is what handleOrderCreate and handleOrderQuote need beyond the store: prices, saved
// addresses, the tax rate and the shipping rule.
type pricing struct {
	catalog   catalog
	addresses addressBook
	taxBPS    int64
	shipping  shippingRule
}

// shippingRule is the shipping charge of an order: FlatCents, or nothing once the subtotal reaches
// FreeOverCents (0 turns free shipping off). Quote and creation both price through pricing.build,
// so a quote's shipping is always the order's.
type shippingRule struct {
	FlatCents     int64
	FreeOverCents int64
}

// cents is the shipping charge for subtotal.
func (s shippingRule) cents(subtotal int64) int64 {
	if s.FreeOverCents > 0 && subtotal >= s.FreeOverCents {
		return 0
	}
	return s.FlatCents
}

// build prices req with the product service and resolves its address: the order in pending state,
// without ID and events.
func (p pricing) build(r *http.Request, userID string, req createOrderRequest) (Order, error) {
	ctx := r.Context()
	o := Order{UserID: userID, Status: StatusPending, Items: make([]Line, len(req.Items))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	missing := make([]bool, len(req.Items))
	infos := make([]productInfo, len(req.Items))
	for i, l := range req.Items {
		g.Go(func() error {
			info, err := p.catalog.Product(gctx, l.SKU)
			if errors.Is(err, shared.ErrNotFound) {
				missing[i] = true
				return nil
			}
			infos[i] = info
			return err
		})
	}
	var addr Address
	if req.AddressID != "" {
		g.Go(func() error {
			a, err := p.addresses.Address(gctx, r.Header.Get("Authorization"), req.AddressID)
			addr = a
			return err
		})
	} else if req.ShippingAddress != nil { // a quote may leave the address out
		addr = *req.ShippingAddress
	}
	if err := g.Wait(); errors.Is(err, shared.ErrNotFound) {
		return Order{}, shared.Invalid(map[string]string{"address_id": "you have no saved address with this ID"})
	} else if errors.Is(err, shared.ErrUnauthorized) {
		return Order{}, shared.Errorf(shared.CodeUnauthorized, "the user service refused your credentials")
	} else if err != nil {
		return Order{}, fmt.Errorf("pricing: %w", err)
	}
	fields := map[string]string{}
	for i, m := range missing {
		if m {
			fields[fmt.Sprintf("items[%d].sku", i)] = "no active product with this SKU"
		}
	}
	if len(fields) > 0 {
		return Order{}, shared.Invalid(fields)
	}
	if req.AddressID != "" {
		if f := addr.problems(); len(f) > 0 {
			return Order{}, shared.Invalid(map[string]string{"address_id": "the saved address is incomplete: edit it first"})
		}
	}
	o.Address = addr
	for i, l := range req.Items {
		info := infos[i]
		if i == 0 {
			o.Currency = info.Currency
		} else if info.Currency != o.Currency {
			return Order{}, shared.Invalid(map[string]string{"items": fmt.Sprintf("products are priced in different currencies (%s, %s): order them separately", o.Currency, info.Currency)})
		}
		o.Items[i] = Line{SKU: info.SKU, Name: info.Name, UnitPriceCents: info.PriceCents, Quantity: l.Quantity}
		o.SubtotalCents += info.PriceCents * l.Quantity // ≤ shared.MaxCents × maxQuantity × maxLines: no overflow
	}
	if o.SubtotalCents > maxCents {
		return Order{}, shared.Invalid(map[string]string{"items": "order total is too large"})
	}
	o.TaxCents = taxCents(o.SubtotalCents, p.taxBPS)
	o.ShippingCents = p.shipping.cents(o.SubtotalCents)
	o.TotalCents = o.SubtotalCents + o.TaxCents + o.ShippingCents
	return o, nil
}

// quoteRequest is the body of POST /orders/quote: the body of POST /orders, except that the address
// may be left out (tax and shipping do not depend on it). An address that is given is checked as
// for an order, so a saved address_id must be the caller's.
type quoteRequest createOrderRequest

// Valid checks the request's shape like createOrderRequest.Valid, without requiring an address.
func (r quoteRequest) Valid(context.Context) map[string]string {
	return createOrderRequest(r).problems(false)
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
		w.Header().Set("Cache-Control", "private, no-store")
		shared.Encode(w, http.StatusOK, newOrderView(o).priceView)
	})
}
