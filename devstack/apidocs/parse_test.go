package apidocs

import (
	"context"
	"strings"
	"testing"
)

// TestParseRefuses shows what the document check catches: each row is a small document with one
// defect that Parse must refuse (kin-openapi's Loader plus Validate with examples validation).
func TestParseRefuses(t *testing.T) {
	t.Parallel()
	const ok = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{"description":"d",
		"content":{"application/json":{"schema":{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}},"example":{"n":1}}}}}}}}}`
	if _, err := Parse(context.Background(), []byte(ok)); err != nil {
		t.Fatalf("the valid document: %v", err)
	}
	tests := []struct{ name, from, to string }{
		{"OpenAPI 3.0", `"3.1.0"`, `"3.0.3"`},
		{"no info version", `"version":"1"`, `"summary":"1"`},
		{"an example that does not match its schema", `"example":{"n":1}`, `"example":{"n":"one"}`},
		{"an example missing a required field", `"example":{"n":1}`, `"example":{}`},
		{"a dangling $ref", `{"type":"integer"}`, `{"$ref":"#/components/schemas/Nope"}`},
		{"an unknown type", `"type":"integer"`, `"type":"int"`},
		{"a path parameter not declared", `"/x"`, `"/x/{id}"`},
		{"a response without description", `"description":"d",`, ``},
		{"not JSON", `}`, `]`},
	}
	for _, tt := range tests {
		doc := strings.Replace(ok, tt.from, tt.to, 1)
		if doc == ok {
			t.Fatalf("%s: the replacement changed nothing", tt.name)
		}
		if _, err := Parse(context.Background(), []byte(doc)); err == nil {
			t.Errorf("%s: Parse accepted the document", tt.name)
		} else {
			t.Logf("%s: %.160s", tt.name, err)
		}
	}
}
