package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// oauthError is an OAuth 2.0 error (RFC 6749 §5.2). /token, /introspect and /revoke answer in this
// shape, not the platform's, because every OAuth client library expects it.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(status int, code, desc string) *oauthError {
	return &oauthError{Code: code, Description: desc, status: status}
}

func invalidRequest(desc string) *oauthError {
	return oauthErr(http.StatusBadRequest, "invalid_request", desc)
}
func invalidGrant(desc string) *oauthError {
	return oauthErr(http.StatusBadRequest, "invalid_grant", desc)
}

// single returns the one value of name; a repeated parameter is an error (RFC 6749 §3.1).
func single(v url.Values, name string) (string, *oauthError) {
	vs := v[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", invalidRequest("parameter " + name + " is repeated")
}

// authorizeRequest is a parsed /authorize request.
type authorizeRequest struct {
	Client      client
	RedirectURI string
	State       string
	Scope       []string
	Nonce       string
	Challenge   string
	// Prompt is the set of prompt values (OIDC Core §3.1.2.1); "none" comes alone.
	Prompt []string
	// MaxAge is the oldest sign-in the client accepts, in seconds; -1 when not asked.
	MaxAge int
}

// maxMaxAge caps max_age (about 34 years) below time.Duration's limit.
const maxMaxAge = 1 << 30

// prompts reports whether the request's prompt holds value.
func (req authorizeRequest) prompts(value string) bool { return slices.Contains(req.Prompt, value) }

// needsSignIn reports whether the client asked for a sign-in newer than authTime: prompt=login, or a
// max_age that has passed since it.
func (req authorizeRequest) needsSignIn(authTime, now time.Time) bool {
	return req.prompts("login") || req.MaxAge >= 0 && now.Sub(authTime) > time.Duration(req.MaxAge)*time.Second
}

// parseAuthorize checks an authorization request. A nil redirect in the result means the error must
// be shown to the user, not sent to the redirect URI (unknown client or unregistered redirect URI:
// RFC 6749 §4.1.2.1); otherwise errors go back to the client at the redirect URI.
func parseAuthorize(v url.Values, clients clientRegistry) (authorizeRequest, *oauthError, bool) {
	var req authorizeRequest
	get := func(name string) (string, *oauthError) { return single(v, name) }
	clientID, err := get("client_id")
	if err != nil {
		return req, err, false
	}
	c, ok := clients[clientID]
	if !ok || !c.allows(grantAuthorizationCode) {
		return req, invalidRequest("unknown client_id"), false
	}
	req.Client = c
	redirect, err := get("redirect_uri")
	if err != nil {
		return req, err, false
	}
	if redirect == "" || !c.redirectAllowed(redirect) {
		return req, invalidRequest("redirect_uri is not registered for this client"), false
	}
	req.RedirectURI = redirect
	if req.State, err = get("state"); err != nil {
		return req, err, true
	}
	// Request objects and registration are not supported: a client that sends them expects their
	// parameters to count, so ignoring them would silently run another request (OIDC Core §6).
	for _, p := range [...]string{"request", "request_uri", "registration"} {
		if v.Has(p) {
			return req, oauthErr(http.StatusBadRequest, p+"_not_supported", p+" is not supported"), true
		}
	}
	rt, err := get("response_type")
	if err != nil {
		return req, err, true
	}
	if rt != "code" {
		return req, oauthErr(http.StatusBadRequest, "unsupported_response_type", "only response_type=code is supported"), true
	}
	scope, err := get("scope")
	if err != nil {
		return req, err, true
	}
	if req.Scope, err = checkScope(scope, c); err != nil {
		return req, err, true
	}
	if req.Nonce, err = get("nonce"); err != nil {
		return req, err, true
	}
	if len(req.Nonce) > 512 {
		return req, invalidRequest("nonce is too long"), true
	}
	method, err := get("code_challenge_method")
	if err != nil {
		return req, err, true
	}
	if req.Challenge, err = get("code_challenge"); err != nil {
		return req, err, true
	}
	if req.Challenge == "" || method != "S256" {
		return req, invalidRequest("PKCE required: code_challenge with code_challenge_method=S256"), true
	}
	if !pkceShape(req.Challenge) || len(req.Challenge) != 43 {
		return req, invalidRequest("code_challenge must be the base64url SHA-256 of the verifier"), true
	}
	prompt, err := get("prompt")
	if err != nil {
		return req, err, true
	}
	if req.Prompt = strings.Fields(prompt); req.prompts("none") && len(req.Prompt) > 1 {
		return req, invalidRequest("prompt=none cannot be combined with other values"), true
	}
	maxAge, err := get("max_age")
	if err != nil {
		return req, err, true
	}
	req.MaxAge = -1
	if maxAge != "" {
		n, err := strconv.ParseUint(maxAge, 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return req, invalidRequest("max_age must be a number of seconds"), true
		}
		// Beyond any session's lifetime anyway; capped so it stays a valid time.Duration.
		req.MaxAge = int(min(n, maxMaxAge))
	}
	return req, nil, true
}

// checkScope splits a scope string and checks every scope is allowed for the client; empty means
// "openid".
func checkScope(scope string, c client) ([]string, *oauthError) {
	fields := strings.Fields(scope)
	if len(fields) == 0 {
		fields = []string{"openid"}
	}
	if len(scope) > 1024 {
		return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "scope is too long")
	}
	allowed := c.scopes()
	var out []string
	for _, s := range fields {
		if !slices.Contains(allowed, s) {
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "scope "+s+" is not allowed for this client")
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// pkceShape reports whether s uses only the unreserved characters of RFC 7636 §4.1 and is 43 to 128
// long.
func pkceShape(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// pkceMatches checks a code_verifier against an S256 challenge in constant time.
func pkceMatches(verifier, challenge string) bool {
	if !pkceShape(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// tokenRequest is a parsed /token form.
type tokenRequest struct {
	GrantType    string
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	Scope        string
	ClientID     string // from the form (client_secret_post or a public client)
	ClientSecret string
}

// parseTokenForm reads the /token parameters, rejecting repeats and oversized values.
func parseTokenForm(v url.Values) (tokenRequest, *oauthError) {
	var req tokenRequest
	for name, dst := range map[string]*string{
		"grant_type": &req.GrantType, "code": &req.Code, "redirect_uri": &req.RedirectURI,
		"code_verifier": &req.CodeVerifier, "refresh_token": &req.RefreshToken, "scope": &req.Scope,
		"client_id": &req.ClientID, "client_secret": &req.ClientSecret,
	} {
		val, err := single(v, name)
		if err != nil {
			return req, err
		}
		if len(val) > 2048 {
			return req, invalidRequest("parameter " + name + " is too long")
		}
		*dst = val
	}
	if req.GrantType == "" {
		return req, invalidRequest("grant_type is required")
	}
	return req, nil
}

// clientCredentials returns the client ID and secret of a request: HTTP Basic (RFC 6749 §2.3.1, both
// parts form-urlencoded) or the form's client_id/client_secret, but not both.
func clientCredentials(r *http.Request, formID, formSecret string) (id, secret string, err *oauthError) {
	u, p, basic := r.BasicAuth()
	if basic {
		if formSecret != "" {
			return "", "", invalidRequest("use one client authentication method")
		}
		id, e1 := url.QueryUnescape(u)
		secret, e2 := url.QueryUnescape(p)
		if e1 != nil || e2 != nil || (formID != "" && formID != id) {
			return "", "", oauthErr(http.StatusUnauthorized, "invalid_client", "malformed client credentials")
		}
		return id, secret, nil
	}
	return formID, formSecret, nil
}

// authenticateClient resolves the calling client: a confidential client must present its secret, a
// public one only names itself. Unknown clients and wrong secrets get the same invalid_client.
func authenticateClient(clients clientRegistry, id, secret string) (client, *oauthError) {
	bad := oauthErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
	c, ok := clients[id]
	if !ok {
		return client{}, bad
	}
	if c.public() {
		if secret != "" {
			return client{}, bad
		}
		return c, nil
	}
	if !c.secretMatches(secret) {
		return client{}, bad
	}
	return c, nil
}
