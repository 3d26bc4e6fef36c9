package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// memSessionStore is the in-memory sessionStore for tests and for running without Redis. Expiry is
// checked on read against time.Now, so synctest's fake clock drives it.
type memSessionStore struct {
	mu       sync.Mutex
	sessions map[string]memSession // by token hash
}

type memSession struct {
	s        session
	idleEnds time.Time
}

var _ sessionStore = (*memSessionStore)(nil)

func newMemSessionStore() *memSessionStore {
	return &memSessionStore{sessions: map[string]memSession{}}
}

func (m *memSessionStore) Create(_ context.Context, s session, idle time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored := s
	stored.ID = ""
	m.sessions[tokenHash(s.ID)] = memSession{s: stored, idleEnds: time.Now().Add(idle)}
	return nil
}

func (m *memSessionStore) Touch(_ context.Context, id string, idle time.Duration) (session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := tokenHash(id)
	ms, ok := m.sessions[h]
	now := time.Now()
	if ok && (!now.Before(ms.idleEnds) || !now.Before(ms.s.ExpiresAt)) {
		delete(m.sessions, h)
		ok = false
	}
	if !ok {
		return session{}, fmt.Errorf("sessions.touch: %w", shared.ErrNotFound)
	}
	ms.idleEnds = now.Add(idle)
	m.sessions[h] = ms
	s := ms.s
	s.ID = id
	return s, nil
}

func (m *memSessionStore) Delete(_ context.Context, sid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, sid)
	return nil
}

func (m *memSessionStore) Alive(_ context.Context, sid string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms, ok := m.sessions[sid]
	now := time.Now()
	return ok && now.Before(ms.idleEnds) && now.Before(ms.s.ExpiresAt), nil
}

func (m *memSessionStore) DeleteUser(_ context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for h, ms := range m.sessions {
		if ms.s.UserID == userID {
			delete(m.sessions, h)
			n++
		}
	}
	return n, nil
}
