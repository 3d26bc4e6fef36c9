package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is the whole API of the order service (served without the gateway's /order prefix).
func addRoutes(mux *http.ServeMux, logger *slog.Logger, _ Config, d deps) {
	auth := shared.RequireAuth
	admin := shared.RequireRole(shared.RoleAdmin)
	store := d.checkout.store

	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", d.readiness.Handler())
	mux.Handle("GET /metrics", d.metrics.Handler())

	mux.Handle("POST /orders", auth(handleOrderCreate(logger, d.checkout, d.pricing)))
	mux.Handle("GET /orders", auth(handleOrderList(logger, store)))
	mux.Handle("GET /orders/{id}", auth(handleOrderGet(logger, store)))
	mux.Handle("POST /orders/{id}/pay", auth(handleOrderPay(logger, d.checkout)))
	mux.Handle("POST /orders/{id}/cancel", auth(handleOrderCancel(logger, d.checkout)))
	mux.Handle("PATCH /orders/{id}/status", admin(handleOrderStatus(logger, d.checkout)))
}
