package shared

import (
	"context"
	"net/http"
	"strings"
)

// Roles of the platform.
const (
	RoleCustomer = "customer"
	RoleAdmin    = "admin"
)

// Identity is the verified caller of a request, taken from an access token signed by auth.
type Identity struct {
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	SessionID string `json:"session_id,omitempty"`
	// ClientID and Scope are set for tokens an OAuth client obtained (third-party apps, service
	// clients with role "service"); empty for the platform's own logins. Handlers that serve only
	// people can refuse a non-empty ClientID.
	ClientID string `json:"client_id,omitempty"`
	Scope    string `json:"scope,omitempty"`
}

// IsAdmin reports whether the caller has the admin role.
func (id Identity) IsAdmin() bool { return id.Role == RoleAdmin }

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
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Authenticate verifies a bearer token when the request has one and stores the Identity in the
// context. A request without a token passes on anonymous; one with a bad token gets 401 at once, so a
// client learns its token expired instead of silently seeing anonymous data.
func Authenticate(v Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := BearerToken(r)
			if raw == "" {
				next.ServeHTTP(w, r)
				return
			}
			id, err := v.Verify(r.Context(), raw)
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

// RequireRole answers 401 without a caller and 403 unless the caller has role.
func RequireRole(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id, _ := IdentityFrom(r.Context()); id.Role != role {
				WriteError(w, r, nil, Errorf(CodeForbidden, "requires role %s", role))
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}
