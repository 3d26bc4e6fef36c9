package main

import (
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
