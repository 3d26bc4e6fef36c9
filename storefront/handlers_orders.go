package main

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/goshop/platform/shared"
)

// checkoutView is the checkout form. IdempotencyKey is minted per render of the form and posted back,
// so a double submit of one form makes one order.
type checkoutView struct {
	layout
	Rows           []cartRow
	Summary        priceSummary
	Addresses      []address
	Address        address
	AddressID      string
	IdempotencyKey string
	Errors         map[string]string
	Message        string
	CheckOrders    bool
	// first is the form's first showing (GET /checkout), not one sent back with the visitor's own
	// choices: it selects the default saved address, if any, in place of "A new address"; and a
	// cart with a line known to be short goes back to the cart, which says so and withholds checkout.
	first bool
}

// addressFields are the shipping address inputs and their labels, checked before calling the API.
var addressFields = []struct{ Name, Label string }{
	{"name", "Full name"}, {"street", "Street"}, {"city", "City"}, {"state", "State / region"},
	{"zip_code", "ZIP / postal code"}, {"country", "Country"},
}

// addressForm is what the "address-fields" partial in base.html renders: one address's inputs with
// their field errors. ID prefixes the inputs' ids, so it is unique on the page.
type addressForm struct {
	ID      string
	Address address
	Errors  map[string]string
}

// AddressForm is the checkout page's new shipping address; its inputs are #f-name, #f-street, ...
func (v checkoutView) AddressForm() addressForm {
	return addressForm{ID: "f", Address: v.Address, Errors: v.Errors}
}

// cartToOrder returns the visitor's cart for checkout. When the cart cannot be read it renders the
// error, when it is empty it redirects to emptyTo, and in both cases returns false.
func (s *site) cartToOrder(w http.ResponseWriter, r *http.Request, emptyTo string) (cart, bool) {
	c, err := s.readCart(r)
	if err != nil {
		s.renderError(w, r, err)
		return cart{}, false
	}
	if len(c.Lines) == 0 {
		redirect(w, r, emptyTo)
		return cart{}, false
	}
	return c, true
}

func handleCheckout(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.cartToOrder(w, r, "/cart")
		if !ok {
			return
		}
		u, _ := s.user(r)
		view := checkoutView{Address: address{Name: u.Name}, IdempotencyKey: shared.NewID(), first: true}
		s.renderCheckout(w, r, http.StatusOK, c, view)
	})
}

// renderCheckout fills the cart, its price summary from the order service's quote and the saved
// addresses (optional: a failing user service only hides them) and renders the form.
func (s *site) renderCheckout(w http.ResponseWriter, r *http.Request, status int, c cart, view checkoutView) {
	token := s.accessToken(r)
	rows, subtotal, err := s.loadCart(r.Context(), c)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if view.first && slices.ContainsFunc(rows, cartRow.Over) { // the order would only be rejected
		redirect(w, r, "/cart")
		return
	}
	var saved struct {
		Items []address `json:"items"`
	}
	if _, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: "/user/users/me/addresses", token: token, out: &saved}); err != nil {
		s.logger.DebugContext(r.Context(), "saved addresses unavailable", "err", err)
	}
	for _, a := range saved.Items {
		if view.first && a.IsDefault {
			view.AddressID = a.ID
		}
	}
	view.layout = s.newLayout(w, r, "Checkout")
	view.Rows, view.Summary, view.Addresses = rows, s.summarize(r, c, subtotal), saved.Items
	s.render(w, r, status, "checkout.html", view)
}

// validIdempotencyKey accepts the keys the form is rendered with: 32 hex digits.
func validIdempotencyKey(k string) bool {
	if len(k) != 32 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !(k[i] >= '0' && k[i] <= '9' || k[i] >= 'a' && k[i] <= 'f') {
			return false
		}
	}
	return true
}

func handleCheckoutPost(s *site) http.Handler {
	type orderRequest struct {
		Items           []orderItem `json:"items"`
		ShippingAddress *address    `json:"shipping_address,omitempty"`
		AddressID       string      `json:"address_id,omitempty"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An empty cart is most likely the second click of a double submit that arrived after the
		// first emptied it: the order exists, so show the orders rather than an empty cart.
		c, ok := s.cartToOrder(w, r, "/orders")
		if !ok {
			return
		}
		key := r.PostFormValue("idempotency_key")
		if !validIdempotencyKey(key) {
			s.renderError(w, r, badForm("The checkout form is incomplete. Please reload it and try again."))
			return
		}
		view := checkoutView{IdempotencyKey: key, Errors: map[string]string{}}
		view.AddressID = strings.TrimSpace(r.PostFormValue("address_id"))
		req := orderRequest{Items: orderItems(c)}
		if view.AddressID != "" && len(view.AddressID) <= 128 {
			req.AddressID = view.AddressID
		} else {
			view.AddressID = ""
			a, errs := readAddress(r)
			view.Address, view.Errors, req.ShippingAddress = a, errs, &a
		}
		if len(view.Errors) > 0 {
			s.renderCheckout(w, r, http.StatusBadRequest, c, view)
			return
		}
		var created order
		_, err := s.gw.do(r.Context(), call{
			method: http.MethodPost, path: "/order/orders", token: s.accessToken(r),
			body: req, header: map[string]string{"Idempotency-Key": key}, out: &created,
		})
		if err != nil {
			ae := asAPIError(err)
			if ae.Status == http.StatusUnauthorized {
				loginRedirect(w, r)
				return
			}
			if ae.Status >= 400 && ae.Status < 500 {
				// Refused before anything was made: the corrected form is a new attempt with a new key.
				// After a 5xx or a timeout the order may exist, so the form keeps its key and a retry
				// returns that order instead of making a second one.
				view.IdempotencyKey = shared.NewID()
			}
			for k, msg := range ae.Fields {
				view.Errors[strings.TrimPrefix(k, "shipping_address.")] = msg
			}
			view.Message = ae.FormMessage("name", "street", "city", "state", "zip_code", "country")
			switch {
			case ae.Fields["items"] != "":
				// The lines as a whole cannot make one order (products in different currencies).
				view.Message = "Your cart cannot be ordered as it is: " + ae.Fields["items"] + "."
			case linesRefused(ae):
				view.Message = msgLinesRefused
			case ae.Fields["address_id"] != "":
				// Deleted in another tab since the form was shown; the form has no input to mark.
				view.Message, view.AddressID = "The saved address you chose is no longer in your account: choose another or enter a new one.", ""
			}
			if ae.Status == http.StatusConflict {
				// The key was already used with other details (changed after a failed attempt that
				// may have gone through): say so; submitting again is a new, deliberate order.
				view.Message = "This checkout was already submitted with different details. Please check your orders before placing it again."
				view.CheckOrders = true
			}
			s.renderCheckout(w, r, ae.Status, c, view)
			return
		}
		if created.ID == "" {
			s.renderError(w, r, &apiError{Status: http.StatusBadGateway, Code: shared.CodeUnavailable, Message: "The order service gave an unexpected answer. Please check your orders before trying again."})
			return
		}
		s.ordersPlaced.Inc()
		if err := s.store.ClearCart(r.Context(), visitorFrom(r.Context()).sid); err != nil {
			// The order exists; a cart still showing its items is the lesser evil (a new checkout
			// form would carry a new idempotency key, so the visitor sees the order first).
			s.logger.WarnContext(r.Context(), "cart not cleared after order", "order_id", created.ID, "err", err)
		}
		// The order service prices the order when it is made: a price changed since the form was
		// shown gives another total than the one the visitor saw there, so say so before they pay.
		if seen := r.PostFormValue("quoted_total"); seen != "" && seen != moneyText(created.Total, created.Currency) {
			s.flash(w, "repriced")
		}
		redirect(w, r, "/orders/"+url.PathEscape(created.ID))
	})
}

type ordersView struct {
	layout
	pagerLinks
	Orders []order
}

// maxPageParam is the last page pageParam reads (a later one reads as 1), so pagers stop there.
const maxPageParam = 10000

// pageParam reads ?page=, 1 when absent or malformed (above maxPageParam included).
func pageParam(r *http.Request) int {
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || p < 1 || p > maxPageParam {
		return 1
	}
	return p
}

// pagerLinks are the previous and next page links of a list page; views of lists embed it for the
// "pager" template. FirstURL, set past the first page, is for the "past-end" notice of a page
// number beyond the list's end.
type pagerLinks struct {
	PrevURL  string
	NextURL  string
	FirstURL string
}

// pager returns the links around page of the list at path, which shows limit items of total.
func pager(path string, page, total, limit int) pagerLinks {
	if limit <= 0 {
		limit = 20
	}
	var l pagerLinks
	if page > 1 {
		l.PrevURL, l.FirstURL = path+"?page="+strconv.Itoa(page-1), path
	}
	if page*limit < total && page < maxPageParam {
		l.NextURL = path + "?page=" + strconv.Itoa(page+1)
	}
	return l
}

// fetchPage reads, as the caller, the page the request asks for (pageParam) of an API list: GET api,
// which carries its own ?limit=, with &page= added. The links point at the storefront list at path.
func fetchPage[T any](s *site, r *http.Request, api, path string) ([]T, pagerLinks, error) {
	page := pageParam(r)
	var list shared.Page[T]
	if _, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: api + "&page=" + strconv.Itoa(page), token: s.accessToken(r), out: &list}); err != nil {
		return nil, pagerLinks{}, err
	}
	return list.Items, pager(path, page, list.Total, list.Limit), nil
}

func handleOrders(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orders, links, err := fetchPage[order](s, r, "/order/orders?limit=20", "/orders")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := ordersView{layout: s.newLayout(w, r, "My orders"), pagerLinks: links, Orders: orders}
		s.render(w, r, http.StatusOK, "orders.html", view)
	})
}

type orderView struct {
	layout
	Order     order
	CanPay    bool
	CanCancel bool
	// CanReorder offers to put the items of a finished order into the cart (handleOrderBuyAgain).
	CanReorder bool
	Waiting    bool
	PayError   string
	Card       payForm
}

type payForm struct {
	Number, Month, Year, CVC string
	Errors                   map[string]string
}

func (s *site) renderOrder(w http.ResponseWriter, r *http.Request, status int, id string, pf payForm, payErr string) {
	var o order
	_, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: "/order/orders/" + url.PathEscape(id), token: s.accessToken(r), out: &o})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if pf.Number == "" {
		pf.Number = "4242 4242 4242 4242"
		pf.Month, pf.Year, pf.CVC = "12", "2030", "123"
	}
	view := orderView{
		layout:     s.newLayout(w, r, "Order "+shortID(o.ID)),
		Order:      o,
		CanPay:     o.Status == "confirmed",
		CanCancel:  o.Status == "pending" || o.Status == "confirmed",
		CanReorder: reorderable(o.Status),
		Waiting:    o.Status == "pending",
		PayError:   payErr,
		Card:       pf,
	}
	s.render(w, r, status, "order.html", view)
}

func handleOrder(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.idParam(w, r, "order")
		if !ok {
			return
		}
		s.renderOrder(w, r, http.StatusOK, id, payForm{}, "")
	})
}

// handleOrderPay posts the stub card form to the order service. A refused card shows the order page
// again with the API's message; the test card 4242 4242 4242 4242 pays.
func handleOrderPay(s *site) http.Handler {
	type payRequest struct {
		CardNumber string `json:"card_number"`
		ExpMonth   int    `json:"exp_month"`
		ExpYear    int    `json:"exp_year"`
		CVC        string `json:"cvc"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.idParam(w, r, "order")
		if !ok {
			return
		}
		pf := payForm{
			Number: strings.TrimSpace(r.PostFormValue("card_number")), Month: strings.TrimSpace(r.PostFormValue("exp_month")),
			Year: strings.TrimSpace(r.PostFormValue("exp_year")), CVC: strings.TrimSpace(r.PostFormValue("cvc")),
			Errors: map[string]string{},
		}
		req := payRequest{CardNumber: strings.NewReplacer(" ", "", "-", "").Replace(pf.Number), CVC: pf.CVC}
		var err error
		if req.ExpMonth, err = strconv.Atoi(pf.Month); err != nil || req.ExpMonth < 1 || req.ExpMonth > 12 {
			pf.Errors["exp_month"] = "Month must be 1 to 12."
		}
		if req.ExpYear, err = strconv.Atoi(pf.Year); err != nil || req.ExpYear < 2000 || req.ExpYear > 2100 {
			pf.Errors["exp_year"] = "Year must be like 2030."
		}
		if len(req.CardNumber) < 12 || len(req.CardNumber) > 19 {
			pf.Errors["card_number"] = "Card number must have 12 to 19 digits."
		}
		if len(pf.Errors) > 0 {
			s.renderOrder(w, r, http.StatusBadRequest, id, pf, "Please check the card details.")
			return
		}
		_, err = s.gw.do(r.Context(), call{method: http.MethodPost, path: "/order/orders/" + url.PathEscape(id) + "/pay",
			token: s.accessToken(r), body: req})
		if err != nil {
			ae := asAPIError(err)
			if ae.Status >= 500 || ae.Status == http.StatusNotFound || ae.Status == http.StatusForbidden {
				s.renderError(w, r, err)
				return
			}
			for k, v := range ae.Fields {
				pf.Errors[k] = v
			}
			message := ae.FormMessage("card_number", "exp_month", "exp_year", "cvc")
			if ae.Message == "payment declined" { // the order service's answer for a declined card
				message, pf.Errors["card_number"] = "Your card was declined. Nothing was charged.", "Try another card, or check the number."
			}
			s.renderOrder(w, r, ae.Status, id, pf, message)
			return
		}
		s.flash(w, "paid")
		redirect(w, r, "/orders/"+url.PathEscape(id))
	})
}

func handleOrderCancel(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.idParam(w, r, "order")
		if !ok {
			return
		}
		if !confirmed(r) {
			s.confirmOrderCancel(w, r, id, false, nil, "/orders/"+url.PathEscape(id))
			return
		}
		s.act(w, r, call{method: http.MethodPost, path: "/order/orders/" + url.PathEscape(id) + "/cancel", body: struct{}{}},
			"cancelled", "/orders/"+url.PathEscape(id))
	})
}
