package sharedtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// routePattern finds the literal patterns a routes.go registers.
var routePattern = regexp.MustCompile(`mux\.Handle(?:Func)?\(\s*"([^"]+)"`)

// RoutePatterns returns the patterns ("POST /orders/{id}/pay") that file, a service's routes.go,
// registers, without the plumbing routes every service has (/healthz, /readyz, /metrics and its
// /openapi.json), so route tables in tests are derived from the code and a new route cannot be forgotten.
func RoutePatterns(tb testing.TB, file string) []string {
	tb.Helper()
	var out []string
	for _, p := range AllRoutePatterns(tb, file) {
		switch p {
		case "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json":
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		tb.Fatalf("%s registers no routes", file)
	}
	return out
}

// AllRoutePatterns returns every literal pattern file registers, the plumbing routes included (what
// a probe or a scraper may call).
func AllRoutePatterns(tb testing.TB, file string) []string {
	tb.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
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

// StateChangingRoutes returns the POST, PUT, PATCH and DELETE routes of each service's routes.go under
// root (the repository), as the gateway serves them: "METHOD /service/path" with wildcards filled by
// value. Tables over every state-changing route at the gateway are built from it.
func StateChangingRoutes(tb testing.TB, root, value string, services ...string) []string {
	tb.Helper()
	var out []string
	for _, svc := range services {
		for _, p := range RoutePatterns(tb, filepath.Join(root, svc, "routes.go")) {
			switch method, path := FillPattern(p, value); method {
			case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				out = append(out, method+" /"+svc+path)
			}
		}
	}
	return out
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

// Marker is where CheckBodies puts bad bytes into a BodyCase's body.
const Marker = "§"

// BodyCase is how CheckBodies sends one body-taking route. Body is a valid JSON object or form that
// the route accepts (any status but 400 and 5xx), with Marker inside one text value; "" declares that
// the route reads no body. Path fills the pattern's wildcards ("" fills them with "x"); Header holds
// name, value pairs (Authorization, Idempotency-Key...).
type BodyCase struct {
	Path   string
	Header []string
	Body   string
}

// CheckBodies sends every POST, PUT and PATCH route of routesFile through h with: the body as given
// (Marker removed), which must not be refused as bad input; a 2 MiB body, declared and chunked, which
// must be a 413 too_large in the error shape; the valid body under another media type (a longer
// subtype, another charset, text/plain; for forms also none), which must be a 415
// unsupported_media_type in the error shape; invalid UTF-8 (bytes FF FE, or %FF%FE in a form) and, in
// JSON, an unpaired surrogate escape at Marker, which must be a 400 invalid. cases must name every
// such route of the file.
func CheckBodies(t *testing.T, h http.Handler, routesFile string, cases map[string]BodyCase) {
	t.Helper()
	for _, p := range RoutePatterns(t, routesFile) {
		method, path := FillPattern(p, "x")
		if method != http.MethodPost && method != http.MethodPut && method != http.MethodPatch {
			continue
		}
		c, ok := cases[p]
		if !ok {
			t.Errorf("body-taking route %q of %s has no BodyCase", p, routesFile)
			continue
		}
		if c.Body == "" {
			continue
		}
		if c.Path != "" {
			path = c.Path
		}
		form := !strings.HasPrefix(c.Body, "{")
		contentType := "application/json"
		if form {
			contentType = "application/x-www-form-urlencoded"
		}
		sendAs := func(ct, body string, chunked bool) *httptest.ResponseRecorder {
			r := httptest.NewRequest(method, path, strings.NewReader(body))
			if chunked {
				r.ContentLength = -1
			}
			r.Header.Set("Content-Type", ct)
			for i := 0; i+1 < len(c.Header); i += 2 {
				r.Header.Set(c.Header[i], c.Header[i+1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			return rec
		}
		send := func(body string, chunked bool) *httptest.ResponseRecorder {
			return sendAs(contentType, body, chunked)
		}
		want := func(what string, rec *httptest.ResponseRecorder, status int, code string) {
			t.Helper()
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			json.Unmarshal(rec.Body.Bytes(), &e)
			if rec.Code != status || e.Error.Code != code {
				t.Errorf("%s %s with %s: %d %.200s, want %d %s in the error shape", method, path, what, rec.Code, rec.Body, status, code)
			}
		}
		if rec := send(strings.Replace(c.Body, Marker, "", 1), false); rec.Code == http.StatusBadRequest || rec.Code >= 500 {
			t.Errorf("%s %s with its valid body: %d %.200s; the case must be accepted for the other rows to mean anything", method, path, rec.Code, rec.Body)
		}
		huge := strings.Replace(c.Body, Marker, strings.Repeat("a", 2<<20), 1)
		want("a 2 MiB body", send(huge, false), http.StatusRequestEntityTooLarge, shared.CodeTooLarge)
		want("a 2 MiB chunked body", send(huge, true), http.StatusRequestEntityTooLarge, shared.CodeTooLarge)
		valid := strings.Replace(c.Body, Marker, "", 1)
		for _, ct := range []string{contentType + "x", contentType + "; charset=iso-8859-1", "text/plain", ""} {
			if ct == "" && !form {
				continue // a body without Content-Type is read as JSON
			}
			want(fmt.Sprintf("Content-Type %q", ct), sendAs(ct, valid, false), http.StatusUnsupportedMediaType, shared.CodeUnsupportedMediaType)
		}
		if form {
			// Form endpoints may answer in OAuth's error shape ({"error":"invalid_request"}).
			if rec := send(strings.Replace(c.Body, Marker, "%FF%FE", 1), false); rec.Code != http.StatusBadRequest {
				t.Errorf("%s %s with %%FF%%FE in a value: %d %.200s, want 400", method, path, rec.Code, rec.Body)
			}
			continue
		}
		want("bytes FF FE in a string", send(strings.Replace(c.Body, Marker, "\xff\xfe", 1), false), http.StatusBadRequest, shared.CodeInvalid)
		want("an unpaired surrogate escape", send(strings.Replace(c.Body, Marker, `\udcff`, 1), false), http.StatusBadRequest, shared.CodeInvalid)
	}
}
