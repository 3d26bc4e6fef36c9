package sharedtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
)

// replacement is U+FFFD as UTF-8 and as a JSON escape.
var replacement = [][]byte{[]byte("\uFFFD"), []byte(`\ufffd`)}

// hasReplacement reports whether b holds U+FFFD, as UTF-8 or as a JSON escape (any case).
func hasReplacement(b []byte) bool {
	lower := bytes.ToLower(b)
	return bytes.Contains(lower, replacement[0]) || bytes.Contains(lower, replacement[1])
}

// ServeFuzz sends one fuzzed request to h, a handler or a whole server, as caller (nil: anonymous):
// JSON bodies get Content-Type application/json, a body not starting with "{" or "[" is sent as a
// form. It fails t when the answer is a 5xx, an error outside the platform's error shape, or a success
// that shows U+FFFD the input did not hold (invalid bytes stored as replacement characters). pathValues
// are name, value pairs for handlers called without their mux.
func ServeFuzz(t *testing.T, h http.Handler, method, target, body string, caller *shared.Identity, pathValues ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "/", strings.NewReader(body))
	r.URL.RawQuery = ""
	if path, query, ok := strings.Cut(target, "?"); ok {
		r.URL.Path, r.URL.RawQuery = path, query
	} else {
		r.URL.Path = target
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
		if t := strings.TrimSpace(body); t != "" && t[0] != '{' && t[0] != '[' {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	for i := 0; i+1 < len(pathValues); i += 2 {
		r.SetPathValue(pathValues[i], pathValues[i+1])
	}
	if caller != nil {
		r = r.WithContext(shared.WithIdentity(r.Context(), *caller))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	switch {
	case rec.Code >= 500:
		t.Fatalf("%s %s %q: status %d %s", method, target, body, rec.Code, rec.Body)
	case rec.Code >= 400 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json"):
		var e struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil || len(e.Error) == 0 {
			t.Fatalf("%s %s %q: %d body %q is not an error", method, target, body, rec.Code, rec.Body)
		}
	case rec.Code < 300 && hasReplacement(rec.Body.Bytes()) && !hasReplacement([]byte(body)) && !hasReplacement([]byte(target)):
		t.Fatalf("%s %s %q: %d answer holds U+FFFD the input did not: %s", method, target, body, rec.Code, rec.Body)
	}
	return rec
}
