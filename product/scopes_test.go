package main

import (
	"io"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRouteScopes: every route of routes.go against every kind of token; reads are public, writes need
// an admin with a first-party token.
func TestRouteScopes(t *testing.T) {
	t.Parallel()
	iss := sharedtest.NewIssuer(t)
	logger := shared.NewLogger(io.Discard, "product", "error")
	metrics := shared.NewMetrics("product")
	store := newMemProductStore()
	h := NewServer(logger, metrics, shared.NewReadiness(), iss.Verifier(), store, newOutbox(store, &sharedtest.Publisher{}, logger, metrics))
	sharedtest.CheckScopes(t, h, iss, "routes.go", map[string]string{
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
