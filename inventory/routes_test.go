package main

import (
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

// TestRouteScopes: every route of routes.go against every kind of token; reads are public, the rest
// needs an admin with a first-party token.
func TestRouteScopes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	sharedtest.CheckScopes(t, s.h, s.iss, "routes.go", map[string]string{
		"GET /inventory":                 sharedtest.AccessPublic,
		"GET /inventory/batch":           sharedtest.AccessPublic,
		"GET /inventory/stats":           sharedtest.AccessAdmin,
		"GET /inventory/{sku}":           sharedtest.AccessPublic,
		"POST /inventory/{sku}/adjust":   sharedtest.AccessAdmin,
		"GET /inventory/{sku}/movements": sharedtest.AccessAdmin,
		"GET /reservations/{order_id}":   sharedtest.AccessAdmin,
	})
}

// TestRouteBodies: every body-taking route of routes.go answers 413 to a 2 MiB body and 400 to invalid
// UTF-8 in a text field (which encoding/json would otherwise store as U+FFFD).
func TestRouteBodies(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	sharedtest.CheckBodies(t, s.h, "routes.go", map[string]sharedtest.BodyCase{
		"POST /inventory/{sku}/adjust": {Path: "/inventory/MUG-1/adjust", Header: []string{"Authorization", s.admin},
			Body: `{"delta":1,"reason":"restock` + sharedtest.Marker + `"}`},
	})
}
