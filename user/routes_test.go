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
		"POST /users/{id}/unsubscribe":         sharedtest.AccessPublic,
		"GET /users/{id}/unsubscribe":          sharedtest.AccessPublic,
	})
}

// TestRouteBodies: every body-taking route of routes.go answers 413 to a 2 MiB body and 400 to invalid
// UTF-8 in a text field (which encoding/json would otherwise store as U+FFFD).
func TestRouteBodies(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.iss.Bearer(t, sharedtest.Admin)
	as := []string{"Authorization", admin}
	addr := `{"name":"Home` + sharedtest.Marker + `","street":"1 Main St","city":"Springfield","zip_code":"62701","country":"US"}`
	sharedtest.CheckBodies(t, env.h, "routes.go", map[string]sharedtest.BodyCase{
		"PATCH /users/me":                      {Header: as, Body: `{"name":"Ann` + sharedtest.Marker + `"}`},
		"POST /users/me/addresses":             {Header: as, Body: addr},
		"PUT /users/me/addresses/{id}":         {Header: as, Body: addr},
		"PATCH /users/me/addresses/{id}":       {Header: as, Body: `{"city":"Paris` + sharedtest.Marker + `"}`},
		"PUT /users/me/addresses/{id}/default": {},
		"PATCH /users/{id}":                    {Path: "/users/" + sharedtest.Admin.UserID, Header: as, Body: `{"name":"Ann` + sharedtest.Marker + `"}`},
		"PATCH /users/{id}/status":             {Path: "/users/u-nobody/status", Header: as, Body: `{"status":"active` + sharedtest.Marker + `"}`},
		"POST /users/{id}/unsubscribe": {Path: "/users/u-nobody/unsubscribe?token=" + testUnsubscribeKey.token("u-nobody"),
			Body: "List-Unsubscribe=One-Click" + sharedtest.Marker},
	})
}
