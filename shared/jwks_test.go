package shared_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/goshop/platform/shared"
)

// keyServer serves a JWKS holding an ES256 and an RS256 key and counts fetches.
type keyServer struct {
	ec      *ecdsa.PrivateKey
	rsa     *rsa.PrivateKey
	fetches atomic.Int32
	down    atomic.Bool
	hang    atomic.Pointer[chan struct{}] // while set, a fetch waits until the channel is closed
	url     string
}

func newKeyServer(t *testing.T) *keyServer {
	t.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ks := &keyServer{ec: ec, rsa: rk}
	b64 := base64.RawURLEncoding.EncodeToString
	set := shared.JWKS{Keys: []shared.JWK{
		{Kty: "EC", Kid: "ec1", Crv: "P-256", X: b64(ec.X.FillBytes(make([]byte, 32))), Y: b64(ec.Y.FillBytes(make([]byte, 32)))},
		{Kty: "RSA", Kid: "rsa1", N: b64(rk.N.Bytes()), E: b64(big.NewInt(int64(rk.E)).Bytes())},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		if hang := ks.hang.Load(); hang != nil {
			<-*hang
		}
		if ks.down.Load() {
			http.Error(w, "down", 503)
			return
		}
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	ks.url = srv.URL
	return ks
}

func claims(sub, iss string, exp time.Duration) shared.AccessClaims {
	now := time.Now()
	return shared.AccessClaims{Email: "a@b.c", Role: shared.RoleAdmin, SessionID: "s1", RegisteredClaims: jwt.RegisteredClaims{
		Subject: sub, Issuer: iss, ExpiresAt: jwt.NewNumericDate(now.Add(exp)), IssuedAt: jwt.NewNumericDate(now)}}
}

func sign(t *testing.T, m jwt.SigningMethod, kid string, c jwt.Claims, key any) string {
	t.Helper()
	return signTyp(t, m, kid, shared.AccessTokenType, c, key)
}

func signTyp(t *testing.T, m jwt.SigningMethod, kid, typ string, c jwt.Claims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	tok.Header["typ"] = typ
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWKSVerifier(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t)
	v := shared.NewJWKSVerifier(ks.url, "iss-1", "")
	ctx := context.Background()
	good := claims("u1", "iss-1", time.Minute)
	// The RSA public key bytes used as an HMAC secret: the classic algorithm-confusion attack.
	rsaPubAsSecret := ks.rsa.N.Bytes()
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"es256", sign(t, jwt.SigningMethodES256, "ec1", good, ks.ec), true},
		{"rs256", sign(t, jwt.SigningMethodRS256, "rsa1", good, ks.rsa), true},
		{"alg none", sign(t, jwt.SigningMethodNone, "ec1", good, jwt.UnsafeAllowNoneSignatureType), false},
		{"hmac with public key", sign(t, jwt.SigningMethodHS256, "rsa1", good, rsaPubAsSecret), false},
		{"expired", sign(t, jwt.SigningMethodES256, "ec1", claims("u1", "iss-1", -time.Hour), ks.ec), false},
		{"wrong issuer", sign(t, jwt.SigningMethodES256, "ec1", claims("u1", "evil", time.Minute), ks.ec), false},
		{"no subject", sign(t, jwt.SigningMethodES256, "ec1", claims("", "iss-1", time.Minute), ks.ec), false},
		{"unknown kid", sign(t, jwt.SigningMethodES256, "nope", good, ks.ec), false},
		{"garbage", "not.a.jwt", false},
		{"id token (typ JWT)", signTyp(t, jwt.SigningMethodES256, "ec1", "JWT", good, ks.ec), false},
		{"typ application/at+jwt", signTyp(t, jwt.SigningMethodES256, "ec1", "application/at+jwt", good, ks.ec), true},
	}
	for _, tt := range tests {
		id, err := v.Verify(ctx, tt.token)
		if tt.ok {
			if err != nil || id.UserID != "u1" || id.Role != shared.RoleAdmin || id.SessionID != "s1" {
				t.Errorf("%s: Verify = %+v, %v; want u1 admin", tt.name, id, err)
			}
			continue
		}
		if !errors.Is(err, shared.ErrUnauthorized) {
			t.Errorf("%s: Verify err = %v, want ErrUnauthorized", tt.name, err)
		}
	}
}

func TestJWKSVerifierAudience(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t)
	v := shared.NewJWKSVerifier(ks.url, "iss-1", "shop-api")
	withAud := func(aud string) shared.AccessClaims {
		c := claims("u1", "iss-1", time.Minute)
		if aud != "" {
			c.Audience = jwt.ClaimStrings{aud}
		}
		return c
	}
	for _, tt := range []struct {
		aud string
		ok  bool
	}{{"shop-api", true}, {"other-app", false}, {"", false}} {
		_, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, "ec1", withAud(tt.aud), ks.ec))
		if (err == nil) != tt.ok {
			t.Errorf("audience %q: Verify err = %v, want ok %v", tt.aud, err, tt.ok)
		}
	}
}

func TestJWKSVerifierCachesAndSurvivesAuthDown(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t)
	v := shared.NewJWKSVerifier(ks.url, "", "")
	tok := sign(t, jwt.SigningMethodES256, "ec1", claims("u1", "", time.Minute), ks.ec)
	for i := 0; i < 50; i++ {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("Verify #%d: %v", i, err)
		}
	}
	if n := ks.fetches.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times for 50 verifications, want 1", n)
	}
	// Forged kids cannot make the verifier hammer auth: refreshes are rate limited.
	for i := 0; i < 20; i++ {
		v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, "forged", claims("u1", "", time.Minute), ks.ec))
	}
	if n := ks.fetches.Load(); n > 2 {
		t.Errorf("JWKS fetched %d times after 20 unknown kids, want ≤ 2", n)
	}
	// auth down: known keys keep working.
	ks.down.Store(true)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Errorf("Verify with auth down: %v, want the cached key to work", err)
	}
}

// TestJWKSVerifierKnownKeyNeverWaits: a fetch of the key set that hangs (auth stopped or overloaded)
// must not hold up tokens whose key is known. Before, the fetch ran under the verifier's lock: one
// request with a made-up kid, which anyone can send, made every request with a fresh valid token at
// that service wait for the fetch's 5 s timeout (measured at order with auth-1 SIGSTOPped: 4.8 s).
func TestJWKSVerifierKnownKeyNeverWaits(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t)
	v := shared.NewJWKSVerifier(ks.url, "", "")
	v.MinRefresh = 0 // every unknown kid fetches
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, "ec1", claims("u1", "", time.Minute), ks.ec)); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	ks.hang.Store(&release)
	defer close(release)
	go v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, "forged", claims("u1", "", time.Minute), ks.ec))
	for deadline := time.Now().Add(5 * time.Second); ks.fetches.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the forged kid never made the verifier fetch the key set")
		}
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, "ec1", claims("u2", "", time.Minute), ks.ec))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Verify of a fresh token with a known key during a hung fetch: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Verify of a fresh token with a known key waited on the hung key-set fetch")
	}
}

// TestJWKSVerifierKeySetUnreachable: a service that has no keys yet (it started while auth was down
// or hung) cannot tell a valid token from a forged one: that is 503, not a 401 that tells the client
// its token is bad and makes it sign the user out. Once it holds the key set, an unknown kid is 401.
func TestJWKSVerifierKeySetUnreachable(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t)
	ks.down.Store(true)
	v := shared.NewJWKSVerifier(ks.url, "", "")
	tok := sign(t, jwt.SigningMethodES256, "ec1", claims("u1", "", time.Minute), ks.ec)
	h := shared.Authenticate(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for i := range 2 { // the fetch, then within MinRefresh
		_, err := v.Verify(context.Background(), tok)
		if !errors.Is(err, shared.ErrUnavailable) || errors.Is(err, shared.ErrUnauthorized) {
			t.Errorf("Verify #%d with the key set unreachable: err = %v, want ErrUnavailable", i, err)
		}
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("request #%d with a valid token, key set unreachable: status = %d, want 503", i, rec.Code)
		}
	}
	ks.down.Store(false)
	v.MinRefresh = 0
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify once the key set answers: %v", err)
	}
	forged := sign(t, jwt.SigningMethodES256, "forged", claims("u1", "", time.Minute), ks.ec)
	if _, err := v.Verify(context.Background(), forged); !errors.Is(err, shared.ErrUnauthorized) {
		t.Errorf("Verify of an unknown kid with the key set loaded: err = %v, want ErrUnauthorized", err)
	}
}

func BenchmarkJWKSVerifyES256(b *testing.B) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := base64.RawURLEncoding.EncodeToString
	set := shared.JWKS{Keys: []shared.JWK{{Kty: "EC", Kid: "ec1", Crv: "P-256", X: b64(ec.X.FillBytes(make([]byte, 32))), Y: b64(ec.Y.FillBytes(make([]byte, 32)))}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(set) }))
	defer srv.Close()
	v := shared.NewJWKSVerifier(srv.URL, "", "")
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims("u1", "", time.Hour))
	tok.Header["kid"] = "ec1"
	tok.Header["typ"] = shared.AccessTokenType
	s, _ := tok.SignedString(ec)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
}
