package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goshop/platform/shared"
)

// issuer mints ES256 access tokens the way auth does (typ at+jwt, sub, role, iss, exp) and serves
// its key set, so realtime started with JWKS_URL=<issuer>/.well-known/jwks.json and
// AUTH_ISSUER=<name> authenticates rtload's users and admins with its real verifier. The key is the
// same on every run (derived from a fixed string: it is a load-test key, trusted only by a realtime
// pointed at rtload), so a realtime that cached it from the last run accepts the next run at once.
type issuer struct {
	name string
	kid  string
	key  *ecdsa.PrivateKey
	srv  *http.Server
}

// newIssuer generates a key and serves its JWKS on addr until close.
func newIssuer(addr, name string) (*issuer, error) {
	scalar := sha256.Sum256([]byte("goshop rtload issuer key"))
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar[:])
	if err != nil {
		return nil, err
	}
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pub)
	iss := &issuer{name: name, kid: "rtload-" + b64(sum[:6]), key: key}
	set, _ := json.Marshal(shared.JWKS{Keys: []shared.JWK{{Kty: "EC", Kid: iss.kid, Use: "sig", Alg: "ES256", Crv: "P-256",
		X: b64(pub[1:33]), Y: b64(pub[33:65])}}})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	iss.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(set)
	})}
	go iss.srv.Serve(ln)
	return iss, nil
}

func (iss *issuer) close() { iss.srv.Close() }

// token returns an access token for userID with role, valid for an hour, signed as sharedtest's
// issuer and auth sign theirs (jwt/v5, shared.AccessClaims).
func (iss *issuer) token(userID, role string) (string, error) {
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodES256, shared.AccessClaims{Role: role,
		RegisteredClaims: jwt.RegisteredClaims{Subject: userID, Issuer: iss.name,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}})
	t.Header["kid"] = iss.kid
	t.Header["typ"] = shared.AccessTokenType
	return t.SignedString(iss.key)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
