package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/goshop/platform/shared"
)

// Grant types a client may be allowed.
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
)

// client is a registered OIDC/OAuth client. A client without a secret is public (a browser or native
// app): it must use PKCE, which every client must anyway, and cannot use client_credentials.
type client struct {
	ID           string   `json:"id"`
	Secret       string   `json:"secret,omitempty"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// FirstParty clients (the storefront) skip the consent page.
	FirstParty bool     `json:"first_party,omitempty"`
	GrantTypes []string `json:"grant_types"`
	// Scopes the client may request; "openid profile email" when empty. A third-party client's
	// access token may use only the API routes its granted scopes allow (shared.APIScopes).
	Scopes []string `json:"scopes,omitempty"`
}

// scopeOfflineAccess asks for a refresh token (OIDC Core §11).
const scopeOfflineAccess = "offline_access"

// oidcScopes are the OpenID Connect scopes auth grants, besides the API's shared.APIScopes.
var oidcScopes = []string{"openid", "profile", "email", scopeOfflineAccess}

// supportedScopes is every scope a client may be allowed: discovery's scopes_supported.
func supportedScopes() []string {
	out := slices.Clone(oidcScopes)
	for _, s := range shared.APIScopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (c client) public() bool { return c.Secret == "" }

func (c client) allows(grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// redirectAllowed reports whether uri is one of the client's registered redirect URIs, compared
// byte for byte (no prefix or pattern matching: RFC 9700 §4.1.3).
func (c client) redirectAllowed(uri string) bool { return slices.Contains(c.RedirectURIs, uri) }

// secretMatches compares in constant time; hashing first makes the comparison length-independent.
func (c client) secretMatches(secret string) bool {
	a := sha256.Sum256([]byte(c.Secret))
	b := sha256.Sum256([]byte(secret))
	return !c.public() && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (c client) scopes() []string {
	if len(c.Scopes) == 0 {
		return []string{"openid", "profile", "email"}
	}
	return c.Scopes
}

// defaultClients are the clients registered when AUTH_CLIENTS is unset: the storefront (first party,
// public, PKCE), a third-party demo app that sees the consent page, and, when serviceSecret is set, a
// confidential service client for client_credentials.
func defaultClients(serviceSecret string) []client {
	cs := []client{
		{
			ID: "storefront", FirstParty: true,
			RedirectURIs: []string{"http://localhost:3000/auth/callback", "http://127.0.0.1:3000/auth/callback",
				"http://localhost:3008/auth/callback"},
			GrantTypes: []string{grantAuthorizationCode, grantRefreshToken},
			Scopes:     []string{"openid", "profile", "email", "offline_access"},
		},
		{
			ID:           "demo-app",
			RedirectURIs: []string{"http://127.0.0.1:8080/callback", "http://localhost:8080/callback"},
			GrantTypes:   []string{grantAuthorizationCode, grantRefreshToken},
			Scopes:       supportedScopes(),
		},
	}
	if serviceSecret != "" {
		cs = append(cs, client{ID: "internal-service", Secret: serviceSecret,
			GrantTypes: []string{grantClientCredentials}, Scopes: []string{scopeService}})
	}
	return cs
}

func validateClients(cs []client) error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range cs {
		if c.ID == "" || seen[c.ID] {
			errs = append(errs, fmt.Errorf("client %d: missing or duplicate id %q", i, c.ID))
		}
		seen[c.ID] = true
		for _, g := range c.GrantTypes {
			if g != grantAuthorizationCode && g != grantRefreshToken && g != grantClientCredentials {
				errs = append(errs, fmt.Errorf("client %s: unknown grant type %q", c.ID, g))
			}
		}
		if c.allows(grantClientCredentials) && c.public() {
			errs = append(errs, fmt.Errorf("client %s: client_credentials needs a secret", c.ID))
		}
		if c.allows(grantAuthorizationCode) && len(c.RedirectURIs) == 0 {
			errs = append(errs, fmt.Errorf("client %s: authorization_code needs redirect_uris", c.ID))
		}
		for _, s := range c.Scopes {
			if s != scopeService && !slices.Contains(supportedScopes(), s) {
				errs = append(errs, fmt.Errorf("client %s: unknown scope %q", c.ID, s))
			}
		}
		for _, u := range c.RedirectURIs {
			p, err := url.Parse(u)
			if err != nil || !p.IsAbs() || p.Fragment != "" {
				errs = append(errs, fmt.Errorf("client %s: redirect URI %q must be absolute without fragment", c.ID, u))
			}
		}
	}
	return errors.Join(errs...)
}

// clientRegistry looks clients up by ID.
type clientRegistry map[string]client

func newClientRegistry(cs []client) clientRegistry {
	r := make(clientRegistry, len(cs))
	for _, c := range cs {
		r[c.ID] = c
	}
	return r
}
