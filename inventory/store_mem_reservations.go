package main

// The memory store's reservations: the counterpart of store_reservations.go.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/goshop/platform/shared"
)

func cloneReservation(r Reservation) Reservation {
	if r.SettledAt != nil {
		at := *r.SettledAt
		r.SettledAt = &at
	}
	r.Items = slices.Clone(r.Items)
	r.Shortages = slices.Clone(r.Shortages)
	return r
}

func (s *memStore) CreateReservation(_ context.Context, r Reservation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.reservations[r.OrderID]; ok {
		return fmt.Errorf("reservations.create: %w", shared.ErrConflict)
	}
	if settled(r.State) && r.SettledAt == nil {
		r.SettledAt = &r.UpdatedAt
	}
	s.putReservation(cloneReservation(r))
	return nil
}

// putReservation stores r under s.mu (held for writing) and keeps the sweepable index in step.
func (s *memStore) putReservation(r Reservation) {
	s.reservations[r.OrderID] = r
	if r.State == stateHeld || r.State == stateReleasing {
		s.sweepable[r.OrderID] = struct{}{}
	} else {
		delete(s.sweepable, r.OrderID)
	}
	if r.State == stateReleased && r.Committed && !r.RefundsCleared {
		s.refunded[r.OrderID] = struct{}{}
	} else {
		delete(s.refunded, r.OrderID)
	}
}

func (s *memStore) GetReservation(_ context.Context, orderID string) (Reservation, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.reservations[orderID]
	if !ok {
		return Reservation{}, fmt.Errorf("reservations.get: %w", shared.ErrNotFound)
	}
	return cloneReservation(r), nil
}

func (s *memStore) TransitionReservation(_ context.Context, orderID string, from []resState, u reservationUpdate) (Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reservations[orderID]
	if !ok {
		return Reservation{}, fmt.Errorf("reservations.transition: %w", shared.ErrNotFound)
	}
	if !slices.Contains(from, r.State) {
		return Reservation{}, fmt.Errorf("reservations.transition to %s: %w", u.State, shared.ErrConflict)
	}
	r.State, r.UpdatedAt = u.State, u.At
	r.SettledAt = nil // back from a settled state: a retake (see the Mongo store)
	if settled(u.State) {
		at := u.At
		r.SettledAt = &at
	}
	if u.UserID != "" {
		r.UserID = u.UserID
	}
	if u.Items != nil {
		r.Items = slices.Clone(u.Items)
	}
	if u.Shortages != nil {
		r.Shortages = slices.Clone(u.Shortages)
	}
	if u.Reason != "" {
		r.Reason = u.Reason
	}
	if !u.ExpiresAt.IsZero() {
		r.ExpiresAt = u.ExpiresAt
	}
	r.Committed = r.Committed || u.Committed
	r.CommitRequested = r.CommitRequested || u.CommitRequested
	s.putReservation(r)
	return cloneReservation(r), nil
}

func (s *memStore) DueReservations(_ context.Context, now, stale time.Time, limit int) ([]Reservation, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Reservation
	for id := range s.sweepable {
		if r := s.reservations[id]; r.State == stateHeld && !r.ExpiresAt.After(now) || r.State == stateReleasing && r.UpdatedAt.Before(stale) {
			out = append(out, cloneReservation(r))
		}
	}
	slices.SortFunc(out, func(a, b Reservation) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) RefundsToClear(_ context.Context, before time.Time, limit int) ([]Reservation, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Reservation
	for id := range s.refunded {
		if r := s.reservations[id]; r.SettledAt != nil && r.SettledAt.Before(before) {
			out = append(out, cloneReservation(r))
		}
	}
	slices.SortFunc(out, func(a, b Reservation) int { return a.SettledAt.Compare(*b.SettledAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) ClearRefunds(_ context.Context, orderID string, skus []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sku := range skus {
		if it, ok := s.stock[sku]; ok {
			delete(it.refunds, orderID)
		}
	}
	if r, ok := s.reservations[orderID]; ok {
		r.RefundsCleared = true
		s.putReservation(r)
	}
	return nil
}
