package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
	"golang.org/x/crypto/bcrypt"
)

// testEnv is a server wired to in-memory fakes.
type testEnv struct {
	cfg     Config
	d       deps
	pub     *sharedtest.Publisher
	relay   *shared.Relay
	mails   *mailRecorder
	handler http.Handler
}

// mailRecorder is a mail queue that keeps what was enqueued, in order.
type mailRecorder struct {
	mu    sync.Mutex
	mails []shared.Mail
	err   error // returned by Enqueue when set
}

func (q *mailRecorder) Enqueue(_ context.Context, m shared.Mail) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	if err := m.Check(); err != nil {
		return err // what the real queues refuse
	}
	q.mails = append(q.mails, m)
	return nil
}

// sent returns the mails enqueued so far.
func (q *mailRecorder) sent() []shared.Mail {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]shared.Mail(nil), q.mails...)
}

func testConfig(tb testing.TB) Config {
	tb.Helper()
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"AUTH_ISSUER": "http://auth.test", "AUTH_SERVICE_CLIENT_SECRET": "service-secret-123"}[k]
	})
	if err != nil {
		tb.Fatal(err)
	}
	cfg.BcryptCost = bcrypt.MinCost
	return cfg
}

var quietLogger = slog.New(slog.NewJSONHandler(io.Discard, nil))

// newTestEnv builds the server with mem stores; edit may change cfg or deps before wiring.
func newTestEnv(tb testing.TB, edit ...func(*Config, *deps)) *testEnv {
	tb.Helper()
	cfg := testConfig(tb)
	h, err := newHasher(cfg.BcryptCost)
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := newMemKeyring(2)
	if err != nil {
		tb.Fatal(err)
	}
	pub := &sharedtest.Publisher{}
	accounts := newMemAccountStore()
	metrics := shared.NewMetrics("auth")
	relay := shared.NewRelay(quietLogger, accountOutbox{accounts}, pub, metrics, shared.RelayConfig{})
	mails := &mailRecorder{}
	mail, err := newAccountMail(mails, func() {}, shared.MailConfig{ShopName: "GoShop", ShopAddress: "1 Test Street"}, "http://shop.test")
	if err != nil {
		tb.Fatal(err)
	}
	d := deps{
		accounts: accounts, sessions: newMemSessionStore(), grants: newMemGrantStore(),
		accountLimiter: newMemLimiter(accountPolicy), ipLimiter: newMemLimiter(ipPolicy),
		mailLimiter: newMemLimiter(mailPolicy), mailIPLimiter: newMemLimiter(mailIPPolicy),
		links: newMemLinkStore(), mail: mail,
		hasher: h, keys: keys, wake: sharedtest.FlushOnWake(relay),
		metrics: metrics, ready: shared.NewReadiness(),
	}
	for _, e := range edit {
		e(&cfg, &d)
	}
	return &testEnv{cfg: cfg, d: d, pub: pub, relay: relay, mails: mails, handler: NewServer(quietLogger, cfg, d)}
}

// addAccount creates an account directly in the store.
func (env *testEnv) addAccount(tb testing.TB, email, password, role string) account {
	tb.Helper()
	a, err := createAccount(context.Background(), env.d.accounts, env.d.hasher, email, password, "Test "+role, role)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// do sends a request through the server. body may be a string (JSON) or url.Values (form).
func (env *testEnv) do(tb testing.TB, method, target string, body any, headers ...string) *httptest.ResponseRecorder {
	tb.Helper()
	return env.doFrom(tb, "192.0.2.10:5555", method, target, body, headers...)
}

// doFrom is do from the client address remote (host:port).
func (env *testEnv) doFrom(tb testing.TB, remote, method, target string, body any, headers ...string) *httptest.ResponseRecorder {
	tb.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	}
	r := httptest.NewRequest(method, target, rd)
	r.RemoteAddr = remote
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	env.handler.ServeHTTP(w, r)
	return w
}

// login signs in and returns the login answer and the session cookie value.
func (env *testEnv) login(tb testing.TB, email, password string) (loginResponse, string) {
	tb.Helper()
	w := env.do(tb, "POST", "/login", `{"email":"`+email+`","password":"`+password+`"}`)
	if w.Code != http.StatusOK {
		tb.Fatalf("POST /login: status = %d, want 200; body %s", w.Code, w.Body)
	}
	var sid string
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			sid = c.Value
		}
	}
	return sharedtest.Decode[loginResponse](tb, w), sid
}

// verify checks an access token with the real shared verifier against the server's JWKS.
func (env *testEnv) verify(tb testing.TB, token string) (shared.Identity, error) {
	tb.Helper()
	srv := httptest.NewServer(env.handler)
	tb.Cleanup(srv.Close)
	v := shared.NewJWKSVerifier(srv.URL+"/.well-known/jwks.json", env.cfg.Issuer, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return v.Verify(ctx, token)
}
