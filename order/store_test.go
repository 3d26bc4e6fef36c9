package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
	"go.mongodb.org/mongo-driver/mongo"
)

// TestOrderStore runs the store contract against the in-memory store, and against MongoDB when
// MONGO_TEST_URI is set (a fresh database per run, dropped afterwards).
func TestOrderStore(t *testing.T) {
	t.Parallel()
	sharedtest.EachContractStore(t, "order_test_", func() orderStore { return newMemOrderStore() }, func(db *mongo.Database) orderStore { return newMongoOrderStore(db) },
		func(t *testing.T, _ string, newStore func(testing.TB) orderStore) { testOrderStore(t, newStore) })
}

// testOrder returns a pending order of user with its order.created event, created at.
func testOrder(tb testing.TB, user, key string, at time.Time) Order {
	tb.Helper()
	o := Order{ID: shared.NewID(), UserID: user, IdempotencyKey: key, RequestHash: "h-" + key, Status: StatusPending,
		Items: []Line{{SKU: "SKU-1", Name: "One", UnitPriceCents: 1999, Quantity: 2}}, SubtotalCents: 3998, TaxCents: 320,
		TotalCents: 4318, Currency: "USD", Address: Address{Name: "A", Street: "S", City: "C", ZipCode: "Z", Country: "US"},
		CreatedAt: at, UpdatedAt: at, AppliedEvents: []string{}}
	ev := newOrderEvent(o, StatusPending, "", at)
	o.Events, o.EventSeq, o.OutboxPending = []storedEvent{ev}, 1, true
	return o
}

func testOrderStore(t *testing.T, newStore func(testing.TB) orderStore) {
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("create get and unique key", func(t *testing.T) {
		s := newStore(t)
		o := testOrder(t, "u1", "k1", base)
		if err := s.Create(ctx, o); err != nil {
			t.Fatalf("Create: %v", err)
		}
		got, err := s.Get(ctx, o.ID)
		if err != nil || got.ID != o.ID || got.TotalCents != 4318 || got.Status != StatusPending || len(got.Events) != 1 || !got.CreatedAt.Equal(base) {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		dup := testOrder(t, "u1", "k1", base)
		if err := s.Create(ctx, dup); !errors.Is(err, shared.ErrConflict) {
			t.Errorf("Create with used key: err = %v, want ErrConflict", err)
		}
		if err := s.Create(ctx, testOrder(t, "u2", "k1", base)); err != nil {
			t.Errorf("Create same key, other user: %v", err)
		}
		byKey, err := s.GetByKey(ctx, "u1", "k1")
		if err != nil || byKey.ID != o.ID {
			t.Errorf("GetByKey = %v, %v; want %s", byKey.ID, err, o.ID)
		}
		if _, err := s.Get(ctx, shared.NewID()); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Get unknown: err = %v, want ErrNotFound", err)
		}
		if _, err := s.GetByKey(ctx, "u1", "nope"); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("GetByKey unknown: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("concurrent creates with one key make one order", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = s.Create(ctx, testOrder(t, "u1", "same", base)) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, shared.ErrConflict) {
				t.Errorf("Create: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d creates succeeded, want 1", ok)
		}
	})

	t.Run("transition is conditional and appends to the outbox", func(t *testing.T) {
		s := newStore(t)
		o := testOrder(t, "u1", "k", base)
		s.Create(ctx, o)
		exp := base.Add(15 * time.Minute)
		ev := newOrderEvent(o, StatusConfirmed, "", base.Add(time.Second))
		got, err := s.Transition(ctx, o.ID, transition{From: StatusPending, To: StatusConfirmed, Event: ev, At: base.Add(time.Second), AppliedEventID: "inv-1", ReservationExpiresAt: &exp})
		if err != nil {
			t.Fatalf("Transition: %v", err)
		}
		if got.Status != StatusConfirmed || got.EventSeq != 2 || len(got.Events) != 2 || got.Events[1].ID != ev.ID || !got.OutboxPending ||
			!got.applied("inv-1") || got.ReservationExpiresAt == nil || !got.ReservationExpiresAt.Equal(exp) {
			t.Errorf("after Transition: %+v", got)
		}
		if _, err := s.Transition(ctx, o.ID, transition{From: StatusPending, To: StatusRejected, Event: ev, At: base}); !errors.Is(err, errStale) {
			t.Errorf("Transition from stale status: err = %v, want errStale", err)
		}
		if _, err := s.Transition(ctx, o.ID, transition{From: StatusConfirmed, To: StatusCancelled, Event: ev, At: base, AppliedEventID: "inv-1"}); !errors.Is(err, errStale) {
			t.Errorf("Transition with applied event: err = %v, want errStale", err)
		}
		if _, err := s.Transition(ctx, shared.NewID(), transition{From: StatusPending, To: StatusRejected, Event: ev, At: base}); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Transition unknown: err = %v, want ErrNotFound", err)
		}
		pay := &Payment{ChargeID: "ch_1", Last4: "4242", Brand: "visa", AmountCents: 4318, PaidAt: base}
		ev2 := newOrderEvent(o, StatusPaid, "", base)
		got, err = s.Transition(ctx, o.ID, transition{From: StatusConfirmed, To: StatusPaid, Event: ev2, At: base, Payment: pay})
		if err != nil || got.Payment == nil || got.Payment.Last4 != "4242" || got.Payment.ChargeID != "ch_1" {
			t.Fatalf("Transition to paid = %+v, %v", got.Payment, err)
		}
		if err := s.SetRefund(ctx, o.ID, "re_1", base); err != nil {
			t.Fatalf("SetRefund: %v", err)
		}
		if got, _ := s.Get(ctx, o.ID); got.Payment == nil || got.Payment.RefundID != "re_1" {
			t.Errorf("after SetRefund payment = %+v", got.Payment)
		}
		other := testOrder(t, "u1", "k2", base)
		s.Create(ctx, other)
		if err := s.SetRefund(ctx, other.ID, "re_2", base); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("SetRefund without payment: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("record remembers events once", func(t *testing.T) {
		s := newStore(t)
		o := testOrder(t, "u1", "k", base)
		s.Create(ctx, o)
		ev := newOrderEvent(o, StatusCancelled, "late", base)
		if err := s.Record(ctx, o.ID, "inv-9", &ev, base); err != nil {
			t.Fatalf("Record: %v", err)
		}
		if err := s.Record(ctx, o.ID, "inv-9", &ev, base); !errors.Is(err, errStale) {
			t.Errorf("Record twice: err = %v, want errStale", err)
		}
		if err := s.Record(ctx, o.ID, "inv-10", nil, base); err != nil {
			t.Errorf("Record without event: %v", err)
		}
		got, _ := s.Get(ctx, o.ID)
		if got.EventSeq != 2 || len(got.Events) != 2 || !got.applied("inv-9") || !got.applied("inv-10") || got.Status != StatusPending {
			t.Errorf("after Record: seq %d events %d applied %v status %s", got.EventSeq, len(got.Events), got.AppliedEvents, got.Status)
		}
		if err := s.Record(ctx, shared.NewID(), "x", nil, base); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Record unknown: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("outbox unsent and mark sent", func(t *testing.T) {
		s := newStore(t)
		a, b := testOrder(t, "u1", "a", base), testOrder(t, "u1", "b", base.Add(time.Second))
		s.Create(ctx, a)
		s.Create(ctx, b)
		un, err := s.Unsent(ctx, 10)
		if err != nil || len(un) != 2 || un[0].ID != a.ID {
			t.Fatalf("Unsent = %d orders, %v; want 2, oldest first", len(un), err)
		}
		if un, _ := s.Unsent(ctx, 1); len(un) != 1 {
			t.Errorf("Unsent(1) = %d orders", len(un))
		}
		if err := s.MarkSent(ctx, a.ID, 1); err != nil {
			t.Fatalf("MarkSent: %v", err)
		}
		// b gets a new event after the relay read it: marking the old prefix keeps it pending.
		ev := newOrderEvent(b, StatusRejected, "", base)
		s.Transition(ctx, b.ID, transition{From: StatusPending, To: StatusRejected, Event: ev, At: base.Add(2 * time.Second)})
		if err := s.MarkSent(ctx, b.ID, 1); err != nil {
			t.Fatalf("MarkSent: %v", err)
		}
		un, _ = s.Unsent(ctx, 10)
		if len(un) != 1 || un[0].ID != b.ID || un[0].SentSeq != 1 || un[0].EventSeq != 2 {
			t.Fatalf("Unsent after marks = %+v", un)
		}
		s.MarkSent(ctx, b.ID, 2)
		s.MarkSent(ctx, b.ID, 1) // late, stale mark must not move back
		if un, _ := s.Unsent(ctx, 10); len(un) != 0 {
			t.Errorf("Unsent after all sent = %d orders", len(un))
		}
		if got, _ := s.Get(ctx, b.ID); got.SentSeq != 2 {
			t.Errorf("SentSeq = %d, want 2", got.SentSeq)
		}
	})

	t.Run("relay contract", func(t *testing.T) {
		s := newStore(t)
		type agg struct {
			id     string
			status Status
		}
		aggs := map[string]*agg{}
		next := map[Status]Status{StatusPending: StatusConfirmed, StatusConfirmed: StatusCancelled}
		sharedtest.OutboxContract{Store: orderOutbox{s}, Write: func(t *testing.T, key string) string {
			a, ok := aggs[key]
			if !ok {
				o := testOrder(t, "u1", key, base)
				if err := s.Create(ctx, o); err != nil {
					t.Fatal(err)
				}
				aggs[key] = &agg{o.ID, o.Status}
				return o.Events[0].ID
			}
			o, err := s.Get(ctx, a.id)
			if err != nil {
				t.Fatal(err)
			}
			to := next[a.status]
			ev := newOrderEvent(o, to, "", base)
			if _, err := s.Transition(ctx, a.id, transition{From: a.status, To: to, Event: ev, At: base}); err != nil {
				t.Fatal(err)
			}
			a.status = to
			return ev.ID
		}}.Run(t)
	})

	t.Run("list pages newest first with filters", func(t *testing.T) {
		s := newStore(t)
		var ids []string
		for i := range 5 {
			user := "u1"
			if i == 4 {
				user = "u2"
			}
			o := testOrder(t, user, fmt.Sprint("k", i), base.Add(time.Duration(i)*time.Minute))
			s.Create(ctx, o)
			ids = append(ids, o.ID)
		}
		ev := newOrderEvent(Order{}, StatusRejected, "", base)
		s.Transition(ctx, ids[1], transition{From: StatusPending, To: StatusRejected, Event: ev, At: base})
		got, total, err := s.List(ctx, listQuery{UserID: "u1", Page: 1, Limit: 2})
		if err != nil || total != 4 || len(got) != 2 || got[0].ID != ids[3] || got[1].ID != ids[2] {
			t.Fatalf("List u1 page 1 = %d items, total %d, %v", len(got), total, err)
		}
		got, _, _ = s.List(ctx, listQuery{UserID: "u1", Page: 2, Limit: 2})
		if len(got) != 2 || got[1].ID != ids[0] {
			t.Errorf("List u1 page 2 = %d items", len(got))
		}
		got, total, _ = s.List(ctx, listQuery{Status: StatusRejected, Page: 1, Limit: 10})
		if total != 1 || len(got) != 1 || got[0].ID != ids[1] {
			t.Errorf("List rejected = %d items, total %d", len(got), total)
		}
		got, total, _ = s.List(ctx, listQuery{Page: 1, Limit: 10})
		if total != 5 || len(got) != 5 || got[0].ID != ids[4] {
			t.Errorf("List all = %d items, total %d", len(got), total)
		}
		if got, total, _ := s.List(ctx, listQuery{UserID: "nobody", Page: 1, Limit: 10}); total != 0 || got == nil || len(got) != 0 {
			t.Errorf("List nobody = %v, total %d; want empty non-nil", got, total)
		}
	})

	t.Run("list filters", func(t *testing.T) { testOrderListFilters(t, newStore) })

	t.Run("stale pending: sent, unchanged, oldest first", func(t *testing.T) {
		s := newStore(t)
		mk := func(key string, at time.Time, sent bool) Order {
			o := testOrder(t, "u1", key, at)
			if err := s.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			if sent {
				s.MarkSent(ctx, o.ID, 1)
			}
			return o
		}
		older := mk("older", base, true)
		old := mk("old", base.Add(time.Minute), true)
		mk("unsent", base, false)
		mk("recent", base.Add(10*time.Minute), true)
		done := mk("confirmed", base, true)
		ev := newOrderEvent(done, StatusConfirmed, "", base)
		if _, err := s.Transition(ctx, done.ID, transition{From: StatusPending, To: StatusConfirmed, Event: ev, At: base}); err != nil {
			t.Fatal(err)
		}
		s.MarkSent(ctx, done.ID, 2)
		got, err := s.StalePending(ctx, base.Add(5*time.Minute), 10)
		if err != nil || len(got) != 2 || got[0].ID != older.ID || got[1].ID != old.ID {
			t.Fatalf("StalePending = %d orders, %v; want older, old", len(got), err)
		}
		if got, _ := s.StalePending(ctx, base.Add(5*time.Minute), 1); len(got) != 1 || got[0].ID != older.ID {
			t.Errorf("StalePending limit 1 = %d orders, want older", len(got))
		}
	})

	t.Run("stats buckets by UTC day, status and currency", func(t *testing.T) { testOrderStats(t, newStore(t)) })
}
