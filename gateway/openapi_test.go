package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// docUpstreams starts one fake instance per service that serves the service's real openapi.json
// (from the repository) at /openapi.json, and returns the gateway's environment pointing at them.
func docUpstreams(t *testing.T) (map[string]string, map[string]*upstream) {
	t.Helper()
	env, ups := map[string]string{}, map[string]*upstream{}
	for _, s := range serviceDefaults {
		doc, err := os.ReadFile(filepath.Join("..", s.name, "openapi.json"))
		if err != nil {
			t.Fatal(err)
		}
		up := newUpstream(t, s.name)
		up.handle(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/openapi.json" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(doc)
		})
		env[strings.ToUpper(s.name)+"_SERVICE_URLS"] = up.server.URL
		ups[s.name] = up
	}
	return env, ups
}

func decodeDoc(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("GET /openapi.json: %d, body is not JSON: %v", rec.Code, err)
	}
	return doc
}

// TestOpenAPIMerged: GET /openapi.json is the services' documents under their prefixes plus the
// gateway's own routes, servers = the gateway, every $ref resolving, one Error schema, the gateway's
// own answers added to proxied operations, operation IDs unique; it is kept and revalidates by ETag.
func TestOpenAPIMerged(t *testing.T) {
	t.Parallel()
	env, ups := docUpstreams(t)
	e := newTestEnv(t, env)
	rec := e.do(t, "GET", "/openapi.json", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Etag") == "" {
		t.Fatalf("GET /openapi.json: %d %q ETag %q, want 200 application/json with an ETag", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Etag"))
	}
	doc := decodeDoc(t, rec)
	paths := mapAt(doc, "paths")
	for _, p := range []string{"/auth/login", "/user/users/me", "/product/products/{id}", "/inventory/inventory/{sku}",
		"/order/orders/{id}/pay", "/realtime/ws", "/health", "/openapi.json", "/docs", "/.well-known/jwks.json"} {
		if paths[p] == nil {
			t.Errorf("merged document has no path %s", p)
		}
	}
	for _, p := range []string{"/product/healthz", "/product/metrics", "/order/readyz"} {
		if paths[p] != nil {
			t.Errorf("merged document has %s, which the gateway does not forward", p)
		}
	}
	if paths["/products"] != nil || paths["/login"] != nil {
		t.Error("merged document has a service path without its prefix")
	}
	if s := sliceAt(doc, "servers"); len(s) != 1 || stringAt(s[0].(map[string]any), "url") != "/" {
		t.Errorf("servers = %v, want the gateway (/) only", s)
	}
	schemas := mapAt(doc, "components", "schemas")
	if schemas["Error"] == nil || schemas["product_Error"] != nil {
		t.Error("the Error schema, identical in every document, is not kept once under its name")
	}
	ids := map[string]bool{}
	var refs []string
	collectRefs(doc, &refs)
	for _, ref := range refs {
		if !resolves(doc, ref) {
			t.Errorf("$ref %s does not resolve in the merged document", ref)
		}
	}
	for path, item := range paths {
		for method, o := range item.(map[string]any) {
			op, ok := o.(map[string]any)
			if !ok || !isMethod(method) {
				continue
			}
			id := stringAt(op, "operationId")
			if ids[id] {
				t.Errorf("operationId %q twice", id)
			}
			ids[id] = true
			resp := mapAt(op, "responses")
			if strings.HasPrefix(path, "/product/") && (resp["429"] == nil || resp["503"] == nil) {
				t.Errorf("%s %s: no 429 or 503, which the gateway answers on every proxied route", method, path)
			}
		}
	}
	if tags := sliceAt(mapAt(paths, "/order/orders/{id}/pay", "post"), "tags"); len(tags) == 0 || !strings.HasPrefix(tags[0].(string), "order: ") {
		t.Errorf("POST /order/orders/{id}/pay tags = %v, want the service's name first", tags)
	}

	// Kept: a second request asks no upstream and answers 304 to the ETag.
	before := ups["product"].calls.Load()
	again := e.do(t, "GET", "/openapi.json", http.Header{"If-None-Match": {rec.Header().Get("Etag")}})
	if again.Code != http.StatusNotModified || ups["product"].calls.Load() != before {
		t.Errorf("second GET with If-None-Match: %d, product asked %d more times; want 304 from the kept document", again.Code, ups["product"].calls.Load()-before)
	}
	// Each service's own document passes through under its prefix.
	own := e.do(t, "GET", "/order/openapi.json", nil)
	if own.Code != http.StatusOK || mapAt(decodeDoc(t, own), "paths", "/orders/{id}/pay") == nil {
		t.Errorf("GET /order/openapi.json: %d, want order's own document (paths without the prefix)", own.Code)
	}
}

// TestOpenAPIUpstreamDown: a service that does not answer is left out and named in
// info.x-missing-services, the answer is not cached (no-store) and the next request asks again, so the
// document is complete once the service is back. With no service answering: 503 in the error shape.
func TestOpenAPIUpstreamDown(t *testing.T) {
	t.Parallel()
	env, ups := docUpstreams(t)
	var orderDown atomic.Bool
	orderDown.Store(true)
	orderDoc, _ := os.ReadFile(filepath.Join("..", "order", "openapi.json"))
	ups["order"].handle(func(w http.ResponseWriter, r *http.Request) {
		if orderDown.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(orderDoc)
	})
	e := newTestEnv(t, env)
	rec := e.do(t, "GET", "/openapi.json", nil)
	doc := decodeDoc(t, rec)
	missing := sliceAt(mapAt(doc, "info"), "x-missing-services")
	if rec.Code != http.StatusOK || len(missing) != 1 || missing[0] != "order" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("order down: %d missing %v Cache-Control %q; want 200, [order], no-store", rec.Code, missing, rec.Header().Get("Cache-Control"))
	}
	if mapAt(doc, "paths", "/order/orders") != nil || mapAt(doc, "paths", "/product/products") == nil {
		t.Error("order down: want product's paths and none of order's")
	}
	orderDown.Store(false)
	rec = e.do(t, "GET", "/openapi.json", nil)
	doc = decodeDoc(t, rec)
	if rec.Code != http.StatusOK || mapAt(doc, "paths", "/order/orders") == nil || mapAt(doc, "info")["x-missing-services"] != nil {
		t.Errorf("order back: %d, want the complete document", rec.Code)
	}

	none := newTestEnv(t, nil) // every service at a closed port
	rec = none.do(t, "GET", "/openapi.json", nil)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":"unavailable"`) {
		t.Errorf("every service down: %d %s, want 503 unavailable", rec.Code, rec.Body)
	}
}

// TestOpenAPIKeptForTTL: a complete merge is served for apiDocsTTL, then rebuilt from the upstreams
// (a redeployed service's new document shows), on synctest's clock.
func TestOpenAPIKeptForTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var version atomic.Value
		version.Store("1")
		var fetches atomic.Int64
		d := &apiDocs{logger: slog.New(slog.DiscardHandler), services: []string{"product"}, timeout: time.Second,
			fetch: func(context.Context, string) ([]byte, error) {
				fetches.Add(1)
				return []byte(`{"openapi":"3.1.0","info":{"title":"p","version":"` + version.Load().(string) + `"},"paths":{"/p":{"get":{"operationId":"p` +
					version.Load().(string) + `","responses":{"200":{"description":"ok"}}}}}}`), nil
			}}
		get := func() string {
			rec := httptest.NewRecorder()
			d.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
			return stringAt(mapAt(mapAt(decodeDoc(t, rec), "paths"), "/product/p", "get"), "operationId")
		}
		if got := get(); got != "p1" {
			t.Fatalf("first GET: operation %q, want p1", got)
		}
		version.Store("2")
		time.Sleep(apiDocsTTL - time.Second)
		if got := get(); got != "p1" || fetches.Load() != 1 {
			t.Errorf("within the TTL: operation %q after %d fetches, want the kept p1 after 1", got, fetches.Load())
		}
		time.Sleep(2 * time.Second)
		if got := get(); got != "p2" || fetches.Load() != 2 {
			t.Errorf("after the TTL: operation %q after %d fetches, want p2 after 2", got, fetches.Load())
		}
	})
}

// TestMergeRenamesClashes: a component two documents define differently is kept per document as
// service_Name with that document's references (and security requirements) renamed; one they
// define identically is kept once.
func TestMergeRenamesClashes(t *testing.T) {
	t.Parallel()
	part := func(svc, thing string) apiPart {
		var doc map[string]any
		err := json.Unmarshal([]byte(`{"paths":{"/x":{"get":{"operationId":"`+svc+`X","security":[{"key":[]}],"responses":{"200":{"description":"ok",
			"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Thing/properties/a"}}}},
			"400":{"description":"bad","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}}}}}},
			"components":{"schemas":{"Thing":{"type":"object","properties":{"a":{"type":"`+thing+`"}}},"Error":{"type":"object"}},
			"securitySchemes":{"key":{"type":"apiKey","in":"header","name":"X-`+svc+`"}}}}`), &doc)
		if err != nil {
			t.Fatal(err)
		}
		return apiPart{service: svc, prefix: "/" + svc, doc: doc}
	}
	own := map[string]any{"openapi": "3.1.0", "info": map[string]any{"title": "t", "version": "1"}}
	out := mergeAPIDocuments(own, []apiPart{part("a", "string"), part("b", "integer")})
	schemas := mapAt(out, "components", "schemas")
	keys := slices.Sorted(maps.Keys(schemas))
	if !slices.Equal(keys, []string{"Error", "a_Thing", "b_Thing"}) {
		t.Fatalf("schemas %v, want Error, a_Thing, b_Thing", keys)
	}
	for _, svc := range []string{"a", "b"} {
		op := mapAt(out, "paths", "/"+svc+"/x", "get")
		ref := stringAt(mapAt(op, "responses", "200", "content", "application/json", "schema"), "$ref")
		if ref != "#/components/schemas/"+svc+"_Thing/properties/a" {
			t.Errorf("%s: $ref %q, want its own renamed Thing", svc, ref)
		}
		sec, _ := json.Marshal(op["security"])
		if string(sec) != `[{"`+svc+`_key":[]}]` {
			t.Errorf("%s: security %s, want its own renamed scheme", svc, sec)
		}
	}
}

// TestDocsPage: /docs and its two files are served from the binary with the page's CSP; the page
// loads nothing from elsewhere and has no inline code for the CSP to refuse; the script writes no
// HTML from strings. Other files are 404.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	for target, ctype := range map[string]string{"/docs": "text/html", "/docs/viewer.js": "text/javascript", "/docs/viewer.css": "text/css"} {
		rec := e.do(t, "GET", target, nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), ctype) || rec.Header().Get("Content-Security-Policy") != docsCSP {
			t.Errorf("GET %s: %d %q CSP %q, want 200 %s with the page's CSP", target, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Security-Policy"), ctype)
		}
		body := rec.Body.String()
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "document.write", " style=", "javascript:"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: contains %q (another origin, or something the CSP or a safe viewer must not need)", target, bad)
			}
		}
		if target == "/docs" && (strings.Contains(body, "<script>") || strings.Contains(body, "<style")) {
			t.Errorf("GET /docs: inline script or style, which the CSP refuses")
		}
	}
	for _, target := range []string{"/docs/index.html", "/docs/nope.js", "/docs/..%2fopenapi.go"} {
		if rec := e.do(t, "GET", target, nil); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"not_found"`) {
			t.Errorf("GET %s: %d %s, want 404 in the error shape", target, rec.Code, rec.Body)
		}
	}
	if !strings.Contains(docsCSP, "default-src 'none'") || strings.Contains(docsCSP, "unsafe") {
		t.Errorf("docsCSP %q: want default-src 'none' and nothing unsafe", docsCSP)
	}
}

// collectRefs appends every "$ref" value in v to refs.
func collectRefs(v any, refs *[]string) {
	switch x := v.(type) {
	case map[string]any:
		if r, ok := x["$ref"].(string); ok {
			*refs = append(*refs, r)
		}
		for _, e := range x {
			collectRefs(e, refs)
		}
	case []any:
		for _, e := range x {
			collectRefs(e, refs)
		}
	}
}

// resolves reports whether a local JSON pointer ref names something in doc.
func resolves(doc map[string]any, ref string) bool {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for part := range strings.SplitSeq(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[strings.NewReplacer("~1", "/", "~0", "~").Replace(part)]; !ok {
			return false
		}
	}
	return true
}
