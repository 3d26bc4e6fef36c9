package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/goshop/platform/shared"
)

// The admin console's actions on inventory, orders and users; their lists are in handlers_admin_lists.go,
// products in handlers_admin.go.

// handleAdminInventoryAdjust posts one row's stock form. Each rendered form carries its own
// idempotency_key (handleAdminInventory), sent as the Idempotency-Key header: a double submit, a
// re-post or a retry of that form adjusts once, and a repeat is told so rather than applied again.
func handleAdminInventoryAdjust(s *site) http.Handler {
	type adjustRequest struct {
		Delta  int    `json:"delta"`
		Reason string `json:"reason"`
	}
	noItem := func(sku string) error {
		return &apiError{Status: http.StatusNotFound, Code: shared.CodeNotFound, Message: "No stock item " + sku + "."}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku := r.PathValue("sku")
		if !validSKU(sku) {
			s.renderError(w, r, noItem(sku))
			return
		}
		delta, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("delta")))
		if err != nil || delta == 0 || delta > 1_000_000 || delta < -1_000_000 {
			s.renderError(w, r, badForm("The change must be a non-zero whole number, e.g. 5 or -3."))
			return
		}
		key := r.PostFormValue("idempotency_key")
		if !validIdempotencyKey(key) {
			s.renderError(w, r, badForm("The stock form is incomplete. Please reload the inventory and try again."))
			return
		}
		reason := clip(strings.TrimSpace(r.PostFormValue("reason")), 200)
		if reason == "" {
			reason = "manual adjustment"
		}
		if !shared.Printable(reason, false) { // inventory would answer only "invalid request"
			s.renderError(w, r, badForm("The reason must be plain text on one line, without tabs or control characters."))
			return
		}
		resp, err := s.gw.do(r.Context(), call{method: http.MethodPost, path: "/inventory/inventory/" + url.PathEscape(sku) + "/adjust",
			token: s.accessToken(r), body: adjustRequest{Delta: delta, Reason: reason}, header: map[string]string{"Idempotency-Key": key}})
		// The inventory service answers these with its bare "not found" and "conflict"; its 409 for a
		// reused key names the Idempotency-Key.
		var apiErr *apiError
		switch {
		case isStatus(err, http.StatusNotFound):
			err = noItem(sku)
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict && strings.Contains(apiErr.Message, "Idempotency-Key"):
			err = &apiError{Status: http.StatusConflict, Code: shared.CodeConflict, Message: fmt.Sprintf(
				"This form was already sent with another change of %s; nothing more was changed. Reload the inventory and try again.", sku)}
		case isStatus(err, http.StatusConflict):
			err = &apiError{Status: http.StatusConflict, Code: shared.CodeConflict, Message: fmt.Sprintf(
				"The stock of %s cannot change by %+d: on hand would fall below what is reserved for orders (or above the maximum). Reload the inventory and try a smaller change.", sku, delta)}
		}
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if resp.Header.Get("Idempotent-Replayed") == "true" {
			s.flash(w, "adjustonce")
		} else {
			s.flash(w, "adjusted")
		}
		redirect(w, r, listReturn(r, "/admin/inventory"))
	})
}

func handleAdminOrderStatus(s *site) http.Handler {
	type statusRequest struct {
		Status string `json:"status"`
		Reason string `json:"reason,omitempty"`
	}
	allowed := map[string]bool{"shipped": true, "delivered": true, "cancelled": true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		status := r.PostFormValue("status")
		if !validID(id) || !allowed[status] {
			s.renderError(w, r, badForm("Choose one of the offered statuses."))
			return
		}
		// The order page's forms come back to the order; the list's to the list, as it was filtered.
		list := listReturn(r, "/admin/orders")
		back := list
		if r.PostFormValue("back") == "order" {
			back = "/admin/orders/" + url.PathEscape(id)
		}
		if status == "cancelled" && !confirmed(r) { // cannot be reopened, and refunds a paid order
			fields := []formField{{"status", status}, {"reason", r.PostFormValue("reason")}, {"back", r.PostFormValue("back")}, {"next", list}}
			s.confirmOrderCancel(w, r, id, true, fields, back)
			return
		}
		s.act(w, r, call{method: http.MethodPatch, path: "/order/orders/" + url.PathEscape(id) + "/status",
			body: statusRequest{Status: status, Reason: clip(strings.TrimSpace(r.PostFormValue("reason")), 200)}}, "status", back)
	})
}

func handleAdminUserStatus(s *site) http.Handler {
	type statusRequest struct {
		Status string `json:"status"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		status := r.PostFormValue("status")
		if !validID(id) || (status != "active" && status != "suspended") {
			s.renderError(w, r, badForm("Status must be active or suspended."))
			return
		}
		if u, _ := s.user(r); u != nil && u.ID == id && status == "suspended" {
			s.renderError(w, r, badForm("You cannot suspend yourself."))
			return
		}
		if status == "suspended" && !confirmed(r) { // signs them out everywhere; reactivating needs no question
			s.confirmSuspend(w, r, id)
			return
		}
		s.act(w, r, call{method: http.MethodPatch, path: "/user/users/" + url.PathEscape(id) + "/status", body: statusRequest{Status: status}},
			"status", listReturn(r, "/admin/users"))
	})
}

// adminOrderView is the admin's page of one order: what was bought, where it goes, how it was paid,
// its timeline, and a form for each status an admin may set now.
type adminOrderView struct {
	layout
	Order order
}

// handleAdminOrder shows GET /admin/orders/{id}. The order service decides the next statuses from
// its state machine, so the page offers exactly the moves that will be accepted; an unknown or
// malformed ID is the 404 page.
func handleAdminOrder(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.idParam(w, r, "order")
		if !ok {
			return
		}
		var o order
		_, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: "/order/orders/" + url.PathEscape(id), token: s.accessToken(r), out: &o})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "admin_order.html", adminOrderView{layout: s.newLayout(w, r, "Order "+shortID(o.ID)), Order: o})
	})
}
