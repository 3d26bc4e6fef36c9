package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// memStore is the in-memory stockStore: maps under one RWMutex, every check-and-change done while
// holding it, so it keeps the same invariants as the Mongo store. It returns copies. Nothing persists.
type memStore struct {
	mu           sync.RWMutex
	stock        map[string]*memItem
	reservations map[string]Reservation
	// sweepable holds the order IDs of the reservations in state held or releasing, the only ones
	// DueReservations can return: the sweeper asks every few seconds, and settled reservations
	// are kept forever.
	sweepable map[string]struct{}
	// refunded holds the order IDs of refunds whose markers are still on their items: what
	// RefundsToClear can return.
	refunded    map[string]struct{}
	outbox      map[string]shared.OutboxEntry
	outboxOrder []string // event IDs in insertion order; deleted IDs are skipped lazily
}

type memItem struct {
	item      StockItem
	holds     map[string]int64
	refunds   map[string]int64
	movements []Movement
}

var _ stockStore = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{stock: make(map[string]*memItem), reservations: make(map[string]Reservation), sweepable: make(map[string]struct{}),
		refunded: make(map[string]struct{}), outbox: make(map[string]shared.OutboxEntry)}
}

func (it *memItem) snapshot() StockItem {
	out := it.item
	out.Available = out.OnHand - out.Reserved
	return out
}

func (s *memStore) CreateItem(_ context.Context, item StockItem, m Movement) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stock[item.SKU]; ok {
		return false, nil
	}
	item.Reserved, item.Sold, item.Deleted = 0, 0, false
	s.stock[item.SKU] = &memItem{item: item, holds: map[string]int64{}, refunds: map[string]int64{}, movements: []Movement{m}}
	return true, nil
}

func (s *memStore) SetInactive(_ context.Context, sku string, inactive bool, version int64, at time.Time) (StockItem, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.stock[sku]
	if !ok {
		return StockItem{}, false, fmt.Errorf("stock.inactive: %w", shared.ErrNotFound)
	}
	if version > 0 {
		if version <= it.item.ProductVersion {
			return it.snapshot(), false, nil
		}
		it.item.ProductVersion = version
	}
	if it.item.Inactive == inactive {
		return it.snapshot(), false, nil
	}
	it.item.Inactive, it.item.UpdatedAt = inactive, at
	return it.snapshot(), true, nil
}

// UnflaggedItems is 0: the memory store starts empty, so every item has the flag.
func (s *memStore) UnflaggedItems(context.Context) (int64, error) { return 0, nil }

func (s *memStore) AdoptInactive(ctx context.Context, sku string, _ bool, _ int64, _ time.Time) (StockItem, bool, error) {
	it, err := s.Get(ctx, sku)
	return it, false, err
}

func (s *memStore) MarkDeleted(_ context.Context, sku string, at time.Time) (StockItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.stock[sku]
	if !ok {
		return StockItem{}, fmt.Errorf("stock.delete: %w", shared.ErrNotFound)
	}
	it.item.Deleted, it.item.UpdatedAt = true, at
	return it.snapshot(), nil
}

func (s *memStore) Get(_ context.Context, sku string) (StockItem, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	it, ok := s.stock[sku]
	if !ok {
		return StockItem{}, fmt.Errorf("stock.get: %w", shared.ErrNotFound)
	}
	return it.snapshot(), nil
}

func (s *memStore) List(_ context.Context, q stockQuery) ([]StockItem, int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	skus := make([]string, 0, len(s.stock))
	for sku, it := range s.stock {
		if q.match(it.snapshot()) {
			skus = append(skus, sku)
		}
	}
	sort.Strings(skus)
	out := []StockItem{}
	for i := (q.Page - 1) * q.Limit; i < len(skus) && len(out) < q.Limit; i++ {
		out = append(out, s.stock[skus[i]].snapshot())
	}
	return out, int64(len(skus)), nil
}

func (s *memStore) Batch(_ context.Context, skus []string) ([]StockItem, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []StockItem{}
	for _, sku := range skus {
		if it, ok := s.stock[sku]; ok {
			out = append(out, it.snapshot())
		}
	}
	slices.SortFunc(out, func(a, b StockItem) int { return strings.Compare(a.SKU, b.SKU) })
	return slices.CompactFunc(out, func(a, b StockItem) bool { return a.SKU == b.SKU }), nil
}

func (s *memStore) Adjust(_ context.Context, sku string, m Movement) (StockItem, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Key != "" {
		for other, it := range s.stock {
			if other != sku && slices.ContainsFunc(it.movements, func(prev Movement) bool { return prev.Key == m.Key }) {
				return StockItem{}, false, fmt.Errorf("stock.adjust: key used on another item: %w", errKeyReused)
			}
		}
	}
	it, ok := s.stock[sku]
	if !ok || it.item.Deleted {
		return StockItem{}, false, fmt.Errorf("stock.adjust: %w", shared.ErrNotFound)
	}
	next := it.item.OnHand + m.Delta
	if next < it.item.Reserved || next > maxOnHand || m.Key != "" && slices.ContainsFunc(it.movements, func(prev Movement) bool { return prev.Key == m.Key }) {
		return keptAdjustment(it.snapshot(), it.movements, m)
	}
	it.item.OnHand, it.item.UpdatedAt = next, m.At
	it.movements = append(it.movements, m)
	if len(it.movements) > maxMovements {
		it.movements = slices.Clone(it.movements[len(it.movements)-maxMovements:])
	}
	return it.snapshot(), true, nil
}

func (s *memStore) Movements(_ context.Context, sku string) ([]Movement, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	it, ok := s.stock[sku]
	if !ok {
		return nil, fmt.Errorf("stock.movements: %w", shared.ErrNotFound)
	}
	return slices.Clone(it.movements), nil
}

func (s *memStore) Hold(_ context.Context, sku, orderID string, qty int64, at time.Time) (StockItem, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.stock[sku]
	if !ok {
		return StockItem{}, false, fmt.Errorf("stock.hold: %w", shared.ErrNotFound)
	}
	if _, ok := it.holds[orderID]; ok {
		return it.snapshot(), true, nil
	}
	if it.item.Deleted || it.item.OnHand-it.item.Reserved < qty {
		return it.snapshot(), false, nil
	}
	it.item.Reserved += qty
	it.item.UpdatedAt = at
	it.holds[orderID] = qty
	return it.snapshot(), true, nil
}

func (s *memStore) Unhold(_ context.Context, sku, orderID string, at time.Time) (StockItem, bool, error) {
	return s.takeHold("stock.unhold", sku, orderID, at, false)
}

func (s *memStore) CommitHold(_ context.Context, sku, orderID string, at time.Time) (StockItem, bool, error) {
	return s.takeHold("stock.commit", sku, orderID, at, true)
}

func (s *memStore) takeHold(op, sku, orderID string, at time.Time, commit bool) (StockItem, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.stock[sku]
	if !ok {
		return StockItem{}, false, fmt.Errorf("%s: %w", op, shared.ErrNotFound)
	}
	qty, ok := it.holds[orderID]
	if !ok {
		return it.snapshot(), false, nil
	}
	delete(it.holds, orderID)
	it.item.Reserved -= qty
	if commit {
		it.item.OnHand -= qty
		it.item.Sold += qty
	}
	it.item.UpdatedAt = at
	return it.snapshot(), true, nil
}

func (s *memStore) Restock(_ context.Context, sku, orderID string, qty int64, at time.Time) (StockItem, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.stock[sku]
	if !ok {
		return StockItem{}, false, fmt.Errorf("stock.restock: %w", shared.ErrNotFound)
	}
	if _, ok := it.refunds[orderID]; ok {
		return it.snapshot(), false, nil
	}
	it.refunds[orderID] = qty
	it.item.OnHand += qty
	it.item.Sold -= qty
	it.item.UpdatedAt = at
	return it.snapshot(), true, nil
}

func (s *memStore) AddOutbox(_ context.Context, topic string, events ...shared.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		if _, ok := s.outbox[e.ID]; ok {
			continue
		}
		s.outbox[e.ID] = shared.OutboxEntry{Topic: topic, Event: e}
		s.outboxOrder = append(s.outboxOrder, e.ID)
	}
	return nil
}

func (s *memStore) PendingOutbox(_ context.Context, limit int) ([]shared.OutboxEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Drop the IDs of deleted events from the front, so the order slice does not grow forever.
	i := 0
	for i < len(s.outboxOrder) {
		if _, ok := s.outbox[s.outboxOrder[i]]; ok {
			break
		}
		i++
	}
	s.outboxOrder = s.outboxOrder[i:]
	var out []shared.OutboxEntry
	for _, id := range s.outboxOrder {
		if len(out) == limit {
			break
		}
		if e, ok := s.outbox[id]; ok {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memStore) MarkPublished(_ context.Context, entries []shared.OutboxEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		delete(s.outbox, e.Event.ID)
	}
	return nil
}
