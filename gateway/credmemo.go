package main

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/goshop/platform/shared"
)

// credentialMemo remembers what the gateway works out from a request's credential: the key of its
// per-credential rate-limit bucket (a SHA-256 of the credential) and, for a bearer token, the
// token's subject (a base64 and JSON decode of its payload, for the suspension check). Both are
// pure functions of the credential's text, and a customer sends the same bearer token on every
// request until it expires, so they are worked out once per credential instead of on every request.
// Bounded (memoEntries, least recently used out first); an entry is worked out again memoTTL after
// it was made. A memoised answer is the one the functions give, so nothing a request sees changes.
type credentialMemo struct {
	entries *lru[credential]
}

// credential is what credentialMemo keeps for one credential.
type credential struct {
	bucket string // the per-credential rate-limit bucket's key
	sub    string // a bearer token's subject; "" for a session cookie or a token without one
}

// memoEntries bounds the memo: a few thousand customers' tokens at a few hundred bytes each.
const memoEntries = 4096

// memoTTL is how long an entry is kept: about an access token's lifetime, so the tokens of customers
// that left do not stay in memory for long.
const memoTTL = 15 * time.Minute

func newCredentialMemo() *credentialMemo {
	return &credentialMemo{entries: newLRU[credential](memoEntries)}
}

// get returns what belongs to cred: an Authorization header's value, or "s:" and a session cookie's
// value (see credentialKey).
func (m *credentialMemo) get(cred string) credential {
	now := time.Now()
	if c, ok := m.entries.Get(cred, now); ok {
		return c
	}
	sum := sha256.Sum256([]byte(cred))
	c := credential{bucket: "gw:rl:user:" + hex.EncodeToString(sum[:12])}
	if tok, ok := shared.BearerOf(cred); ok {
		c.sub = tokenSubject(tok)
	}
	m.entries.Set(cred, c, now.Add(memoTTL))
	return c
}
