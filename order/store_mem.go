package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// memOrderStore is the in-memory orderStore: a map under one RWMutex, the same conditional checks as
// the Mongo filters, copies in and out.
type memOrderStore struct {
	mu     sync.RWMutex
	orders map[string]Order
	byKey  map[[2]string]string // (user ID, idempotency key) → order ID: the unique index
	// unsent holds the IDs of the orders with OutboxPending set, as Mongo's index on outbox_pending:
	// the relay asks for them after every write, and scanning every order ever placed made each
	// pass cost O(orders) under the lock the checkout writes take.
	unsent map[string]struct{}
	// pending holds the IDs of the orders in status pending, for StalePending: the reconciler asks
	// every few seconds, and only the orders still waiting for inventory can be stale.
	pending map[string]struct{}
}

var _ orderStore = (*memOrderStore)(nil)

func newMemOrderStore() *memOrderStore {
	return &memOrderStore{orders: make(map[string]Order), byKey: make(map[[2]string]string), unsent: make(map[string]struct{}), pending: make(map[string]struct{})}
}

// put stores o under s.mu (held for writing) and keeps the unsent index in step.
func (s *memOrderStore) put(o Order) {
	s.orders[o.ID] = o
	if o.OutboxPending {
		s.unsent[o.ID] = struct{}{}
	} else {
		delete(s.unsent, o.ID)
	}
	if o.Status == StatusPending {
		s.pending[o.ID] = struct{}{}
	} else {
		delete(s.pending, o.ID)
	}
}

func (s *memOrderStore) Create(_ context.Context, o Order) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{o.UserID, o.IdempotencyKey}
	if _, ok := s.byKey[k]; ok {
		return fmt.Errorf("orders.create: idempotency key: %w", shared.ErrConflict)
	}
	if _, ok := s.orders[o.ID]; ok {
		return fmt.Errorf("orders.create: id: %w", shared.ErrConflict)
	}
	s.put(o.clone())
	s.byKey[k] = o.ID
	return nil
}

func (s *memOrderStore) Get(_ context.Context, id string) (Order, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, fmt.Errorf("orders.get: %w", shared.ErrNotFound)
	}
	return o.clone(), nil
}

func (s *memOrderStore) GetByKey(_ context.Context, userID, key string) (Order, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byKey[[2]string{userID, key}]
	if !ok {
		return Order{}, fmt.Errorf("orders.get_by_key: %w", shared.ErrNotFound)
	}
	return s.orders[id].clone(), nil
}

func (s *memOrderStore) List(_ context.Context, q listQuery) ([]Order, int64, error) {
	// Sort small keys, not whole orders: copying 10,000 orders to sort them cost more than the
	// admin list's whole time budget.
	type key struct {
		at time.Time
		id string
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]key, 0, len(s.orders))
	for id, o := range s.orders {
		if q.match(o) {
			keys = append(keys, key{o.CreatedAt, id})
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	out := []Order{}
	for i := (q.Page - 1) * q.Limit; i < len(keys) && len(out) < q.Limit; i++ {
		o := s.orders[keys[i].id].clone()
		o.Events, o.AppliedEvents = nil, nil // as the Mongo projection
		out = append(out, o)
	}
	return out, int64(len(keys)), nil
}

func (s *memOrderStore) Transition(_ context.Context, id string, t transition) (Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, fmt.Errorf("orders.transition: %w", shared.ErrNotFound)
	}
	if o.Status != t.From || (t.AppliedEventID != "" && o.applied(t.AppliedEventID)) {
		return Order{}, fmt.Errorf("orders.transition %s: %w", id, errStale)
	}
	o = o.clone()
	o.Status, o.StatusReason, o.UpdatedAt, o.OutboxPending = t.To, t.Reason, t.At, true
	o.Events = append(o.Events, t.Event)
	o.EventSeq++
	if t.AppliedEventID != "" {
		o.AppliedEvents = append(o.AppliedEvents, t.AppliedEventID)
	}
	if t.Payment != nil {
		p := *t.Payment
		o.Payment = &p
	}
	if t.ReservationExpiresAt != nil {
		at := *t.ReservationExpiresAt
		o.ReservationExpiresAt = &at
	}
	s.put(o)
	return o.clone(), nil
}

func (s *memOrderStore) Record(_ context.Context, id, eventID string, ev *storedEvent, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return fmt.Errorf("orders.record: %w", shared.ErrNotFound)
	}
	if o.applied(eventID) {
		return fmt.Errorf("orders.record %s: %w", id, errStale)
	}
	o = o.clone()
	o.AppliedEvents = append(o.AppliedEvents, eventID)
	o.UpdatedAt = at
	if ev != nil {
		o.Events = append(o.Events, *ev)
		o.EventSeq++
		o.OutboxPending = true
	}
	s.put(o)
	return nil
}

func (s *memOrderStore) SetRefund(_ context.Context, id, refundID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok || o.Payment == nil {
		return fmt.Errorf("orders.set_refund %s: %w", id, shared.ErrNotFound)
	}
	o = o.clone()
	o.Payment.RefundID, o.UpdatedAt = refundID, at
	s.put(o)
	return nil
}

func (s *memOrderStore) Unsent(_ context.Context, limit int) ([]Order, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Order, 0, len(s.unsent))
	for id := range s.unsent {
		out = append(out, s.orders[id])
	}
	return oldestFirst(out, limit), nil
}

// oldestFirst sorts the stored orders out (held under s.mu) by their last change, oldest first, and
// returns copies of the first limit: only those are cloned.
func oldestFirst(out []Order, limit int) []Order {
	slices.SortFunc(out, func(a, b Order) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i] = out[i].clone()
	}
	return out
}

func (s *memOrderStore) MarkSent(_ context.Context, id string, upTo int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return nil
	}
	if o.SentSeq < upTo {
		o.SentSeq = upTo
	}
	if o.EventSeq == upTo {
		o.OutboxPending = false
	}
	s.put(o)
	return nil
}

func (s *memOrderStore) StalePending(_ context.Context, before time.Time, limit int) ([]Order, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Order
	for id := range s.pending {
		if o := s.orders[id]; !o.OutboxPending && o.UpdatedAt.Before(before) {
			out = append(out, o)
		}
	}
	return oldestFirst(out, limit), nil
}
