package shared

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

type errBody struct {
	Error struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		RequestID string            `json:"request_id"`
		Fields    map[string]string `json:"fields"`
	} `json:"error"`
}

func decodeErr(tb testing.TB, rec *httptest.ResponseRecorder) errBody {
	tb.Helper()
	var b errBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		tb.Fatalf("body %q is not the error shape: %v", rec.Body.String(), err)
	}
	return b
}

func TestWriteErrorMapsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{Errorf(CodeInvalid, "bad"), 400, "invalid"},
		{fmt.Errorf("products.get: %w", ErrNotFound), 404, "not_found"},
		{fmt.Errorf("x: %w", ErrConflict), 409, "conflict"},
		{ErrUnauthorized, 401, "unauthorized"},
		{ErrForbidden, 403, "forbidden"},
		{fmt.Errorf("mongo: %w", ErrUnavailable), 503, "unavailable"},
		{Errorf(CodeTooManyRequests, "slow down"), 429, "too_many_requests"},
		{errors.New("secret driver detail"), 500, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/x", nil).WithContext(WithRequestID(context.Background(), "rid-1"))
			WriteError(rec, r, slog.New(slog.NewJSONHandler(&logs, nil)), tt.err)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			b := decodeErr(t, rec)
			if b.Error.Code != tt.code || b.Error.RequestID != "rid-1" {
				t.Errorf("body = %+v, want code %s and request id rid-1", b.Error, tt.code)
			}
			if tt.status == 500 {
				if strings.Contains(rec.Body.String(), "secret") {
					t.Errorf("500 body leaks the cause: %s", rec.Body.String())
				}
				if !strings.Contains(logs.String(), "secret driver detail") {
					t.Errorf("500 cause not logged: %s", logs.String())
				}
			}
		})
	}
}

func TestWriteErrorCacheControl(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/x", nil)
	rec := httptest.NewRecorder()
	WriteError(rec, r, nil, ErrNotFound)
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("default Cache-Control = %q, want no-store", got)
	}
	rec = httptest.NewRecorder()
	rec.Header().Set("Cache-Control", "public, max-age=10")
	WriteError(rec, r, nil, ErrNotFound)
	if got := rec.Header().Values("Cache-Control"); len(got) != 1 || got[0] != "public, max-age=10" {
		t.Errorf("handler's Cache-Control became %q", got)
	}
}

func testStack(t *testing.T) (http.Handler, *Metrics, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	m := NewMetrics("test")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		Encode(w, 200, map[string]string{"id": r.PathValue("id"), "request_id": RequestIDFrom(r.Context())})
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.Handle("GET /private", RequireRole(RoleAdmin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := IdentityFrom(r.Context())
		io.WriteString(w, id.UserID)
	})))
	mux.Handle("GET /metrics", m.Handler())
	return Stack(logger, m, mux, Authenticate(staticVerifier{})), m, &logs
}

type staticVerifier struct{}

func (staticVerifier) Verify(_ context.Context, tok string) (Identity, error) {
	switch tok {
	case "admin":
		return Identity{UserID: "u1", Role: RoleAdmin}, nil
	case "customer":
		return Identity{UserID: "u2", Role: RoleCustomer}, nil
	}
	return Identity{}, ErrUnauthorized
}

func TestStack(t *testing.T) {
	t.Parallel()
	h, _, logs := testStack(t)
	tests := []struct {
		method, path, auth, reqID string
		status                    int
		code                      string
	}{
		{"GET", "/items/42", "", "abc-123", 200, ""},
		{"GET", "/items/42", "", "bad id with spaces", 200, ""},
		{"GET", "/nope", "", "", 404, "not_found"},
		{"POST", "/items/42", "", "", 405, "method_not_allowed"},
		{"GET", "/panic", "", "", 500, "internal"},
		{"GET", "/private", "", "", 401, "unauthorized"},
		{"GET", "/private", "garbage", "", 401, "unauthorized"},
		{"GET", "/private", "customer", "", 403, "forbidden"},
		{"GET", "/private", "admin", "", 200, ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", "Bearer "+tt.auth)
		}
		if tt.reqID != "" {
			r.Header.Set(RequestIDHeader, tt.reqID)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tt.status {
			t.Errorf("%s %s (auth %q): status = %d, want %d; body %s", tt.method, tt.path, tt.auth, rec.Code, tt.status, rec.Body)
			continue
		}
		rid := rec.Header().Get(RequestIDHeader)
		if !SaneRequestID(rid) {
			t.Errorf("%s %s: X-Request-ID = %q, want a sane ID", tt.method, tt.path, rid)
		}
		if tt.reqID == "abc-123" && rid != "abc-123" {
			t.Errorf("%s %s: X-Request-ID = %q, want the incoming abc-123 reused", tt.method, tt.path, rid)
		}
		if tt.reqID == "bad id with spaces" && rid == tt.reqID {
			t.Errorf("insane incoming request ID reused")
		}
		if tt.code != "" {
			if b := decodeErr(t, rec); b.Error.Code != tt.code || b.Error.RequestID != rid {
				t.Errorf("%s %s: error = %+v, want code %s with request id %s", tt.method, tt.path, b.Error, tt.code, rid)
			}
		}
	}
	// The access log and the metrics see the route pattern even though Authenticate copied the request.
	if !strings.Contains(logs.String(), `"route":"GET /items/{id}"`) {
		t.Errorf("access log lacks the route pattern: %s", logs.String())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`http_requests_total{service="test",route="GET /items/{id}",method="GET",status="200"} 2`,
		`http_request_duration_seconds_bucket{service="test",route="GET /items/{id}",method="GET",status="200",le="+Inf"} 2`,
		"go_goroutines ",
		"# TYPE http_request_duration_seconds histogram",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

// TestStackRoutesAndIDs: a route without wildcards is served with r.Pattern set and logged under its
// pattern, path values still work, generated request IDs are 32 hex characters and differ, and a
// handler changing a security header changes it for its own response only.
func TestStackRoutesAndIDs(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		io.WriteString(w, r.Pattern+" "+r.Header.Get(RequestIDHeader))
	})
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.PathValue("id")) })
	h := Stack(logger, NewMetrics("test"), mux, Authenticate(staticVerifier{}))

	seen := map[string]bool{}
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/plain", nil))
		id := rec.Header().Get(RequestIDHeader)
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" || seen[id] {
			t.Errorf("generated X-Request-ID = %q, want 32 new hex characters", id)
		}
		seen[id] = true
		if want := "GET /plain " + id; rec.Body.String() != want {
			t.Errorf("GET /plain: body = %q, want %q (pattern and the request's ID)", rec.Body, want)
		}
		if got := rec.Header().Get("X-Frame-Options"); got != "SAMEORIGIN" {
			t.Errorf("GET /plain: X-Frame-Options = %q, want the handler's SAMEORIGIN", got)
		}
	}
	if !strings.Contains(logs.String(), `"route":"GET /plain"`) {
		t.Errorf("access log lacks the route pattern: %s", logs.String())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/items/42", nil))
	if rec.Body.String() != "42" || rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /items/42: body %q, X-Frame-Options %q; want 42 and DENY", rec.Body, rec.Header().Get("X-Frame-Options"))
	}
}

// TestErrorCodesDocumented: docs/conventions.md's error table has one row per code of codeStatus,
// with its status, and no row for a code the platform does not answer.
func TestErrorCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/conventions.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	row := regexp.MustCompile("(?m)^\\s*\\| `([a-z_]+)` \\| ([0-9]{3}) \\|")
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		n, _ := strconv.Atoi(m[2])
		rows[m[1]] = n
	}
	for code, status := range codeStatus {
		if got, ok := rows[code]; !ok || got != status {
			t.Errorf("docs/conventions.md: code %s has status %d in the table (present: %v), want %d", code, got, ok, status)
		}
	}
	for code := range rows {
		if _, ok := codeStatus[code]; !ok {
			t.Errorf("docs/conventions.md lists %s, which shared/errors.go does not have", code)
		}
	}
}
