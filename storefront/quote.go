package main

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/goshop/platform/shared"
)

// orderItem is one line of an order or quote request to the order service.
type orderItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// orderItems is the cart as the lines of an order or quote request.
func orderItems(c cart) []orderItem {
	items := make([]orderItem, 0, len(c.Lines))
	for _, l := range c.Lines {
		items = append(items, orderItem{SKU: l.SKU, Quantity: l.Qty})
	}
	return items
}

// quote is the order service's price summary (POST /order/orders/quote), amounts as JSON text.
type quote struct {
	Subtotal json.Number `json:"subtotal"`
	Tax      json.Number `json:"tax"`
	Shipping json.Number `json:"shipping"`
	Total    json.Number `json:"total"`
	Currency string      `json:"currency"`
}

// priceSummary is what the cart and checkout pages show under the lines. Quoted is true when Tax,
// Shipping and Total come from the order service; otherwise only Subtotal (from the catalog) is set
// and Note says why.
type priceSummary struct {
	Quoted                         bool
	Subtotal, Tax, Shipping, Total string
	Note                           string
}

// summarize prices the cart with the order service, the code that will price the order, so the total
// shown is the total charged. Quotes need a signed-in user (orders:write); a visitor, an empty cart
// or a failing quote shows the catalog subtotal and a note instead of failing the page.
func (s *site) summarize(r *http.Request, c cart, subtotal string) priceSummary {
	sum := priceSummary{Subtotal: subtotal}
	token := s.accessToken(r)
	if token == "" {
		sum.Note = "Sign in to see tax and shipping before you order."
		return sum
	}
	if len(c.Lines) == 0 {
		return sum
	}
	q, err := s.quote(r.Context(), token, c)
	if err != nil {
		s.logger.WarnContext(r.Context(), "quote failed", "err", err, "request_id", shared.RequestIDFrom(r.Context()))
		sum.Note = "Tax and shipping cannot be calculated right now; they are added when you place the order."
		if ae := asAPIError(err); ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusUnauthorized {
			sum.Note = "Some items cannot be priced: check your cart. " + ae.Message
		}
		return sum
	}
	return priceSummary{Quoted: true, Subtotal: moneyText(q.Subtotal, q.Currency), Tax: moneyText(q.Tax, q.Currency),
		Shipping: moneyText(q.Shipping, q.Currency), Total: moneyText(q.Total, q.Currency)}
}

// quote asks the order service what an order of c would cost; it changes nothing there.
func (s *site) quote(ctx context.Context, token string, c cart) (quote, error) {
	var q quote
	_, err := s.gw.do(ctx, call{method: http.MethodPost, path: "/order/orders/quote", token: token,
		body: struct {
			Items []orderItem `json:"items"`
		}{orderItems(c)}, out: &q})
	return q, err
}
