package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

// TestRouteScopes: every route of routes.go against every kind of token; reads are public, writes need
// an admin with a first-party token.
func TestRouteScopes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false)
	sharedtest.CheckScopes(t, e.h, e.iss, "routes.go", map[string]string{
		"GET /products":           sharedtest.AccessPublic,
		"GET /products/{id}":      sharedtest.AccessPublic,
		"GET /products/sku/{sku}": sharedtest.AccessPublic,
		"GET /categories":         sharedtest.AccessPublic,
		"POST /products":          sharedtest.AccessAdmin,
		"PUT /products/{id}":      sharedtest.AccessAdmin,
		"PUT /products/sku/{sku}": sharedtest.AccessAdmin,
		"DELETE /products/{id}":   sharedtest.AccessAdmin,
	})
}

// TestRouteBodies: every body-taking route of routes.go answers 413 to a 2 MiB body and 400 to invalid
// UTF-8 in a text field (which encoding/json would otherwise store as U+FFFD).
func TestRouteBodies(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, false)
	as := []string{"Authorization", e.admin}
	body := func(sku string) string {
		return `{"sku":"` + sku + `","name":"Thing` + sharedtest.Marker + `","price":9.99,"category":"misc"}`
	}
	create := func(sku string) string {
		w := e.do(t, "POST", "/products", strings.Replace(body(sku), sharedtest.Marker, "", 1), e.admin)
		if w.Code != http.StatusCreated {
			t.Fatalf("POST /products %s: %d %s", sku, w.Code, w.Body)
		}
		return sharedtest.Decode[map[string]any](t, w)["id"].(string)
	}
	id := create("BODY-2")
	create("BODY-3")
	sharedtest.CheckBodies(t, e.h, "routes.go", map[string]sharedtest.BodyCase{
		"POST /products":          {Header: as, Body: body("BODY-1")},
		"PUT /products/{id}":      {Path: "/products/" + id, Header: as, Body: body("BODY-2")},
		"PUT /products/sku/{sku}": {Path: "/products/sku/BODY-3", Header: as, Body: body("BODY-3")},
	})
}
