package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/goshop/platform/shared"
)

// memProfileStore is the in-memory profileStore used when MONGO_URI is unset and in tests. It holds
// copies and hands out copies; Update runs fn under the write lock, which gives the same atomicity as
// the Mongo compare-and-swap.
type memProfileStore struct {
	mu       sync.RWMutex
	profiles map[string]Profile
}

var _ profileStore = (*memProfileStore)(nil)

func newMemProfileStore() *memProfileStore {
	return &memProfileStore{profiles: make(map[string]Profile)}
}

func (s *memProfileStore) Get(_ context.Context, id string) (Profile, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.profiles[id]
	if !ok {
		return Profile{}, fmt.Errorf("profiles.get: %w", shared.ErrNotFound)
	}
	return p.clone(), nil
}

func (s *memProfileStore) Create(_ context.Context, p Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.profiles[p.ID]; ok {
		return fmt.Errorf("profiles.create: %w", shared.ErrConflict)
	}
	p = p.clone()
	p.Version = 0
	p.HasPending = len(p.Outbox) > 0
	s.profiles[p.ID] = p
	return nil
}

func (s *memProfileStore) Update(_ context.Context, id string, fn func(*Profile) error) (Profile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.profiles[id]
	if !ok {
		return Profile{}, fmt.Errorf("profiles.update: %w", shared.ErrNotFound)
	}
	next, err := cur.updated(fn)
	if err != nil {
		return Profile{}, err
	}
	s.profiles[id] = next.clone()
	return next, nil
}

func (s *memProfileStore) List(_ context.Context, f listFilter) ([]Profile, int64, error) {
	s.mu.RLock()
	var match []Profile
	q := strings.ToLower(f.Q)
	for _, p := range s.profiles {
		if f.Status != "" && p.Status != f.Status {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(p.Email), q) && !strings.Contains(strings.ToLower(p.Name), q) {
			continue
		}
		match = append(match, p.clone())
	}
	s.mu.RUnlock()
	slices.SortFunc(match, func(a, b Profile) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	total := int64(len(match))
	start := min((f.Page-1)*f.Limit, len(match))
	end := min(start+f.Limit, len(match))
	return append([]Profile{}, match[start:end]...), total, nil
}

func (s *memProfileStore) Pending(_ context.Context, limit int) ([]Profile, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Profile
	for _, p := range s.profiles {
		if len(out) == limit {
			break
		}
		if p.HasPending {
			out = append(out, p.clone())
		}
	}
	return out, nil
}
