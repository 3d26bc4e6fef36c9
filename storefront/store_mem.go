package main

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"time"
)

// memSessionStore is the in-memory sessionStore: used when no Redis is configured (one instance,
// sessions die with the process) and by the tests. Expired sessions are dropped when touched and
// swept when the map grows past maxMemSessions.
type memSessionStore struct {
	mu       sync.Mutex
	sessions map[string]*memSession
	locks    map[string]time.Time
}

type memSession struct {
	values  map[string]string
	cart    map[string]int
	expires time.Time
}

// maxMemSessions bounds the in-memory store; past it, expired sessions are swept on the next write.
const maxMemSessions = 100_000

var _ sessionStore = (*memSessionStore)(nil)

func newMemSessionStore() *memSessionStore {
	return &memSessionStore{sessions: make(map[string]*memSession), locks: make(map[string]time.Time)}
}

// get returns the live session for sid, creating it when create is set; it slides the TTL. Callers
// hold mu.
func (m *memSessionStore) get(sid string, create bool) *memSession {
	k := sessionKey(sid)
	now := time.Now()
	s := m.sessions[k]
	if s != nil && !now.Before(s.expires) {
		delete(m.sessions, k)
		s = nil
	}
	if s == nil {
		if !create {
			return nil
		}
		if len(m.sessions) >= maxMemSessions {
			for k, x := range m.sessions {
				if !now.Before(x.expires) {
					delete(m.sessions, k)
				}
			}
		}
		s = &memSession{values: map[string]string{}, cart: map[string]int{}}
		m.sessions[k] = s
	}
	s.expires = now.Add(sessionTTL)
	return s
}

func (m *memSessionStore) Cart(_ context.Context, sid string) (cart, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.get(sid, false)
	if s == nil {
		return cart{}, nil
	}
	lines := make(map[string]string, len(s.cart))
	for sku, n := range s.cart {
		lines[sku] = strconv.Itoa(n)
	}
	return cartFromMap(lines), nil
}

func (m *memSessionStore) changeLine(sid, sku string, qty int, add bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.get(sid, true)
	cur := s.cart[sku]
	n := qty
	if add {
		n += cur
	}
	n = min(n, maxQuantity)
	switch {
	case n <= 0:
		delete(s.cart, sku)
	case cur == 0 && len(s.cart) >= maxCartLines:
		return errCartFull
	default:
		s.cart[sku] = n
	}
	return nil
}

func (m *memSessionStore) AddToCart(_ context.Context, sid, sku string, qty int) error {
	return m.changeLine(sid, sku, qty, true)
}

func (m *memSessionStore) SetCartLine(_ context.Context, sid, sku string, qty int) error {
	return m.changeLine(sid, sku, qty, false)
}

func (m *memSessionStore) ClearCart(_ context.Context, sid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.get(sid, false); s != nil {
		clear(s.cart)
	}
	return nil
}

func (m *memSessionStore) Values(_ context.Context, sid string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.get(sid, false)
	if s == nil {
		return map[string]string{}, nil
	}
	return maps.Clone(s.values), nil
}

func (m *memSessionStore) SetValue(_ context.Context, sid, name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.get(sid, value != "")
	switch {
	case s == nil:
	case value == "":
		delete(s.values, name)
	default:
		s.values[name] = value
	}
	return nil
}

func (m *memSessionStore) Rotate(_ context.Context, from, to string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.get(from, false)
	if s == nil {
		return nil
	}
	delete(m.sessions, sessionKey(from))
	m.sessions[sessionKey(to)] = s
	return nil
}

func (m *memSessionStore) Delete(_ context.Context, sid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, sessionKey(sid))
	return nil
}

func (m *memSessionStore) Lock(_ context.Context, sid, name string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := sessionKey(sid) + ":" + name
	if until, ok := m.locks[k]; ok && time.Now().Before(until) {
		return false, nil
	}
	m.locks[k] = time.Now().Add(ttl)
	return true, nil
}

func (m *memSessionStore) Unlock(_ context.Context, sid, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.locks, sessionKey(sid)+":"+name)
	return nil
}
