package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/errgroup"
)

type cartRow struct {
	SKU       string
	Qty       int
	Product   product
	Found     bool
	LineTotal string
	Stock     stockView
}

// Over reports whether the line asks for more than inventory has (stock fell since it was added).
func (r cartRow) Over() bool { return r.Stock.Known && r.Qty > r.Stock.Available }

// Max is the largest quantity the line's input offers: what is available, at most maxQuantity.
func (r cartRow) Max() int { return r.Stock.Max() }

type cartView struct {
	layout
	Rows    []cartRow
	Summary priceSummary
	Missing bool // a line's product is no longer sold
	Over    bool // a line asks for more than is in stock
}

// loadCart reads the products of the cart's lines concurrently (at most 20 lines, at most 8 calls
// in flight) and their stock (a failing inventory only hides it). A product that is gone leaves a
// row the visitor can remove. The subtotal is from catalog prices; the order service's quote is the
// authority (summarize).
func (s *site) loadCart(ctx context.Context, c cart) ([]cartRow, string, error) {
	rows := make([]cartRow, len(c.Lines))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, l := range c.Lines {
		rows[i] = cartRow{SKU: l.SKU, Qty: l.Qty}
		g.Go(func() error {
			p, err := s.gw.getProductBySKU(gctx, l.SKU)
			if isStatus(err, http.StatusNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			rows[i].Product, rows[i].Found = p, true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	skus := make([]string, 0, len(rows))
	for _, row := range rows {
		skus = append(skus, row.SKU)
	}
	stock, _ := s.gw.stockBySKU(ctx, skus)
	var total shared.Cents
	currency, mixed := "", false
	for i := range rows {
		rows[i].Stock = newStockView(rows[i].SKU, stock)
		if !rows[i].Found {
			continue
		}
		cents, _ := shared.ParseCentsUnbounded(string(rows[i].Product.Price)) // an API amount: never the input bound
		line := cents * shared.Cents(rows[i].Qty)
		total += line
		mixed = mixed || currency != "" && currency != rows[i].Product.Currency
		currency = rows[i].Product.Currency
		rows[i].LineTotal = shared.Money{Amount: line, Currency: currency}.String()
	}
	if mixed {
		return rows, mixedSubtotal, nil
	}
	return rows, shared.Money{Amount: total, Currency: currency}.String(), nil
}

// mixedSubtotal is the subtotal of a cart whose products are priced in different currencies:
// amounts in different currencies are never added up, and the order service refuses such an order.
const mixedSubtotal = "—"

func handleCart(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.readCart(r)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		rows, subtotal, err := s.loadCart(r.Context(), c)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := cartView{layout: s.newLayout(w, r, "Your cart"), Rows: rows}
		for _, row := range rows {
			view.Missing = view.Missing || !row.Found
			view.Over = view.Over || row.Over()
		}
		view.Summary = s.summarize(r, c, subtotal)
		s.render(w, r, http.StatusOK, "cart.html", view)
	})
}

// cartLineForm reads a cart form's sku and quantity; ok is false unless the SKU is well formed and
// the quantity an integer in [lo, maxQuantity].
func cartLineForm(r *http.Request, lo int) (sku string, qty int, ok bool) {
	sku = r.PostFormValue("sku")
	qty, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("quantity")))
	return sku, qty, err == nil && qty >= lo && qty <= maxQuantity && validSKU(sku)
}

func badForm(msg string) error {
	return &apiError{Status: http.StatusBadRequest, Code: shared.CodeInvalid, Message: msg}
}

// errSoldOut is the answer to adding a product none of which is available.
var errSoldOut = &apiError{Status: http.StatusConflict, Code: shared.CodeConflict,
	Message: "Sorry, this product is out of stock right now, so it was not added to your cart."}

// available is how many of sku inventory can still sell; ok is false when inventory did not answer,
// and then the cart does not cap (the order's reservation is the final check).
func (s *site) available(ctx context.Context, sku string) (n int, ok bool) {
	stock, err := s.gw.stockBySKU(ctx, []string{sku})
	if err != nil {
		s.logger.WarnContext(ctx, "stock lookup failed", "err", err, "request_id", shared.RequestIDFrom(ctx))
	}
	it, ok := stock[sku]
	return it.Available, ok
}

// lineQty is sku's quantity in the visitor's cart (0 when it has no such line).
func (s *site) lineQty(r *http.Request, sku string) (int, error) {
	c, err := s.readCart(r)
	for _, l := range c.Lines {
		if l.SKU == sku {
			return l.Qty, err
		}
	}
	return 0, err
}

// handleCartAdd adds a quantity of a product on sale. The line never holds more than inventory has:
// asking for more sets it to what is available and says so; a sold-out product is refused (409).
func handleCartAdd(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku, qty, ok := cartLineForm(r, 1)
		if !ok {
			s.renderError(w, r, badForm("Choose a product and a quantity between 1 and 99."))
			return
		}
		// The SKU must name a product on sale, so the cart never holds made-up lines.
		if _, err := s.gw.getProductBySKU(r.Context(), sku); err != nil {
			s.renderError(w, r, err)
			return
		}
		avail, known := s.available(r.Context(), sku)
		if known && avail <= 0 {
			s.renderError(w, r, errSoldOut)
			return
		}
		have, err := s.lineQty(r, sku)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		sid := s.ensureSession(w, r)
		flash := "added"
		if known && have+qty > avail {
			err, flash = s.store.SetCartLine(r.Context(), sid, sku, avail), "capped"
		} else {
			err = s.store.AddToCart(r.Context(), sid, sku, qty)
		}
		s.cartChanged(w, r, sid, err, flash)
	})
}

// handleCartUpdate sets a line's quantity, 0 taking it out. More than is available sets what is
// available and says so; when nothing is left the line is taken out.
func handleCartUpdate(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku, qty, ok := cartLineForm(r, 0)
		if !ok {
			s.renderError(w, r, badForm("Quantity must be between 0 and 99."))
			return
		}
		// Only a line the cart has can change: adding goes through /cart/add, which checks the
		// product is on sale, so a made-up or unreleased SKU never becomes a line here. Setting 0 on
		// a line already gone (a second click) stays a harmless no-op.
		have, err := s.lineQty(r, sku)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if have == 0 && qty > 0 {
			s.renderError(w, r, &apiError{Status: http.StatusNotFound, Code: shared.CodeNotFound,
				Message: "That product is not in your cart (any more). Add it from its page."})
			return
		}
		flash := "cart"
		if qty > 0 {
			if avail, known := s.available(r.Context(), sku); known && qty > avail {
				qty, flash = max(avail, 0), "capped"
				if qty == 0 {
					flash = "soldout"
				}
			}
		}
		s.setLine(w, r, sku, qty, flash)
	})
}

// handleCartRemove takes one line out of the cart.
func handleCartRemove(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku := r.PostFormValue("sku")
		if !validSKU(sku) {
			s.renderError(w, r, badForm("Choose the product to remove."))
			return
		}
		s.setLine(w, r, sku, 0, "removed")
	})
}

// setLine stores sku's quantity (0 removes it), then shows the cart with the flash.
func (s *site) setLine(w http.ResponseWriter, r *http.Request, sku string, qty int, flash string) {
	sid := s.ensureSession(w, r)
	s.cartChanged(w, r, sid, s.store.SetCartLine(r.Context(), sid, sku, qty), flash)
}

// cartChanged answers a cart change in session sid: the error page when err is not nil, else the
// cart with the flash. The cookie is re-sent, so it lives as long as the session it names.
func (s *site) cartChanged(w http.ResponseWriter, r *http.Request, sid string, err error, flash string) {
	if err != nil {
		s.renderError(w, r, cartError(err))
		return
	}
	s.setSessionCookie(w, sid)
	s.flash(w, flash)
	redirect(w, r, "/cart")
}

// handleCartClear empties the cart; a visitor without a session has nothing to clear.
func handleCartClear(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sid := visitorFrom(r.Context()).sid; sid != "" {
			if err := s.store.ClearCart(r.Context(), sid); err != nil {
				s.renderError(w, r, err)
				return
			}
		}
		s.flash(w, "cleared")
		redirect(w, r, "/cart")
	})
}

// cartError turns a refused cart change into what the visitor sees; an outage stays a 503.
func cartError(err error) error {
	if errors.Is(err, errCartFull) {
		return badForm(fmt.Sprintf("Your cart holds at most %d different products. Check out or remove one first.", maxCartLines))
	}
	return err
}

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
	if subtotal == mixedSubtotal {
		sum.Note = msgMixedCurrencies
		return sum
	}
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
			if linesRefused(ae) {
				sum.Note = msgLinesRefused
			}
		}
		return sum
	}
	return priceSummary{Quoted: true, Subtotal: moneyText(q.Subtotal, q.Currency), Tax: moneyText(q.Tax, q.Currency),
		Shipping: moneyText(q.Shipping, q.Currency), Total: moneyText(q.Total, q.Currency)}
}

// msgMixedCurrencies is what the cart and checkout say about a cart priced in several currencies.
const msgMixedCurrencies = "Your cart holds products priced in different currencies, which cannot be ordered together: order them separately."

// msgLinesRefused is what the cart and checkout say when the order service refuses cart lines.
const msgLinesRefused = "Some products in your cart are no longer sold: remove them from your cart to check out."

// linesRefused reports whether the order service refused the order's lines (fields items[i]...,
// such as a product taken off sale since it was put in the cart): its message is only "invalid
// request".
func linesRefused(ae *apiError) bool {
	for k := range ae.Fields {
		if strings.HasPrefix(k, "items[") {
			return true
		}
	}
	return false
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
