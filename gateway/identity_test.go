package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeAuth answers GET /session like auth does: 200 with a token for a known X-Session-ID, else 401.
type fakeAuth struct {
	calls    atomic.Int64
	sessions map[string]string // session ID → token
	down     atomic.Bool
}

func (f *fakeAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if f.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	tok, ok := f.sessions[r.Header.Get("X-Session-ID")]
	if r.URL.Path != "/session" || !ok {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"code":"unauthorized","message":"no session"}}`)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"user": map[string]string{"id": "u1"}, "access_token": tok,
		"token_type": "Bearer", "expires_in": 900})
}

func TestSessionExchange(t *testing.T) {
	t.Parallel()
	auth := &fakeAuth{sessions: map[string]string{"sess-good": "tok-good"}}
	authSrv := httptest.NewServer(auth)
	defer authSrv.Close()
	up := newUpstream(t, "user")
	e := newTestEnv(t, map[string]string{"USER_SERVICE_URLS": up.server.URL, "AUTH_URL": authSrv.URL})

	tests := []struct {
		name   string
		header http.Header
		want   string // Authorization the upstream sees
	}{
		{"session cookie", http.Header{"Cookie": {"session_id=sess-good"}}, "Bearer tok-good"},
		{"cached", http.Header{"Cookie": {"session_id=sess-good"}}, "Bearer tok-good"},
		{"own bearer wins", http.Header{"Cookie": {"session_id=sess-good"}, "Authorization": {"Bearer mine"}}, "Bearer mine"},
		{"unknown session", http.Header{"Cookie": {"session_id=sess-bad"}}, ""},
		{"no cookie", nil, ""},
		{"identity headers", http.Header{"Cookie": {"session_id=sess-good"}, "X-User-Id": {"u-admin"}}, "Bearer tok-good"},
	}
	for _, tt := range tests {
		rec := e.do(t, "GET", "/user/users/me", tt.header)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: GET /user/users/me: status = %d, want 200", tt.name, rec.Code)
		}
		got := up.last.Load()
		if a := got.Header.Get("Authorization"); a != tt.want {
			t.Errorf("%s: upstream Authorization = %q, want %q", tt.name, a, tt.want)
		}
		if v := got.Header.Get("X-User-Id"); v != "" {
			t.Errorf("%s: upstream got X-User-Id %q", tt.name, v)
		}
	}
	if n := auth.calls.Load(); n != 2 {
		t.Errorf("auth /session calls = %d, want 2 (sess-good once, sess-bad once)", n)
	}

	// Auth down: the request still passes, anonymous.
	auth.down.Store(true)
	rec := e.do(t, "GET", "/user/users/me", http.Header{"Cookie": {"session_id=sess-other"}})
	if rec.Code != http.StatusOK || up.last.Load().Header.Get("Authorization") != "" {
		t.Errorf("auth down: status %d, Authorization %q; want 200 anonymous", rec.Code, up.last.Load().Header.Get("Authorization"))
	}
}

// authTransport serves fakeAuth in process, so the exchanger runs inside a synctest bubble.
type authTransport struct{ h http.Handler }

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// TestSessionCacheExpiry: a token is reused for at most 30 s, an unknown session is asked again after
// 5 s.
func TestSessionCacheExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		auth := &fakeAuth{sessions: map[string]string{"s1": "t1"}}
		s := newSessionExchanger("http://auth.test", &http.Client{Transport: authTransport{auth}}, newMemStore(), slog.New(slog.DiscardHandler))
		token := func(sid string) string {
			res, err := s.token(t.Context(), sid)
			if err != nil {
				t.Fatal(err)
			}
			return res.token
		}
		if tok := token("s1"); tok != "t1" {
			t.Fatalf("token(s1) = %q, want t1", tok)
		}
		time.Sleep(29 * time.Second)
		token("s1")
		if n := auth.calls.Load(); n != 1 {
			t.Fatalf("after 29 s: auth calls = %d, want 1 (cached)", n)
		}
		time.Sleep(time.Second)
		token("s1")
		if n := auth.calls.Load(); n != 2 {
			t.Fatalf("after 30 s: auth calls = %d, want 2 (expired)", n)
		}

		if tok := token("nope"); tok != "" {
			t.Fatalf("token(nope) = %q, want empty", tok)
		}
		token("nope")
		if n := auth.calls.Load(); n != 3 {
			t.Fatalf("unknown session twice: auth calls = %d, want 3 (negative answer cached)", n)
		}
		time.Sleep(5 * time.Second)
		token("nope")
		if n := auth.calls.Load(); n != 4 {
			t.Fatalf("unknown session after 5 s: auth calls = %d, want 4", n)
		}
	})
}

func TestStripIdentityHeaders(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	for _, k := range []string{"X-User-Id", "X-User-Role", "X-Userid", "X-Identity", "X-Auth-User", "X-Forwarded-User",
		"X-Remote-User", "Remote-User", "X-Roles", "X-Email", "X-Internal-Token"} {
		h.Set(k, "evil")
	}
	h.Set("Authorization", "Bearer ok")
	h.Set("X-Request-ID", "r1")
	h.Set("X-Session-ID", "s1")
	stripIdentityHeaders(h)
	var left []string
	for k := range h {
		left = append(left, k)
	}
	if len(h) != 3 {
		t.Errorf("after stripping: headers %s, want only Authorization, X-Request-Id, X-Session-Id", strings.Join(left, ","))
	}
}
