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
		"GET /orders":               shared.ScopeOrdersRead,
		"GET /orders/{id}":          shared.ScopeOrdersRead,
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
