package main

import (
	"net/http"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRouteScopes: every route of routes.go against every kind of token; a third-party client's token
// gets only what its scopes grant, and never an admin route.
func TestRouteScopes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sharedtest.CheckScopes(t, h.handler, h.iss, "routes.go", map[string]string{
		"POST /orders":              shared.ScopeOrdersWrite,
		"POST /orders/quote":        shared.ScopeOrdersWrite,
		"GET /orders":               shared.ScopeOrdersRead,
		"GET /orders/{id}":          shared.ScopeOrdersRead,
		"GET /orders/stats":         sharedtest.AccessAdmin,
		"POST /orders/{id}/pay":     shared.ScopeOrdersWrite,
		"POST /orders/{id}/cancel":  shared.ScopeOrdersWrite,
		"PATCH /orders/{id}/status": sharedtest.AccessAdmin,
	})
}

// TestAddressScopeIsForbidden: a third-party token that may place orders but not read the address book
// gets 403 for an order to a saved address (the user service refuses it), not 401.
func TestAddressScopeIsForbidden(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := sharedtest.Customer
	app.ClientID, app.Scope = "demo-app", shared.ScopeOrdersWrite
	token := h.iss.Bearer(t, app)
	h.users.Forbidden = token
	code, body, _ := h.do("POST", "/orders", token, `{"items":[{"sku":"MUG-1","quantity":1}],"address_id":"addr-1"}`, "Idempotency-Key", "k-scope")
	if code != http.StatusForbidden {
		t.Fatalf("POST /orders with address_id and no addresses scope: %d %s, want 403", code, body)
	}
}

// TestRouteBodies: every body-taking route of routes.go answers 413 to a 2 MiB body and 400 to invalid
// UTF-8 in a text field (which encoding/json would otherwise store as U+FFFD).
func TestRouteBodies(t *testing.T) {
	t.Parallel()
	const lines1 = `[{"sku":"MUG-1","quantity":1}]`
	h := newHarness(t)
	toPay, toCancel, toShip := h.create("k-pay", lines1), h.create("k-cancel", lines1), h.create("k-ship", lines1)
	for _, o := range []orderView{toPay, toCancel, toShip} {
		h.confirm(o.ID)
	}
	m := sharedtest.Marker
	customer, admin := []string{"Authorization", h.customer}, []string{"Authorization", h.admin}
	sharedtest.CheckBodies(t, h.handler, "routes.go", map[string]sharedtest.BodyCase{
		"POST /orders": {Header: append(customer, "Idempotency-Key", "k-bodies"),
			Body: `{"items":` + lines1 + `,"shipping_address":{"name":"Demo` + m + `","street":"1 Main St","city":"Springfield","state":"IL","zip_code":"62701","country":"US"}}`},
		"POST /orders/quote": {Header: customer, Body: `{"items":` + lines1 + `,"shipping_address":{"name":"Demo` + m + `","street":"1 Main St","city":"Springfield","state":"IL","zip_code":"62701","country":"US"}}`},
		"POST /orders/{id}/pay": {Path: "/orders/" + toPay.ID + "/pay", Header: customer,
			Body: `{"card_number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123` + m + `"}`},
		"POST /orders/{id}/cancel":  {Path: "/orders/" + toCancel.ID + "/cancel", Header: customer, Body: `{"reason":"changed my mind` + m + `"}`},
		"PATCH /orders/{id}/status": {Path: "/orders/" + toShip.ID + "/status", Header: admin, Body: `{"status":"cancelled","reason":"out of stock` + m + `"}`},
	})
}
