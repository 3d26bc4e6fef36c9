package sharedtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// routePattern finds the literal patterns a routes.go registers.
var routePattern = regexp.MustCompile(`mux\.Handle(?:Func)?\(\s*"([^"]+)"`)

// RoutePatterns returns the patterns ("POST /orders/{id}/pay") that file, a service's routes.go,
// registers, without the plumbing routes /healthz, /readyz and /metrics, so route tables in tests
// are derived from the code and a new route cannot be forgotten.
func RoutePatterns(tb testing.TB, file string) []string {
	tb.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		switch m[1] {
		case "GET /healthz", "GET /readyz", "GET /metrics":
			continue
		}
		out = append(out, m[1])
	}
	if len(out) == 0 {
		tb.Fatalf("%s registers no routes", file)
	}
	return out
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// FillPattern splits a "METHOD /path/{id}" pattern into its method and a path with every wildcard
// replaced by value ({$} by nothing).
func FillPattern(pattern, value string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern
	}
	path = strings.ReplaceAll(path, "{$}", "")
	return method, wildcard.ReplaceAllString(path, value)
}

// Access values for CheckScopes' table besides a scope name.
const (
	AccessPublic = "public" // anyone, with any valid token or none
	AccessAdmin  = "admin"  // role admin with a first-party token
)

// AccessOptional is the table value for a route open to anonymous callers on which a token must hold
// scope (realtime's socket).
func AccessOptional(scope string) string { return "optional " + scope }

// tokenKind is one kind of caller CheckScopes tries on every route.
type tokenKind struct {
	name       string
	id         *shared.Identity // nil: no token
	expired    bool
	firstParty bool
}

func tokenKinds() []tokenKind {
	third := func(role, scope string) *shared.Identity {
		id := Customer
		if role == shared.RoleAdmin {
			id = Admin
		}
		id.ClientID, id.Scope = "demo-app", scope
		return &id
	}
	customer, admin := Customer, Admin
	kinds := []tokenKind{
		{name: "no token"},
		{name: "expired first-party", id: &customer, expired: true, firstParty: true},
		{name: "first-party customer", id: &customer, firstParty: true},
		{name: "first-party admin", id: &admin, firstParty: true},
		{name: "third-party openid only", id: third(shared.RoleCustomer, "openid profile email")},
		{name: "third-party admin, every scope", id: third(shared.RoleAdmin, "openid "+strings.Join(shared.APIScopes, " "))},
		{name: "service client", id: &shared.Identity{UserID: "client:internal-service", Role: "service",
			ClientID: "internal-service", Scope: "service"}},
	}
	for _, s := range shared.APIScopes {
		kinds = append(kinds, tokenKind{name: "third-party " + s, id: third(shared.RoleCustomer, "openid "+s)})
	}
	return kinds
}

// allowed is the status CheckScopes wants for kind on a route needing access: 0 for "let in" (any
// status but 401 and 403), else 401 or 403.
func allowed(access string, kind tokenKind) int {
	if kind.expired {
		return http.StatusUnauthorized
	}
	optional := strings.HasPrefix(access, "optional ")
	scope := strings.TrimPrefix(access, "optional ")
	switch {
	case access == AccessPublic:
		return 0
	case kind.id == nil && optional:
		return 0
	case kind.id == nil:
		return http.StatusUnauthorized
	case access == AccessAdmin:
		if kind.firstParty && kind.id.Role == shared.RoleAdmin {
			return 0
		}
		return http.StatusForbidden
	case kind.id.Allows(scope):
		return 0
	}
	return http.StatusForbidden
}

// CheckScopes sends every route of routesFile through h with every kind of token (none, expired,
// first-party customer and admin, third-party with no API scope, with each scope, with all of them
// for an admin, a service client) and checks who gets in. table maps every pattern of the file to
// AccessPublic, AccessAdmin, AccessOptional(scope) or the scope the route needs; a route missing from
// the table fails the test. Wildcards are filled with the caller's user ID (so owner checks pass and
// only the scope decides); POST, PUT and PATCH carry an empty JSON object. "Let in" means any status
// but 401 and 403: the handler may still refuse the empty body.
func CheckScopes(t *testing.T, h http.Handler, iss *Issuer, routesFile string, table map[string]string) {
	t.Helper()
	patterns := RoutePatterns(t, routesFile)
	for _, p := range patterns {
		if _, ok := table[p]; !ok {
			t.Errorf("route %q of %s has no entry in the scope table", p, routesFile)
		}
	}
	for _, kind := range tokenKinds() {
		auth := ""
		if kind.id != nil {
			ttl := time.Hour
			if kind.expired {
				ttl = -time.Hour
			}
			auth = "Bearer " + iss.Token(t, *kind.id, ttl)
		}
		for _, p := range patterns {
			access, ok := table[p]
			if !ok {
				continue
			}
			caller := "nobody"
			if kind.id != nil {
				caller = kind.id.UserID
			}
			method, path := FillPattern(p, caller)
			var body *bytes.Reader
			if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
				body = bytes.NewReader([]byte("{}"))
			}
			r := httptest.NewRequest(method, path, nil)
			if body != nil {
				r = httptest.NewRequest(method, path, body)
				r.Header.Set("Content-Type", "application/json")
			}
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			want := allowed(access, kind)
			got := rec.Code
			switch {
			case want == 0 && (got == http.StatusUnauthorized || got == http.StatusForbidden):
				t.Errorf("%s %s with %s (route needs %s): status = %d, want let in; body %s", method, path, kind.name, access, got, rec.Body)
			case want != 0 && got != want:
				t.Errorf("%s %s with %s (route needs %s): status = %d, want %d; body %s", method, path, kind.name, access, got, want, rec.Body)
			case want != 0:
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Code == "" {
					t.Errorf("%s %s with %s: %d body %q is not the error shape", method, path, kind.name, got, rec.Body)
				}
			}
		}
	}
}
