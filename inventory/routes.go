package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is the whole API of inventory. Reads are public (the storefront shows stock); changes
// are admin only. Reservations are driven by order.events, not HTTP.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, inv *inventory, metrics *shared.Metrics, ready *shared.Readiness) {
	admin := shared.RequireRole(shared.RoleAdmin)

	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", ready.Handler())
	mux.Handle("GET /metrics", metrics.Handler())
	mux.Handle("GET /openapi.json", shared.Document(openAPIDocument))

	mux.Handle("GET /inventory", handleStockList(logger, inv.store))
	mux.Handle("GET /inventory/batch", handleStockBatch(logger, inv.store))
	mux.Handle("GET /inventory/stats", admin(handleStockStats(logger, inv.store)))
	mux.Handle("GET /inventory/{sku}", handleStockGet(logger, inv.store))
	mux.Handle("POST /inventory/{sku}/adjust", admin(handleStockAdjust(logger, inv)))
	mux.Handle("GET /inventory/{sku}/movements", admin(handleStockMovements(logger, inv.store)))
	mux.Handle("GET /reservations/{order_id}", admin(handleReservationGet(logger, inv.store)))
}
