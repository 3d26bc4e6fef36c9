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
	env := newTestEnv(t)
	sharedtest.CheckScopes(t, env.h, env.iss, "routes.go", map[string]string{
		"GET /users/me":                        shared.ScopeProfile,
		"PATCH /users/me":                      shared.ScopeProfileWrite,
		"GET /users/me/addresses":              shared.ScopeAddresses,
		"POST /users/me/addresses":             shared.ScopeAddresses,
		"GET /users/me/addresses/{id}":         shared.ScopeAddresses,
		"PUT /users/me/addresses/{id}":         shared.ScopeAddresses,
		"PATCH /users/me/addresses/{id}":       shared.ScopeAddresses,
		"DELETE /users/me/addresses/{id}":      shared.ScopeAddresses,
		"PUT /users/me/addresses/{id}/default": shared.ScopeAddresses,
		"GET /users":                           sharedtest.AccessAdmin,
		"GET /users/{id}":                      shared.ScopeProfile,
		"PATCH /users/{id}":                    shared.ScopeProfileWrite,
		"PATCH /users/{id}/status":             sharedtest.AccessAdmin,
	})
}
