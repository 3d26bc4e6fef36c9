package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/goshop/platform/shared"
)

// signingKey is one ES256 key; kid is its RFC 7638 thumbprint, so the same key always has the same kid
// on every instance.
type signingKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

// keyring holds the signing keys, oldest first. The second newest key signs ("current"); the newest is
// published but not yet used ("next"), so every verifier already caches it when a rotation promotes it;
// older keys stay published so tokens they signed verify until they expire. With one key, it signs.
type keyring struct {
	keys []signingKey
}

// newMemKeyring generates n keys in memory. Tokens do not survive a restart and two instances do not
// share keys; AUTH_SIGNING_KEYS_DIR fixes both.
func newMemKeyring(n int) (*keyring, error) {
	kr := &keyring{}
	for range n {
		k, err := generateKey()
		if err != nil {
			return nil, err
		}
		kr.keys = append(kr.keys, k)
	}
	return kr, nil
}

func generateKey() (signingKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return signingKey{}, fmt.Errorf("generate key: %w", err)
	}
	return signingKey{kid: thumbprint(&priv.PublicKey), priv: priv}, nil
}

// loadKeyring reads every *.pem (PKCS#8 EC P-256 private key) in dir, sorted by file name, and first
// generates keys into dir until it holds at least two, so a fresh deployment has current + next.
func loadKeyring(dir string) (*keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys dir: %w", err)
	}
	names, err := keyFiles(dir)
	if err != nil {
		return nil, err
	}
	for len(names) < 2 {
		name, err := addKeyFile(dir)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
		sort.Strings(names)
	}
	kr := &keyring{}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		k, err := parseKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("keys: %s: %w", name, err)
		}
		kr.keys = append(kr.keys, k)
	}
	return kr, nil
}

func keyFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("keys dir: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".pem") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// addKeyFile writes a new key named by the current UTC time, so name order is age order. It is also
// the rotation step: `auth rotate-keys` adds one, the old "next" becomes "current" on restart.
func addKeyFile(dir string) (string, error) {
	k, err := generateKey()
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return "", fmt.Errorf("marshal key: %w", err)
	}
	name := time.Now().UTC().Format("20060102T150405.000000000Z") + ".pem"
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write key: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("write key: %w", err)
	}
	return name, nil
}

func parseKeyPEM(b []byte) (signingKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return signingKey{}, errors.New("no PEM block")
	}
	var priv *ecdsa.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return signingKey{}, err
		}
		ec, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return signingKey{}, errors.New("not an EC key")
		}
		priv = ec
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return signingKey{}, err
		}
		priv = k
	default:
		return signingKey{}, fmt.Errorf("unexpected PEM type %q", block.Type)
	}
	if priv.Curve != elliptic.P256() {
		return signingKey{}, errors.New("ES256 needs a P-256 key")
	}
	return signingKey{kid: thumbprint(&priv.PublicKey), priv: priv}, nil
}

// thumbprint is the RFC 7638 JWK thumbprint of an EC public key.
func thumbprint(pub *ecdsa.PublicKey) string {
	j := publicJWK("", pub)
	canon := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, j.X, j.Y)
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func publicJWK(kid string, pub *ecdsa.PublicKey) shared.JWK {
	enc := base64.RawURLEncoding.EncodeToString
	return shared.JWK{Kty: "EC", Kid: kid, Use: "sig", Alg: "ES256", Crv: "P-256",
		X: enc(pub.X.FillBytes(make([]byte, 32))), Y: enc(pub.Y.FillBytes(make([]byte, 32)))}
}

// current is the key that signs.
func (kr *keyring) current() signingKey {
	if len(kr.keys) == 1 {
		return kr.keys[0]
	}
	return kr.keys[len(kr.keys)-2]
}

// JWKS returns every public key, newest first.
func (kr *keyring) JWKS() shared.JWKS {
	set := shared.JWKS{Keys: make([]shared.JWK, 0, len(kr.keys))}
	for i := len(kr.keys) - 1; i >= 0; i-- {
		set.Keys = append(set.Keys, publicJWK(kr.keys[i].kid, &kr.keys[i].priv.PublicKey))
	}
	return set
}

// Token types in the JWT "typ" header: access tokens say at+jwt (RFC 9068), so an ID token, signed by
// the same keys, can be told apart and refused where an access token is expected.
const (
	typAccess = "at+jwt"
	typID     = "JWT"
)

// sign returns claims as a compact ES256 JWT with the current key's kid and typ in the header.
func (kr *keyring) sign(typ string, claims jwt.Claims) (string, error) {
	k := kr.current()
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = k.kid
	t.Header["typ"] = typ
	s, err := t.SignedString(k.priv)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return s, nil
}

// parse verifies raw against the ring (ES256 only, kid required, exp required, iss must match, header
// typ must be typ) into claims. Every error wraps shared.ErrUnauthorized.
func (kr *keyring) parse(typ, raw, issuer string, claims jwt.Claims) error {
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if got, _ := t.Header["typ"].(string); !strings.EqualFold(got, typ) {
			return nil, fmt.Errorf("token type %q, want %q", got, typ)
		}
		kid, _ := t.Header["kid"].(string)
		for _, k := range kr.keys {
			if k.kid == kid {
				return &k.priv.PublicKey, nil
			}
		}
		return nil, fmt.Errorf("unknown kid %q", kid)
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired(), jwt.WithIssuer(issuer),
		jwt.WithLeeway(30*time.Second))
	if err != nil {
		return fmt.Errorf("%w: %v", shared.ErrUnauthorized, err)
	}
	return nil
}

// localVerifier checks auth's own access tokens without the HTTP round trip of shared.JWKSVerifier;
// it implements shared.Verifier for shared.Authenticate.
type localVerifier struct {
	keys   *keyring
	issuer string
}

var _ shared.Verifier = localVerifier{}

func (v localVerifier) Verify(_ context.Context, raw string) (shared.Identity, error) {
	var c shared.AccessClaims
	if err := v.keys.parse(typAccess, raw, v.issuer, &c); err != nil {
		return shared.Identity{}, err
	}
	if c.Subject == "" {
		return shared.Identity{}, fmt.Errorf("%w: no subject", shared.ErrUnauthorized)
	}
	return shared.Identity{UserID: c.Subject, Email: c.Email, Name: c.Name, Role: c.Role, SessionID: c.SessionID,
		ClientID: c.ClientID, Scope: c.Scope}, nil
}
