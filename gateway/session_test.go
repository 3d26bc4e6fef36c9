package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// testJWT is a token with the given subject, shaped like auth's (the gateway reads sub only).
func testJWT(sub string) string {
	claims, _ := json.Marshal(map[string]any{"sub": sub, "exp": time.Now().Add(15 * time.Minute).Unix()})
	return "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
}

// statefulAuth is auth for the gateway's purposes: GET /session exchanges a live session for its
// token, POST /logout ends the cookie's session. Anything else answers 200.
type statefulAuth struct {
	mu       sync.Mutex
	sessions map[string]string // session ID → token
	calls    atomic.Int64      // GET /session calls
}

func (a *statefulAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/session":
		a.calls.Add(1)
		a.mu.Lock()
		tok, ok := a.sessions[r.Header.Get("X-Session-ID")]
		a.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": 900})
	case "/logout":
		if c, err := r.Cookie(sessionCookie); err == nil {
			a.mu.Lock()
			delete(a.sessions, c.Value)
			a.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		io.WriteString(w, "auth "+r.URL.Path)
	}
}

// twoGateways starts two gateway copies on one shared store, in front of auth and one user upstream.
func twoGateways(t *testing.T, auth http.Handler) (a, b *testEnv, up *upstream, kv *memStore) {
	t.Helper()
	authSrv := httptest.NewServer(auth)
	t.Cleanup(authSrv.Close)
	up = newUpstream(t, "user")
	env := map[string]string{"AUTH_URL": authSrv.URL, "AUTH_SERVICE_URLS": authSrv.URL, "USER_SERVICE_URLS": up.server.URL,
		"ORDER_SERVICE_URLS": up.server.URL, "REALTIME_SERVICE_URLS": up.server.URL, "GATEWAY_RATE_LIMIT": "off",
		"GATEWAY_USER_RATE_LIMIT": "off"}
	kv = newMemStore()
	return newTestEnvKV(t, env, kv), newTestEnvKV(t, env, kv), up, kv
}

// whoAmI sends GET /user/users/me with header through e and returns the status and the Authorization
// the upstream saw ("" when it was not reached or anonymous).
func whoAmI(t *testing.T, e *testEnv, up *upstream, header http.Header) (int, string) {
	t.Helper()
	up.last.Store(nil)
	rec := e.do(t, "GET", "/user/users/me", header)
	if last := up.last.Load(); last != nil {
		return rec.Code, last.Header.Get("Authorization")
	}
	return rec.Code, ""
}

// TestLogoutEndsSessionAtEveryCopy: after a logout through one gateway copy, the old cookie is
// anonymous on the very next request at that copy and at another one, although both had the
// session's token cached.
func TestLogoutEndsSessionAtEveryCopy(t *testing.T) {
	t.Parallel()
	tok := testJWT("u1")
	auth := &statefulAuth{sessions: map[string]string{"s1": tok, "s2": testJWT("u2")}}
	a, b, up, _ := twoGateways(t, auth)
	cookie := http.Header{"Cookie": {"session_id=s1"}}
	for name, e := range map[string]*testEnv{"copy A": a, "copy B": b} {
		if code, got := whoAmI(t, e, up, cookie); code != 200 || got != "Bearer "+tok {
			t.Fatalf("%s before logout: status %d, Authorization %q; want 200 with the session's token", name, code, got)
		}
	}
	if n := auth.calls.Load(); n != 1 {
		t.Errorf("GET /session calls = %d for two copies, want 1 (the exchange is shared)", n)
	}

	rec := a.do(t, "POST", "/auth/logout", cookie)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("POST /auth/logout: status = %d, want 204", rec.Code)
	}
	for name, e := range map[string]*testEnv{"copy A": a, "copy B": b} {
		if code, got := whoAmI(t, e, up, cookie); got != "" {
			t.Errorf("%s right after logout: status %d, upstream Authorization %q; want anonymous", name, code, got)
		}
	}
	// Another session is untouched.
	if _, got := whoAmI(t, b, up, http.Header{"Cookie": {"session_id=s2"}}); got == "" {
		t.Error("another session became anonymous after one logout")
	}

	// A logout that carries a bearer token beside the cookie ends the cookie's session at auth (auth
	// reads the cookie first): the gateway must end it too.
	both := http.Header{"Cookie": {"session_id=s2"}, "Authorization": {"Bearer " + testJWT("u2")}}
	if rec := b.do(t, "POST", "/auth/logout", both); rec.Code != http.StatusNoContent {
		t.Fatalf("POST /auth/logout with cookie and bearer: status = %d, want 204", rec.Code)
	}
	for name, e := range map[string]*testEnv{"copy A": a, "copy B": b} {
		if code, got := whoAmI(t, e, up, http.Header{"Cookie": {"session_id=s2"}}); got != "" {
			t.Errorf("%s right after a logout with cookie and bearer: status %d, upstream Authorization %q; want anonymous", name, code, got)
		}
	}
}

// blockingAuth answers GET /session with a live token only after release is closed, to put a fill
// in flight across a logout.
type blockingAuth struct {
	arrived chan struct{}
	release chan struct{}
}

func (b *blockingAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	close(b.arrived)
	<-b.release
	json.NewEncoder(w).Encode(map[string]any{"access_token": testJWT("u1"), "expires_in": 900})
}

// TestLogoutWinsOverFillInFlight: an exchange that asked auth before the logout and answers after it
// cannot cache the dead session's token over the logout's tombstone.
func TestLogoutWinsOverFillInFlight(t *testing.T) {
	t.Parallel()
	auth := &blockingAuth{arrived: make(chan struct{}), release: make(chan struct{})}
	s := newSessionExchanger("http://auth.test", &http.Client{Transport: authTransport{auth}}, newMemStore(), slog.New(slog.DiscardHandler))
	done := make(chan sessionResult)
	go func() {
		res, _ := s.token(t.Context(), "s1")
		done <- res
	}()
	<-auth.arrived
	if err := s.endSession(t.Context(), "s1"); err != nil {
		t.Fatal(err)
	}
	close(auth.release)
	if res := <-done; res.token == "" {
		t.Fatal("the fill in flight got no token; the test no longer puts it across the logout")
	}
	res, err := s.token(t.Context(), "s1")
	if err != nil || res.token != "" {
		t.Errorf("token after logout and a late fill = %q, %v; want anonymous", res.token, err)
	}
}

// TestTokenSubject: the subject of a JWT-shaped token, "" for anything else.
func TestTokenSubject(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]string{
		testJWT("u1"): "u1",
		"opaque":      "",
		"a.b.c":       "",
		"a..c":        "",
		"a." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":42}`)) + ".c":  "",
		"a." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"x"}`)) + ".c": "",
	} {
		if got := tokenSubject(tok); got != want {
			t.Errorf("tokenSubject(%q) = %q, want %q", tok, got, want)
		}
	}
}

// statusEvent is user.status_changed for user at time at.
func statusEvent(tb testing.TB, user, status string, at time.Time) shared.Event {
	tb.Helper()
	e := testEvent(tb, "user.status_changed", user, map[string]string{"user_id": user, "status": status})
	e.OccurredAt = at
	return e
}

// TestSuspendedAccountRefused: once user.status_changed says suspended, every credential of the
// account is refused at the gateway (bearer token, session cookie) on every route, by the copy that
// got the event, by another copy sharing its Redis, and by a copy started afterwards; other accounts
// and the logout pass. A later reactivation lifts it; an older event replayed does not bring it back.
func TestSuspendedAccountRefused(t *testing.T) {
	t.Parallel()
	auth := &statefulAuth{sessions: map[string]string{"s1": testJWT("u1")}}
	a, b, up, kv := twoGateways(t, auth)
	cookie := http.Header{"Cookie": {"session_id=s1"}}
	bearer := http.Header{"Authorization": {"Bearer " + testJWT("u1")}}
	other := http.Header{"Authorization": {"Bearer " + testJWT("u2")}}
	// Services read the scheme case-insensitively (RFC 9110 §11.1) and realtime's /ws also takes
	// ?access_token= (a browser cannot set headers on a WebSocket): the same credential, spelled so.
	lower := http.Header{"Authorization": {"bearer  " + testJWT("u1")}}
	wsQuery := "/realtime/ws?access_token="
	if code, _ := whoAmI(t, a, up, cookie); code != 200 {
		t.Fatalf("before suspension: status = %d, want 200", code)
	}
	suspendedAt := time.Now()
	if err := a.gw.handleEvents(t.Context(), []shared.Event{statusEvent(t, "u1", "suspended", suspendedAt)}); err != nil {
		t.Fatal(err)
	}
	c := newTestEnvKV(t, map[string]string{"USER_SERVICE_URLS": up.server.URL, "ORDER_SERVICE_URLS": up.server.URL}, kv)
	for _, tc := range []struct {
		copy   string
		e      *testEnv
		method string
		path   string
		header http.Header
		want   int
	}{
		{"A (got the event)", a, "GET", "/user/users/me", cookie, 403},
		{"A (got the event)", a, "GET", "/user/users/me", bearer, 403},
		{"A (got the event)", a, "POST", "/order/orders", bearer, 403},
		{"A (got the event)", a, "GET", "/user/users/me", lower, 403},
		{"A (got the event)", a, "GET", wsQuery + testJWT("u1"), nil, 403},
		{"A (got the event)", a, "GET", wsQuery + testJWT("u1"), http.Header{"Authorization": {"Basic dTpw"}}, 403},
		{"A", a, "GET", wsQuery + testJWT("u2"), nil, 200},
		{"B (shares Redis)", b, "GET", "/user/users/me", bearer, 403},
		{"B (shares Redis)", b, "GET", "/user/users/me", cookie, 403},
		{"C (started after)", c, "DELETE", "/user/users/me/addresses/a1", bearer, 403},
		{"A", a, "GET", "/user/users/me", other, 200},
		{"B", b, "POST", "/auth/logout", cookie, 204},
	} {
		before := up.calls.Load()
		rec := tc.e.do(t, tc.method, tc.path, tc.header)
		if rec.Code != tc.want {
			t.Errorf("copy %s: %s %s: status = %d, want %d (%s)", tc.copy, tc.method, tc.path, rec.Code, tc.want, rec.Body)
		}
		if tc.want == 403 && up.calls.Load() != before {
			t.Errorf("copy %s: %s %s: the upstream was reached", tc.copy, tc.method, tc.path)
		}
	}

	// Each copy consumes the events itself.
	for _, e := range []*testEnv{a, b, c} {
		if err := e.gw.handleEvents(t.Context(), []shared.Event{statusEvent(t, "u1", "active", suspendedAt.Add(time.Second))}); err != nil {
			t.Fatal(err)
		}
		if err := e.gw.handleEvents(t.Context(), []shared.Event{statusEvent(t, "u1", "suspended", suspendedAt)}); err != nil {
			t.Fatal(err)
		}
		if rec := e.do(t, "GET", "/user/users/me", bearer); rec.Code != 200 {
			t.Errorf("after reactivation (and the old suspension replayed): status = %d, want 200", rec.Code)
		}
	}
}

// TestSuspensionsTiming: a copy that missed the event learns a suspension from Redis within the
// recheck interval (2 s), without it at once; a suspension is remembered for the TTL (then every
// token issued before it has expired); events older than that are ignored; with Redis down an
// event still takes effect on the copy that got it.
func TestSuspensionsTiming(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		kv := newMemStore()
		logger := slog.New(slog.DiscardHandler)
		got, missed := newSuspensions(kv, 30*time.Minute, logger), newSuspensions(kv, 30*time.Minute, logger)
		if missed.suspended(ctx, "u1") {
			t.Fatal("u1 suspended before any event")
		}
		if err := got.handle(ctx, statusEvent(t, "u1", "suspended", time.Now())); err != nil {
			t.Fatal(err)
		}
		if !got.suspended(ctx, "u1") {
			t.Error("copy with the event: u1 not suspended")
		}
		time.Sleep(2 * time.Second)
		if !missed.suspended(ctx, "u1") {
			t.Error("copy without the event, 2 s later: u1 not suspended")
		}
		time.Sleep(30 * time.Minute)
		if got.suspended(ctx, "u1") || missed.suspended(ctx, "u1") {
			t.Error("suspension still applied after its TTL (every older token has expired)")
		}
		if err := got.handle(ctx, statusEvent(t, "u2", "suspended", time.Now().Add(-31*time.Minute))); err != nil {
			t.Fatal(err)
		}
		if got.suspended(ctx, "u2") {
			t.Error("an event older than the TTL was applied")
		}
		kv.SetErr(fmt.Errorf("redis down"))
		if err := got.handle(ctx, statusEvent(t, "u3", "suspended", time.Now())); err == nil {
			t.Error("handle with Redis down: err = nil, want an error so the event is retried")
		}
		if !got.suspended(ctx, "u3") {
			t.Error("Redis down: the copy that got the event does not refuse u3")
		}
		if err := got.handle(ctx, shared.Event{ID: "e1", Type: "user.status_changed"}); !errors.Is(err, shared.ErrPoison) {
			t.Errorf("event without data: err = %v, want ErrPoison", err)
		}
	})
}

// BenchmarkSessionLookup is what the identity step costs a cookie request on a cached session: one
// store GET (Redis when REDIS_TEST_URL is set) and the suspension check. docs/gateway.md has numbers.
func BenchmarkSessionLookup(b *testing.B) {
	var kv kvStore = newMemStore()
	if rdb := sharedtest.Redis(b); rdb != nil {
		kv = newRedisStore(rdb, 0)
	}
	logger := slog.New(slog.DiscardHandler)
	auth := &statefulAuth{sessions: map[string]string{"s1": testJWT("u1")}}
	s := newSessionExchanger("http://auth.test", &http.Client{Transport: authTransport{auth}}, kv, logger)
	deny := newSuspensions(kv, 30*time.Minute, logger)
	ctx := b.Context()
	if res, err := s.token(ctx, "s1"); err != nil || res.token == "" {
		b.Fatalf("token = %+v, %v", res, err)
	}
	b.ResetTimer()
	for b.Loop() {
		res, _ := s.token(ctx, "s1")
		if deny.suspended(ctx, res.sub) {
			b.Fatal("suspended")
		}
	}
	b.StopTimer()
	kv.Set(ctx, sessionKey("s1"), nil, time.Millisecond)
}

// TestConsumedTopics: the gateway reads user.events (the deny list) besides its cache table's topics.
func TestConsumedTopics(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	got := consumedTopics(e.gw.cfg.CacheRoutes)
	for _, want := range []string{shared.TopicUser, shared.TopicProduct, shared.TopicInventory} {
		if !slices.Contains(got, want) {
			t.Errorf("consumed topics %v lack %s", got, want)
		}
	}
}

// slowSetStore is a store whose writes take delay: a Redis slowed down by a busy machine.
type slowSetStore struct {
	*memStore
	delay time.Duration
}

func (s slowSetStore) Set(ctx context.Context, key string, val []byte, ttl time.Duration, indexes ...string) error {
	if !shared.SleepCtx(ctx, s.delay) {
		return ctx.Err()
	}
	return s.memStore.Set(ctx, key, val, ttl, indexes...)
}

// failOnceStore is a store whose first write fails (a Redis connection reset, say).
type failOnceStore struct {
	*memStore
	failed atomic.Bool
}

func (s *failOnceStore) Set(ctx context.Context, key string, val []byte, ttl time.Duration, indexes ...string) error {
	if s.failed.CompareAndSwap(false, true) {
		return errors.New("connection reset")
	}
	return s.memStore.Set(ctx, key, val, ttl, indexes...)
}

// TestLogoutTombstonePastTheGuard: a logout writes its tombstone even when Redis is slower than the
// guard's limit for requests (250 ms), its first write fails, or this copy's Redis breaker is open; else the session's cached
// token would go on working at the other gateway copies, which read the same Redis.
func TestLogoutTombstonePastTheGuard(t *testing.T) {
	t.Parallel()
	env := withEveryService(map[string]string{"LOG_LEVEL": "error", "AUTH_URL": "http://" + sharedtest.ClosedAddr}, "http://"+sharedtest.ClosedAddr)
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	ended := func(t *testing.T, gw *gateway, mem *memStore) {
		t.Helper()
		ctx := context.Background()
		mem.Set(ctx, sessionKey("s1"), []byte("u1\n"+testJWT("u1")), time.Minute)
		if err := gw.sessions.endSession(ctx, "s1"); err != nil {
			t.Errorf("endSession: %v", err)
		}
		if b, err := mem.Get(ctx, sessionKey("s1")); err != nil || len(b) != 0 {
			t.Errorf("session entry after the logout = %q, %v; want the empty tombstone", b, err)
		}
	}
	t.Run("slow redis", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mem := newMemStore()
			ended(t, newGateway(logger, cfg, shared.NewMetrics("gateway"), slowSetStore{mem, 300 * time.Millisecond}), mem)
		})
	})
	t.Run("first write fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mem := newMemStore()
			ended(t, newGateway(logger, cfg, shared.NewMetrics("gateway"), &failOnceStore{memStore: mem}), mem)
		})
	})
	t.Run("breaker open", func(t *testing.T) {
		mem := newMemStore()
		gw := newGateway(logger, cfg, shared.NewMetrics("gateway"), mem)
		mem.SetErr(errors.New("redis down"))
		for i := 0; ; i++ {
			if _, err := gw.kv.Get(context.Background(), "k"); errors.Is(err, errStoreOpen) {
				break
			}
			if i == 100 {
				t.Fatal("the guard's breaker did not open")
			}
		}
		mem.SetErr(nil) // Redis is back; this copy's breaker stays open for a while
		ended(t, gw, mem)
	})
}

// gatedTombstoneStore holds every write of an empty value (a logout's tombstone) until open is
// closed, and says on written when one arrived.
type gatedTombstoneStore struct {
	*memStore
	written, open chan struct{}
}

func (s *gatedTombstoneStore) Set(ctx context.Context, key string, val []byte, ttl time.Duration, indexes ...string) error {
	if len(val) == 0 {
		s.written <- struct{}{}
		<-s.open
	}
	return s.memStore.Set(ctx, key, val, ttl, indexes...)
}

// TestLogoutAnswersAfterTombstone: over a real connection, the logout's 204 reaches the client only
// after its tombstone is stored, so the client's next request, at any copy, is anonymous.
func TestLogoutAnswersAfterTombstone(t *testing.T) {
	t.Parallel()
	authSrv := httptest.NewServer(&statefulAuth{sessions: map[string]string{"s1": testJWT("u1")}})
	defer authSrv.Close()
	env := withEveryService(map[string]string{"LOG_LEVEL": "error", "AUTH_URL": authSrv.URL,
		"GATEWAY_RATE_LIMIT": "off", "GATEWAY_USER_RATE_LIMIT": "off"}, "http://"+sharedtest.ClosedAddr)
	env["AUTH_SERVICE_URLS"] = authSrv.URL
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	metrics := shared.NewMetrics("gateway")
	kv := &gatedTombstoneStore{memStore: newMemStore(), written: make(chan struct{}, 1), open: make(chan struct{})}
	srv := httptest.NewServer(NewServer(logger, cfg, metrics, shared.NewReadiness(), newGateway(logger, cfg, metrics, kv)))
	defer srv.Close()
	var opened sync.Once
	openGate := func() { opened.Do(func() { close(kv.open) }) }
	defer openGate() // before srv.Close, which waits for the held logout

	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+"/auth/logout", nil)
		req.Header.Set("Cookie", "session_id=s1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-kv.written
	select {
	case code := <-answered:
		t.Fatalf("the logout answered %d while its tombstone was not stored yet", code)
	case <-time.After(200 * time.Millisecond):
	}
	openGate()
	if code := <-answered; code != http.StatusNoContent {
		t.Errorf("logout: status %d, want 204", code)
	}
}
