package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// eachTestStore runs test per store the contract runs against (sharedtest.EachContractStore); a Mongo
// store whose server may lose concurrent updates (sharedtest.NonAtomic) is marked non-atomic.
func eachTestStore(t *testing.T, test func(t *testing.T, newStore func(testing.TB) stockStore)) {
	t.Helper()
	sharedtest.EachContractStore(t, "inventory_test_", func() stockStore { return newMemStore() }, func(db *mongo.Database) stockStore {
		s := newMongoStore(db)
		if sharedtest.NonAtomic(db) {
			nonAtomic.Store(s, true)
		}
		return s
	}, func(t *testing.T, _ string, newStore func(testing.TB) stockStore) { test(t, newStore) })
}

// nonAtomic holds the test stores whose server does not apply concurrent updates atomically
// (FerretDB without one command at a time): tests that judge concurrency skip them.
var nonAtomic sync.Map

func skipIfNotAtomic(t *testing.T, s stockStore) {
	t.Helper()
	if _, ok := nonAtomic.Load(s); ok {
		t.Skip("the Mongo server does not apply concurrent updates atomically (FerretDB without MONGO_TEST_SERIAL=1); concurrency needs MongoDB")
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func mustCreate(t testing.TB, s stockStore, sku string, onHand int64) {
	t.Helper()
	created, err := s.CreateItem(context.Background(), StockItem{SKU: sku, OnHand: onHand, LowStockThreshold: 5, UpdatedAt: t0},
		Movement{Delta: onHand, Reason: "initial stock", At: t0})
	if err != nil || !created {
		t.Fatalf("CreateItem(%s) = %v, %v, want true, nil", sku, created, err)
	}
}

func checkItem(t *testing.T, s stockStore, sku string, onHand, reserved int64) {
	t.Helper()
	it, err := s.Get(context.Background(), sku)
	if err != nil {
		t.Fatalf("Get(%s): %v", sku, err)
	}
	if it.OnHand != onHand || it.Reserved != reserved || it.Available != onHand-reserved {
		t.Fatalf("Get(%s) = on_hand %d reserved %d available %d, want %d %d %d", sku, it.OnHand, it.Reserved, it.Available, onHand, reserved, onHand-reserved)
	}
}

func TestStoreContract(t *testing.T) {
	t.Parallel()
	eachTestStore(t, func(t *testing.T, newStore func(testing.TB) stockStore) {
		ctx := context.Background()

		t.Run("list levels", func(t *testing.T) { testStockListLevels(t, newStore(t)) })
		t.Run("refund markers", func(t *testing.T) { testRefundMarkers(t, newStore(t)) })

		t.Run("items", func(t *testing.T) {
			s := newStore(t)
			mustCreate(t, s, "B-1", 10)
			mustCreate(t, s, "A-1", 3)
			created, err := s.CreateItem(ctx, StockItem{SKU: "B-1", OnHand: 99, UpdatedAt: t0}, Movement{Delta: 99, At: t0})
			if err != nil || created {
				t.Fatalf("CreateItem of an existing SKU = %v, %v, want false, nil", created, err)
			}
			checkItem(t, s, "B-1", 10, 0)
			if _, err := s.Get(ctx, "NOPE"); !errors.Is(err, shared.ErrNotFound) {
				t.Errorf("Get(NOPE) err = %v, want ErrNotFound", err)
			}
			items, total, err := s.List(ctx, stockQuery{Page: 1, Limit: 1})
			if err != nil || total != 2 || len(items) != 1 || items[0].SKU != "A-1" {
				t.Errorf("List(1,1) = %+v, %d, %v, want [A-1], 2", items, total, err)
			}
			items, _, _ = s.List(ctx, stockQuery{Page: 2, Limit: 1})
			if len(items) != 1 || items[0].SKU != "B-1" {
				t.Errorf("List(2,1) = %+v, want [B-1]", items)
			}
			items, err = s.Batch(ctx, []string{"B-1", "NOPE", "A-1"})
			if err != nil || len(items) != 2 || items[0].SKU != "A-1" || items[1].SKU != "B-1" {
				t.Errorf("Batch = %+v, %v, want [A-1 B-1]", items, err)
			}
			it, err := s.MarkDeleted(ctx, "A-1", t0)
			if err != nil || !it.Deleted {
				t.Errorf("MarkDeleted = %+v, %v", it, err)
			}
			if _, err := s.MarkDeleted(ctx, "NOPE", t0); !errors.Is(err, shared.ErrNotFound) {
				t.Errorf("MarkDeleted(NOPE) err = %v, want ErrNotFound", err)
			}
			// A deleted product's stock is not the admin's to adjust any more: no read shows it.
			for _, delta := range []int64{1, -1} {
				if _, _, err := s.Adjust(ctx, "A-1", Movement{Delta: delta, Reason: "count", At: t0}); !errors.Is(err, shared.ErrNotFound) {
					t.Errorf("Adjust(deleted A-1, %d) err = %v, want ErrNotFound", delta, err)
				}
			}
			checkItem(t, s, "A-1", 3, 0)
		})

		t.Run("inactive and deleted", func(t *testing.T) {
			s := newStore(t)
			mustCreate(t, s, "A-1", 3)
			if created, err := s.CreateItem(ctx, StockItem{SKU: "B-1", OnHand: 2, Inactive: true, UpdatedAt: t0}, Movement{Delta: 2, At: t0}); err != nil || !created {
				t.Fatalf("CreateItem(B-1, inactive) = %v, %v", created, err)
			}
			mustCreate(t, s, "C-1", 1)
			if _, err := s.MarkDeleted(ctx, "C-1", t0); err != nil {
				t.Fatal(err)
			}
			list := func(includeInactive bool) []string {
				t.Helper()
				items, total, err := s.List(ctx, stockQuery{IncludeInactive: includeInactive, Page: 1, Limit: 10})
				if err != nil || int(total) != len(items) {
					t.Fatalf("List(include_inactive %v) = %+v, %d, %v", includeInactive, items, total, err)
				}
				var skus []string
				for _, it := range items {
					skus = append(skus, it.SKU)
				}
				return skus
			}
			if got := list(false); !slices.Equal(got, []string{"A-1"}) {
				t.Errorf("public list = %v, want [A-1]", got)
			}
			if got := list(true); !slices.Equal(got, []string{"A-1", "B-1"}) {
				t.Errorf("include_inactive list = %v, want [A-1 B-1]", got)
			}
			if it, err := s.Get(ctx, "B-1"); err != nil || !it.Inactive {
				t.Errorf("Get(B-1) = %+v, %v, want inactive", it, err)
			}
			at := t0.Add(time.Minute)
			for _, step := range []struct {
				inactive, changed bool
			}{{false, true}, {false, false}, {true, true}, {true, false}} {
				it, changed, err := s.SetInactive(ctx, "B-1", step.inactive, 0, at)
				if err != nil || changed != step.changed || it.Inactive != step.inactive || it.SKU != "B-1" || it.OnHand != 2 {
					t.Errorf("SetInactive(B-1, %v) = %+v, %v, %v, want changed %v", step.inactive, it, changed, err, step.changed)
				}
			}
			if it, changed, err := s.SetInactive(ctx, "A-1", false, 0, at); err != nil || changed || it.Inactive {
				t.Errorf("SetInactive(A-1, false) = %+v, %v, %v, want unchanged", it, changed, err)
			}
			if _, _, err := s.SetInactive(ctx, "NOPE", true, 0, at); !errors.Is(err, shared.ErrNotFound) {
				t.Errorf("SetInactive(NOPE) err = %v, want ErrNotFound", err)
			}
			// Versions: an event not newer than the item's version changes nothing; one without a
			// version (an older producer) is applied in arrival order.
			mustCreate(t, s, "V-1", 1)
			for i, step := range []struct {
				inactive      bool
				version       int64
				changed, want bool // want: the flag after
				wantVersion   int64
			}{
				{true, 2, true, true, 2},
				{false, 1, false, true, 2}, // v1 published again after v2
				{true, 3, false, true, 3},  // same flag, newer version: recorded
				{false, 3, false, true, 3}, // equal version
				{false, 4, true, false, 4},
				{true, 0, true, true, 4}, // no version: applied, the version kept
			} {
				it, changed, err := s.SetInactive(ctx, "V-1", step.inactive, step.version, at)
				if err != nil || changed != step.changed || it.Inactive != step.want {
					t.Errorf("step %d: SetInactive(V-1, %v, v%d) = inactive %v, changed %v, %v; want %v, %v", i, step.inactive, step.version, it.Inactive, changed, err, step.want, step.changed)
				}
				if got, err := s.Get(ctx, "V-1"); err != nil || got.Inactive != step.want || got.ProductVersion != step.wantVersion {
					t.Errorf("step %d: Get(V-1) = inactive %v version %d, %v; want %v, %d", i, got.Inactive, got.ProductVersion, err, step.want, step.wantVersion)
				}
			}
			// Every item stored now has the flag: the adoption step finds nothing to do.
			if n, err := s.UnflaggedItems(ctx); err != nil || n != 0 {
				t.Errorf("UnflaggedItems = %d, %v, want 0", n, err)
			}
			if it, changed, err := s.AdoptInactive(ctx, "A-1", true, 0, at); err != nil || changed || it.Inactive {
				t.Errorf("AdoptInactive(A-1 with a flag) = %+v, %v, %v, want unchanged", it, changed, err)
			}
			if _, _, err := s.AdoptInactive(ctx, "NOPE", true, 0, at); !errors.Is(err, shared.ErrNotFound) {
				t.Errorf("AdoptInactive(NOPE) err = %v, want ErrNotFound", err)
			}
			if ms, ok := s.(*mongoStore); ok {
				testUnflaggedItems(t, ms)
			}
		})

		t.Run("adjust", func(t *testing.T) {
			s := newStore(t)
			mustCreate(t, s, "S", 10)
			if _, held, err := s.Hold(ctx, "S", "o1", 4, t0); err != nil || !held {
				t.Fatalf("Hold = %v, %v", held, err)
			}
			it, _, err := s.Adjust(ctx, "S", Movement{Delta: -6, Reason: "damaged", At: t0})
			if err != nil || it.OnHand != 4 || it.Available != 0 {
				t.Fatalf("Adjust(-6) = %+v, %v, want on_hand 4", it, err)
			}
			if _, _, err := s.Adjust(ctx, "S", Movement{Delta: -1, Reason: "x", At: t0}); !errors.Is(err, shared.ErrConflict) {
				t.Errorf("Adjust below reserved err = %v, want ErrConflict", err)
			}
			if _, _, err := s.Adjust(ctx, "S", Movement{Delta: maxOnHand, Reason: "x", At: t0}); !errors.Is(err, shared.ErrConflict) {
				t.Errorf("Adjust above maxOnHand err = %v, want ErrConflict", err)
			}
			if _, _, err := s.Adjust(ctx, "NOPE", Movement{Delta: 1, Reason: "x", At: t0}); !errors.Is(err, shared.ErrNotFound) {
				t.Errorf("Adjust(NOPE) err = %v, want ErrNotFound", err)
			}
			checkItem(t, s, "S", 4, 4)
			ms, err := s.Movements(ctx, "S")
			if err != nil || len(ms) != 2 || ms[1].Delta != -6 || ms[1].Reason != "damaged" {
				t.Errorf("Movements = %+v, %v, want initial then -6 damaged", ms, err)
			}
			for i := range maxMovements + 5 {
				if _, _, err := s.Adjust(ctx, "S", Movement{Delta: 1, Reason: fmt.Sprint(i), At: t0}); err != nil {
					t.Fatal(err)
				}
			}
			ms, _ = s.Movements(ctx, "S")
			if len(ms) != maxMovements || ms[len(ms)-1].Reason != fmt.Sprint(maxMovements+4) {
				t.Errorf("Movements kept %d (last %+v), want the newest %d", len(ms), ms[len(ms)-1], maxMovements)
			}
		})

		t.Run("adjust idempotency key", func(t *testing.T) { testAdjustKey(t, newStore(t)) })
		t.Run("adjust idempotency key, concurrent", func(t *testing.T) { testAdjustKeyConcurrent(t, newStore(t)) })

		t.Run("holds", func(t *testing.T) {
			s := newStore(t)
			mustCreate(t, s, "S", 10)
			it, held, err := s.Hold(ctx, "S", "o1", 7, t0)
			if err != nil || !held || it.Reserved != 7 || it.Available != 3 {
				t.Fatalf("Hold(o1,7) = %+v, %v, %v", it, held, err)
			}
			if _, held, _ := s.Hold(ctx, "S", "o1", 7, t0); !held {
				t.Errorf("Hold replay by o1 = false, want true (already held)")
			}
			checkItem(t, s, "S", 10, 7)
			it, held, err = s.Hold(ctx, "S", "o2", 4, t0)
			if err != nil || held || it.Available != 3 {
				t.Errorf("Hold(o2,4) with 3 available = %+v, %v, %v, want not held", it, held, err)
			}
			if _, _, err := s.Hold(ctx, "NOPE", "o2", 1, t0); !errors.Is(err, shared.ErrNotFound) {
				t.Errorf("Hold(NOPE) err = %v, want ErrNotFound", err)
			}
			if _, held, _ := s.Hold(ctx, "S", "o2", 3, t0); !held {
				t.Fatal("Hold(o2,3) = false, want true")
			}
			if _, changed, err := s.Unhold(ctx, "S", "o2", t0); err != nil || !changed {
				t.Errorf("Unhold(o2) = %v, %v", changed, err)
			}
			if _, changed, _ := s.Unhold(ctx, "S", "o2", t0); changed {
				t.Error("second Unhold(o2) changed stock")
			}
			checkItem(t, s, "S", 10, 7)
			if _, changed, err := s.CommitHold(ctx, "S", "o1", t0); err != nil || !changed {
				t.Errorf("CommitHold(o1) = %v, %v", changed, err)
			}
			if _, changed, _ := s.CommitHold(ctx, "S", "o1", t0); changed {
				t.Error("second CommitHold(o1) changed stock")
			}
			checkItem(t, s, "S", 3, 0)
			if _, changed, err := s.Restock(ctx, "S", "o1", 7, t0); err != nil || !changed {
				t.Errorf("Restock(o1) = %v, %v", changed, err)
			}
			if _, changed, _ := s.Restock(ctx, "S", "o1", 7, t0); changed {
				t.Error("second Restock(o1) changed stock")
			}
			checkItem(t, s, "S", 10, 0)
			s.MarkDeleted(ctx, "S", t0)
			if _, held, _ := s.Hold(ctx, "S", "o3", 1, t0); held {
				t.Error("Hold of a deleted item succeeded")
			}
		})

		t.Run("reservations", func(t *testing.T) {
			s := newStore(t)
			r := Reservation{OrderID: "o1", UserID: "u1", State: stateReserving, Items: []Line{{"S", 2}}, CreatedAt: t0, UpdatedAt: t0}
			if err := s.CreateReservation(ctx, r); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateReservation(ctx, r); !errors.Is(err, shared.ErrConflict) {
				t.Errorf("second CreateReservation err = %v, want ErrConflict", err)
			}
			if _, err := s.GetReservation(ctx, "nope"); !errors.Is(err, shared.ErrNotFound) {
				t.Errorf("GetReservation(nope) err = %v, want ErrNotFound", err)
			}
			got, err := s.TransitionReservation(ctx, "o1", []resState{stateReserving},
				reservationUpdate{State: stateHeld, At: t0, ExpiresAt: t0.Add(time.Minute), CommitRequested: true})
			if err != nil || got.State != stateHeld || !got.ExpiresAt.Equal(t0.Add(time.Minute)) || !got.CommitRequested || got.UserID != "u1" || len(got.Items) != 1 {
				t.Fatalf("Transition to held = %+v, %v", got, err)
			}
			if _, err := s.TransitionReservation(ctx, "o1", []resState{stateReserving}, reservationUpdate{State: stateRejected, At: t0}); !errors.Is(err, shared.ErrConflict) {
				t.Errorf("Transition from the wrong state err = %v, want ErrConflict", err)
			}
			if _, err := s.TransitionReservation(ctx, "nope", []resState{stateHeld}, reservationUpdate{State: stateReleasing, At: t0}); !errors.Is(err, shared.ErrNotFound) {
				t.Errorf("Transition(nope) err = %v, want ErrNotFound", err)
			}
			if got.SettledAt != nil {
				t.Errorf("held reservation has settled_at %v", got.SettledAt)
			}
			if err := s.CreateReservation(ctx, Reservation{OrderID: "t1", State: stateCancelled, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if tomb, _ := s.GetReservation(ctx, "t1"); tomb.SettledAt == nil || !tomb.SettledAt.Equal(t0) {
				t.Errorf("tombstone settled_at = %v, want %v", tomb.SettledAt, t0)
			}
			rej, err := s.TransitionReservation(ctx, "t1", []resState{stateCancelled}, reservationUpdate{State: stateRejected, At: t0.Add(time.Hour)})
			if err != nil || rej.SettledAt == nil || !rej.SettledAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("settled transition: settled_at = %v, %v, want %v", rej.SettledAt, err, t0.Add(time.Hour))
			}
			s.CreateReservation(ctx, Reservation{OrderID: "o2", State: stateHeld, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, UpdatedAt: t0})
			s.CreateReservation(ctx, Reservation{OrderID: "o3", State: stateReleasing, ExpiresAt: t0, CreatedAt: t0, UpdatedAt: t0})
			s.CreateReservation(ctx, Reservation{OrderID: "o4", State: stateReleasing, ExpiresAt: t0, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)})
			due, err := s.DueReservations(ctx, t0.Add(2*time.Minute), t0.Add(time.Minute), 10)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range due {
				ids = append(ids, r.OrderID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, []string{"o1", "o3"}) {
				t.Errorf("DueReservations = %v, want [o1 o3] (expired held, stale releasing)", ids)
			}
		})

		t.Run("outbox", func(t *testing.T) {
			s := newStore(t)
			var evs []shared.Event
			for i := range 5 {
				e, _ := shared.NewEvent(evUpdated, "S", map[string]int{"i": i})
				evs = append(evs, e)
			}
			if err := s.AddOutbox(ctx, shared.TopicInventory, evs[:3]...); err != nil {
				t.Fatal(err)
			}
			if err := s.AddOutbox(ctx, shared.TopicInventory, evs[2:]...); err != nil {
				t.Fatalf("AddOutbox with an already stored event: %v", err)
			}
			got, err := s.PendingOutbox(ctx, 2)
			if err != nil || len(got) != 2 || got[0].Event.ID != evs[0].ID || got[1].Event.ID != evs[1].ID || got[0].Topic != shared.TopicInventory {
				t.Fatalf("PendingOutbox(2) = %+v, %v, want the first two", got, err)
			}
			if string(got[0].Event.Data) != string(evs[0].Data) || got[0].Event.Type != evUpdated {
				t.Errorf("outbox round trip changed the event: %+v", got[0].Event)
			}
			if err := s.MarkPublished(ctx, got); err != nil {
				t.Fatal(err)
			}
			got, _ = s.PendingOutbox(ctx, 10)
			if len(got) != 3 || got[0].Event.ID != evs[2].ID {
				t.Errorf("PendingOutbox after delete = %d events, first %v, want 3 from the third", len(got), got)
			}
		})

		t.Run("relay contract", func(t *testing.T) {
			s := newStore(t)
			inv := newTestInventory(s)
			created := map[string]bool{}
			sharedtest.OutboxContract{Store: s, Write: func(t *testing.T, key string) string {
				// Creating an item and every later stock change write one inventory.updated.
				sku := "SKU-" + strings.ToUpper(key)
				before := outboxOf(t, s, "")
				var err error
				if created[sku] {
					_, _, err = inv.Adjust(ctx, sku, 1, "restock", "admin", "")
				} else {
					created[sku] = true
					_, err = inv.CreateItem(ctx, sku, 100, false, 1)
				}
				if err != nil {
					t.Fatal(err)
				}
				after := outboxOf(t, s, "")
				if len(after) != len(before)+1 {
					t.Fatalf("a stock change wrote %d events, want 1", len(after)-len(before))
				}
				return after[len(after)-1].ID
			}}.Run(t)
		})
	})
}

// eachStore runs test in parallel, as a subtest per store eachTestStore gives, each with a fresh store.
func eachStore(t *testing.T, test func(t *testing.T, s stockStore)) {
	t.Helper()
	eachTestStore(t, func(t *testing.T, newStore func(testing.TB) stockStore) { test(t, newStore(t)) })
}

// testUnflaggedItems: items written before the inactive flag existed (no field) are counted, read as
// active, take an adopted flag once, and the consumer's SetInactive writes the field on them too, so
// a later adoption does not override it.
func testUnflaggedItems(t *testing.T, s *mongoStore) {
	ctx := context.Background()
	for _, sku := range []string{"OLD-1", "OLD-2"} {
		if _, err := s.stock.InsertOne(ctx, bson.D{{Key: "_id", Value: sku}, {Key: "on_hand", Value: int64(4)}, {Key: "reserved", Value: int64(0)},
			{Key: "available", Value: int64(4)}, {Key: "low_stock_threshold", Value: int64(5)}, {Key: "deleted", Value: false}, {Key: "updated_at", Value: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.UnflaggedItems(ctx); err != nil || n != 2 {
		t.Fatalf("UnflaggedItems = %d, %v, want 2", n, err)
	}
	if it, err := s.Get(ctx, "OLD-1"); err != nil || it.Inactive {
		t.Errorf("Get(OLD-1) = %+v, %v, want active", it, err)
	}
	if it, changed, err := s.AdoptInactive(ctx, "OLD-1", true, 0, t0); err != nil || !changed || !it.Inactive {
		t.Errorf("AdoptInactive(OLD-1, true) = %+v, %v, %v, want changed", it, changed, err)
	}
	if it, changed, err := s.AdoptInactive(ctx, "OLD-1", false, 0, t0); err != nil || changed || !it.Inactive {
		t.Errorf("AdoptInactive(OLD-1) again = %+v, %v, %v, want unchanged, still inactive", it, changed, err)
	}
	// The consumer gets there first with the product's newer state (active).
	if _, changed, err := s.SetInactive(ctx, "OLD-2", false, 0, t0); err != nil || !changed {
		t.Errorf("SetInactive(OLD-2, false) = %v, %v, want the field written", changed, err)
	}
	if it, changed, err := s.AdoptInactive(ctx, "OLD-2", true, 0, t0); err != nil || changed || it.Inactive {
		t.Errorf("AdoptInactive(OLD-2) after the consumer = %+v, %v, %v, want the consumer's active kept", it, changed, err)
	}
	if n, err := s.UnflaggedItems(ctx); err != nil || n != 0 {
		t.Errorf("UnflaggedItems after = %d, %v, want 0", n, err)
	}
}

// testAdjustKey: an adjustment with a key applies once; its repeat changes nothing and says so (even
// when the delta would be refused now), the key with another request or on another item is
// errKeyReused, a refused keyed adjustment leaves its key free, and a key is forgotten once its
// movement is no longer among the newest maxMovements.
func testAdjustKey(t *testing.T, s stockStore) {
	ctx := context.Background()
	mustCreate(t, s, "S", 10)
	mustCreate(t, s, "T", 10)
	m := Movement{Delta: -3, Reason: "count", Actor: "admin", At: t0, Key: "k1", Request: "r1"}
	if it, applied, err := s.Adjust(ctx, "S", m); err != nil || !applied || it.OnHand != 7 {
		t.Fatalf("Adjust(S, k1) = %+v, %v, %v, want on_hand 7 applied", it, applied, err)
	}
	if it, applied, err := s.Adjust(ctx, "S", m); err != nil || applied || it.OnHand != 7 || it.SKU != "S" {
		t.Errorf("Adjust(S, k1) again = %+v, %v, %v, want the item as it is (on_hand 7), not applied", it, applied, err)
	}
	other := m
	other.Delta, other.Request = -4, "r2"
	if _, _, err := s.Adjust(ctx, "S", other); !errors.Is(err, errKeyReused) {
		t.Errorf("Adjust(S, k1, another request) err = %v, want errKeyReused", err)
	}
	if _, _, err := s.Adjust(ctx, "T", m); !errors.Is(err, errKeyReused) {
		t.Errorf("Adjust(T, k1) err = %v, want errKeyReused (the key was used on S)", err)
	}
	// Held stock makes -3 impossible now; the repeat is still the first adjustment's answer.
	if _, held, err := s.Hold(ctx, "S", "o1", 7, t0); err != nil || !held {
		t.Fatalf("Hold = %v, %v", held, err)
	}
	if it, applied, err := s.Adjust(ctx, "S", m); err != nil || applied || it.Reserved != 7 {
		t.Errorf("Adjust(S, k1) again once held = %+v, %v, %v, want a replay of the current item", it, applied, err)
	}
	refused := Movement{Delta: -1, Reason: "x", Actor: "admin", At: t0, Key: "k2", Request: "r3"}
	if _, _, err := s.Adjust(ctx, "S", refused); !errors.Is(err, shared.ErrConflict) || errors.Is(err, errKeyReused) {
		t.Errorf("Adjust(S, k2) below reserved err = %v, want ErrConflict", err)
	}
	if _, _, err := s.Adjust(ctx, "NOPE", refused); !errors.Is(err, shared.ErrNotFound) {
		t.Errorf("Adjust(NOPE, k2) err = %v, want ErrNotFound", err)
	}
	refused.Delta = 1
	if it, applied, err := s.Adjust(ctx, "S", refused); err != nil || !applied || it.OnHand != 8 {
		t.Errorf("Adjust(S, k2) after it was refused = %+v, %v, %v, want applied (a refusal stores no key)", it, applied, err)
	}
	// Without a key, the same adjustment twice is two adjustments, as ever.
	for range 2 {
		if _, applied, err := s.Adjust(ctx, "T", Movement{Delta: 1, Reason: "same", At: t0}); err != nil || !applied {
			t.Fatalf("Adjust(T) without a key = %v, %v", applied, err)
		}
	}
	checkItem(t, s, "S", 8, 7)
	checkItem(t, s, "T", 12, 0)
	for i := range maxMovements {
		if _, _, err := s.Adjust(ctx, "S", Movement{Delta: 1, Reason: fmt.Sprint(i), At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	// k1's movement has left the newest maxMovements: the key is forgotten (the documented window).
	if it, applied, err := s.Adjust(ctx, "S", m); err != nil || !applied || it.OnHand != 8+maxMovements-3 {
		t.Errorf("Adjust(S, k1) after %d newer movements = %+v, %v, %v, want applied", maxMovements, it, applied, err)
	}
}

// testAdjustKeyConcurrent: repeats of one keyed adjustment sent at once apply exactly once, the
// others answer as replays.
func testAdjustKeyConcurrent(t *testing.T, s stockStore) {
	skipIfNotAtomic(t, s)
	ctx := context.Background()
	mustCreate(t, s, "S", 100)
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for range n {
		wg.Go(func() {
			_, ok, err := s.Adjust(ctx, "S", Movement{Delta: -1, Reason: "count", Actor: "admin", At: t0, Key: "k", Request: "r"})
			mu.Lock()
			defer mu.Unlock()
			counts[fmt.Sprint(ok, err)]++
		})
	}
	wg.Wait()
	if counts["true <nil>"] != 1 || counts["false <nil>"] != n-1 {
		t.Errorf("%d concurrent Adjust with one key: outcomes %v, want 1 applied and %d replays", n, counts, n-1)
	}
	checkItem(t, s, "S", 99, 0)
}
