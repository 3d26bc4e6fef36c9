package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpliceKeepsDocuments replaces every example of every document with itself, compacted: the
// file must come back byte for byte, so a capture changes nothing but the values it replaces.
func TestSpliceKeepsDocuments(t *testing.T) {
	for _, svc := range []string{"auth", "user", "product", "inventory", "order", "realtime", "gateway"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", svc, "openapi.json"))
		if err != nil {
			t.Fatal(err)
		}
		tree, err := parseTree(data)
		if err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
		ptrs := examples(tree, "")
		if len(ptrs) == 0 {
			t.Fatalf("%s: no examples found", svc)
		}
		var edits []edit
		for _, p := range ptrs {
			n := tree.lookup(p)
			var compact bytes.Buffer
			if err := json.Compact(&compact, data[n.start:n.end]); err != nil {
				t.Fatalf("%s %s: %v", svc, p, err)
			}
			edits = append(edits, edit{ptr: p, raw: compact.Bytes()})
		}
		got, err := splice(data, edits)
		if err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
		if !bytes.Equal(got, data) {
			i := 0
			for i < len(got) && i < len(data) && got[i] == data[i] {
				i++
			}
			t.Errorf("%s: %d examples spliced back in place changed the file at byte %d: %q", svc, len(ptrs), i, got[max(0, i-40):min(len(got), i+40)])
		}
	}
}

// TestSpliceReplaces checks one replacement at depth, in both example forms, and a missing pointer.
func TestSpliceReplaces(t *testing.T) {
	doc := "{\n  \"a\": {\n    \"example\": {\n      \"n\": 1\n    },\n    \"examples\": {\n      \"x\": {\n        \"summary\": \"s\",\n        \"value\": []\n      }\n    }\n  }\n}\n"
	got, err := splice([]byte(doc), []edit{{"/a/example", []byte(`{"n":2,"m":[true]}`)}, {"/a/examples/x/value", []byte(` {} `)}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer("\"n\": 1", "\"n\": 2,\n      \"m\": [\n        true\n      ]", "\"value\": []", "\"value\": {}").Replace(doc)
	if string(got) != want {
		t.Errorf("splice:\n%s\nwant:\n%s", got, want)
	}
	if _, err := splice([]byte(doc), []edit{{"/a/nope", []byte(`1`)}}); err == nil {
		t.Error("splice of a missing pointer: no error")
	}
}

// TestScrub checks that secrets become placeholders of the same shape, everywhere, consistently.
func TestScrub(t *testing.T) {
	s := newScrubber(strings.NewReplacer("localhost:6808", "localhost:3008"))
	jwt := "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXJlYWw"
	rt := "rt1.5f0c9a7e2d4b4c1e9a8b7c6d5e4f3a2b"
	s.learn(&answer{body: []byte(`{"access_token":"` + jwt + `","refresh_token":"` + rt + `","token_type":"Bearer"}`)})
	out := string(s.apply([]byte(`{"a":"` + jwt + `","b":["` + rt + `","` + rt + `"],"c":"Bearer"}`)))
	if strings.Contains(out, jwt) || strings.Contains(out, rt) || s.leaked([]byte(out)) != "" {
		t.Fatalf("a secret survived: %s", out)
	}
	pj, pr := s.secrets[jwt], s.secrets[rt]
	if len(pj) != len(jwt) || !strings.HasPrefix(pj, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.") {
		t.Errorf("JWT placeholder %q: want the header and claims kept, the same length", pj)
	}
	if len(pr) != len(rt) || !strings.HasPrefix(pr, "rt1.") || strings.Trim(pr[4:], "0123456789abcdef") != "" {
		t.Errorf("refresh token placeholder %q: want rt1. and 32 hex digits", pr)
	}
	if strings.Count(out, pr) != 2 || !strings.Contains(out, `"c":"Bearer"`) {
		t.Errorf("apply: %s", out)
	}
}
