package main

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The admin console's operations pages: inventory, orders and users. Products are in handlers_admin.go.

type adminInventoryView struct {
	layout
	pagerLinks
	Items []stockView
	Raw   []stockItem
}

func handleAdminInventory(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items, links, err := fetchPage[stockItem](s, r, "/inventory/inventory?limit=50", "/admin/inventory")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := adminInventoryView{layout: s.newLayout(w, r, "Inventory"), pagerLinks: links, Raw: items}
		for _, it := range items {
			view.Items = append(view.Items, newStockView(it.SKU, map[string]stockItem{it.SKU: it}))
		}
		s.render(w, r, http.StatusOK, "admin_inventory.html", view)
	})
}

func handleAdminInventoryAdjust(s *site) http.Handler {
	type adjustRequest struct {
		Delta  int    `json:"delta"`
		Reason string `json:"reason"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku := r.PathValue("sku")
		delta, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("delta")))
		if !validSKU(sku) || err != nil || delta == 0 || delta > 1_000_000 || delta < -1_000_000 {
			s.renderError(w, r, badForm("The change must be a non-zero whole number, e.g. 5 or -3."))
			return
		}
		reason := clip(strings.TrimSpace(r.PostFormValue("reason")), 200)
		if reason == "" {
			reason = "manual adjustment"
		}
		s.act(w, r, call{method: http.MethodPost, path: "/inventory/inventory/" + url.PathEscape(sku) + "/adjust",
			body: adjustRequest{Delta: delta, Reason: reason}}, "adjusted", "/admin/inventory")
	})
}

// nextStatuses are the order states an admin may move an order to (ARCHITECTURE.md § Order states).
var nextStatuses = map[string][]string{
	"confirmed": {"cancelled"},
	"paid":      {"shipped", "cancelled"},
	"shipped":   {"delivered"},
}

type adminOrderRow struct {
	order
	Next []string
}

type adminOrdersView struct {
	layout
	pagerLinks
	Orders []adminOrderRow
}

func handleAdminOrders(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orders, links, err := fetchPage[order](s, r, "/order/orders?limit=20", "/admin/orders")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := adminOrdersView{layout: s.newLayout(w, r, "Orders"), pagerLinks: links}
		for _, o := range orders {
			view.Orders = append(view.Orders, adminOrderRow{order: o, Next: nextStatuses[o.Status]})
		}
		s.render(w, r, http.StatusOK, "admin_orders.html", view)
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
		s.act(w, r, call{method: http.MethodPatch, path: "/order/orders/" + url.PathEscape(id) + "/status",
			body: statusRequest{Status: status, Reason: clip(strings.TrimSpace(r.PostFormValue("reason")), 200)}}, "status", "/admin/orders")
	})
}

type adminUsersView struct {
	layout
	pagerLinks
	Users []apiUser
}

func handleAdminUsers(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		users, links, err := fetchPage[apiUser](s, r, "/user/users?limit=20", "/admin/users")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := adminUsersView{layout: s.newLayout(w, r, "Users"), pagerLinks: links, Users: users}
		s.render(w, r, http.StatusOK, "admin_users.html", view)
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
		s.act(w, r, call{method: http.MethodPatch, path: "/user/users/" + url.PathEscape(id) + "/status", body: statusRequest{Status: status}},
			"status", "/admin/users")
	})
}
