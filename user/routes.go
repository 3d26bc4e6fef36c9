package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is the whole API of the user service. Routes are served without the gateway's /user prefix.
// Who may call what: /users/me/** is the caller's own profile; GET and PATCH /users/{id} are the owner
// or an admin (anyone else gets 403 without the store being asked, so nothing leaks about other IDs);
// the list and the status change are admin only.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, metrics *shared.Metrics, ready *shared.Readiness, profiles profileStore, kick func()) {
	auth := shared.RequireAuth
	admin := shared.RequireRole(shared.RoleAdmin)

	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", ready.Handler())
	mux.Handle("GET /metrics", metrics.Handler())

	mux.Handle("GET /users/me", auth(handleMeGet(logger, profiles)))
	mux.Handle("PATCH /users/me", auth(handleMePatch(logger, profiles, kick)))

	mux.Handle("GET /users/me/addresses", auth(handleAddressList(logger, profiles)))
	mux.Handle("POST /users/me/addresses", auth(handleAddressCreate(logger, profiles)))
	mux.Handle("GET /users/me/addresses/{id}", auth(handleAddressGet(logger, profiles)))
	mux.Handle("PUT /users/me/addresses/{id}", auth(handleAddressReplace(logger, profiles)))
	mux.Handle("PATCH /users/me/addresses/{id}", auth(handleAddressPatch(logger, profiles)))
	mux.Handle("DELETE /users/me/addresses/{id}", auth(handleAddressDelete(logger, profiles)))
	mux.Handle("PUT /users/me/addresses/{id}/default", auth(handleAddressSetDefault(logger, profiles)))

	mux.Handle("GET /users", admin(handleUserList(logger, profiles)))
	mux.Handle("GET /users/{id}", auth(handleUserGet(logger, profiles)))
	mux.Handle("PATCH /users/{id}", auth(handleUserPatch(logger, profiles, kick)))
	mux.Handle("PATCH /users/{id}/status", admin(handleUserStatus(logger, profiles, kick)))
}
