package apidocs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestEveryExampleIsChecked holds every example of every document to its schema, one by one: each
// example (a media type's "example" or an "examples" entry's value, of a request body, a response or
// a component response, and a parameter's) is replaced by a value of another JSON type, and Parse
// must then refuse the document. TestDocumentsValid shows that the examples as written are valid;
// this shows that each was actually checked, so none sits where kin-openapi does not look or under a
// schema that accepts anything.
func TestEveryExampleIsChecked(t *testing.T) {
	if testing.Short() {
		t.Skip("parses every document once per example")
	}
	for _, svc := range Documents {
		t.Run(svc, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(root, svc, "openapi.json"))
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			sites := exampleSites(doc, "")
			if len(sites) == 0 {
				t.Fatalf("%s: no examples", svc)
			}
			var mu sync.Mutex
			var wg sync.WaitGroup
			sem := make(chan struct{}, 2)
			for _, s := range sites {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					mu.Lock()
					old := s.m[s.k]
					s.m[s.k] = otherType(old)
					broken, err := json.Marshal(narrowed(doc, s.at))
					s.m[s.k] = old
					mu.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := Parse(context.Background(), broken); err == nil {
						t.Errorf("%s %s: the example replaced by %s still passes: it is not checked against a schema", svc, s.at, jsonText(otherType(old)))
					}
				}()
			}
			wg.Wait()
			t.Logf("%s: %d examples, each checked", svc, len(sites))
		})
	}
}

// narrowed is the document with only the path that at is under (none when at is in the components),
// so that Parse, which validates every example of what it is given, checks few besides the broken
// one: the components (which every path may reference) and one path's operations.
func narrowed(doc any, at string) any {
	top := doc.(map[string]any)
	out := make(map[string]any, len(top))
	for k, v := range top {
		out[k] = v
	}
	paths := map[string]any{}
	for p, item := range top["paths"].(map[string]any) {
		if strings.HasPrefix(at, "/paths/"+p+"/") {
			paths[p] = item
		}
	}
	out["paths"] = paths
	return out
}

// site is one example in a decoded document: where it is and a handle to change it.
type site struct {
	at string
	m  map[string]any // the object holding the example, under key k
	k  string
}

// exampleSites finds the examples under v (a decoded document): "example" and the values of
// "examples" entries, except inside a schema's properties, where those are property names.
func exampleSites(v any, at string) []site {
	var out []site
	switch v := v.(type) {
	case map[string]any:
		for k, kid := range v {
			p := at + "/" + k
			switch {
			case strings.HasSuffix(at, "/properties"):
				out = append(out, exampleSites(kid, p)...)
			case k == "example":
				out = append(out, site{p, v, k})
			case k == "examples":
				if named, ok := kid.(map[string]any); ok {
					for name, ex := range named {
						if e, ok := ex.(map[string]any); ok && e["value"] != nil {
							out = append(out, site{p + "/" + name + "/value", e, "value"})
						}
					}
				}
			default:
				out = append(out, exampleSites(kid, p)...)
			}
		}
	case []any:
		for i, kid := range v {
			out = append(out, exampleSites(kid, fmt.Sprintf("%s/%d", at, i))...)
		}
	}
	return out
}

// otherType is a value of another JSON type than v, which no schema written for v's type accepts
// unless it accepts anything there.
func otherType(v any) any {
	switch v.(type) {
	case map[string]any:
		return []any{"not", "an", "object"}
	case []any:
		return map[string]any{"not": "an array"}
	case string:
		return 12345
	default: // number, boolean, null
		return "not a " + fmt.Sprintf("%T", v)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
