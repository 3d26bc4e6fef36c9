package shared_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/goshop/platform/shared"
)

// rotatingKeys is an in-process JWKS (no network, so it works inside a synctest bubble) whose set
// the test changes, as auth does when it rotates its signing key.
type rotatingKeys struct {
	mu      sync.Mutex
	set     shared.JWKS
	fetches int
}

func (rk *rotatingKeys) serve(keys map[string]*ecdsa.PrivateKey) {
	b64 := base64.RawURLEncoding.EncodeToString
	rk.mu.Lock()
	defer rk.mu.Unlock()
	rk.set = shared.JWKS{}
	for kid, k := range keys {
		rk.set.Keys = append(rk.set.Keys, shared.JWK{Kty: "EC", Kid: kid, Crv: "P-256",
			X: b64(k.X.FillBytes(make([]byte, 32))), Y: b64(k.Y.FillBytes(make([]byte, 32)))})
	}
}

func (rk *rotatingKeys) RoundTrip(r *http.Request) (*http.Response, error) {
	rk.mu.Lock()
	defer rk.mu.Unlock()
	rk.fetches++
	rec := httptest.NewRecorder()
	json.NewEncoder(rec).Encode(rk.set)
	return rec.Result(), nil
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestJWKSVerifierRemembersTokens checks the memory of verified tokens: a repeated token needs no
// new key fetch and keeps its identity, it stops verifying once it has expired (past the parser's
// 30 s leeway), and a token whose key auth retired stops verifying as soon as the verifier has
// seen the new key set, although it was verified (and remembered) before.
func TestJWKSVerifierRemembersTokens(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		old, next := newECKey(t), newECKey(t)
		rk := &rotatingKeys{}
		rk.serve(map[string]*ecdsa.PrivateKey{"old": old})
		v := shared.NewJWKSVerifier("http://auth.test/jwks", "iss-1", "")
		v.Client = &http.Client{Transport: rk}
		v.MinRefresh = time.Second

		tok := sign(t, jwt.SigningMethodES256, "old", claims("u1", "iss-1", 5*time.Minute), old)
		short := sign(t, jwt.SigningMethodES256, "old", claims("u2", "iss-1", time.Minute), old)
		for i := range 3 {
			for _, tt := range []struct{ tok, user string }{{tok, "u1"}, {short, "u2"}} {
				id, err := v.Verify(ctx, tt.tok)
				if err != nil || id.UserID != tt.user || id.Role != shared.RoleAdmin || id.SessionID != "s1" {
					t.Fatalf("Verify #%d = %+v, %v; want %s admin s1", i, id, err, tt.user)
				}
			}
		}
		if rk.fetches != 1 {
			t.Errorf("JWKS fetched %d times for repeated tokens, want 1", rk.fetches)
		}

		// Expiry: one minute plus the leeway later the short token is refused, the long one not.
		time.Sleep(time.Minute + 31*time.Second)
		if _, err := v.Verify(ctx, short); !errors.Is(err, shared.ErrUnauthorized) {
			t.Errorf("Verify(expired token) err = %v, want ErrUnauthorized", err)
		}
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("Verify(live token) = %v", err)
		}

		// Rotation: auth now serves only the next key. A token of the next key makes the verifier
		// fetch the set again; from then on the old key's token, remembered or not, is refused.
		rk.serve(map[string]*ecdsa.PrivateKey{"next": next})
		fresh := sign(t, jwt.SigningMethodES256, "next", claims("u3", "iss-1", 5*time.Minute), next)
		if id, err := v.Verify(ctx, fresh); err != nil || id.UserID != "u3" {
			t.Fatalf("Verify(next key's token) = %+v, %v", id, err)
		}
		if _, err := v.Verify(ctx, tok); !errors.Is(err, shared.ErrUnauthorized) {
			t.Errorf("Verify(token of the retired key) err = %v, want ErrUnauthorized", err)
		}
	})
}

// downFirst answers 503 while down is set, then serves keys.
type downFirst struct {
	keys *rotatingKeys
	down bool
}

func (d *downFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	if d.down {
		rec := httptest.NewRecorder()
		rec.WriteHeader(http.StatusServiceUnavailable)
		return rec.Result(), nil
	}
	return d.keys.RoundTrip(r)
}

// TestJWKSVerifierRecoversSoonAfterAuth: a service that could not fetch the key set (auth down when
// it started) tries again a second after a failed fetch, not MinRefresh (10 s) after: measured
// before, order-1 answered valid tokens 503 for the rest of those 10 s after auth was back.
func TestJWKSVerifierRecoversSoonAfterAuth(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		key := newECKey(t)
		rk := &rotatingKeys{}
		rk.serve(map[string]*ecdsa.PrivateKey{"k1": key})
		rt := &downFirst{keys: rk, down: true}
		v := shared.NewJWKSVerifier("http://auth.test/jwks", "", "")
		v.Client = &http.Client{Transport: rt}
		tok := sign(t, jwt.SigningMethodES256, "k1", claims("u1", "", 5*time.Minute), key)
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, shared.ErrUnavailable) {
			t.Fatalf("Verify with auth down: err = %v, want ErrUnavailable", err)
		}
		rt.down = false
		time.Sleep(1100 * time.Millisecond)
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("Verify 1.1 s after a failed fetch, auth back: %v, want the token verified", err)
		}
		// A forged kid still cannot make it fetch more than once per MinRefresh once the set is loaded.
		before := rk.fetches
		for range 5 {
			v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, "forged", claims("u1", "", time.Minute), key))
			time.Sleep(time.Second)
		}
		if n := rk.fetches - before; n > 1 {
			t.Errorf("fetches for forged kids within 5 s of a good fetch = %d, want at most 1", n)
		}
	})
}
