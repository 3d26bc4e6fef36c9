package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/goshop/platform/shared"
)

// handleDiscovery serves the OpenID Provider metadata; every endpoint is under AUTH_ISSUER, the
// address clients see (the gateway's /auth).
func handleDiscovery(cfg Config) http.Handler {
	iss := cfg.Issuer
	doc := map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorize",
		"token_endpoint":                                 iss + "/token",
		"userinfo_endpoint":                              iss + "/userinfo",
		"jwks_uri":                                       iss + "/.well-known/jwks.json",
		"introspection_endpoint":                         iss + "/introspect",
		"revocation_endpoint":                            iss + "/revoke",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{grantAuthorizationCode, grantRefreshToken, grantClientCredentials},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"ES256"},
		"scopes_supported":                               supportedScopes(),
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"claims_supported":                               []string{"sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name", "role"},
		"authorization_response_iss_parameter_supported": true,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		shared.Encode(w, http.StatusOK, doc)
	})
}

// handleJWKS serves the public keys: current, next and any older ones still verifying tokens.
func handleJWKS(keys *keyring) http.Handler {
	set := keys.JWKS()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		shared.Encode(w, http.StatusOK, set)
	})
}

// handleUserinfo returns the caller's claims (OIDC Core §5.3), limited to the granted scopes when the
// token came from an OAuth client.
func handleUserinfo(logger *slog.Logger, accounts accountStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ident, _ := shared.IdentityFrom(r.Context())
		a, err := accounts.ByID(r.Context(), ident.UserID)
		if errors.Is(err, shared.ErrNotFound) || (err == nil && a.suspended()) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeUnauthorized, "unknown or suspended account"))
			return
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		out := map[string]any{"sub": a.ID}
		if ident.Allows("email") {
			out["email"], out["email_verified"] = a.Email, a.EmailVerified
		}
		if ident.Allows(shared.ScopeProfile) {
			out["name"], out["role"] = a.Name, a.Role
		}
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, out)
	})
}

// handleIntrospect answers RFC 7662 for confidential clients: refresh tokens are looked up (without
// being used), access tokens verified and their account checked; anything else is {"active":false}.
// A client learns only about tokens issued to it, unless it may hold the "service" scope (one of the
// platform's own resource servers): to any other client, a token of the shop's sign-in or of another
// app is inactive, so a registered app cannot use introspection to read tokens it came by (RFC 7662 §4).
func handleIntrospect(logger *slog.Logger, cfg Config, clients clientRegistry, d deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, id, secret, err := tokenForm(w, r)
		if err != nil {
			writeOAuthError(w, r, logger, err)
			return
		}
		c, oerr := authenticateClient(clients, id, secret)
		if oerr == nil && c.public() {
			oerr = oauthErr(http.StatusUnauthorized, "invalid_client", "introspection needs a confidential client")
		}
		if oerr != nil {
			writeOAuthError(w, r, logger, oerr)
			return
		}
		out, err := introspect(r.Context(), cfg, d, token)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if out["active"] == true && !slices.Contains(c.scopes(), scopeService) && out["client_id"] != c.ID {
			out = map[string]any{"active": false}
		}
		writeOAuth(w, http.StatusOK, out)
	})
}

// tokenForm reads an introspection (RFC 7662) or revocation (RFC 7009) request: its one token and
// the client's credentials, from Basic auth or the form. Errors are OAuth errors for writeOAuthError.
func tokenForm(w http.ResponseWriter, r *http.Request) (token, id, secret string, err error) {
	form, err := parseForm(w, r)
	if err != nil {
		return "", "", "", err
	}
	token, oerr := single(form, "token")
	if oerr != nil {
		return "", "", "", oerr
	}
	id, secret, oerr = clientCredentials(r, form.Get("client_id"), form.Get("client_secret"))
	if oerr != nil {
		return "", "", "", oerr
	}
	return token, id, secret, nil
}

func introspect(ctx context.Context, cfg Config, d deps, token string) (map[string]any, error) {
	inactive := map[string]any{"active": false}
	if _, ok := tokenFamily(token); ok {
		g, err := d.grants.Peek(ctx, token)
		if errors.Is(err, shared.ErrNotFound) || err == nil && g.Rotated {
			return inactive, nil // a rotated token in the reuse grace is no live token
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"active": true, "token_type": "refresh_token", "sub": g.UserID, "client_id": g.ClientID,
			"scope": g.Scope, "exp": g.ExpiresAt.Unix(), "iss": cfg.Issuer, "sid": g.SessionID}, nil
	}
	var c shared.AccessClaims
	if err := d.keys.parse(typAccess, token, cfg.Issuer, &c); err != nil {
		return inactive, nil
	}
	if c.Role != roleService {
		a, err := d.accounts.ByID(ctx, c.Subject)
		if errors.Is(err, shared.ErrNotFound) || (err == nil && a.suspended()) {
			return inactive, nil
		}
		if err != nil {
			return nil, err
		}
	}
	out := map[string]any{"active": true, "token_type": "access_token", "sub": c.Subject, "iss": c.Issuer,
		"exp": c.ExpiresAt.Unix(), "role": c.Role}
	if c.IssuedAt != nil {
		out["iat"] = c.IssuedAt.Unix()
	}
	// A third-party app's token may carry no e-mail (docs/auth.md): then the answer has none either.
	for k, v := range map[string]string{"client_id": c.ClientID, "scope": c.Scope, "sid": c.SessionID, "email": c.Email} {
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}

// handleRevoke implements RFC 7009: a refresh token's whole family is revoked. The answer is 200
// whether or not the token was known. Access tokens are self-contained and expire within 15 min;
// they cannot be recalled from services that verify offline, so revoking one is a no-op.
func handleRevoke(logger *slog.Logger, clients clientRegistry, grants grantStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, id, secret, err := tokenForm(w, r)
		if err != nil {
			writeOAuthError(w, r, logger, err)
			return
		}
		var c client
		if id != "" {
			var oerr *oauthError
			if c, oerr = authenticateClient(clients, id, secret); oerr != nil {
				writeOAuthError(w, r, logger, oerr)
				return
			}
		}
		g, err := grants.Peek(r.Context(), token)
		if err != nil && !errors.Is(err, shared.ErrNotFound) {
			shared.WriteError(w, r, logger, err)
			return
		}
		// A client may revoke only its own tokens; tokens from POST /login (no client) by whoever holds them.
		if err == nil && g.ClientID == c.ID {
			if err := grants.RevokeFamily(r.Context(), g.FamilyID); err != nil {
				shared.WriteError(w, r, logger, err)
				return
			}
		}
		writeOAuth(w, http.StatusOK, map[string]any{})
	})
}
