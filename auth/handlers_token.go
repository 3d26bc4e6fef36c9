package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func writeOAuth(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	shared.Encode(w, status, v)
}

// writeOAuthError answers an OAuth error; other errors (a store down) become the platform's shape.
func writeOAuthError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		shared.WriteError(w, r, logger, err)
		return
	}
	if oe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="auth"`)
	}
	writeOAuth(w, oe.status, oe)
}

// maxFormBody is the body limit of auth's form endpoints (token, introspect, revoke, consent).
const maxFormBody = 64 << 10

// parseForm reads an x-www-form-urlencoded body of at most maxFormBody bytes with shared.DecodeForm:
// an oversized body (413) or one that is not a form (415, a Content-Type or Content-Encoding the
// endpoint cannot read) is an HTTP-level refusal in the platform's error shape, as for every route;
// a form that is malformed or not valid UTF-8 is an OAuth invalid_request.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	vals, err := shared.DecodeForm(w, r, maxFormBody)
	if err != nil {
		if e := shared.AsError(err); e.Code == shared.CodeInvalid {
			return nil, invalidRequest(e.Message)
		}
		return nil, err
	}
	return vals, nil
}

// handleToken is the token endpoint: authorization_code (PKCE verified), refresh_token (rotated; a
// reused token revokes its family) and client_credentials (confidential clients).
func handleToken(logger *slog.Logger, cfg Config, clients clientRegistry, d deps, tokens tokenIssuer) http.Handler {
	issued := d.metrics.Counter("auth_tokens_issued_total", "Tokens issued by /token, by grant type.", "grant_type")
	reuse := d.metrics.Counter("auth_token_reuse_total", "Reused codes or refresh tokens (grant revoked).", "kind")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := parseForm(w, r)
		if err != nil {
			writeOAuthError(w, r, logger, err)
			return
		}
		req, oerr := parseTokenForm(form)
		if oerr != nil {
			writeOAuthError(w, r, logger, oerr)
			return
		}
		id, secret, oerr := clientCredentials(r, req.ClientID, req.ClientSecret)
		if oerr != nil {
			writeOAuthError(w, r, logger, oerr)
			return
		}
		var resp tokenResponse
		switch req.GrantType {
		case grantAuthorizationCode:
			resp, err = exchangeCode(r.Context(), cfg, clients, d, tokens, req, id, secret)
		case grantRefreshToken:
			resp, err = refreshGrant(r.Context(), cfg, clients, d, tokens, req, id, secret)
		case grantClientCredentials:
			resp, err = clientGrant(clients, tokens, req, id, secret)
		default:
			err = oauthErr(http.StatusBadRequest, "unsupported_grant_type", "grant_type "+req.GrantType+" is not supported")
		}
		switch {
		case errors.Is(err, errCodeReused):
			reuse.Inc("code")
			logger.WarnContext(r.Context(), "authorization code reused; grant revoked", "client_id", id)
			err = invalidGrant("authorization code already used; tokens issued with it are revoked")
		case errors.Is(err, errRefreshReused):
			reuse.Inc("refresh_token")
			logger.WarnContext(r.Context(), "refresh token reused; family revoked", "client_id", id)
			err = invalidGrant("refresh token already used; the grant is revoked, sign in again")
		}
		if err != nil {
			writeOAuthError(w, r, logger, err)
			return
		}
		issued.Inc(req.GrantType)
		writeOAuth(w, http.StatusOK, resp)
	})
}

func exchangeCode(ctx context.Context, cfg Config, clients clientRegistry, d deps, tokens tokenIssuer,
	req tokenRequest, id, secret string) (tokenResponse, error) {
	c, oerr := authenticateClient(clients, id, secret)
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	if req.Code == "" || req.CodeVerifier == "" || req.RedirectURI == "" {
		return tokenResponse{}, invalidRequest("code, code_verifier and redirect_uri are required")
	}
	// Taking the code first makes it single-use even when what follows fails (a wrong verifier burns it).
	code, err := d.grants.TakeCode(ctx, req.Code)
	if errors.Is(err, shared.ErrNotFound) {
		return tokenResponse{}, invalidGrant("unknown or expired code")
	}
	if err != nil {
		return tokenResponse{}, err
	}
	switch {
	case code.ClientID != c.ID:
		return tokenResponse{}, invalidGrant("code was issued to another client")
	case code.RedirectURI != req.RedirectURI:
		return tokenResponse{}, invalidGrant("redirect_uri differs from the authorization request")
	case !pkceMatches(req.CodeVerifier, code.Challenge):
		return tokenResponse{}, invalidGrant("code_verifier does not match the code_challenge")
	}
	a, err := activeAccount(ctx, d.accounts, code.UserID)
	if err != nil {
		return tokenResponse{}, err
	}
	g := grant{FamilyID: code.FamilyID, UserID: a.ID, ClientID: c.ID, SessionID: code.SessionID, Scope: code.Scope,
		AuthTime: code.AuthTime, ExpiresAt: time.Now().Add(cfg.RefreshTTL).UTC()}
	resp, err := issueTokens(ctx, d, tokens, a, g, code.Nonce, c.FirstParty, refreshAllowed(c, code.Scope))
	if err != nil {
		return tokenResponse{}, err
	}
	// A code is worth no more than the sign-in it came from: once a logout or a password change
	// ended that session, it must not start a family (a stolen session could otherwise keep a fresh
	// code at hand to outlive the victim's reset). Checked after the family is stored: an ending
	// that races this exchange is either seen here or revokes the family after it was stored.
	alive, err := d.sessions.Alive(ctx, code.SessionID)
	if err == nil && !alive {
		if err = d.grants.RevokeFamily(ctx, g.FamilyID); err == nil {
			err = invalidGrant("the sign-in this code came from has ended")
		}
	}
	if err != nil {
		return tokenResponse{}, err
	}
	return resp, nil
}

// issueTokens mints the access token, an ID token when openid was granted, and (withRefresh) the
// family's first refresh token. A first-party client's access token carries no client or scope: it
// has the user's full rights, like a token from POST /login.
func issueTokens(ctx context.Context, d deps, tokens tokenIssuer, a account, g grant, nonce string, firstParty, withRefresh bool) (tokenResponse, error) {
	clientID, scope := g.ClientID, g.Scope
	if firstParty {
		clientID, scope = "", ""
	}
	access, err := tokens.access(a, g.SessionID, clientID, scope)
	if err != nil {
		return tokenResponse{}, err
	}
	resp := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(tokens.ttl.Seconds()), Scope: g.Scope}
	if slices.Contains(strings.Fields(g.Scope), "openid") {
		if resp.IDToken, err = tokens.idToken(a, g.ClientID, g.Scope, nonce, g.AuthTime); err != nil {
			return tokenResponse{}, err
		}
	}
	if withRefresh {
		refresh := g.FamilyID + "." + shared.RandomToken()
		if err := d.grants.StartFamily(ctx, g, refresh); err != nil {
			return tokenResponse{}, err
		}
		resp.RefreshToken = refresh
	}
	return resp, nil
}

// refreshAllowed reports whether a code exchange for c with scope starts a refresh-token family. A
// third-party app gets one only when the user approved offline_access (OIDC Core §11): otherwise its
// access ends with the access token. A first-party client's family belongs to the user's sign-in
// and ends with it, like the one POST /login returns.
func refreshAllowed(c client, scope string) bool {
	return c.allows(grantRefreshToken) && (c.FirstParty || slices.Contains(strings.Fields(scope), scopeOfflineAccess))
}

// activeAccount loads an account that may still receive tokens.
func activeAccount(ctx context.Context, accounts accountStore, id string) (account, error) {
	a, err := accounts.ByID(ctx, id)
	if errors.Is(err, shared.ErrNotFound) {
		return account{}, invalidGrant("the account no longer exists")
	}
	if err != nil {
		return account{}, err
	}
	if a.suspended() {
		return account{}, invalidGrant("the account is suspended")
	}
	return a, nil
}

func refreshGrant(ctx context.Context, cfg Config, clients clientRegistry, d deps, tokens tokenIssuer,
	req tokenRequest, id, secret string) (tokenResponse, error) {
	if req.RefreshToken == "" {
		return tokenResponse{}, invalidRequest("refresh_token is required")
	}
	var c client
	if id != "" {
		var oerr *oauthError
		if c, oerr = authenticateClient(clients, id, secret); oerr != nil {
			return tokenResponse{}, oerr
		}
	}
	g, err := d.grants.Peek(ctx, req.RefreshToken)
	if errors.Is(err, shared.ErrNotFound) {
		// Not live: Rotate tells a used token (reuse, revoke) from an unknown one.
		_, err = d.grants.Rotate(ctx, req.RefreshToken, req.RefreshToken)
		if errors.Is(err, errRefreshReused) {
			return tokenResponse{}, err
		}
		if err != nil && !errors.Is(err, shared.ErrNotFound) {
			return tokenResponse{}, err
		}
		return tokenResponse{}, invalidGrant("unknown, expired or revoked refresh token")
	}
	if err != nil {
		return tokenResponse{}, err
	}
	// Tokens from POST /login belong to no client; client tokens only to the client they were issued to.
	if g.ClientID != c.ID {
		return tokenResponse{}, invalidGrant("refresh token was issued to another client")
	}
	scope := g.Scope
	if req.Scope != "" {
		for _, s := range strings.Fields(req.Scope) {
			if !slices.Contains(strings.Fields(g.Scope), s) {
				return tokenResponse{}, oauthErr(http.StatusBadRequest, "invalid_scope", "scope "+s+" was not granted")
			}
		}
		scope = strings.Join(strings.Fields(req.Scope), " ")
	}
	a, err := activeAccount(ctx, d.accounts, g.UserID)
	var oe *oauthError
	if errors.As(err, &oe) {
		// The account is gone or suspended: the grant ends for good (a store error leaves it alone).
		if rerr := d.grants.RevokeFamily(ctx, g.FamilyID); rerr != nil {
			return tokenResponse{}, rerr
		}
	}
	if err != nil {
		return tokenResponse{}, err
	}
	next := g.FamilyID + "." + shared.RandomToken()
	g, err = d.grants.Rotate(ctx, req.RefreshToken, next)
	if errors.Is(err, shared.ErrNotFound) {
		return tokenResponse{}, invalidGrant("unknown, expired or revoked refresh token")
	}
	if err != nil {
		return tokenResponse{}, err
	}
	g.Scope = scope
	resp, err := issueTokens(ctx, d, tokens, a, g, "", c.FirstParty, false)
	if err != nil {
		return tokenResponse{}, err
	}
	resp.RefreshToken = next
	return resp, nil
}

func clientGrant(clients clientRegistry, tokens tokenIssuer, req tokenRequest, id, secret string) (tokenResponse, error) {
	c, oerr := authenticateClient(clients, id, secret)
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	if c.public() || !c.allows(grantClientCredentials) {
		return tokenResponse{}, oauthErr(http.StatusBadRequest, "unauthorized_client", "client may not use client_credentials")
	}
	scopes, oerr := checkScope(req.Scope, c)
	if req.Scope == "" {
		scopes, oerr = c.scopes(), nil
	}
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	scope := strings.Join(scopes, " ")
	// A service token names the client as subject and carries role "service", which no user has, so
	// RequireRole(admin) and customer-only checks both refuse it.
	access, err := tokens.access(account{ID: "client:" + c.ID, Name: c.ID, Role: roleService}, "", c.ID, scope)
	if err != nil {
		return tokenResponse{}, err
	}
	return tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(tokens.ttl.Seconds()), Scope: scope}, nil
}

// roleService is the role of client_credentials tokens; scopeService is the scope of the platform's
// own service clients, which may introspect every token.
const (
	roleService  = "service"
	scopeService = "service"
)
