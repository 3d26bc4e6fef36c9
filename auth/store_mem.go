package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// memAccountStore is the in-memory accountStore: used when MONGO_URI is unset and in tests.
type memAccountStore struct {
	mu      sync.RWMutex
	byID    map[string]account
	byEmail map[string]string // email → ID, the unique index
}

var _ accountStore = (*memAccountStore)(nil)

func newMemAccountStore() *memAccountStore {
	return &memAccountStore{byID: map[string]account{}, byEmail: map[string]string{}}
}

func clone(a account) account {
	a.PasswordHash = append([]byte(nil), a.PasswordHash...)
	return a
}

func (s *memAccountStore) Create(_ context.Context, a account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byEmail[a.Email]; ok {
		return fmt.Errorf("accounts.create: %w: email taken", shared.ErrConflict)
	}
	if _, ok := s.byID[a.ID]; ok {
		return fmt.Errorf("accounts.create: %w: id taken", shared.ErrConflict)
	}
	s.byID[a.ID] = clone(a)
	s.byEmail[a.Email] = a.ID
	return nil
}

func (s *memAccountStore) ByEmail(_ context.Context, email string) (account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byEmail[email]
	if !ok {
		return account{}, fmt.Errorf("accounts.by_email: %w", shared.ErrNotFound)
	}
	return clone(s.byID[id]), nil
}

func (s *memAccountStore) ByID(_ context.Context, id string) (account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.byID[id]
	if !ok {
		return account{}, fmt.Errorf("accounts.by_id: %w", shared.ErrNotFound)
	}
	return clone(a), nil
}

func (s *memAccountStore) SetStatus(_ context.Context, id, status string, at time.Time) (bool, error) {
	return s.setNewer("accounts.set_status", id, at, func(a *account) *time.Time { a.Status = status; return &a.StatusAt })
}

func (s *memAccountStore) SetName(_ context.Context, id, name string, at time.Time) (bool, error) {
	return s.setNewer("accounts.set_name", id, at, func(a *account) *time.Time { a.Name = name; return &a.NameAt })
}

// setNewer is mongoAccountStore.setNewer: set applies the change to a copy of the account and returns
// the field holding the time of the change applied last, which must be older than at to keep it.
func (s *memAccountStore) setNewer(op, id string, at time.Time, set func(*account) *time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return false, fmt.Errorf("%s: %w", op, shared.ErrNotFound)
	}
	last := set(&a)
	if !last.Before(at) {
		return false, nil
	}
	*last, a.UpdatedAt = at, time.Now().UTC()
	s.byID[id] = a
	return true, nil
}

func (s *memAccountStore) SetPasswordHash(_ context.Context, id string, hash []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("accounts.set_password_hash: %w", shared.ErrNotFound)
	}
	a.PasswordHash, a.UpdatedAt = append([]byte(nil), hash...), time.Now().UTC()
	s.byID[id] = a
	return nil
}

func (s *memAccountStore) PendingEvents(_ context.Context, limit int) ([]account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []account
	for _, a := range s.byID {
		if a.EventPending || a.EmailEventPending {
			out = append(out, clone(a))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memAccountStore) MarkPublished(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("accounts.mark_published: %w", shared.ErrNotFound)
	}
	a.EventPending = false
	s.byID[id] = a
	return nil
}

func (s *memAccountStore) VerifyEmail(_ context.Context, id, email string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("accounts.verify_email: %w", shared.ErrNotFound)
	}
	if owner, taken := s.byEmail[email]; taken && owner != id {
		return fmt.Errorf("accounts.verify_email: %w: email taken", shared.ErrConflict)
	}
	delete(s.byEmail, a.Email)
	s.byEmail[email] = id
	a.Email, a.EmailVerified, a.EmailVerifiedAt, a.EmailEventPending, a.UpdatedAt = email, true, at, true, time.Now().UTC()
	s.byID[id] = a
	return nil
}

func (s *memAccountStore) MarkEmailPublished(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if ok && a.EmailVerifiedAt.Equal(at) {
		a.EmailEventPending = false
		s.byID[id] = a
	}
	return nil
}
