package main

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/goshop/platform/shared"
)

// idClaims are an OpenID Connect ID token's claims.
type idClaims struct {
	Email    string `json:"email,omitempty"`
	Verified bool   `json:"email_verified,omitempty"`
	Name     string `json:"name,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	AuthTime int64  `json:"auth_time,omitempty"`
	AZP      string `json:"azp,omitempty"`
	jwt.RegisteredClaims
}

// tokenIssuer mints signed tokens.
type tokenIssuer struct {
	keys   *keyring
	issuer string
	ttl    time.Duration
}

// access mints an access token for the account; sid is the session it belongs to (empty for
// client_credentials). clientID and scope are set only for a third-party client, whose token then
// may do only what scope grants (shared.Identity.Allows); first-party tokens leave both empty.
// The token is a JWT its holder can read, so a third-party app's carries the e-mail only with scope
// email and the name only with profile, as its ID token and /userinfo.
func (ti tokenIssuer) access(a account, sid, clientID, scope string) (string, error) {
	now := time.Now()
	c := shared.AccessClaims{Email: a.Email, Name: a.Name, Role: a.Role, SessionID: sid,
		ClientID: clientID, Scope: scope, EmailVerified: a.EmailVerified,
		RegisteredClaims: jwt.RegisteredClaims{Issuer: ti.issuer, Subject: a.ID, ID: shared.NewID(),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ti.ttl))}}
	if clientID != "" && a.Role != roleService {
		c.Email, c.Name = scoped(scope, a)
	}
	return ti.keys.sign(typAccess, c)
}

// scoped returns the e-mail and the name that scope lets a third-party app see (OIDC Core §5.4).
func scoped(scope string, a account) (email, name string) {
	granted := strings.Fields(scope)
	if slices.Contains(granted, "email") {
		email = a.Email
	}
	if slices.Contains(granted, shared.ScopeProfile) {
		name = a.Name
	}
	return email, name
}

// idToken mints an OpenID Connect ID token for clientID. It carries the e-mail only when scope
// holds "email" and the name only when it holds "profile" (OIDC Core §5.4), as /userinfo does.
func (ti tokenIssuer) idToken(a account, clientID, scope, nonce string, authTime time.Time) (string, error) {
	now := time.Now()
	c := idClaims{Nonce: nonce, AuthTime: authTime.Unix(), AZP: clientID,
		RegisteredClaims: jwt.RegisteredClaims{Issuer: ti.issuer, Subject: a.ID, Audience: jwt.ClaimStrings{clientID},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ti.ttl))}}
	if c.Email, c.Name = scoped(scope, a); c.Email != "" {
		c.Verified = a.EmailVerified
	}
	return ti.keys.sign(typID, c)
}

// tokenHash is what stores keep instead of a secret token, so a leaked Redis dump holds no usable
// session or refresh token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
