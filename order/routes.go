package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is the whole API of the order service (served without the gateway's /order prefix). A
// third-party client's token needs the route's scope (shared.RequireScope); admin routes never accept one.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, cfg Config, d deps) {
	read, write := shared.RequireScope(shared.ScopeOrdersRead), shared.RequireScope(shared.ScopeOrdersWrite)
	admin := shared.RequireRole(shared.RoleAdmin)
	store := d.checkout.store

	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", d.readiness.Handler())
	mux.Handle("GET /metrics", d.metrics.Handler())
	mux.Handle("GET /openapi.json", shared.Document(openAPIDocument))

	mux.Handle("POST /orders", write(verifiedEmail(cfg.RequireVerifiedEmail, handleOrderCreate(logger, d.checkout, d.pricing))))
	mux.Handle("POST /orders/quote", write(handleOrderQuote(logger, d.pricing)))
	mux.Handle("GET /orders", read(handleOrderList(logger, store)))
	mux.Handle("GET /orders/{id}", read(handleOrderGet(logger, store)))
	mux.Handle("GET /orders/stats", admin(handleOrderStats(logger, store)))
	mux.Handle("POST /orders/{id}/pay", write(handleOrderPay(logger, d.checkout)))
	mux.Handle("POST /orders/{id}/cancel", write(handleOrderCancel(logger, d.checkout)))
	mux.Handle("PATCH /orders/{id}/status", admin(handleOrderStatus(logger, d.checkout)))
}
