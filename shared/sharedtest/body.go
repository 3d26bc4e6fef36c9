package sharedtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
)

// ErrorBody is the platform's JSON error shape as a client reads it
// ({"error":{"code","message","request_id","fields"}}, shared/ARCHITECTURE.md § Errors): the one
// definition WriteError encodes.
type ErrorBody = shared.ErrorBody

// Decode decodes the JSON body a handler wrote into a T; a body that is not a T fails tb.
func Decode[T any](tb testing.TB, w *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		tb.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return v
}

// Serve sends one request to h through httptest and returns the recorded answer. A non-empty body is
// sent as JSON (Content-Type application/json); header holds name, value pairs, and a pair with an
// empty value is left out, so callers can pass an optional Authorization as is.
func Serve(h http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] != "" {
			r.Header.Set(header[i], header[i+1])
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
