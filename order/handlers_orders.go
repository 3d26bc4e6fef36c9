package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/goshop/platform/shared"
)

// Limits of an order request.
const (
	maxLines    = 50
	maxQuantity = 1000
	maxFieldLen = 200
)

// orderLineInput is one requested line: what and how many, never a price.
type orderLineInput struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// createOrderRequest is the body of POST /orders: lines and either a shipping address or the ID of
// one of the caller's saved addresses.
type createOrderRequest struct {
	Items           []orderLineInput `json:"items"`
	ShippingAddress *Address         `json:"shipping_address,omitempty"`
	AddressID       string           `json:"address_id,omitempty"`
}

// Valid checks the request's shape; prices and address IDs are checked against their services later.
func (r createOrderRequest) Valid(context.Context) map[string]string { return r.problems(true) }

// problems returns the request's field messages; an order needs an address, a quote does not.
func (r createOrderRequest) problems(needAddress bool) map[string]string {
	f := map[string]string{}
	switch {
	case len(r.Items) == 0:
		f["items"] = "at least one line is required"
	case len(r.Items) > maxLines:
		f["items"] = fmt.Sprintf("at most %d lines", maxLines)
	}
	seen := map[string]bool{}
	for i, l := range r.Items {
		if i >= maxLines {
			break
		}
		key := fmt.Sprintf("items[%d]", i)
		switch {
		case l.SKU == "" || len(l.SKU) > 64 || strings.TrimSpace(l.SKU) != l.SKU || !shared.Printable(l.SKU, false):
			f[key+".sku"] = "must be 1 to 64 printable characters"
		case seen[strings.ToUpper(l.SKU)]:
			// SKUs are case-insensitive (product and inventory upper-case them).
			f[key+".sku"] = "appears twice: put the whole quantity on one line"
		}
		seen[strings.ToUpper(l.SKU)] = true
		if l.Quantity < 1 || l.Quantity > maxQuantity {
			f[key+".quantity"] = fmt.Sprintf("must be 1 to %d", maxQuantity)
		}
	}
	switch {
	case r.ShippingAddress != nil && r.AddressID != "":
		f["address_id"] = "give either shipping_address or address_id, not both"
	case r.ShippingAddress == nil && r.AddressID == "":
		if needAddress {
			f["shipping_address"] = "shipping_address or address_id is required"
		}
	case r.ShippingAddress != nil:
		for k, v := range r.ShippingAddress.problems() {
			f["shipping_address."+k] = v
		}
	case len(r.AddressID) > 128 || !shared.Printable(r.AddressID, false):
		f["address_id"] = "is not a valid address ID"
	}
	return f
}

// problems returns field messages for a shipping address: name, street, city, zip_code and country
// required, state optional, every field at most maxFieldLen printable characters.
func (a Address) problems() map[string]string {
	f := map[string]string{}
	for name, v := range map[string]string{"name": a.Name, "street": a.Street, "city": a.City, "state": a.State, "zip_code": a.ZipCode, "country": a.Country} {
		if strings.TrimSpace(v) == "" && name != "state" {
			f[name] = "is required"
		} else {
			checkField(f, name, v)
		}
	}
	return f
}

// checkField sets f[name] unless v is at most maxFieldLen printable characters on one line: the
// check of every free-text field of an order (address lines, a cancellation's or status's reason).
func checkField(f map[string]string, name, v string) {
	if len(v) > maxFieldLen || !shared.Printable(v, false) {
		f[name] = fmt.Sprintf("must be at most %d printable characters", maxFieldLen)
	}
}

// parseCreateOrder decodes and validates a POST /orders body; every error is a 400 *shared.Error.
func parseCreateOrder(body []byte) (createOrderRequest, error) {
	var req createOrderRequest
	if err := shared.DecodeJSON(strings.NewReader(string(body)), &req); err != nil {
		return req, err
	}
	if f := req.Valid(context.Background()); len(f) > 0 {
		return req, shared.Invalid(f)
	}
	return req, nil
}

// hash identifies the request for the idempotency check: the SHA-256 of its canonical JSON, so
// whitespace and key order do not matter but every value does.
func (r createOrderRequest) hash() string {
	sum := sha256.Sum256(r.appendJSON(make([]byte, 0, 512)))
	return hex.EncodeToString(sum[:])
}

// verifiedEmail refuses with 403 email_unverified, when required, a caller whose access token does
// not carry email_verified: checkout then needs an address the customer has proved is theirs. The
// claim is in the token, so no call to auth; a customer who just verified gets it with the next token.
func verifiedEmail(required bool, next http.Handler) http.Handler {
	if !required {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, _ := shared.IdentityFrom(r.Context()); !id.EmailVerified {
			shared.WriteError(w, r, nil, shared.Errorf(shared.CodeEmailUnverified, "verify your e-mail address before placing an order"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleOrderCreate serves POST /orders. The Idempotency-Key header is required: the first request
// with a key creates the order (201); a retry with the same key and body answers the same order with
// 200 and "Idempotent-Replayed: true"; the same key with another body is 409. Concurrent duplicates race
// on the unique (user_id, idempotency_key) index, so one order is created.
func handleOrderCreate(logger *slog.Logger, co *checkout, p pricing) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := shared.IdentityFrom(r.Context())
		key := r.Header.Get("Idempotency-Key")
		if !shared.ValidIdempotencyKey(key) {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"Idempotency-Key": "header is required: 1 to 255 visible ASCII characters, unique per order attempt"}))
			return
		}
		req, err := shared.Decode[createOrderRequest](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		hash := req.hash()
		if o, err := co.store.GetByKey(r.Context(), id.UserID, key); err == nil {
			replay(w, r, logger, o, hash)
			return
		} else if !errors.Is(err, shared.ErrNotFound) {
			shared.WriteError(w, r, logger, err)
			return
		}
		o, err := p.build(r, id.UserID, req)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		o.CustomerEmail, o.CustomerName = strings.ToLower(id.Email), id.Name
		o, err = co.create(r.Context(), o, key, hash)
		if errors.Is(err, shared.ErrConflict) {
			// A concurrent request with the same key won the unique index.
			if prev, gerr := co.store.GetByKey(r.Context(), id.UserID, key); gerr == nil {
				replay(w, r, logger, prev, hash)
				return
			}
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		w.Header().Set("Location", "/orders/"+o.ID)
		shared.Encode(w, http.StatusCreated, newOrderView(o))
	})
}

// replay answers a repeated POST /orders: the original order and status for the same body, 409 for
// a different one.
func replay(w http.ResponseWriter, r *http.Request, logger *slog.Logger, o Order, hash string) {
	if o.RequestHash != hash {
		shared.WriteError(w, r, logger, shared.Errorf(shared.CodeConflict, "Idempotency-Key was already used with a different request body"))
		return
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Location", "/orders/"+o.ID)
	shared.Encode(w, http.StatusOK, newOrderView(o))
}

// loadVisible returns order {id} of the request if the caller owns it or is an admin; otherwise
// shared.ErrNotFound, so other users cannot even learn that it exists.
func loadVisible(r *http.Request, store orderStore) (Order, shared.Identity, error) {
	id, _ := shared.IdentityFrom(r.Context())
	orderID := r.PathValue("id")
	if !shared.ValidID(orderID) {
		return Order{}, id, shared.Errorf(shared.CodeNotFound, "order not found")
	}
	o, err := store.Get(r.Context(), orderID)
	if errors.Is(err, shared.ErrNotFound) || err == nil && o.UserID != id.UserID && !id.IsAdmin() {
		return Order{}, id, shared.Errorf(shared.CodeNotFound, "order not found")
	}
	return o, id, err
}

// handleOrderGet serves GET /orders/{id}: the owner's or, for admins, any order with its history and
// the next statuses an admin may set (viewFor).
func handleOrderGet(logger *slog.Logger, store orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, id, err := loadVisible(r, store)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		shared.Encode(w, http.StatusOK, viewFor(o, id, true))
	})
}

// handleOrderList serves GET /orders?status=&email=&id=&from=&to=&page=&limit= (parseListQuery): the
// caller's orders, newest first; admins see everyone's (optionally one user's with user_id=), each
// with the next statuses an admin may set. A bad parameter is 400 naming it.
func handleOrderList(logger *slog.Logger, store orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := shared.IdentityFrom(r.Context())
		q, fields := parseListQuery(r, id)
		if len(fields) > 0 {
			shared.WriteError(w, r, logger, shared.Invalid(fields))
			return
		}
		orders, total, err := store.List(r.Context(), q)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		resp := shared.Page[orderView]{Items: make([]orderView, 0, len(orders)), Total: int(total), Page: q.Page, Limit: q.Limit}
		for _, o := range orders {
			resp.Items = append(resp.Items, viewFor(o, id, false))
		}
		w.Header().Set("Cache-Control", "private, no-store")
		shared.Encode(w, http.StatusOK, resp)
	})
}
