// Package apidocs loads the services' OpenAPI documents with kin-openapi for the tests that hold the
// code to them: the document checks in this folder and the integration suite's validating client.
// It lives in the devstack module so that the validator is a dependency of tests and tools only.
package apidocs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// Services are the programs that serve GET /openapi.json, in the gateway's order.
var Services = []string{"auth", "user", "product", "inventory", "order", "realtime"}

// Documents are the hand-written documents: the services' and the gateway's own (its routes and
// the answers it adds to every proxied route), which GET /openapi.json at the gateway merges.
var Documents = append(slices.Clone(Services), "gateway")

// Parse loads an OpenAPI document from its JSON bytes (no external references are followed) and
// validates it: the OpenAPI 3.1 structure, every schema as JSON Schema 2020-12, every example
// against its schema. A document that does not say openapi 3.1.x is an error.
func Parse(ctx context.Context, data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if doc.OpenAPIMajorMinor() != "3.1" {
		return nil, fmt.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(ctx, openapi3.EnableExamplesValidation(), openapi3.EnableMultiError()); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	return doc, nil
}

// Load reads and parses service's openapi.json in the repository at root.
func Load(ctx context.Context, root, service string) (*openapi3.T, []byte, error) {
	data, err := os.ReadFile(filepath.Join(root, service, "openapi.json"))
	if err != nil {
		return nil, nil, err
	}
	doc, err := Parse(ctx, data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s/openapi.json: %w", service, err)
	}
	return doc, data, nil
}

// Operations returns the document's operations as route patterns: "POST /orders/{id}/pay".
func Operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	return out
}
