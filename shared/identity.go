package shared

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// Roles of the platform.
const (
	RoleCustomer = "customer"
	RoleAdmin    = "admin"
)

// OAuth scopes of the platform's API, as auth's discovery document lists them. A token a third-party
// client obtained may use only the routes its scopes grant (RequireScope, declared per route in each
// service's routes.go); admin routes stay role-based and are never open to such a token.
const (
	ScopeProfile      = "profile"       // read the caller's profile (GET /users/me, /users/{own id})
	ScopeProfileWrite = "profile:write" // change the caller's profile
	ScopeAddresses    = "addresses"     // read and change the caller's address book
	ScopeOrdersRead   = "orders:read"   // read the caller's orders
	ScopeOrdersWrite  = "orders:write"  // place, pay and cancel the caller's orders
)

// APIScopes are the scopes above, in the order discovery lists them.
var APIScopes = []string{ScopeProfile, ScopeProfileWrite, ScopeAddresses, ScopeOrdersRead, ScopeOrdersWrite}

// Identity is the verified caller of a request, taken from an access token signed by auth.
type Identity struct {
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	SessionID string `json:"session_id,omitempty"`
	// ClientID and Scope are set for tokens a third-party OAuth client obtained (an app acting for a
	// user, or a service client with role "service"): such a token may do only what Scope grants.
	// Both are empty for first-party tokens (POST /login, the session exchange, first-party clients
	// such as the storefront), which carry the user's full rights.
	ClientID string `json:"client_id,omitempty"`
	Scope    string `json:"scope,omitempty"`

	// EmailVerified is the token's email_verified claim: the holder proved to auth that Email reaches
	// them (REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT in order relies on it).
	EmailVerified bool `json:"email_verified,omitempty"`
}

// IsAdmin reports whether the caller has the admin role and holds a first-party token: a third-party
// app acting for an admin gets no admin powers (other users' orders, profiles), only its scopes.
func (id Identity) IsAdmin() bool { return id.Role == RoleAdmin && !id.Delegated() }

// Delegated reports whether a third-party client holds the token, so only its scopes count.
func (id Identity) Delegated() bool { return id.ClientID != "" }

// Allows reports whether the caller may use scope: always for a first-party token, for a delegated
// one when scope is among its granted scopes.
func (id Identity) Allows(scope string) bool {
	if !id.Delegated() {
		return true
	}
	for s := range strings.FieldsSeq(id.Scope) {
		if s == scope {
			return true
		}
	}
	return false
}

// Verifier turns a raw bearer token into an Identity. It returns an error wrapping ErrUnauthorized for
// any token that is malformed, expired, not for this audience or not signed by a known key.
type Verifier interface {
	Verify(ctx context.Context, token string) (Identity, error)
}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// IdentityFrom returns the verified caller of the request, if any.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey).(Identity)
	return id, ok && id.UserID != ""
}

// BearerToken returns the token of an "Authorization: Bearer ..." header, or "".
func BearerToken(r *http.Request) string {
	tok, _ := BearerOf(r.Header.Get("Authorization"))
	return tok
}

// BearerOf reads an Authorization header value h as every service does: the scheme "Bearer" in any
// case, spaces around the token ignored. ok is false for another scheme. The gateway reads it the same
// way, so no spelling reaches a service unchecked.
func BearerOf(h string) (token string, ok bool) {
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// Authenticate verifies a bearer token when the request has one and stores the Identity in the
// context. A request without a token passes on anonymous; one with a bad token gets 401 at once, so a
// client learns its token expired instead of silently seeing anonymous data; one whose token cannot be
// judged (Verify's ErrUnavailable: auth's key set unreachable before any was fetched) gets 503.
func Authenticate(v Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := BearerToken(r)
			if raw == "" {
				next.ServeHTTP(w, r)
				return
			}
			id, err := v.Verify(r.Context(), raw)
			if errors.Is(err, ErrUnavailable) {
				// The token cannot be judged (auth's key set unreachable): not the client's fault.
				WriteError(w, r, nil, err)
				return
			}
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				WriteError(w, r, nil, Errorf(CodeUnauthorized, "invalid or expired access token"))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
		})
	}
}

// RequireAuth answers 401 unless Authenticate found a caller.
func RequireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := IdentityFrom(r.Context()); !ok {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			WriteError(w, r, nil, Errorf(CodeUnauthorized, "authentication required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireScope answers 401 without a caller and 403 (with RFC 6750's insufficient_scope challenge)
// when the caller's token is delegated and was not granted scope. It implies RequireAuth.
func RequireScope(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id, _ := IdentityFrom(r.Context()); !id.Allows(scope) {
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
				WriteError(w, r, nil, Errorf(CodeForbidden, "the token was not granted scope %s", scope))
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// RequireAdminFor is RequireRole(admin) for a query parameter rather than a route (include_inactive
// in product and inventory): nil for a first-party admin token, 401 without a caller and 403 for
// anyone else, each naming param.
func RequireAdminFor(r *http.Request, param string) error {
	id, ok := IdentityFrom(r.Context())
	switch {
	case !ok:
		return Errorf(CodeUnauthorized, "%s requires an admin token", param)
	case !id.IsAdmin():
		return Errorf(CodeForbidden, "%s requires role admin", param)
	}
	return nil
}

// RequireRole answers 401 without a caller and 403 unless the caller has role and holds a first-party
// token: no scope hands a role's powers (admin) to a third-party app.
func RequireRole(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := IdentityFrom(r.Context())
			if id.Role != role {
				WriteError(w, r, nil, Errorf(CodeForbidden, "requires role %s", role))
				return
			}
			if id.Delegated() {
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
				WriteError(w, r, nil, Errorf(CodeForbidden, "requires role %s with a first-party token", role))
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}
