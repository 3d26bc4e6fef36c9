package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestWriteCacheableConditional holds the conditional-GET answers to RFC 9110 as net/http implements
// them: the ETag validates, Last-Modified is informative (see writeCacheable).
func TestWriteCacheableConditional(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"a","price":99.99}` + "\n")
	modified := time.Date(2026, 11, 26, 5, 0, 0, 500_000_000, time.UTC)
	lm := modified.Format(http.TimeFormat)
	before := modified.Add(-time.Hour).Format(http.TimeFormat)

	// The ETag every instance computes for body.
	probe := httptest.NewRecorder()
	writeCacheable(probe, httptest.NewRequest("GET", "/", nil), publicCacheControl, body, modified)
	etag := probe.Header().Get("ETag")
	if len(etag) != 34 || etag[0] != '"' || etag[33] != '"' {
		t.Fatalf("ETag = %q, want a strong tag of 32 hex digits", etag)
	}

	tests := []struct {
		name       string
		method     string
		header     []string // name, value pairs
		wantStatus int
		wantBody   string
	}{
		{"plain GET", "GET", nil, 200, string(body)},
		{"plain HEAD", "HEAD", nil, 200, ""},
		{"INM match", "GET", []string{"If-None-Match", etag}, 304, ""},
		{"INM match on HEAD", "HEAD", []string{"If-None-Match", etag}, 304, ""},
		{"INM weak tag matches weakly", "GET", []string{"If-None-Match", "W/" + etag}, 304, ""},
		{"INM list with match", "GET", []string{"If-None-Match", `"x", W/"y",` + etag}, 304, ""},
		{"INM list without match", "GET", []string{"If-None-Match", `"x", W/"y"`}, 200, string(body)},
		{"INM star", "GET", []string{"If-None-Match", "*"}, 304, ""},
		{"INM unquoted is no tag", "GET", []string{"If-None-Match", etag[1:33]}, 200, string(body)},
		{"INM stale wins over matching IMS", "GET", []string{"If-None-Match", `"stale"`, "If-Modified-Since", lm}, 200, string(body)},
		{"IMS equal is no validator (a change later in that second would look unchanged)", "GET", []string{"If-Modified-Since", lm}, 200, string(body)},
		{"IMS older", "GET", []string{"If-Modified-Since", before}, 200, string(body)},
		{"IMS malformed", "GET", []string{"If-Modified-Since", "yesterday"}, 200, string(body)},
		{"If-Match mismatch", "GET", []string{"If-Match", `"other"`}, 412, ""},
		{"If-Match match", "GET", []string{"If-Match", etag}, 200, string(body)},
		{"If-Unmodified-Since is no validator either", "GET", []string{"If-Unmodified-Since", before}, 200, string(body)},
		{"Range", "GET", []string{"Range", "bytes=0-5"}, 206, string(body[:6])},
		{"Range with stale If-Range", "GET", []string{"Range", "bytes=0-5", "If-Range", `"stale"`}, 200, string(body)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, "/products/a", nil)
			for i := 0; i < len(tt.header); i += 2 {
				r.Header.Set(tt.header[i], tt.header[i+1])
			}
			w := httptest.NewRecorder()
			writeCacheable(w, r, publicCacheControl, body, modified)
			h := w.Header()
			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Fatalf("%s %v: status = %d, body %q; want %d, %q", tt.method, tt.header, w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
			// The validators and freshness a cache needs are on every answer, 304 included.
			if h.Get("ETag") != etag || h.Get("Cache-Control") != publicCacheControl {
				t.Errorf("%s %v: ETag %q, Cache-Control %q; want %q, %q", tt.method, tt.header, h.Get("ETag"), h.Get("Cache-Control"), etag, publicCacheControl)
			}
			switch tt.wantStatus {
			case http.StatusOK:
				if h.Get("Content-Type") != "application/json" || h.Get("Content-Length") != "25" || h.Get("Last-Modified") != lm {
					t.Errorf("%s %v: Content-Type %q, Content-Length %q, Last-Modified %q", tt.method, tt.header, h.Get("Content-Type"), h.Get("Content-Length"), h.Get("Last-Modified"))
				}
			case http.StatusNotModified:
				// RFC 9110 § 15.4.5: no representation metadata beyond what updates a cache.
				for _, k := range []string{"Content-Type", "Content-Length", "Last-Modified"} {
					if v := h.Get(k); v != "" {
						t.Errorf("%s %v: 304 carries %s: %q", tt.method, tt.header, k, v)
					}
				}
			}
		})
	}
}
