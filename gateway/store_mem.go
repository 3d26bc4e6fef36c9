package main

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// memStore is an in-memory kvStore for tests and for the contract test. Set Err to make every call
// fail as a dead Redis would.
type memStore struct {
	mu      sync.Mutex
	values  map[string]memValue
	indexes map[string]map[string]bool
	buckets map[string]time.Time // GCRA theoretical arrival time
	err     error
	now     func() time.Time
	// maxPerIndex bounds the live entries of each index (0: unbounded), as redisStore's does.
	maxPerIndex int
}

type memValue struct {
	b       []byte
	expires time.Time
}

var _ kvStore = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{values: map[string]memValue{}, indexes: map[string]map[string]bool{},
		buckets: map[string]time.Time{}, now: time.Now}
}

// SetErr makes later calls fail with err (nil: work again).
func (m *memStore) SetErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// Keys returns the live keys, sorted (for tests).
func (m *memStore) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k, v := range m.values {
		if m.now().Before(v.expires) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (m *memStore) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	v, ok := m.values[key]
	if !ok || !m.now().Before(v.expires) {
		return nil, errCacheMiss
	}
	return slices.Clone(v.b), nil
}

func (m *memStore) Set(_ context.Context, key string, val []byte, ttl time.Duration, indexes ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.values[key] = memValue{b: slices.Clone(val), expires: m.now().Add(ttl)}
	for _, index := range indexes {
		if m.indexes[index] == nil {
			m.indexes[index] = map[string]bool{}
		}
		m.indexes[index][key] = true
		m.bound(index)
	}
	return nil
}

// bound drops index's members that are gone or expired and, over maxPerIndex, deletes the entries
// that expire soonest (ties by key, as a Redis sorted set orders them). Call with m.mu held.
func (m *memStore) bound(index string) {
	if m.maxPerIndex <= 0 {
		return
	}
	var live []string
	for k := range m.indexes[index] {
		if v, ok := m.values[k]; ok && m.now().Before(v.expires) {
			live = append(live, k)
		} else {
			delete(m.indexes[index], k)
		}
	}
	if len(live) <= m.maxPerIndex {
		return
	}
	slices.SortFunc(live, func(a, b string) int {
		if c := m.values[a].expires.Compare(m.values[b].expires); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, k := range live[:len(live)-m.maxPerIndex] {
		delete(m.values, k)
		delete(m.indexes[index], k)
	}
}

func (m *memStore) SetNX(_ context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	if v, ok := m.values[key]; ok && m.now().Before(v.expires) {
		return false, nil
	}
	m.values[key] = memValue{b: slices.Clone(val), expires: m.now().Add(ttl)}
	return true, nil
}

func (m *memStore) Purge(_ context.Context, indexes ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	for _, index := range indexes {
		for k := range m.indexes[index] {
			delete(m.values, k)
		}
		delete(m.indexes, index)
	}
	return nil
}

func (m *memStore) Take(_ context.Context, key string, spec rateSpec, want int, now time.Time) (rateResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return rateResult{}, m.err
	}
	interval := spec.interval()
	tolerance := interval * time.Duration(spec.Burst)
	tat := m.buckets[key]
	if tat.Before(now) {
		tat = now
	}
	avail := int((tolerance - tat.Sub(now)) / interval)
	if avail < 1 {
		return rateResult{RetryAfter: tat.Add(interval).Sub(now) - tolerance, Reset: tat.Sub(now)}, nil
	}
	grant := min(max(want, 1), avail)
	newTAT := tat.Add(interval * time.Duration(grant))
	m.buckets[key] = newTAT
	return rateResult{Allowed: true, Granted: grant, Remaining: avail - grant, Reset: newTAT.Sub(now)}, nil
}

func (m *memStore) Ping(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// memBus is an in-process purgeBus: every Run subscriber gets every Publish.
type memBus struct {
	mu   sync.Mutex
	subs []chan string
}

var _ purgeBus = (*memBus)(nil)

func (b *memBus) Publish(_ context.Context, service string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		s <- service
	}
	return nil
}

// subscribe registers fn synchronously (so a test knows it is in place) and delivers in the
// background until ctx ends.
func (b *memBus) subscribe(ctx context.Context, fn func(string)) {
	ch := make(chan string, 64)
	b.mu.Lock()
	b.subs = append(b.subs, ch)
	b.mu.Unlock()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-ch:
				fn(s)
			}
		}
	}()
}

func (b *memBus) Run(ctx context.Context, fn func(string)) {
	b.subscribe(ctx, fn)
	<-ctx.Done()
}
