package main

import (
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is auth's whole API. Routes are served without the gateway's /auth prefix.
func addRoutes(mux *http.ServeMux, logger *slog.Logger, cfg Config, d deps) {
	tokens := tokenIssuer{keys: d.keys, issuer: cfg.Issuer, ttl: cfg.AccessTTL}
	clients := newClientRegistry(cfg.Clients)
	sc := sessionCookies{cfg: cfg}
	// bearer verifies auth's own access tokens locally (no HTTP round trip to itself).
	verifier := localVerifier{keys: d.keys, issuer: cfg.Issuer}
	bearer := shared.Authenticate(verifier)

	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", d.ready.Handler())
	mux.Handle("GET /metrics", d.metrics.Handler())
	mux.Handle("GET /openapi.json", shared.Document(openAPIDocument))

	// Accounts and sessions (first party).
	mux.Handle("POST /register", handleRegister(logger, cfg, d))
	mux.Handle("POST /login", handleLogin(logger, cfg, d, tokens, sc))
	mux.Handle("POST /logout", handleLogout(logger, d.sessions, d.grants, sc, verifier))
	mux.Handle("GET /session", handleSession(logger, cfg, d.accounts, d.sessions, tokens, sc))

	// Recovery and e-mail (mailed links; handlers_recovery.go, handlers_email.go).
	mux.Handle("POST /password/forgot", handleForgot(logger, cfg, d))
	mux.Handle("POST /password/reset", handleReset(logger, d))
	mux.Handle("POST /password/change", bearer(requireFirstParty(handleChangePassword(logger, cfg, d))))
	mux.Handle("POST /email/verify", handleVerify(logger, d))
	mux.Handle("POST /email/resend", bearer(requireFirstParty(handleResend(logger, d))))
	mux.Handle("POST /email/change", bearer(requireFirstParty(handleChangeEmail(logger, cfg, d))))

	// OpenID Connect provider.
	mux.Handle("GET /.well-known/openid-configuration", handleDiscovery(cfg))
	mux.Handle("GET /.well-known/jwks.json", handleJWKS(d.keys))
	mux.Handle("GET /authorize", handleAuthorize(logger, cfg, clients, d, sc))
	mux.Handle("POST /authorize", handleAuthorize(logger, cfg, clients, d, sc)) // consent form
	mux.Handle("POST /token", handleToken(logger, cfg, clients, d, tokens))
	mux.Handle("GET /userinfo", bearer(shared.RequireAuth(handleUserinfo(logger, d.accounts))))
	mux.Handle("POST /userinfo", bearer(shared.RequireAuth(handleUserinfo(logger, d.accounts))))
	mux.Handle("POST /introspect", handleIntrospect(logger, cfg, clients, d))
	mux.Handle("POST /revoke", handleRevoke(logger, clients, d.grants))
}
