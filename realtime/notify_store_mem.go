package main

import (
	"context"
	"slices"
	"sync"
	"time"
)

// memNotifications is the in-memory notificationStore for tests: same rules as Redis (cap, expiry by
// age, idempotency keys with a TTL, read sets), with now as its clock for key expiry.
type memNotifications struct {
	now func() time.Time

	mu    sync.Mutex
	lists map[string][]notification // by listKey, newest first
	read  map[string]map[string]bool
	keys  map[string]time.Time // idempotency key -> expiry
}

var _ notificationStore = (*memNotifications)(nil)

func newMemNotifications(now func() time.Time) *memNotifications {
	if now == nil {
		now = time.Now
	}
	return &memNotifications{now: now, lists: make(map[string][]notification), read: make(map[string]map[string]bool),
		keys: make(map[string]time.Time)}
}

func (s *memNotifications) Add(_ context.Context, adds []notifyAdd, dedupTTL time.Duration) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	added := make([]bool, len(adds))
	for i, a := range adds {
		if exp, ok := s.keys[a.key]; ok && now.Before(exp) {
			continue
		}
		s.keys[a.key] = now.Add(dedupTTL)
		a.n.Read = false
		k := listKey(a.list)
		l := append([]notification{a.n}, s.lists[k]...)
		if len(l) > notifyKeep {
			l = l[:notifyKeep]
		}
		s.lists[k] = l
		added[i] = true
	}
	return added, nil
}

// snapshot copies lists and reader's read set. Call with s.mu held.
func (s *memNotifications) snapshot(reader string, lists []notifyList) ([][]notification, map[string]bool) {
	raw := make([][]notification, len(lists))
	for i, l := range lists {
		raw[i] = slices.Clone(s.lists[listKey(l)])
	}
	read := make(map[string]bool, len(s.read[reader]))
	for id := range s.read[reader] {
		read[id] = true
	}
	return raw, read
}

func (s *memNotifications) View(_ context.Context, reader string, lists []notifyList, now time.Time) ([]notification, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, read := s.snapshot(reader, lists)
	items, unread := mergeView(raw, read, now)
	return items, unread, nil
}

func (s *memNotifications) MarkRead(_ context.Context, reader string, lists []notifyList, ids []string, all bool, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, read := s.snapshot(reader, lists)
	items, _ := mergeView(raw, read, now)
	add, stale := markPlan(items, read, ids, all)
	set := s.read[reader]
	if set == nil {
		set = make(map[string]bool)
		s.read[reader] = set
	}
	for _, id := range add {
		set[id.(string)] = true
	}
	for _, id := range stale {
		delete(set, id.(string))
	}
	return len(add), nil
}

// readSetSize is how many IDs reader's read set holds (tests check that it stays bounded).
func (s *memNotifications) readSetSize(reader string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.read[reader])
}
