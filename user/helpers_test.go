package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// testEnv is a user service wired with fakes: in-memory store, recording publisher, real token issuer.
type testEnv struct {
	h        http.Handler
	profiles *memProfileStore
	pub      *sharedtest.Publisher
	relay    *shared.Relay
	iss      *sharedtest.Issuer
	kicks    atomic.Int64
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	metrics := shared.NewMetrics("user")
	env := &testEnv{profiles: newMemProfileStore(), pub: &sharedtest.Publisher{}, iss: sharedtest.NewIssuer(t)}
	env.relay = shared.NewRelay(logger, profileOutbox{env.profiles}, env.pub, metrics, shared.RelayConfig{})
	env.h = NewServer(logger, metrics, shared.NewReadiness(), env.profiles, func() { env.kicks.Add(1) }, env.iss.Verifier(), testUnsubscribeKey)
	return env
}

// do sends a request through the whole handler stack; as is the caller (nil: anonymous).
func (env *testEnv) do(t *testing.T, method, path string, as *shared.Identity, body string) *httptest.ResponseRecorder {
	t.Helper()
	auth := ""
	if as != nil {
		auth = env.iss.Bearer(t, *as)
	}
	return sharedtest.Serve(env.h, method, path, body, "Authorization", auth)
}

// wantError checks status, error code and, when given, the fields carrying messages.
func wantError(t *testing.T, method, path string, rec *httptest.ResponseRecorder, status int, code string, fields ...string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("%s %s: status = %d, want %d (body %s)", method, path, rec.Code, status, rec.Body.String())
		return
	}
	e := sharedtest.Decode[sharedtest.ErrorBody](t, rec)
	if e.Error.Code != code || e.Error.RequestID == "" {
		t.Errorf("%s %s: error = %+v, want code %q with a request ID", method, path, e.Error, code)
	}
	for _, f := range fields {
		if e.Error.Fields[f] == "" {
			t.Errorf("%s %s: no message for field %q in %v", method, path, f, e.Error.Fields)
		}
	}
}

func ident(id, role string) *shared.Identity {
	return &shared.Identity{UserID: id, Email: id + "@example.com", Name: "User " + id, Role: role}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRequest(method, path, authorization string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("Authorization", authorization)
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

var testTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
