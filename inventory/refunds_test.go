package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

// testRefundMarkers is the store contract of RefundsToClear and ClearRefunds: only refunds
// (released after a commit) settled before the cut-off, oldest first, until cleared; clearing takes
// the order's marker off each named item, so the store no longer refuses a restock of that order
// (the reservation's state does, TestRefundMarkersCleared).
func testRefundMarkers(t *testing.T, s stockStore) {
	ctx := context.Background()
	mustCreate(t, s, "S", 10)
	mustCreate(t, s, "T", 10)
	for _, r := range []Reservation{
		{OrderID: "old", State: stateReleased, Committed: true, Items: []Line{{"S", 1}, {"T", 2}}, UpdatedAt: t0},
		{OrderID: "newer", State: stateReleased, Committed: true, Items: []Line{{"S", 1}}, UpdatedAt: t0.Add(2 * time.Hour)},
		{OrderID: "mid", State: stateReleased, Committed: true, Items: []Line{{"T", 1}}, UpdatedAt: t0.Add(time.Hour)},
		{OrderID: "unpaid", State: stateReleased, Items: []Line{{"S", 1}}, UpdatedAt: t0},                 // a hold given back: no marker
		{OrderID: "paid", State: stateCommitted, Committed: true, Items: []Line{{"S", 1}}, UpdatedAt: t0}, // not refunded
	} {
		r.CreatedAt = r.UpdatedAt
		if err := s.CreateReservation(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(before time.Time, limit int) []string {
		t.Helper()
		due, err := s.RefundsToClear(ctx, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range due {
			out = append(out, r.OrderID)
		}
		return out
	}
	if got := ids(t0.Add(90*time.Minute), 10); !slices.Equal(got, []string{"old", "mid"}) {
		t.Errorf("RefundsToClear(t0+90m) = %v, want [old mid] (oldest first, refunds only)", got)
	}
	if got := ids(t0.Add(3*time.Hour), 1); !slices.Equal(got, []string{"old"}) {
		t.Errorf("RefundsToClear(t0+3h, 1) = %v, want [old]", got)
	}

	for _, sku := range []string{"S", "T"} {
		if _, changed, err := s.Restock(ctx, sku, "old", 1, t0); err != nil || !changed {
			t.Fatalf("Restock(%s, old) = %v, %v", sku, changed, err)
		}
	}
	if err := s.ClearRefunds(ctx, "old", []string{"S", "T", "NOPE"}); err != nil {
		t.Fatalf("ClearRefunds(old): %v", err)
	}
	if err := s.ClearRefunds(ctx, "old", []string{"S", "T"}); err != nil {
		t.Fatalf("ClearRefunds(old) again: %v", err)
	}
	if r, _ := s.GetReservation(ctx, "old"); !r.RefundsCleared || r.State != stateReleased {
		t.Errorf("after ClearRefunds: reservation = %+v, want released with RefundsCleared", r)
	}
	if got := ids(t0.Add(3*time.Hour), 10); !slices.Equal(got, []string{"mid", "newer"}) {
		t.Errorf("RefundsToClear after clearing old = %v, want [mid newer]", got)
	}
	// The marker is gone from both items: the store would now restock the order again.
	for _, sku := range []string{"S", "T"} {
		if _, changed, err := s.Restock(ctx, sku, "old", 1, t0); err != nil || !changed {
			t.Errorf("Restock(%s, old) after ClearRefunds = %v, %v, want a change (marker gone)", sku, changed, err)
		}
	}
}

// TestRefundMarkersCleared: a refund's marker (refunds.<order>) stays on its item for
// refundMarkerRetention after the refund settled, then the sweeper takes it off, so a popular item's
// document does not grow by one key per refund for good (at ~300,000 refunds of one SKU the document
// would pass MongoDB's 16 MB and every hold on that SKU would fail). Repeated and late events of the
// refunded order still change nothing: the reservation's state guards them once the marker is gone.
func TestRefundMarkersCleared(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newMemStore()
		inv := newTestInventory(s)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { inv.sweeper(ctx, time.Minute) })
		defer func() { cancel(); wg.Wait() }()

		marker := func(orderID string) bool {
			s.mu.RLock()
			defer s.mu.RUnlock()
			_, ok := s.stock["A"].refunds[orderID]
			return ok
		}
		mustCreate(t, s, "A", 10)
		for _, id := range []string{"o1", "o2"} {
			deliver(t, inv, "order.created", id, orderLine{"A", 2})
			deliver(t, inv, "order.paid", id)
		}
		deliver(t, inv, "order.cancelled", "o1") // a refund: its 2 units come back
		checkItem(t, s, "A", 8, 0)
		if !marker("o1") {
			t.Fatal("no refund marker for o1 right after its refund")
		}

		time.Sleep(refundMarkerRetention - time.Hour)
		synctest.Wait()
		deliver(t, inv, "order.cancelled", "o2") // refunded a day later than o1
		if !marker("o1") {
			t.Fatal("o1's marker was cleared before refundMarkerRetention")
		}

		time.Sleep(time.Hour + 2*time.Minute) // past o1's retention and a sweep
		synctest.Wait()
		if marker("o1") {
			t.Error("o1's refund marker still on the item after refundMarkerRetention")
		}
		if !marker("o2") {
			t.Error("o2's marker (refunded an hour ago) was cleared too early")
		}
		// Repeated and late events of o1 find it released and restock nothing.
		deliver(t, inv, "order.cancelled", "o1")
		deliver(t, inv, "order.paid", "o1")
		checkItem(t, s, "A", 10, 0)
		if st := state(t, s, "o1"); st != stateReleased {
			t.Errorf("o1 state = %s, want released", st)
		}
	})
}

// TestRefundsSortIndexed: RefundsToClear's oldest-first order comes from an index after its
// equalities, so the sweeper's query reads only the refunds it returns, never every released
// reservation to sort them.
func TestRefundsSortIndexed(t *testing.T) {
	t.Parallel()
	if !sharedtest.SortIndexed(reservationIndexes, []string{"state", "committed", "refunds_cleared"}, refundsSort, nil) {
		t.Errorf("no reservation index serves RefundsToClear's sort %v", refundsSort)
	}
}
