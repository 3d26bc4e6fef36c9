package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
	"golang.org/x/crypto/bcrypt"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantFields []string
	}{
		{"ok", `{"email":" New.User@Example.COM ","password":"correct horse battery","name":"New User"}`, http.StatusCreated, nil},
		{"email taken after normalising", `{"email":"TAKEN@example.com","password":"correct horse battery","name":"X"}`, http.StatusConflict, []string{"email"}},
		{"bad email", `{"email":"not-an-email","password":"correct horse battery","name":"X"}`, http.StatusBadRequest, []string{"email"}},
		{"non-ASCII address (no mail could reach it)", `{"email":"zoë@example.com","password":"correct horse battery","name":"X"}`, http.StatusBadRequest, []string{"email"}},
		{"display name form", `{"email":"Bob <bob@example.com>","password":"correct horse battery","name":"X"}`, http.StatusBadRequest, []string{"email"}},
		{"short password", `{"email":"a@example.com","password":"short","name":"X"}`, http.StatusBadRequest, []string{"password"}},
		{"long password", `{"email":"a@example.com","password":"` + strings.Repeat("x", 73) + `","name":"X"}`, http.StatusBadRequest, []string{"password"}},
		{"common password", `{"email":"a@example.com","password":"password123","name":"X"}`, http.StatusBadRequest, []string{"password"}},
		{"password has email name", `{"email":"alice@example.com","password":"alice-is-great","name":"X"}`, http.StatusBadRequest, []string{"password"}},
		{"bidi override in name", `{"email":"a@example.com","password":"correct horse battery","name":"Ann\u202Egnp.exe"}`, http.StatusBadRequest, []string{"name"}},
		{"bidi isolate in name", `{"email":"a@example.com","password":"correct horse battery","name":"Ann\u2067x"}`, http.StatusBadRequest, []string{"name"}},
		{"all bad at once", `{"email":"","password":"","name":""}`, http.StatusBadRequest, []string{"email", "password", "name"}},
		{"unknown field", `{"email":"a@example.com","password":"correct horse battery","name":"X","role":"admin"}`, http.StatusBadRequest, []string{"role"}},
		{"operator injection", `{"email":{"$ne":null},"password":"correct horse battery","name":"X"}`, http.StatusBadRequest, []string{"email"}},
		{"not json", `{`, http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			env.addAccount(t, "taken@example.com", "whatever-password", shared.RoleCustomer)
			w := env.do(t, "POST", "/register", tt.body)
			if w.Code != tt.wantStatus {
				t.Fatalf("POST /register: status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantStatus != http.StatusCreated {
				e := sharedtest.Decode[sharedtest.ErrorBody](t, w)
				for _, f := range tt.wantFields {
					if e.Error.Fields[f] == "" {
						t.Errorf("POST /register: no message for field %q in %s", f, w.Body)
					}
				}
				return
			}
			got := sharedtest.Decode[map[string]userJSON](t, w)["user"]
			if got.Email != "new.user@example.com" || got.Role != shared.RoleCustomer || got.ID == "" {
				t.Errorf("POST /register: user = %+v", got)
			}
			// The relay publishes every pending event: the pre-existing account's too.
			evs := slices.DeleteFunc(env.pub.Events(shared.TopicUser), func(e shared.Event) bool { return e.AggregateID != got.ID })
			if len(evs) != 1 || evs[0].Type != eventUserRegistered {
				t.Fatalf("events = %+v, want one user.registered for %s", evs, got.ID)
			}
			var data userRegistered
			if err := evs[0].Decode(&data); err != nil || data.UserID != got.ID || data.Email != got.Email || data.Role != "customer" {
				t.Errorf("user.registered data = %+v (%v)", data, err)
			}
			a, _ := env.d.accounts.ByID(context.Background(), got.ID)
			if a.EventPending {
				t.Errorf("account still has its event pending after a successful publish")
			}
		})
	}
}

func TestRegisterKeepsEventWhenKafkaDown(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.pub.SetErr(shared.ErrUnavailable)
	w := env.do(t, "POST", "/register", `{"email":"k@example.com","password":"correct horse battery","name":"K"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /register: status = %d, want 201", w.Code)
	}
	pending, _ := env.d.accounts.PendingEvents(context.Background(), 10)
	if len(pending) != 1 {
		t.Fatalf("pending = %d, want 1 (outbox)", len(pending))
	}
	env.pub.SetErr(nil)
	if err := env.relay.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := env.pub.Types(shared.TopicUser); len(got) != 1 || got[0] != eventUserRegistered {
		t.Fatalf("after drain: events = %v", got)
	}
	if pending, _ := env.d.accounts.PendingEvents(context.Background(), 10); len(pending) != 0 {
		t.Fatalf("after drain: pending = %d, want 0", len(pending))
	}
}

func TestLoginSessionLogout(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "demo@shop.local", "demo-Passw0rd!", shared.RoleCustomer)

	w := env.do(t, "POST", "/login", `{"email":"DEMO@shop.local","password":"demo-Passw0rd!"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("POST /login: status = %d, want 200; body %s", w.Code, w.Body)
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Value == "" {
		t.Fatalf("session cookie = %+v, want HttpOnly SameSite=Lax Path=/", cookie)
	}
	lr := sharedtest.Decode[loginResponse](t, w)
	if lr.TokenType != "Bearer" || lr.ExpiresIn != 900 || lr.RefreshToken == "" || lr.User.ID != a.ID || lr.User.Role != "customer" {
		t.Fatalf("login body = %+v", lr)
	}
	id, err := env.verify(t, lr.AccessToken)
	if err != nil {
		t.Fatalf("shared verifier rejects the login token: %v", err)
	}
	if id.UserID != a.ID || id.Email != a.Email || id.Role != "customer" || id.SessionID != sessionSID(cookie.Value) {
		t.Errorf("identity = %+v", id)
	}
	if strings.Contains(lr.AccessToken, cookie.Value) {
		t.Errorf("access token leaks the session cookie value")
	}

	for _, how := range []struct {
		name    string
		headers []string
	}{{"cookie", []string{"Cookie", "session_id=" + cookie.Value}}, {"header", []string{"X-Session-ID", cookie.Value}}} {
		w = env.do(t, "GET", "/session", nil, how.headers...)
		if w.Code != http.StatusOK {
			t.Fatalf("GET /session by %s: status = %d, want 200; body %s", how.name, w.Code, w.Body)
		}
		sr := sharedtest.Decode[sessionResponse](t, w)
		if sr.User.ID != a.ID || sr.TokenType != "Bearer" || sr.ExpiresIn != 900 || sr.AccessToken == "" {
			t.Errorf("GET /session by %s: body = %+v", how.name, sr)
		}
	}

	w = env.do(t, "POST", "/logout", nil, "Cookie", "session_id="+cookie.Value)
	if w.Code != http.StatusNoContent {
		t.Fatalf("POST /logout: status = %d, want 204", w.Code)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("POST /logout: cookie not cleared: %+v", c)
	}
	if w = env.do(t, "GET", "/session", nil, "Cookie", "session_id="+cookie.Value); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /session after logout: status = %d, want 401", w.Code)
	}
	// Logout revokes the refresh token too.
	if _, err := env.d.grants.Peek(context.Background(), lr.RefreshToken); err == nil {
		t.Errorf("refresh token still live after logout")
	}
	if w = env.do(t, "POST", "/logout", nil); w.Code != http.StatusNoContent {
		t.Errorf("POST /logout twice: status = %d, want 204", w.Code)
	}
}

func TestLogoutWithBearer(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "api@example.com", "api-password-1", shared.RoleCustomer)
	lr, sid := env.login(t, "api@example.com", "api-password-1")
	if w := env.do(t, "POST", "/logout", nil, "Authorization", "Bearer "+lr.AccessToken); w.Code != http.StatusNoContent {
		t.Fatalf("POST /logout: status = %d, want 204", w.Code)
	}
	if w := env.do(t, "GET", "/session", nil, "X-Session-ID", sid); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /session after bearer logout: status = %d, want 401", w.Code)
	}
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		wantStatus int
		wantCode   string
	}{
		{"wrong password", `{"email":"u@example.com","password":"wrong-password"}`, http.StatusUnauthorized, "unauthorized"},
		{"unknown email", `{"email":"nobody@example.com","password":"wrong-password"}`, http.StatusUnauthorized, "unauthorized"},
		{"suspended", `{"email":"s@example.com","password":"right-password"}`, http.StatusForbidden, "forbidden"},
		{"missing fields", `{}`, http.StatusBadRequest, "invalid"},
		{"not an email", `{"email":"nope","password":"x"}`, http.StatusBadRequest, "invalid"},
		{"malformed", `{"email":`, http.StatusBadRequest, "invalid"},
		{"trailing data", `{"email":"u@example.com","password":"x"} {}`, http.StatusBadRequest, "invalid"},
	}
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	s := env.addAccount(t, "s@example.com", "right-password", shared.RoleCustomer)
	env.d.accounts.SetStatus(context.Background(), s.ID, statusSuspended, time.Now())
	bodies := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := env.do(t, "POST", "/login", tt.body)
			if w.Code != tt.wantStatus {
				t.Fatalf("POST /login: status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			e := sharedtest.Decode[sharedtest.ErrorBody](t, w)
			if e.Error.Code != tt.wantCode || e.Error.RequestID == "" {
				t.Errorf("POST /login: error = %+v, want code %s with request_id", e.Error, tt.wantCode)
			}
			bodies[tt.name] = e.Error.Message
			if len(w.Result().Cookies()) != 0 {
				t.Errorf("POST /login: failed login set a cookie")
			}
		})
	}
	if bodies["wrong password"] != bodies["unknown email"] {
		t.Errorf("unknown email and wrong password answer differently: %q vs %q", bodies["unknown email"], bodies["wrong password"])
	}
}

func TestSessionErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	_, sid := env.login(t, "u@example.com", "right-password")
	tests := []struct {
		name    string
		headers []string
		want    int
	}{
		{"none", nil, http.StatusUnauthorized},
		{"unknown", []string{"Cookie", "session_id=nope"}, http.StatusUnauthorized},
		{"huge", []string{"X-Session-ID", strings.Repeat("a", 4000)}, http.StatusUnauthorized},
		{"live", []string{"X-Session-ID", sid}, http.StatusOK},
	}
	for _, tt := range tests {
		if w := env.do(t, "GET", "/session", nil, tt.headers...); w.Code != tt.want {
			t.Errorf("GET /session (%s): status = %d, want %d", tt.name, w.Code, tt.want)
		}
	}
	// A suspended account's session stops working even before the sessions are swept.
	env.d.accounts.SetStatus(context.Background(), a.ID, statusSuspended, time.Now())
	if w := env.do(t, "GET", "/session", nil, "X-Session-ID", sid); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /session of suspended account: status = %d, want 401", w.Code)
	}
}

func TestRedisDownIs503(t *testing.T) {
	t.Parallel()
	// A real Redis client pointed at a closed port: the stores must say 503, not 500.
	rdb, err := shared.NewRedis(shared.RedisConfig{Host: "127.0.0.1", Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	env := newTestEnv(t, func(_ *Config, d *deps) {
		d.sessions = &redisSessionStore{rdb: rdb}
		d.grants = &redisGrantStore{rdb: rdb}
		d.accountLimiter = &redisLimiter{rdb: rdb, prefix: "t:", policy: accountPolicy}
		d.ipLimiter = &redisLimiter{rdb: rdb, prefix: "t:", policy: ipPolicy}
	})
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	for _, c := range []struct {
		method, path, body string
		headers            []string
	}{
		{"POST", "/login", `{"email":"u@example.com","password":"right-password"}`, nil},
		{"GET", "/session", "", []string{"X-Session-ID", "abc"}},
		{"POST", "/logout", "", []string{"X-Session-ID", "abc"}},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		w := env.do(t, c.method, c.path, body, c.headers...)
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s with Redis down: status = %d, want 503; body %s", c.method, c.path, w.Code, w.Body)
			continue
		}
		if e := sharedtest.Decode[sharedtest.ErrorBody](t, w); e.Error.Code != "unavailable" {
			t.Errorf("%s %s: code = %q, want unavailable", c.method, c.path, e.Error.Code)
		}
	}
}

func TestHealthEndpoints(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/.well-known/openid-configuration"} {
		if w := env.do(t, "GET", p, nil); w.Code != http.StatusOK {
			t.Errorf("GET %s: status = %d, want 200", p, w.Code)
		}
	}
	if w := env.do(t, "GET", "/nope", nil); w.Code != http.StatusNotFound {
		t.Errorf("GET /nope: status = %d, want 404", w.Code)
	}
}

// TestStaleBearerIgnored: a client that still sends an expired or foreign Authorization header can log
// in, get a session and log out; only /userinfo checks bearer tokens.
func TestStaleBearerIgnored(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	stale := []string{"Authorization", "Bearer not.a.token"}
	w := env.do(t, "POST", "/login", `{"email":"u@example.com","password":"right-password"}`, stale...)
	if w.Code != http.StatusOK {
		t.Fatalf("POST /login with stale bearer: status = %d, want 200", w.Code)
	}
	lr := sharedtest.Decode[loginResponse](t, w)
	if w := env.do(t, "POST", "/logout", nil, stale...); w.Code != http.StatusNoContent {
		t.Errorf("POST /logout with stale bearer: status = %d, want 204", w.Code)
	}
	if w := env.do(t, "GET", "/userinfo", nil, stale...); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /userinfo with stale bearer: status = %d, want 401", w.Code)
	}
	if w := env.do(t, "GET", "/userinfo", nil, "Authorization", "Bearer "+lr.AccessToken); w.Code != http.StatusOK {
		t.Errorf("GET /userinfo: status = %d, want 200", w.Code)
	}
}

// TestSecureCookieBehindTLS: the cookie is Secure when a trusted proxy says the client used https,
// and not when an untrusted client claims it.
func TestSecureCookieBehindTLS(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	for _, tt := range []struct {
		remote     string
		wantSecure bool
	}{{"127.0.0.1:9999", true}, {"192.0.2.10:9999", false}} {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(`{"email":"u@example.com","password":"right-password"}`))
		r.RemoteAddr = tt.remote
		r.Header.Set("X-Forwarded-Proto", "https")
		w := httptest.NewRecorder()
		env.handler.ServeHTTP(w, r)
		cs := w.Result().Cookies()
		if w.Code != http.StatusOK || len(cs) != 1 || cs[0].Secure != tt.wantSecure {
			t.Errorf("login from %s with X-Forwarded-Proto https: status %d cookies %+v, want Secure=%v", tt.remote, w.Code, cs, tt.wantSecure)
		}
	}
}

// TestLoginRehashesAtNewCost: a hash made at another bcrypt cost is upgraded on the next login.
func TestLoginRehashesAtNewCost(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	old, err := newHasher(bcrypt.MinCost + 1)
	if err != nil {
		t.Fatal(err)
	}
	a, err := createAccount(context.Background(), env.d.accounts, old, "u@example.com", "right-password", "U", shared.RoleCustomer)
	if err != nil {
		t.Fatal(err)
	}
	env.login(t, "u@example.com", "right-password")
	got, _ := env.d.accounts.ByID(context.Background(), a.ID)
	if c, _ := bcrypt.Cost(got.PasswordHash); c != env.cfg.BcryptCost {
		t.Fatalf("cost after login = %d, want %d", c, env.cfg.BcryptCost)
	}
	env.login(t, "u@example.com", "right-password") // the new hash still verifies
}
