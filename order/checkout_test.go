package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestCheckoutCreate: creating an order is a move like every other: the table's statusNone →
// pending edge is checked (only the owner creates), the order and its order.created event are one
// insert, the move is counted and the relay is woken; a reused idempotency key is a conflict and
// wakes nothing.
func TestCheckoutCreate(t *testing.T) {
	t.Parallel()
	store := newMemOrderStore()
	metrics := shared.NewMetrics("order")
	wakes := 0
	co := newCheckout(slog.New(slog.DiscardHandler), store, newStubPayments(), metrics, func() { wakes++ })
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	co.now = func() time.Time { return at }
	priced := Order{UserID: "u1", Items: []Line{{SKU: "SKU-1", Name: "One", UnitPriceCents: 100, Quantity: 1}},
		SubtotalCents: 100, TotalCents: 100, Currency: "USD"}

	o, err := co.create(context.Background(), priced, "k1", "h1")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := store.Get(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusPending || got.IdempotencyKey != "k1" || got.RequestHash != "h1" || !got.CreatedAt.Equal(at) ||
		len(got.Events) != 1 || got.Events[0].Type != "order.created" || got.EventSeq != 1 || got.SentSeq != 0 || !got.OutboxPending {
		t.Errorf("stored order = %+v, want pending with one unsent order.created", got)
	}
	if n := metrics.Counter("order_transitions_total", "").Value(string(StatusPending), actorOwner.String()); n != 1 || wakes != 1 {
		t.Errorf("transitions{pending,owner} = %d, wakes = %d; want 1 and 1", n, wakes)
	}

	if _, err := co.create(context.Background(), priced, "k1", "h2"); !errors.Is(err, shared.ErrConflict) || wakes != 1 {
		t.Errorf("create with a used key = %v (wakes %d), want a conflict and no wake", err, wakes)
	}
	if err := checkTransition(statusNone, StatusPending, actorAdmin); err == nil {
		t.Error("checkTransition(none → pending, admin) = nil, want only the owner to create orders")
	}
	if err := checkTransition(statusNone, StatusConfirmed, actorOwner); err == nil {
		t.Error("checkTransition(none → confirmed) = nil, want creation only into pending")
	}
}

// TestCheckoutEventsKeepTrace: order.created keeps the trace of the request that placed the order,
// so the relay's later publish continues it.
func TestCheckoutEventsKeepTrace(t *testing.T) {
	t.Parallel()
	store := newMemOrderStore()
	co := newCheckout(slog.New(slog.DiscardHandler), store, newStubPayments(), shared.NewMetrics("order"), nil)
	ctx, want := sharedtest.TracedContext(t)
	o, err := co.create(ctx, Order{UserID: "u1", Items: []Line{{SKU: "SKU-1", Name: "One", UnitPriceCents: 100, Quantity: 1}},
		SubtotalCents: 100, TotalCents: 100, Currency: "USD"}, "k1", "h1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := store.Get(context.Background(), o.ID)
	if e := got.Events[0].envelope(o.ID); e.TraceParent != want {
		t.Errorf("order.created traceparent = %q, want %q", e.TraceParent, want)
	}
}
