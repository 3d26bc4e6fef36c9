// Package sharedtest holds test doubles for the shared plumbing: an in-memory event publisher, a token
// issuer with a real JWKS endpoint, the contract tests' Redis and a fresh Mongo database (MongoDB),
// a program's run() started and stopped in-process (Start), one request through a handler (Serve)
// and its JSON or error body (Decode, ErrorBody). Only tests import it.
package sharedtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/goshop/platform/shared"
	"github.com/redis/go-redis/v9"
)

// Publisher records published events; it implements shared.Publisher. Set Err to make Publish fail.
type Publisher struct {
	mu     sync.Mutex
	events map[string][]shared.Event
	Err    error
}

var _ shared.Publisher = (*Publisher)(nil)

// Publish records events under topic, or returns p.Err.
func (p *Publisher) Publish(_ context.Context, topic string, events ...shared.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Err != nil {
		return p.Err
	}
	if p.events == nil {
		p.events = make(map[string][]shared.Event)
	}
	p.events[topic] = append(p.events[topic], events...)
	return nil
}

// SetErr sets the error later Publish calls return (nil to succeed again).
func (p *Publisher) SetErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Err = err
}

// Events returns a copy of the events published to topic, in order.
func (p *Publisher) Events(topic string) []shared.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]shared.Event(nil), p.events[topic]...)
}

// Types returns the types of the events published to topic, in order.
func (p *Publisher) Types(topic string) []string {
	var out []string
	for _, e := range p.Events(topic) {
		out = append(out, e.Type)
	}
	return out
}

// Issuer mints ES256 access tokens like auth does and serves its JWKS over httptest.
type Issuer struct {
	URL    string // the JWKS URL
	Name   string // the "iss" claim
	key    *ecdsa.PrivateKey
	server *httptest.Server
}

// NewIssuer starts an issuer whose server closes with the test.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	iss := &Issuer{Name: "http://auth.test", key: key}
	jwk := shared.JWK{Kty: "EC", Kid: "test-key", Use: "sig", Alg: "ES256", Crv: "P-256",
		X: b64(key.X.FillBytes(make([]byte, 32))), Y: b64(key.Y.FillBytes(make([]byte, 32)))}
	iss.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(shared.JWKS{Keys: []shared.JWK{jwk}})
	}))
	tb.Cleanup(iss.server.Close)
	iss.URL = iss.server.URL + "/.well-known/jwks.json"
	return iss
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Verifier returns a real JWKSVerifier trusting this issuer.
func (iss *Issuer) Verifier() *shared.JWKSVerifier {
	return shared.NewJWKSVerifier(iss.URL, iss.Name, "")
}

// Token mints a token for id valid for ttl.
func (iss *Issuer) Token(tb testing.TB, id shared.Identity, ttl time.Duration) string {
	tb.Helper()
	now := time.Now()
	c := shared.AccessClaims{Email: id.Email, EmailVerified: id.EmailVerified, Name: id.Name, Role: id.Role, SessionID: id.SessionID,
		ClientID: id.ClientID, Scope: id.Scope,
		RegisteredClaims: jwt.RegisteredClaims{Subject: id.UserID, Issuer: iss.Name,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = "test-key"
	t.Header["typ"] = shared.AccessTokenType
	s, err := t.SignedString(iss.key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Bearer returns an Authorization header value for id, valid for an hour.
func (iss *Issuer) Bearer(tb testing.TB, id shared.Identity) string {
	tb.Helper()
	return "Bearer " + iss.Token(tb, id, time.Hour)
}

// Admin and Customer are ready-made identities.
var (
	Admin    = shared.Identity{UserID: "u-admin", Email: "admin@shop.local", Name: "Admin", Role: shared.RoleAdmin}
	Customer = shared.Identity{UserID: "u-demo", Email: "demo@shop.local", Name: "Demo", Role: shared.RoleCustomer}
)

// WaitReady polls url until it answers 200 or the deadline passes.
func WaitReady(tb testing.TB, url string, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not ready within %s (last err %v)", url, within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ClosedAddr is an address nothing listens on, for a dependency that must be down: port 1 is
// reserved (tcpmux) and nothing binds it here, so a connection is refused at once. An address from
// FreeAddr is free only when FreeAddr returns: another test's server can take its port in between,
// and a program's "Kafka is down" check then finds a listener there.
const ClosedAddr = "127.0.0.1:1"

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment ago, for tests that start a
// program with run() and need its HTTP_ADDR before it listens.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// LogBuffer is a goroutine-safe io.Writer for a program's log output in tests.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Redis returns a client for the Redis named by REDIS_TEST_URL (make test-contract points it at a
// real redis-server), closed when the test ends, or nil when the variable is unset: the caller then
// skips its Redis case. Nothing is flushed: tests must use keys of their own.
func Redis(tb testing.TB) *redis.Client {
	tb.Helper()
	u := os.Getenv("REDIS_TEST_URL")
	if u == "" {
		return nil
	}
	rdb, err := shared.NewRedis(shared.RedisConfig{URL: u})
	if err != nil {
		tb.Fatalf("REDIS_TEST_URL: %v", err)
	}
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}
