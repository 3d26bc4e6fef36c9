package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/goshop/platform/shared"
)

// authCopy is one auth process: the keyring it loaded from AUTH_SIGNING_KEYS_DIR at start, and its
// JWKS endpoint. restart loads the directory again, as a new process would.
type authCopy struct {
	dir  string
	ring atomic.Pointer[keyring]
	jwks atomic.Pointer[http.Handler]
}

func startAuthCopy(t *testing.T, dir string) *authCopy {
	t.Helper()
	c := &authCopy{dir: dir}
	c.restart(t)
	return c
}

func (c *authCopy) restart(t *testing.T) {
	t.Helper()
	kr, err := loadKeyring(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	h := handleJWKS(kr)
	c.ring.Store(kr)
	c.jwks.Store(&h)
}

// sign issues an access token as auth's token issuer does.
func (c *authCopy) sign(t *testing.T) string {
	t.Helper()
	return signFor(t, c.ring.Load(), 15*time.Minute)
}

// verifier is what another service runs: shared.JWKSVerifier on this copy's JWKS URL.
func (c *authCopy) verifier() *shared.JWKSVerifier {
	v := shared.NewJWKSVerifier("http://auth/.well-known/jwks.json", "iss", "")
	v.Client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		w := httptest.NewRecorder()
		(*c.jwks.Load()).ServeHTTP(w, r)
		return w.Result(), nil
	})}
	return v
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestKeyRotationAcrossCopies: two auth copies share AUTH_SIGNING_KEYS_DIR (the stack's -replicas
// does so). After `auth rotate-keys` and a restart of auth-1 only, a token auth-1 signs with the
// promoted key verifies at auth-2 (not restarted yet) and at every service, whichever copy's JWKS it
// read before the rotation. A key retired on auth-2 (its file deleted, auth-2 restarted) is refused by
// auth-2 at once, and everywhere once the retirement has reached auth-1 and the services' key cache
// has aged out (JWKSVerifier.MaxAge): the rollout docs/auth.md § Signing keys describes.
func TestKeyRotationAcrossCopies(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		dir := t.TempDir()
		addKey := func(dir string) {
			t.Helper()
			time.Sleep(time.Second) // key files are named by their time, and the bubble's clock stands still
			if _, err := addKeyFile(dir); err != nil {
				t.Fatal(err)
			}
		}
		addKey(dir) // the stack fills the directory before any copy starts
		addKey(dir)
		dir1, dir2 := dir, dir // each copy's AUTH_SIGNING_KEYS_DIR
		auth1 := startAuthCopy(t, dir1)
		auth2 := startAuthCopy(t, dir2)
		services := map[string]*shared.JWKSVerifier{"service reading auth-1's JWKS": auth1.verifier(),
			"service reading auth-2's JWKS": auth2.verifier()}
		everywhere := func(tok string) map[string]error {
			errs := map[string]error{}
			for name, v := range services {
				_, errs[name] = v.Verify(ctx, tok)
			}
			for name, c := range map[string]*authCopy{"auth-1": auth1, "auth-2": auth2} {
				_, errs[name] = localVerifier{keys: c.ring.Load(), issuer: "iss"}.Verify(ctx, tok)
			}
			return errs
		}
		old := auth2.sign(t)
		for where, err := range everywhere(old) {
			if err != nil {
				t.Fatalf("before rotation, auth-2's token at %s: %v", where, err)
			}
		}
		oldKid := auth2.ring.Load().current().kid
		// A token of the key about to be retired that would still be valid after its retirement
		// (a long-lived or stolen one): what retiring a key must shut out.
		longLived := signFor(t, auth2.ring.Load(), 3*time.Hour)

		addKey(dir1) // auth rotate-keys
		auth1.restart(t)
		if auth1.ring.Load().current().kid == oldKid {
			t.Fatal("auth-1 signs with the old key after rotation and restart")
		}
		for where, err := range everywhere(auth1.sign(t)) {
			if err != nil {
				t.Errorf("after rotation, auth-1's new token at %s: %v", where, err)
			}
		}

		time.Sleep(20 * time.Minute) // the old key's access tokens have expired: retire it on auth-2
		files, _ := filepath.Glob(filepath.Join(dir2, "*.pem"))
		if err := os.Remove(files[0]); err != nil { // oldest first: the old current key
			t.Fatal(err)
		}
		auth2.restart(t)
		if _, err := (localVerifier{keys: auth2.ring.Load(), issuer: "iss"}).Verify(ctx, longLived); err == nil {
			t.Error("auth-2 accepts a token of the key it retired")
		}
		auth1.restart(t)             // the retirement reaches auth-1
		time.Sleep(61 * time.Minute) // and the services' key cache ages out
		for where, err := range everywhere(longLived) {
			if err == nil {
				t.Errorf("a token of the key retired on auth-2 verifies at %s", where)
			}
		}
		for _, c := range []*authCopy{auth1, auth2} {
			for where, err := range everywhere(c.sign(t)) {
				if err != nil {
					t.Errorf("after retirement, a new token at %s: %v", where, err)
				}
			}
		}
	})
}

func signFor(t *testing.T, kr *keyring, ttl time.Duration) string {
	t.Helper()
	tok, err := kr.sign(typAccess, shared.AccessClaims{Role: "customer", RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "iss", Subject: "u1", IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl))}})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
