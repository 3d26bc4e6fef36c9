package apidocs

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// root is the repository, two folders up from devstack/apidocs.
var root = filepath.Join("..", "..")

// TestDocumentsValid checks that every service's document is valid OpenAPI 3.1 with valid examples
// (Parse), that operation IDs are unique across the documents (the merged document at the gateway
// keeps them), and that every operation declares its error answers in the error shape.
func TestDocumentsValid(t *testing.T) {
	ops := map[string]string{}
	for _, svc := range Documents {
		doc, _, err := Load(context.Background(), root, svc)
		if err != nil {
			t.Error(err)
			continue
		}
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				where := svc + ": " + method + " " + path
				if op.OperationID == "" {
					t.Errorf("%s has no operationId", where)
				} else if other, dup := ops[op.OperationID]; dup {
					t.Errorf("%s: operationId %q is %s's too", where, op.OperationID, other)
				}
				ops[op.OperationID] = where
				if op.Responses == nil || op.Responses.Len() == 0 {
					t.Errorf("%s declares no responses", where)
				}
			}
		}
		if doc.Components == nil || doc.Components.Schemas["Error"] == nil {
			t.Errorf("%s: components.schemas.Error is missing", svc)
		}
	}
}

// probes are the plumbing routes every program registers that its document describes too
// (RoutePatterns leaves them out; GET /openapi.json, the document itself, is left out of both).
var probes = []string{"GET /healthz", "GET /readyz", "GET /metrics"}

// TestDocumentsMatchRoutes checks that every route a routes.go registers is an operation of the
// service's document, and every operation is a registered route: a route cannot be added, renamed or
// removed without its description. Path templates compare by their text; mux wildcards and path
// parameters must have the same names.
func TestDocumentsMatchRoutes(t *testing.T) {
	for _, svc := range Documents {
		doc, _, err := Load(context.Background(), root, svc)
		if err != nil {
			t.Error(err)
			continue
		}
		routes := append(sharedtest.RoutePatterns(t, filepath.Join(root, svc, "routes.go")), probes...)
		if svc == "gateway" {
			// The gateway's per-service routes are built in a loop ("/"+service+"/"): the pattern
			// reader sees their first literal only. Its own GET /openapi.json is an API, described,
			// and so are the services' documents it passes through.
			routes = slices.DeleteFunc(routes, func(p string) bool { return !strings.Contains(p, " /") })
			routes = append(routes, "GET /openapi.json", "GET /{service}/openapi.json")
		}
		documented := Operations(doc)
		for _, r := range routes {
			if !slices.Contains(documented, r) {
				t.Errorf("%s/routes.go registers %q; %s/openapi.json does not describe it", svc, r, svc)
			}
		}
		for _, o := range documented {
			if !slices.Contains(routes, o) {
				t.Errorf("%s/openapi.json describes %q; %s/routes.go registers no such route", svc, o, svc)
			}
		}
	}
}

// TestDocumentsSecuritySchemes checks the three security schemes every document declares: the
// session cookie, the bearer JWT and OAuth 2.0 with auth's endpoints at the gateway (relative to the
// gateway's origin, like the documents' servers) and exactly the API's scopes (shared.APIScopes), so
// a new scope cannot go undocumented; and that every scope an operation asks for is one of them.
func TestDocumentsSecuritySchemes(t *testing.T) {
	const issuer = "/auth"
	want := slices.Clone(shared.APIScopes)
	slices.Sort(want)
	for _, svc := range Documents {
		doc, _, err := Load(context.Background(), root, svc)
		if err != nil {
			t.Error(err)
			continue
		}
		if doc.Components == nil {
			t.Errorf("%s: no components", svc)
			continue
		}
		schemes := doc.Components.SecuritySchemes
		if s := schemes["session"]; s == nil || s.Value.Type != "apiKey" || s.Value.In != "cookie" || s.Value.Name != "session_id" {
			t.Errorf("%s: securitySchemes.session is not the apiKey cookie session_id", svc)
		}
		if s := schemes["bearer"]; s == nil || s.Value.Type != "http" || !strings.EqualFold(s.Value.Scheme, "bearer") || s.Value.BearerFormat != "JWT" {
			t.Errorf("%s: securitySchemes.bearer is not http bearer JWT", svc)
		}
		o := schemes["oauth2"]
		if o == nil || o.Value.Flows == nil || o.Value.Flows.AuthorizationCode == nil {
			t.Errorf("%s: securitySchemes.oauth2 has no authorizationCode flow", svc)
			continue
		}
		flow := o.Value.Flows.AuthorizationCode
		if flow.AuthorizationURL != issuer+"/authorize" || flow.TokenURL != issuer+"/token" {
			t.Errorf("%s: oauth2 URLs %s, %s; want %s/authorize and %s/token", svc, flow.AuthorizationURL, flow.TokenURL, issuer, issuer)
		}
		var got []string
		for s := range flow.Scopes {
			got = append(got, s)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: oauth2 scopes %v, want %v", svc, got, want)
		}
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				for _, req := range securityOf(doc, op) {
					for name, scopes := range req {
						if schemes[name] == nil {
							t.Errorf("%s: %s %s names security scheme %q, which is not declared", svc, method, path, name)
						}
						for _, s := range scopes {
							if !slices.Contains(want, s) {
								t.Errorf("%s: %s %s asks for scope %q, which auth does not offer", svc, method, path, s)
							}
						}
					}
				}
			}
		}
	}
}

func securityOf(doc *openapi3.T, op *openapi3.Operation) openapi3.SecurityRequirements {
	if op.Security != nil {
		return *op.Security
	}
	return doc.Security
}
