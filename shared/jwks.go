package shared

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWK is one public key of a JSON Web Key Set (RFC 7517), RSA or EC P-256.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS is a key set as served at /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicKey returns the key as *rsa.PublicKey or *ecdsa.PublicKey.
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	dec := base64.RawURLEncoding.DecodeString
	switch k.Kty {
	case "RSA":
		n, err1 := dec(k.N)
		e, err2 := dec(k.E)
		if err := errors.Join(err1, err2); err != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("jwk %s: bad RSA key", k.Kid)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("jwk %s: unsupported curve %q", k.Kid, k.Crv)
		}
		x, err1 := dec(k.X)
		y, err2 := dec(k.Y)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("jwk %s: bad EC key", k.Kid)
		}
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		if !pub.Curve.IsOnCurve(pub.X, pub.Y) { //nolint:staticcheck // validating untrusted input
			return nil, fmt.Errorf("jwk %s: point not on curve", k.Kid)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("jwk %s: unsupported kty %q", k.Kid, k.Kty)
}

// AccessClaims are the claims of an access token issued by auth. ClientID and Scope are set when an
// OAuth client (not the platform's own login) obtained the token.
type AccessClaims struct {
	Email     string `json:"email,omitempty"`
	Name      string `json:"name,omitempty"`
	Role      string `json:"role,omitempty"`
	SessionID string `json:"sid,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Scope     string `json:"scope,omitempty"`

	// EmailVerified says auth has seen the holder of Email follow a link mailed to that address.
	EmailVerified bool `json:"email_verified,omitempty"`
	jwt.RegisteredClaims
}

// AccessTokenType is the JOSE "typ" header of access tokens (RFC 9068). Verify refuses every other
// type, so an OIDC ID token handed to some app can never be replayed as an access token.
const AccessTokenType = "at+jwt"

// JWKSVerifier verifies RS256/ES256 access tokens against the key set at a URL. Keys are cached and
// fetched again when a token names an unknown kid (at most once per MinRefresh, default 10 s, so a flood
// of forged kids cannot hammer auth; once a second after a failed fetch) or when the cache is older
// than MaxAge (default 1 h). No request
// ever waits on auth when the key is already known. A token verified once is remembered until its
// expiry for as long as its key stays in the set (verifiedTokens), so repeating it costs no signature
// check.
type JWKSVerifier struct {
	URL        string
	Issuer     string // required "iss"; empty skips the check
	Audience   string // required "aud"; empty skips the check
	Client     *http.Client
	MinRefresh time.Duration
	MaxAge     time.Duration

	mu       sync.Mutex
	keys     map[string]crypto.PublicKey
	fetched  time.Time
	tried    time.Time
	inflight chan struct{} // closed when the fetch in flight ends; nil when none
	fetchErr error         // the last fetch's failure; nil after a success

	verified verifiedTokens
}

// NewJWKSVerifier returns a verifier for the key set at url.
func NewJWKSVerifier(url, issuer, audience string) *JWKSVerifier {
	return &JWKSVerifier{URL: url, Issuer: issuer, Audience: audience,
		Client: &http.Client{Timeout: 5 * time.Second}, MinRefresh: 10 * time.Second, MaxAge: time.Hour}
}

// Verify implements Verifier.
func (v *JWKSVerifier) Verify(ctx context.Context, raw string) (Identity, error) {
	now := time.Now()
	if e, ok := v.verified.get(raw, now); ok {
		if k, err := v.key(ctx, e.kid); err == nil && k == e.key {
			return e.id, nil
		}
		v.verified.forget(raw) // its key was retired or replaced: check the token afresh
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"RS256", "ES256"}), jwt.WithExpirationRequired(), jwt.WithLeeway(30 * time.Second)}
	if v.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.Issuer))
	}
	if v.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.Audience))
	}
	var c AccessClaims
	var kid string
	var key crypto.PublicKey
	_, err := jwt.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); !strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), AccessTokenType) {
			return nil, fmt.Errorf("token type %q is not %s", typ, AccessTokenType)
		}
		kid, _ = t.Header["kid"].(string)
		var err error
		key, err = v.key(ctx, kid)
		return key, err
	}, opts...)
	if errors.Is(err, ErrUnavailable) {
		return Identity{}, fmt.Errorf("verify: %w", err)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if c.Subject == "" {
		return Identity{}, fmt.Errorf("%w: token has no subject", ErrUnauthorized)
	}
	role := c.Role
	if role == "" {
		role = RoleCustomer
	}
	id := Identity{UserID: c.Subject, Email: c.Email, Name: c.Name, Role: role, SessionID: c.SessionID,
		ClientID: c.ClientID, Scope: c.Scope, EmailVerified: c.EmailVerified}
	v.verified.put(raw, verifiedToken{id: id, kid: kid, key: key, exp: c.ExpiresAt.Time}, now)
	return id, nil
}

// key returns the key kid names. A known key is returned at once, also while a fetch is in flight
// (a stale one is used until that fetch replaces it); an unknown kid waits for the fetch in flight or
// starts one when MinRefresh has passed since the last. The fetch runs outside the lock and detached
// from the caller's cancellation (the client's timeout bounds it), so a hung key set holds up only
// the requests that cannot be verified without it.
func (v *JWKSVerifier) key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	for {
		v.mu.Lock()
		now := time.Now()
		k, ok := v.keys[kid]
		if ok && now.Sub(v.fetched) <= v.MaxAge {
			v.mu.Unlock()
			return k, nil
		}
		if wait := v.inflight; wait != nil {
			v.mu.Unlock()
			if ok {
				return k, nil
			}
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		gap := v.MinRefresh
		if v.fetchErr != nil {
			gap = min(gap, retryFailedFetch) // auth was down: notice soon that it is back
		}
		if !v.tried.IsZero() && now.Sub(v.tried) < gap {
			ferr := v.fetchErr
			v.mu.Unlock()
			if ok {
				return k, nil
			}
			return nil, unknownKid(kid, ferr)
		}
		v.tried = now
		done := make(chan struct{})
		v.inflight = done
		v.mu.Unlock()

		keys, err := v.fetch(context.WithoutCancel(ctx))
		v.mu.Lock()
		if err == nil {
			v.keys, v.fetched = keys, time.Now()
		}
		v.fetchErr = err
		v.inflight = nil
		close(done)
		v.mu.Unlock()
		if err == nil {
			k, ok = keys[kid]
		}
		if ok {
			return k, nil
		}
		return nil, unknownKid(kid, err)
	}
}

// retryFailedFetch is how soon a failed fetch of the key set may be tried again (MinRefresh, if
// shorter, wins): one fetch a second per process while auth is down costs it nothing, and a service
// that holds no keys yet serves again within a second of auth's return.
const retryFailedFetch = time.Second

// unknownKid is the error for a kid not in the key set: ErrUnavailable when the last fetch of the set
// failed (the key may well be in it: the token cannot be judged), else a plain error (a bad token).
func unknownKid(kid string, fetchErr error) error {
	if fetchErr != nil {
		return fmt.Errorf("key id %q: %w: %v", kid, ErrUnavailable, fetchErr)
	}
	return fmt.Errorf("unknown key id %q", kid)
}

func (v *JWKSVerifier) fetch(ctx context.Context) (map[string]crypto.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	resp, err := v.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: %s answered %d", v.URL, resp.StatusCode)
	}
	var set JWKS
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]crypto.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		if pub, err := k.PublicKey(); err == nil {
			keys[k.Kid] = pub
		}
	}
	return keys, nil
}
