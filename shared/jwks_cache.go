package shared

import (
	"crypto"
	"sync"
	"time"
)

// Bounds of JWKSVerifier's memory of verified tokens: at most maxVerifiedTokens entries, and only
// tokens up to maxCachedTokenLen bytes (auth's are well under 1 KB).
const (
	maxVerifiedTokens = 4096
	maxCachedTokenLen = 4096
)

// verifiedTokens remembers the tokens a JWKSVerifier has already verified, keyed by the raw token, so
// a client that sends the same bearer token on every request (every checkout hop does) costs a map
// look-up instead of a signature verification (ES256: ~60 µs of CPU, RS256 more; docs/performance.md).
//
// An entry holds the identity, the key ID and the very key that verified the signature, and the
// token's expiry. It answers only while the token has not expired (exp itself, without the parser's
// leeway: past exp the token goes through the full check again) and while the verifier's key set
// still maps the kid to that same key: a key retired from auth's JWKS (dropped at the next refresh,
// which an unknown kid or MaxAge triggers) stops verifying its cached tokens at once, as it does the
// uncached ones. Everything else a verification checks (signature, type, algorithm, issuer,
// audience, subject) depends only on the token and the verifier's fixed settings.
type verifiedTokens struct {
	mu      sync.Mutex
	entries map[string]verifiedToken
}

type verifiedToken struct {
	id  Identity
	kid string
	key crypto.PublicKey
	exp time.Time
}

// get returns the entry for raw if there is one that has not expired at now.
func (c *verifiedTokens) get(raw string, now time.Time) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[raw]
	if ok && !now.Before(e.exp) {
		delete(c.entries, raw)
		return verifiedToken{}, false
	}
	return e, ok
}

// forget drops raw's entry.
func (c *verifiedTokens) forget(raw string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, raw)
}

// put remembers e for raw. When full it first drops the expired entries, then arbitrary ones until
// an eighth of the room is free, so a flood of distinct tokens costs O(1) per token amortised.
func (c *verifiedTokens) put(raw string, e verifiedToken, now time.Time) {
	if len(raw) > maxCachedTokenLen || !now.Before(e.exp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]verifiedToken)
	}
	if len(c.entries) >= maxVerifiedTokens {
		for k, old := range c.entries {
			if !now.Before(old.exp) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < maxVerifiedTokens*7/8 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[raw] = e
}
