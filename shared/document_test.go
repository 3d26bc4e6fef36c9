package shared

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestDocument(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"openapi":"3.1.0"}`)
	h := Document(doc)
	get := func(method string, header ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/openapi.json", nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := get(http.MethodGet)
	etag := rec.Header().Get("Etag")
	if rec.Code != http.StatusOK || rec.Body.String() != string(doc) {
		t.Fatalf("GET: %d %q, want 200 and the document", rec.Code, rec.Body)
	}
	if ct, cc := rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"); ct != "application/json" || cc != DocumentCacheControl || len(etag) != 34 {
		t.Errorf("GET: Content-Type %q, Cache-Control %q, ETag %q; want application/json, %q and a quoted 32-digit tag", ct, cc, etag, DocumentCacheControl)
	}
	other := httptest.NewRecorder()
	Document([]byte(`{"openapi":"3.1.1"}`)).ServeHTTP(other, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if other.Header().Get("Etag") == etag {
		t.Errorf("two documents share the ETag %s", etag)
	}
	tests := []struct {
		name   string
		method string
		header []string
		status int
		body   string
	}{
		{"If-None-Match with the tag", http.MethodGet, []string{"If-None-Match", etag}, http.StatusNotModified, ""},
		{"If-None-Match weak, in a list", http.MethodGet, []string{"If-None-Match", `"x", W/` + etag}, http.StatusNotModified, ""},
		{"If-None-Match *", http.MethodGet, []string{"If-None-Match", "*"}, http.StatusNotModified, ""},
		{"If-None-Match with another tag", http.MethodGet, []string{"If-None-Match", `"other"`}, http.StatusOK, string(doc)},
		{"HEAD", http.MethodHead, nil, http.StatusOK, ""},
	}
	for _, tt := range tests {
		rec := get(tt.method, tt.header...)
		if rec.Code != tt.status || rec.Body.String() != tt.body || rec.Header().Get("Etag") != etag {
			t.Errorf("%s %s: %d %q ETag %q, want %d %q %s", tt.method, tt.name, rec.Code, rec.Body, rec.Header().Get("Etag"), tt.status, tt.body, etag)
		}
	}
}
