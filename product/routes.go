package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is the whole API of the product service. Reads are public and cacheable; writes need the
// admin role. The gateway serves these under /product.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, metrics *shared.Metrics, ready *shared.Readiness, store productStore, wake func()) {
	admin := shared.RequireRole(shared.RoleAdmin)

	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", ready.Handler())
	mux.Handle("GET /metrics", metrics.Handler())
	mux.Handle("GET /openapi.json", shared.Document(openAPIDocument))

	mux.Handle("GET /products", handleProductList(logger, store))
	mux.Handle("GET /products/{id}", handleProductGet(logger, store))
	mux.Handle("GET /products/sku/{sku}", handleProductGetBySKU(logger, store))
	mux.Handle("GET /categories", handleCategories(logger, store))

	mux.Handle("POST /products", admin(handleProductCreate(logger, store, wake)))
	mux.Handle("PUT /products/{id}", admin(handleProductUpdate(logger, store, wake, false)))
	mux.Handle("PUT /products/sku/{sku}", admin(handleProductUpdate(logger, store, wake, true)))
	mux.Handle("DELETE /products/{id}", admin(handleProductDelete(logger, store, wake)))
}
