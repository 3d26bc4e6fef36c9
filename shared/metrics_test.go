package shared

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestMetricsLabelsClosed sends 1,000 requests with invented methods and paths through Stack and checks
// that every request series carries a route the mux registered (or "unmatched") and a method from
// MethodLabel's closed set: a client choosing methods and paths cannot grow the exposition.
func TestMetricsLabelsClosed(t *testing.T) {
	t.Parallel()
	patterns := []string{"GET /items/{id}", "POST /items", "/tree/", "GET /healthz"}
	mux := http.NewServeMux()
	for _, p := range patterns {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	}
	m := NewMetrics("test")
	h := Stack(slog.New(slog.NewTextHandler(io.Discard, nil)), m, mux)

	rng := rand.New(rand.NewPCG(1, 2))
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT"}
	const tchar = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"
	word := func(alphabet string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := range 1000 {
		method := methods[rng.IntN(len(methods))]
		if i%2 == 0 {
			method = word(tchar, 1+rng.IntN(20))
		}
		path := "/" + word("abcdefghij/.", rng.IntN(30))
		switch i % 5 {
		case 1:
			path = "/items/" + word("0123456789", 8)
		case 2:
			path = "/tree/" + word("ab/.", 10)
		case 3:
			path = "/items//" + word("xyz", 5)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Method, r.URL.Path, r.RequestURI = method, path, path
		h.ServeHTTP(httptest.NewRecorder(), r)
	}

	allowedRoutes := map[string]bool{"unmatched": true}
	for _, p := range patterns {
		allowedRoutes[p] = true
	}
	allowedMethods := map[string]bool{"other": true}
	for _, m := range methods {
		allowedMethods[m] = true
	}
	var b strings.Builder
	m.WriteTo(&b)
	line := regexp.MustCompile(`^http_requests_total\{service="test",route="([^"]*)",method="([^"]*)",status="(\d+)"\} \d+$`)
	series := 0
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(l, "http_requests_total{") {
			continue
		}
		series++
		sm := line.FindStringSubmatch(l)
		if sm == nil {
			t.Errorf("series %q does not have the expected labels", l)
			continue
		}
		if !allowedRoutes[sm[1]] {
			t.Errorf("route label %q is not a registered pattern: %s", sm[1], l)
		}
		if !allowedMethods[sm[2]] {
			t.Errorf("method label %q is outside the closed set: %s", sm[2], l)
		}
	}
	if series == 0 {
		t.Fatal("no http_requests_total series recorded")
	}
}

func TestMethodLabel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"GET", "GET"}, {"PATCH", "PATCH"}, {"CONNECT", "CONNECT"},
		{"get", "other"}, {"PROPFIND", "other"}, {"", "other"}, {strings.Repeat("X", 1000), "other"},
	} {
		if got := MethodLabel(tt.in); got != tt.want {
			t.Errorf("MethodLabel(%.20q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
