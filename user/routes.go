package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is the whole API of the user service. Routes are served without the gateway's /user prefix.
// Who may call what: /users/me/** is the caller's own profile; GET and PATCH /users/{id} are the owner
// or an admin (anyone else gets 403 without the store being asked, so nothing leaks about other IDs);
// the list and the status change are admin only. A third-party client's token needs the route's scope
// (shared.RequireScope); admin routes never accept one. POST /users/{id}/unsubscribe is public: mail
// programs call it without a session, and the signed token in its link is the authority; its GET is
// the page a browser shows for the same link.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, metrics *shared.Metrics, ready *shared.Readiness, profiles profileStore, kick func(), unsub unsubscribeKey) {
	scope := shared.RequireScope
	profile, profileWrite := scope(shared.ScopeProfile), scope(shared.ScopeProfileWrite)
	addresses := scope(shared.ScopeAddresses)
	admin := shared.RequireRole(shared.RoleAdmin)

	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", ready.Handler())
	mux.Handle("GET /metrics", metrics.Handler())
	mux.Handle("GET /openapi.json", shared.Document(openAPIDocument))

	mux.Handle("GET /users/me", profile(handleMeGet(logger, profiles)))
	mux.Handle("PATCH /users/me", profileWrite(handleMePatch(logger, profiles, kick)))

	mux.Handle("GET /users/me/addresses", addresses(handleAddressList(logger, profiles)))
	mux.Handle("POST /users/me/addresses", addresses(handleAddressCreate(logger, profiles)))
	mux.Handle("GET /users/me/addresses/{id}", addresses(handleAddressGet(logger, profiles)))
	mux.Handle("PUT /users/me/addresses/{id}", addresses(handleAddressReplace(logger, profiles)))
	mux.Handle("PATCH /users/me/addresses/{id}", addresses(handleAddressPatch(logger, profiles)))
	mux.Handle("DELETE /users/me/addresses/{id}", addresses(handleAddressDelete(logger, profiles)))
	mux.Handle("PUT /users/me/addresses/{id}/default", addresses(handleAddressSetDefault(logger, profiles)))

	mux.Handle("GET /users", admin(handleUserList(logger, profiles)))
	mux.Handle("GET /users/{id}", profile(handleUserGet(logger, profiles)))
	mux.Handle("PATCH /users/{id}", profileWrite(handleUserPatch(logger, profiles, kick)))
	mux.Handle("PATCH /users/{id}/status", admin(handleUserStatus(logger, profiles, kick)))
	mux.Handle("POST /users/{id}/unsubscribe", handleUnsubscribe(logger, profiles, unsub))
	mux.Handle("GET /users/{id}/unsubscribe", handleUnsubscribePage(logger, unsub))
}
