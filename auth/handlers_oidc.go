package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

//go:embed templates
var templatesFS embed.FS

// codeTTL is how long an authorization code can be exchanged.
const codeTTL = time.Minute

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
		"scopes_supported":                               []string{"openid", "profile", "email", "offline_access"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"claims_supported":                               []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "name", "role", "sid"},
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

type consentParam struct{ Name, Value string }

type consentView struct {
	ClientID, Email, Action, CSRF string
	Scopes                        []string
	Params                        []consentParam
}

// handleAuthorize runs the authorization code flow (PKCE S256 only). The user is identified by the
// session cookie; without one the browser goes to AUTH_LOGIN_URL (return_to = this request) or, when
// that is unset, gets 401 JSON. First-party clients get a code at once; others see a consent page
// whose form POSTs back here.
func handleAuthorize(logger *slog.Logger, cfg Config, clients clientRegistry, d deps, sc sessionCookies) http.Handler {
	consent := template.Must(template.ParseFS(templatesFS, "templates/consent.html"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		params := r.URL.Query()
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				shared.WriteError(w, r, logger, shared.Errorf(shared.CodeInvalid, "malformed form"))
				return
			}
			params = r.PostForm
		}
		req, oerr, redirectable := parseAuthorize(params, clients)
		if oerr != nil && !redirectable {
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeInvalid, "%s", oerr.Description))
			return
		}
		if oerr != nil {
			redirectError(w, r, cfg, req, oerr.Code, oerr.Description)
			return
		}
		id := sc.id(r)
		a, sid, err := liveSession(ctx, cfg, d.accounts, d.sessions, id)
		if errors.Is(err, errNoSession) {
			switch {
			case req.Prompt == "none":
				redirectError(w, r, cfg, req, "login_required", "no session")
			case cfg.LoginURL != "" && r.Method == http.MethodGet:
				back := cfg.Issuer + "/authorize?" + r.URL.RawQuery
				http.Redirect(w, r, addQuery(cfg.LoginURL, url.Values{"return_to": {back}}), http.StatusSeeOther)
			default:
				shared.WriteError(w, r, logger, shared.Errorf(shared.CodeUnauthorized, "sign in first (POST /login), then retry this request"))
			}
			return
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if !req.Client.FirstParty {
			csrf := tokenHash("consent|" + id)
			switch {
			case req.Prompt == "none":
				redirectError(w, r, cfg, req, "consent_required", "the user has not approved this client")
				return
			case r.Method == http.MethodGet:
				renderConsent(w, r, logger, consent, req, a, params, csrf, cfg.Issuer+"/authorize")
				return
			case subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf_token")), []byte(csrf)) != 1:
				shared.WriteError(w, r, logger, shared.Errorf(shared.CodeForbidden, "bad or missing csrf_token"))
				return
			case r.PostForm.Get("consent") != "approve":
				redirectError(w, r, cfg, req, "access_denied", "the user denied the request")
				return
			}
		}
		code, fam := newFamilyToken()
		c := authCode{ClientID: req.Client.ID, RedirectURI: req.RedirectURI, Scope: strings.Join(req.Scope, " "),
			Nonce: req.Nonce, Challenge: req.Challenge, UserID: a.ID, SessionID: sid, AuthTime: time.Now().UTC(), FamilyID: fam}
		if err := d.grants.SaveCode(ctx, code, c, codeTTL); err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		q := url.Values{"code": {code}, "iss": {cfg.Issuer}}
		if req.State != "" {
			q.Set("state", req.State)
		}
		http.Redirect(w, r, addQuery(req.RedirectURI, q), http.StatusFound)
	})
}

func renderConsent(w http.ResponseWriter, r *http.Request, logger *slog.Logger, t *template.Template,
	req authorizeRequest, a account, params url.Values, csrf, action string) {
	v := consentView{ClientID: req.Client.ID, Email: a.Email, Action: action, CSRF: csrf, Scopes: req.Scope}
	names := make([]string, 0, len(params))
	for n := range params {
		if n != "csrf_token" && n != "consent" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		v.Params = append(v.Params, consentParam{Name: n, Value: params.Get(n)})
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		shared.WriteError(w, r, logger, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	w.Write(buf.Bytes())
}

// redirectError sends an authorization error back to the client's (already validated) redirect URI.
func redirectError(w http.ResponseWriter, r *http.Request, cfg Config, req authorizeRequest, code, desc string) {
	q := url.Values{"error": {code}, "error_description": {desc}, "iss": {cfg.Issuer}}
	if req.State != "" {
		q.Set("state", req.State)
	}
	http.Redirect(w, r, addQuery(req.RedirectURI, q), http.StatusFound)
}

// addQuery appends q to a URL that may already have a query.
func addQuery(base string, q url.Values) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + q.Encode()
}

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

// parseForm reads an x-www-form-urlencoded body of at most 64 KiB.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		return nil, invalidRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("malformed form body")
	}
	return r.PostForm, nil
}

// handleToken is the token endpoint: authorization_code (PKCE verified), refresh_token (rotated; a
// reused token revokes its family) and client_credentials (confidential clients).
func handleToken(logger *slog.Logger, cfg Config, clients clientRegistry, d deps, tokens tokenIssuer) http.Handler {
	issued := d.metrics.Counter("auth_tokens_issued_total", "Tokens issued by /token, by grant type.", "grant_type")
	reuse := d.metrics.Counter("auth_token_reuse_total", "Reused codes or refresh tokens (grant revoked).", "kind")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, oerr := parseForm(w, r)
		if oerr != nil {
			writeOAuthError(w, r, logger, oerr)
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
		var err error
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
	return issueTokens(ctx, d, tokens, a, g, code.Nonce, c.allows(grantRefreshToken))
}

// issueTokens mints the access token, an ID token when openid was granted, and (withRefresh) the
// family's first refresh token.
func issueTokens(ctx context.Context, d deps, tokens tokenIssuer, a account, g grant, nonce string, withRefresh bool) (tokenResponse, error) {
	access, err := tokens.access(a, g.SessionID, g.ClientID, g.Scope)
	if err != nil {
		return tokenResponse{}, err
	}
	resp := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(tokens.ttl.Seconds()), Scope: g.Scope}
	if slices.Contains(strings.Fields(g.Scope), "openid") {
		if resp.IDToken, err = tokens.idToken(a, g.ClientID, nonce, g.AuthTime); err != nil {
			return tokenResponse{}, err
		}
	}
	if withRefresh {
		refresh := g.FamilyID + "." + randomToken()
		if err := d.grants.StartFamily(ctx, g, refresh); err != nil {
			return tokenResponse{}, err
		}
		resp.RefreshToken = refresh
	}
	return resp, nil
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
	if err != nil {
		if errors.Is(err, shared.ErrUnavailable) {
			return tokenResponse{}, err
		}
		d.grants.RevokeFamily(ctx, g.FamilyID)
		return tokenResponse{}, err
	}
	next := g.FamilyID + "." + randomToken()
	g, err = d.grants.Rotate(ctx, req.RefreshToken, next)
	if errors.Is(err, shared.ErrNotFound) {
		return tokenResponse{}, invalidGrant("unknown, expired or revoked refresh token")
	}
	if err != nil {
		return tokenResponse{}, err
	}
	g.Scope = scope
	resp, err := issueTokens(ctx, d, tokens, a, g, "", false)
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

// roleService is the role of client_credentials tokens.
const roleService = "service"

// handleUserinfo returns the caller's claims (OIDC Core §5.3), limited to the granted scopes when the
// token came from an OAuth client.
func handleUserinfo(logger *slog.Logger, accounts accountStore, keys *keyring, issuer string) http.Handler {
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
		scope := scopeOf(r, keys, issuer)
		out := map[string]any{"sub": a.ID}
		if scope == nil || slices.Contains(scope, "email") {
			out["email"], out["email_verified"] = a.Email, false
		}
		if scope == nil || slices.Contains(scope, "profile") {
			out["name"], out["role"] = a.Name, a.Role
		}
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, out)
	})
}

// scopeOf returns the scopes of the request's bearer token (already verified by Authenticate), nil
// for a first-party token, which has no scope and sees everything.
func scopeOf(r *http.Request, keys *keyring, issuer string) []string {
	var c accessClaims
	if err := keys.parse(shared.BearerToken(r), issuer, &c); err != nil || c.Scope == "" {
		return nil
	}
	return strings.Fields(c.Scope)
}

// handleIntrospect answers RFC 7662 for confidential clients: refresh tokens are looked up (without
// being used), access tokens verified and their account checked; anything else is {"active":false}.
func handleIntrospect(logger *slog.Logger, cfg Config, clients clientRegistry, d deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, oerr := parseForm(w, r)
		if oerr != nil {
			writeOAuthError(w, r, logger, oerr)
			return
		}
		token, oerr := single(form, "token")
		if oerr != nil {
			writeOAuthError(w, r, logger, oerr)
			return
		}
		id, secret, oerr := clientCredentials(r, form.Get("client_id"), form.Get("client_secret"))
		if oerr == nil {
			var c client
			c, oerr = authenticateClient(clients, id, secret)
			if oerr == nil && c.public() {
				oerr = oauthErr(http.StatusUnauthorized, "invalid_client", "introspection needs a confidential client")
			}
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
		writeOAuth(w, http.StatusOK, out)
	})
}

func introspect(ctx context.Context, cfg Config, d deps, token string) (map[string]any, error) {
	inactive := map[string]any{"active": false}
	if _, ok := tokenFamily(token); ok {
		g, err := d.grants.Peek(ctx, token)
		if errors.Is(err, shared.ErrNotFound) {
			return inactive, nil
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"active": true, "token_type": "refresh_token", "sub": g.UserID, "client_id": g.ClientID,
			"scope": g.Scope, "exp": g.ExpiresAt.Unix(), "iss": cfg.Issuer, "sid": g.SessionID}, nil
	}
	var c accessClaims
	if err := d.keys.parse(token, cfg.Issuer, &c); err != nil {
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
		"exp": c.ExpiresAt.Unix(), "role": c.Role, "email": c.Email}
	if c.IssuedAt != nil {
		out["iat"] = c.IssuedAt.Unix()
	}
	for k, v := range map[string]string{"client_id": c.ClientID, "scope": c.Scope, "sid": c.SessionID} {
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
		form, oerr := parseForm(w, r)
		if oerr != nil {
			writeOAuthError(w, r, logger, oerr)
			return
		}
		token, oerr := single(form, "token")
		if oerr != nil {
			writeOAuthError(w, r, logger, oerr)
			return
		}
		id, secret, oerr := clientCredentials(r, form.Get("client_id"), form.Get("client_secret"))
		var c client
		if oerr == nil && id != "" {
			c, oerr = authenticateClient(clients, id, secret)
		}
		if oerr != nil {
			writeOAuthError(w, r, logger, oerr)
			return
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
