package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// memGrantStore is the in-memory grantStore for tests and for running without Redis; it follows the
// Redis store step for step under one mutex. Expiry is checked against time.Now on read.
type memGrantStore struct {
	mu        sync.Mutex
	families  map[string]grant     // by family ID
	live      map[string]string    // token hash → family
	used      map[string]usedToken // rotated token hash → what replaced it
	codes     map[string]memCode   // code hash
	usedCodes map[string]time.Time // taken code hash → forget after
	grace     time.Duration        // as redisGrantStore.grace
}

// usedToken is a rotated refresh token: the hash of the token that replaced it, when it was first
// rotated, and when to forget it.
type usedToken struct {
	next  string
	at    time.Time
	until time.Time
}

type memCode struct {
	c       authCode
	expires time.Time
}

var _ grantStore = (*memGrantStore)(nil)

func newMemGrantStore() *memGrantStore {
	return &memGrantStore{families: map[string]grant{}, live: map[string]string{}, used: map[string]usedToken{},
		codes: map[string]memCode{}, usedCodes: map[string]time.Time{}}
}

func (m *memGrantStore) SaveCode(_ context.Context, code string, c authCode, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[tokenHash(code)] = memCode{c: c, expires: time.Now().Add(ttl)}
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
	m.families[fam] = g
	m.live[tokenHash(token)] = fam
	return nil
}

// family returns the live family or false, dropping it when expired. Callers hold mu.
func (m *memGrantStore) family(fam string) (grant, bool) {
	g, ok := m.families[fam]
	if ok && !time.Now().Before(g.ExpiresAt) {
		delete(m.families, fam)
		return grant{}, false
	}
	return g, ok
}

func (m *memGrantStore) Rotate(_ context.Context, token, next string) (grant, error) {
	fam, ok := tokenFamily(token)
	nfam, nok := tokenFamily(next)
	if !ok || !nok || fam != nfam {
		return grant{}, fmt.Errorf("grants.rotate: %w", shared.ErrNotFound)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	h := tokenHash(token)
	g, ok := m.family(fam)
	if !ok {
		delete(m.live, h)
		return grant{}, fmt.Errorf("grants.rotate: %w", shared.ErrNotFound)
	}
	now, nh := time.Now(), tokenHash(next)
	if m.live[h] == fam {
		delete(m.live, h)
		m.used[h] = usedToken{next: nh, at: now, until: g.ExpiresAt}
		m.live[nh] = fam
		return g, nil
	}
	u, ok := m.used[h]
	if !ok || !now.Before(u.until) {
		return grant{}, fmt.Errorf("grants.rotate: %w", shared.ErrNotFound)
	}
	if u.next == nh {
		return g, nil // this very rotation again, as the Redis store answers it
	}
	// Within the grace, a successor never used is replaced (see rotateScript).
	if next != token && now.Sub(u.at) < m.grace && m.live[u.next] == fam {
		delete(m.live, u.next)
		m.used[u.next] = usedToken{next: nh, at: u.at, until: g.ExpiresAt}
		m.used[h] = usedToken{next: nh, at: u.at, until: g.ExpiresAt}
		m.live[nh] = fam
		return g, nil
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
	g, ok := m.family(fam)
	h := tokenHash(token)
	u, used := m.used[h]
	if !ok || m.live[h] != fam && !(used && time.Since(u.at) < m.grace) {
		return grant{}, fmt.Errorf("grants.peek: %w", shared.ErrNotFound)
	}
	g.Rotated = m.live[h] != fam
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
	for f, g := range m.families {
		if match(g) {
			delete(m.families, f)
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
