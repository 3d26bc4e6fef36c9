package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// memGrantStore is the in-memory grantStore for tests and for running without Redis; it follows the
// Redis store step for step under one mutex. Expiry is checked against time.Now on read, and every
// pruneEvery writes drop what has expired, so nothing outlives its family or code for long.
type memGrantStore struct {
	mu        sync.Mutex
	families  map[string]*memFamily // by family ID
	codes     map[string]memCode    // code hash
	usedCodes map[string]time.Time  // taken code hash → forget after
	grace     time.Duration         // as redisGrantStore.grace
	writes    int                   // since the last prune
}

// memFamily is a family's grant, the hash of its live token and its rotated tokens, the newest
// usedTokensKept (used, by hash; order, oldest first), as the Redis store keeps them.
type memFamily struct {
	g     grant
	live  string
	used  map[string]usedToken
	order []string
}

// usedToken is a rotated refresh token: the hash of the token that replaced it and when it was first
// rotated.
type usedToken struct {
	next string
	at   time.Time
}

// markUsed records h as rotated, keeping the newest usedTokensKept.
func (f *memFamily) markUsed(h string, u usedToken) {
	if _, ok := f.used[h]; !ok {
		f.order = append(f.order, h)
		if len(f.order) > usedTokensKept {
			delete(f.used, f.order[0])
			f.order = f.order[1:]
		}
	}
	f.used[h] = u
}

type memCode struct {
	c       authCode
	expires time.Time
}

var _ grantStore = (*memGrantStore)(nil)

// pruneEvery is how many writes pass between two prunes of expired families and codes.
const pruneEvery = 1024

func newMemGrantStore() *memGrantStore {
	return &memGrantStore{families: map[string]*memFamily{}, codes: map[string]memCode{}, usedCodes: map[string]time.Time{}}
}

// wrote counts a write and, every pruneEvery, drops expired families and codes. Callers hold mu.
func (m *memGrantStore) wrote(now time.Time) {
	if m.writes++; m.writes < pruneEvery {
		return
	}
	m.writes = 0
	for f, fam := range m.families {
		if !now.Before(fam.g.ExpiresAt) {
			delete(m.families, f)
		}
	}
	for h, c := range m.codes {
		if !now.Before(c.expires) {
			delete(m.codes, h)
		}
	}
	for h, until := range m.usedCodes {
		if !now.Before(until) {
			delete(m.usedCodes, h)
		}
	}
}

func (m *memGrantStore) SaveCode(_ context.Context, code string, c authCode, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.codes[tokenHash(code)] = memCode{c: c, expires: now.Add(ttl)}
	m.wrote(now)
	return nil
}

func (m *memGrantStore) TakeCode(_ context.Context, code string) (authCode, error) {
	fam, ok := tokenFamily(code)
	if !ok {
		return authCode{}, fmt.Errorf("grants.take_code: %w", shared.ErrNotFound)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	h := tokenHash(code)
	now := time.Now()
	if mc, ok := m.codes[h]; ok {
		delete(m.codes, h)
		if now.Before(mc.expires) {
			m.usedCodes[h] = now.Add(usedMarkerTTL)
			mc.c.FamilyID = fam
			return mc.c, nil
		}
	}
	if until, ok := m.usedCodes[h]; ok && now.Before(until) {
		delete(m.families, fam)
		return authCode{}, fmt.Errorf("grants.take_code: %w", errCodeReused)
	}
	return authCode{}, fmt.Errorf("grants.take_code: %w", shared.ErrNotFound)
}

func (m *memGrantStore) StartFamily(_ context.Context, g grant, token string) error {
	fam, ok := tokenFamily(token)
	if !ok {
		return fmt.Errorf("grants.start: malformed token")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g.FamilyID = fam
	m.families[fam] = &memFamily{g: g, live: tokenHash(token), used: map[string]usedToken{}}
	m.wrote(time.Now())
	return nil
}

// family returns the live family or nil, dropping it when expired. Callers hold mu.
func (m *memGrantStore) family(fam string) *memFamily {
	f := m.families[fam]
	if f != nil && !time.Now().Before(f.g.ExpiresAt) {
		delete(m.families, fam)
		return nil
	}
	return f
}

func (m *memGrantStore) Rotate(_ context.Context, token, next string) (grant, error) {
	fam, ok := tokenFamily(token)
	nfam, nok := tokenFamily(next)
	if !ok || !nok || fam != nfam {
		return grant{}, fmt.Errorf("grants.rotate: %w", shared.ErrNotFound)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.family(fam)
	if f == nil {
		return grant{}, fmt.Errorf("grants.rotate: %w", shared.ErrNotFound)
	}
	h, now, nh := tokenHash(token), time.Now(), tokenHash(next)
	if f.live == h {
		f.markUsed(h, usedToken{next: nh, at: now})
		f.live = nh
		return f.g, nil
	}
	u, ok := f.used[h]
	if !ok {
		return grant{}, fmt.Errorf("grants.rotate: %w", shared.ErrNotFound)
	}
	if u.next == nh {
		return f.g, nil // this very rotation again, as the Redis store answers it
	}
	// Within the grace, a successor never used is replaced (see rotateScript).
	if next != token && now.Sub(u.at) < m.grace && f.live == u.next {
		f.markUsed(u.next, usedToken{next: nh, at: u.at})
		f.markUsed(h, usedToken{next: nh, at: u.at})
		f.live = nh
		return f.g, nil
	}
	delete(m.families, fam)
	return grant{}, fmt.Errorf("grants.rotate: %w", errRefreshReused)
}

func (m *memGrantStore) Peek(_ context.Context, token string) (grant, error) {
	fam, ok := tokenFamily(token)
	if !ok {
		return grant{}, fmt.Errorf("grants.peek: %w", shared.ErrNotFound)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.family(fam)
	if f == nil {
		return grant{}, fmt.Errorf("grants.peek: %w", shared.ErrNotFound)
	}
	h := tokenHash(token)
	u, used := f.used[h]
	if f.live != h && !(used && time.Since(u.at) < m.grace) {
		return grant{}, fmt.Errorf("grants.peek: %w", shared.ErrNotFound)
	}
	g := f.g
	g.Rotated = f.live != h
	return g, nil
}

func (m *memGrantStore) RevokeFamily(_ context.Context, family string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.families, family)
	return nil
}

func (m *memGrantStore) revokeWhere(match func(grant) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, f := range m.families {
		if match(f.g) {
			delete(m.families, id)
		}
	}
}

func (m *memGrantStore) RevokeSession(_ context.Context, sessionID string) error {
	m.revokeWhere(func(g grant) bool { return g.SessionID == sessionID })
	return nil
}

func (m *memGrantStore) RevokeUser(_ context.Context, userID string) error {
	m.revokeWhere(func(g grant) bool { return g.UserID == userID })
	return nil
}
