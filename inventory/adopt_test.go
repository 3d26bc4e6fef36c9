package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// legacyStore is the memory store with some items marked as written before the inactive flag, as a
// Mongo store upgraded in place has them (the store contract's testUnflaggedItems holds the Mongo
// store to the same behaviour).
type legacyStore struct {
	*memStore
	mu        sync.Mutex
	unflagged map[string]bool
}

func (s *legacyStore) UnflaggedItems(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.unflagged)), nil
}

func (s *legacyStore) AdoptInactive(ctx context.Context, sku string, inactive bool, version int64, at time.Time) (StockItem, bool, error) {
	s.mu.Lock()
	legacy := s.unflagged[sku]
	delete(s.unflagged, sku)
	s.mu.Unlock()
	if !legacy {
		it, err := s.Get(ctx, sku)
		return it, false, err
	}
	it, _, err := s.memStore.SetInactive(ctx, sku, inactive, version, at)
	return it, err == nil, err
}

func (s *legacyStore) SetInactive(ctx context.Context, sku string, inactive bool, version int64, at time.Time) (StockItem, bool, error) {
	s.mu.Lock()
	legacy := s.unflagged[sku]
	delete(s.unflagged, sku)
	s.mu.Unlock()
	it, changed, err := s.memStore.SetInactive(ctx, sku, inactive, version, at)
	return it, changed || legacy && err == nil, err
}

// TestAdoptActiveFlags: after an upgrade, items stored without the flag take their product's last
// state from product.events; an inactive one is hidden and announced (inventory.updated), one the
// consumer flagged meanwhile keeps the consumer's, one no event names stays active, and poison in
// the topic is skipped. With nothing unflagged the topic is not read.
func TestAdoptActiveFlags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &legacyStore{memStore: newMemStore(), unflagged: map[string]bool{}}
	for _, sku := range []string{"DRAFT-1", "LIVE-1", "RACED-1", "NOEVENT-1"} {
		mustCreate(t, s, sku, 4)
		s.unflagged[sku] = true
	}
	mustCreate(t, s, "NEW-1", 4) // stored with the flag: not the step's business
	inv := newTestInventory(s)
	bad := productEventActive(t, "product.updated", "LIVE-1", false, true)
	bad.Data = []byte(`{"sku":`)
	events := []shared.Event{
		productEventActive(t, "product.created", "DRAFT-1", true, true),
		productEventActive(t, "product.updated", "DRAFT-1", false, true), // last: inactive
		productEventActive(t, "product.created", "LIVE-1", false, true),
		productEventActive(t, "product.updated", "LIVE-1", true, true), // last: active
		bad,
		productEventActive(t, "product.created", "RACED-1", false, true), // older than the consumer's
		productEventActive(t, "product.created", "NEW-1", false, true),
		productEventActive(t, "product.created", "GONE-1", false, true), // no stock item
	}
	reads := 0
	read := func(ctx context.Context, h shared.EventHandler) error {
		reads++
		// Meanwhile the consumer applies RACED-1's newer product.updated (active).
		if err := inv.SetInactive(ctx, "RACED-1", false, 0); err != nil {
			return err
		}
		for _, e := range events {
			if err := h(ctx, e); err != nil && !errors.Is(err, shared.ErrPoison) {
				return err
			}
		}
		return nil
	}
	before := len(outboxOf(t, s, evUpdated))
	if err := inv.adoptActiveFlags(ctx, read); err != nil {
		t.Fatal(err)
	}
	for sku, want := range map[string]bool{"DRAFT-1": true, "LIVE-1": false, "RACED-1": false, "NOEVENT-1": false, "NEW-1": false} {
		if it, err := s.Get(ctx, sku); err != nil || it.Inactive != want {
			t.Errorf("%s: inactive %v, %v; want %v", sku, it.Inactive, err, want)
		}
	}
	if n, _ := s.UnflaggedItems(ctx); n != 1 || !s.unflagged["NOEVENT-1"] {
		t.Errorf("left unflagged: %v, want NOEVENT-1 alone", s.unflagged)
	}
	var announced []string
	for _, e := range outboxOf(t, s, evUpdated)[before:] {
		announced = append(announced, e.AggregateID)
	}
	// RACED-1's is the consumer's own announcement (its flag was written); DRAFT-1's is the step's.
	if len(announced) != 2 || announced[0] != "RACED-1" || announced[1] != "DRAFT-1" {
		t.Errorf("inventory.updated for %v, want RACED-1 (consumer) then DRAFT-1 (adopted, hidden)", announced)
	}

	// Nothing unflagged: the topic is not read.
	clean := newTestInventory(newMemStore())
	clean.logger = slog.New(slog.DiscardHandler)
	if err := clean.adoptActiveFlags(ctx, func(context.Context, shared.EventHandler) error {
		t.Error("the topic was read with nothing to adopt")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if reads != 1 {
		t.Errorf("topic read %d times, want 1", reads)
	}
}
