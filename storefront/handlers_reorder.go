package main

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/goshop/platform/shared"
)

// reorderable reports whether an order in status is over, so its items can go back into the cart
// (POST /orders/{id}/buy-again): rejected (the stock ran out while it was placed: checkout emptied
// the cart, and this is the way back), cancelled, delivered. An open order's items are on their way.
func reorderable(status string) bool {
	return status == "rejected" || status == "cancelled" || status == "delivered"
}

// errNothingToReorder answers a buy-again none of whose products can be added now.
var errNothingToReorder = &apiError{Status: http.StatusConflict, Code: shared.CodeConflict,
	Message: "None of this order's products can be bought right now: they are sold out or no longer sold."}

// handleOrderBuyAgain puts the items of the caller's finished order (reorderable) into the cart: each
// product still on sale, up to what inventory has beside what the cart already holds of it. Sold-out
// and withdrawn products are left out, and so is what would pass the cart's maxCartLines; the notice
// says when anything was left out or lowered. The order is read as the caller, so another customer's
// order is a 404 as on its page. 409 for an open order or when nothing could be added.
func handleOrderBuyAgain(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.idParam(w, r, "order")
		if !ok {
			return
		}
		ctx := r.Context()
		var o order
		if _, err := s.gw.do(ctx, call{method: http.MethodGet, path: "/order/orders/" + url.PathEscape(id), token: s.accessToken(r), out: &o}); err != nil {
			s.renderError(w, r, err)
			return
		}
		if !reorderable(o.Status) {
			s.renderError(w, r, &apiError{Status: http.StatusConflict, Code: shared.CodeConflict,
				Message: "This order is still open: its items are on their way to you."})
			return
		}
		c, err := s.readCart(r)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		have := map[string]int{}
		for _, l := range c.Lines {
			have[l.SKU] = l.Qty
		}
		var skus []string
		for _, l := range o.Items {
			skus = append(skus, l.SKU)
		}
		stock, err := s.gw.stockBySKU(ctx, skus)
		if err != nil {
			// Unknown stock does not cap, as for /cart/add: the order's reservation is the final check.
			s.logger.WarnContext(ctx, "stock lookup failed", "err", err, "request_id", shared.RequestIDFrom(ctx))
		}
		sid := s.ensureSession(w, r)
		added, short := 0, false
		for _, l := range o.Items {
			qty := l.Quantity
			if it, known := stock[l.SKU]; known {
				qty = min(qty, it.Available-have[l.SKU])
			}
			if qty < l.Quantity {
				short = true
			}
			if qty <= 0 {
				continue
			}
			// Only a product on sale becomes a line, as with /cart/add (the stock read keeps no
			// deleted items, but an unknown stock does not say).
			if _, err := s.gw.getProductBySKU(ctx, l.SKU); isStatus(err, http.StatusNotFound) {
				short = true // withdrawn or switched off since
				continue
			} else if err != nil {
				s.renderError(w, r, err)
				return
			}
			err := s.store.AddToCart(ctx, sid, l.SKU, qty)
			if errors.Is(err, errCartFull) {
				short = true
				break
			}
			if err != nil {
				s.renderError(w, r, cartError(err))
				return
			}
			added++
		}
		if added == 0 {
			s.renderError(w, r, errNothingToReorder)
			return
		}
		flash := "reordered"
		if short {
			flash = "reorderedsome"
		}
		s.cartChanged(w, r, sid, nil, flash)
	})
}
