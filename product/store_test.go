package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// TestProductStore runs the store contract against the in-memory store always and against MongoDB
// when MONGO_TEST_URI is set (a fresh database per run, dropped afterwards).
func TestProductStore(t *testing.T) {
	t.Parallel()
	sharedtest.EachContractStore(t, "product_test_", func() productStore { return newMemProductStore() }, func(db *mongo.Database) productStore {
		return newMongoProductStore(db, shared.NewLogger(os.Stderr, "product-test", "warn"))
	}, func(t *testing.T, _ string, newStore func(testing.TB) productStore) { testStoreContract(t, newStore) })
}

// testProduct returns a valid product with the given SKU, category, price and creation time.
func testProduct(sku, name, desc, category string, cents int64, created time.Time) product {
	return product{ID: shared.NewID(), SKU: sku, Name: name, Description: desc, PriceCents: cents, Currency: "USD",
		Category: category, Images: []string{"https://img.test/" + sku}, Attributes: map[string]string{"k": "v"},
		Active: true, CreatedAt: created, UpdatedAt: created}
}

func mustEvent(t *testing.T, typ string) outboxEvent {
	t.Helper()
	ev, err := newOutboxEvent(typ, map[string]string{"x": "y"}, now())
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func skus(ps []product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.SKU
	}
	return out
}

func testStoreContract(t *testing.T, newStore func(testing.TB) productStore) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

	t.Run("create get conflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if n, err := s.Count(ctx); err != nil || n != 0 {
			t.Fatalf("Count on empty store = %d, %v; want 0", n, err)
		}
		p := testProduct("SKU-1", "Blue Mug", "A mug", "home", 1299, base)
		if err := s.Create(ctx, p, mustEvent(t, evProductCreated)); err != nil {
			t.Fatalf("Create: %v", err)
		}
		got, err := s.Get(ctx, p.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if got.SKU != "SKU-1" || got.Name != "Blue Mug" || got.PriceCents != 1299 || !got.CreatedAt.Equal(base) ||
			got.Attributes["k"] != "v" || len(got.Images) != 1 || !got.Active || got.DeletedAt != nil {
			t.Errorf("Get = %+v, want the created product", got)
		}
		if got.Outbox != nil {
			t.Errorf("Get returned the outbox %v; reads must not", got.Outbox)
		}
		got.Images[0] = "mutated" // must not reach the store
		if again, _ := s.GetBySKU(ctx, "SKU-1"); again.ID != p.ID || again.Images[0] == "mutated" {
			t.Errorf("GetBySKU = %+v, want an unshared copy of %s", again, p.ID)
		}
		dup := testProduct("SKU-1", "Other", "", "home", 100, base)
		if err := s.Create(ctx, dup, mustEvent(t, evProductCreated)); !errors.Is(err, shared.ErrConflict) {
			t.Errorf("Create duplicate SKU: err = %v, want ErrConflict", err)
		}
		if _, err := s.Get(ctx, shared.NewID()); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Get absent: err = %v, want ErrNotFound", err)
		}
		if _, err := s.GetBySKU(ctx, "NOPE"); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("GetBySKU absent: err = %v, want ErrNotFound", err)
		}
		if n, err := s.Count(ctx); err != nil || n != 1 {
			t.Errorf("Count = %d, %v; want 1", n, err)
		}
	})

	t.Run("update delete outbox", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		p := testProduct("SKU-2", "Lamp", "Desk lamp", "home", 4999, base)
		created := mustEvent(t, evProductCreated)
		if err := s.Create(ctx, p, created); err != nil {
			t.Fatal(err)
		}
		upd := p
		upd.Version = 1
		upd.Name, upd.PriceCents, upd.Category, upd.Active, upd.UpdatedAt = "Arc Lamp", 5999, "lighting", false, base.Add(time.Hour)
		updated := mustEvent(t, evProductUpdated)
		got, err := s.Update(ctx, upd, updated)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if got.Name != "Arc Lamp" || got.PriceCents != 5999 || got.Category != "lighting" || got.Active || !got.CreatedAt.Equal(base) || !got.UpdatedAt.Equal(base.Add(time.Hour)) {
			t.Errorf("Update = %+v, want the new fields and the old created_at", got)
		}
		if len(got.Outbox) != 2 || got.Pending != 2 || got.Version != 2 {
			t.Errorf("Update outbox = %v (pending %d, version %d), want the created and updated events at version 2", got.Outbox, got.Pending, got.Version)
		}
		if _, err := s.Update(ctx, upd, mustEvent(t, evProductUpdated)); !errors.Is(err, shared.ErrConflict) {
			t.Errorf("Update at the stale version 1: err = %v, want ErrConflict", err)
		}
		if _, err := s.Delete(ctx, upd, base, mustEvent(t, evProductDeleted)); !errors.Is(err, shared.ErrConflict) {
			t.Errorf("Delete at the stale version 1: err = %v, want ErrConflict", err)
		}
		wrongSKU := got
		wrongSKU.SKU = "SKU-X"
		if _, err := s.Update(ctx, wrongSKU, mustEvent(t, evProductUpdated)); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Update with another SKU: err = %v, want ErrNotFound", err)
		}

		pending, err := s.Pending(ctx, 10)
		if err != nil || len(pending) != 1 || len(pending[0].Outbox) != 2 {
			t.Fatalf("Pending = %v, %v; want one product with two events", pending, err)
		}
		if err := s.Ack(ctx, p.ID, []string{created.ID, created.ID}); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		if err := s.Ack(ctx, p.ID, []string{created.ID}); err != nil {
			t.Fatalf("Ack twice: %v", err)
		}
		pending, _ = s.Pending(ctx, 10)
		if len(pending) != 1 || pending[0].Pending != 1 || pending[0].Outbox[updated.ID].Type != evProductUpdated {
			t.Fatalf("Pending after one ack = %+v, want the updated event only", pending)
		}
		s.Ack(ctx, p.ID, []string{updated.ID})
		if pending, _ = s.Pending(ctx, 10); len(pending) != 0 {
			t.Errorf("Pending after acking all = %v, want none", pending)
		}

		at := base.Add(2 * time.Hour)
		del, err := s.Delete(ctx, got, at, mustEvent(t, evProductDeleted))
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if del.Active || del.DeletedAt == nil || !del.DeletedAt.Equal(at) || del.Pending != 1 || del.Version != 3 {
			t.Errorf("Delete = %+v, want inactive, deleted at %v, one pending event", del, at)
		}
		if _, err := s.Delete(ctx, del, at, mustEvent(t, evProductDeleted)); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Delete twice: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Update(ctx, del, mustEvent(t, evProductUpdated)); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Update deleted: err = %v, want ErrNotFound", err)
		}
		if got, err := s.Get(ctx, p.ID); err != nil || got.DeletedAt == nil {
			t.Errorf("Get deleted = %+v, %v; want it with deleted_at", got, err)
		}
		if err := s.Create(ctx, testProduct("SKU-2", "Again", "", "home", 1, base), mustEvent(t, evProductCreated)); !errors.Is(err, shared.ErrConflict) {
			t.Errorf("Create with a deleted product's SKU: err = %v, want ErrConflict", err)
		}
	})

	t.Run("relay contract", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ids := map[string]string{}
		sharedtest.OutboxContract{Store: productOutbox{s}, Write: func(t *testing.T, key string) string {
			if ids[key] == "" {
				p, err := createProduct(ctx, s, testProduct("SKU-"+key, "Mug", "", "home", 100, now()), 3)
				if err != nil {
					t.Fatal(err)
				}
				ids[key] = p.ID
				for id := range p.Outbox {
					return id
				}
			}
			p, err := s.Get(ctx, ids[key])
			if err != nil {
				t.Fatal(err)
			}
			p.Name += "+"
			ev, err := updatedEvent(p, now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, p, ev); err != nil {
				t.Fatal(err)
			}
			return ev.ID
		}}.Run(t)
	})

	t.Run("name sort ignores case", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if c, ok := s.(interface{ collates() bool }); ok {
			// A server without collations (FerretDB) sorts by bytes; only a first list finds out.
			if _, _, err := s.List(ctx, productQuery{Sort: sortName, Page: 1, Limit: 1}); err != nil {
				t.Fatal(err)
			}
			if !c.collates() {
				t.Skip("this MongoDB-compatible server has no collations: sort=name is byte order on it")
			}
		}
		for i, name := range []string{"banana Bread", "Zebra Mug", "apple Pie", "Cherry Jam", "iPad Stand"} {
			if err := s.Create(ctx, testProduct(fmt.Sprintf("N-%d", i), name, "", "home", 100, base), mustEvent(t, evProductCreated)); err != nil {
				t.Fatal(err)
			}
		}
		got, _, err := s.List(ctx, productQuery{Sort: sortName, Page: 1, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range got {
			names = append(names, p.Name)
		}
		if want := []string{"apple Pie", "banana Bread", "Cherry Jam", "iPad Stand", "Zebra Mug"}; !slices.Equal(names, want) {
			t.Errorf("List(sort=name) = %q, want %q", names, want)
		}
	})

	t.Run("price ties", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i, id := range []string{"0a", "0c", "0b"} {
			p := testProduct(fmt.Sprintf("T-%d", i), "Tie", "", "home", 500, base)
			p.ID = strings.Repeat("0", 30) + id
			if err := s.Create(ctx, p, mustEvent(t, evProductCreated)); err != nil {
				t.Fatal(err)
			}
		}
		// -price is price reversed, ties included (listSort), so one index serves both.
		for sort, want := range map[string][]string{sortPrice: {"T-0", "T-2", "T-1"}, sortPriceDesc: {"T-1", "T-2", "T-0"}} {
			var got []string
			for page := 1; page <= 3; page++ {
				ps, _, err := s.List(ctx, productQuery{Sort: sort, Page: page, Limit: 1})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, skus(ps)...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("List(sort=%s), a page of one at a time = %v, want %v", sort, got, want)
			}
		}
	})

	t.Run("list categories", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		items := []product{
			testProduct("E-1", "Wireless Headphones", "Noise cancelling over-ear", "electronics", 14999, base.Add(1*time.Minute)),
			testProduct("E-2", "Bluetooth Speaker", "Waterproof speaker with deep bass", "electronics", 3999, base.Add(2*time.Minute)),
			testProduct("E-3", "Mechanical Keyboard", "Keyboard with wireless mode", "electronics", 8900, base.Add(3*time.Minute)),
			testProduct("B-1", "Go Programming", "A book about Go", "books", 3995, base.Add(4*time.Minute)),
			testProduct("B-2", "Data Systems", "Wireless networks chapter", "books", 5499, base.Add(5*time.Minute)),
			testProduct("H-1", "Kettle", "Gooseneck kettle", "home", 5900, base.Add(6*time.Minute)),
		}
		inactive := testProduct("E-4", "Old Wireless Radio", "Discontinued", "electronics", 1000, base.Add(7*time.Minute))
		inactive.Active = false
		items = append(items, inactive)
		for _, p := range items {
			if err := s.Create(ctx, p, mustEvent(t, evProductCreated)); err != nil {
				t.Fatal(err)
			}
		}
		deleted := items[5]
		deleted.Version = 1
		if _, err := s.Delete(ctx, deleted, base.Add(time.Hour), mustEvent(t, evProductDeleted)); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			q     productQuery
			want  []string
			total int
		}{
			{"all newest", productQuery{Sort: sortNewest}, []string{"B-2", "B-1", "E-3", "E-2", "E-1"}, 5},
			{"category by price", productQuery{Category: "electronics", Sort: sortPrice}, []string{"E-2", "E-3", "E-1"}, 3},
			{"by price desc", productQuery{Sort: sortPriceDesc}, []string{"E-1", "E-3", "B-2", "E-2", "B-1"}, 5},
			{"by name", productQuery{Sort: sortName}, []string{"E-2", "B-2", "B-1", "E-3", "E-1"}, 5},
			{"price range", productQuery{MinCents: 3995, MaxCents: 8900, Sort: sortPrice}, []string{"B-1", "E-2", "B-2", "E-3"}, 4},
			{"min only", productQuery{MinCents: 8901, Sort: sortPrice}, []string{"E-1"}, 1},
			{"page 2", productQuery{Sort: sortPrice, Page: 2, Limit: 2}, []string{"B-2", "E-3"}, 5},
			{"page past end", productQuery{Sort: sortPrice, Page: 4, Limit: 2}, []string{}, 5},
			{"text", productQuery{Q: "wireless", Sort: sortPrice}, []string{"B-2", "E-3", "E-1"}, 3},
			{"text relevance", productQuery{Q: "headphones", Sort: sortRelevance}, []string{"E-1"}, 1},
			{"text in category", productQuery{Q: "wireless", Category: "books"}, []string{"B-2"}, 1},
			{"text no match", productQuery{Q: "zebra"}, []string{}, 0},
			{"regex characters are literal", productQuery{Q: ".*"}, []string{}, 0},
			{"unknown category", productQuery{Category: "toys"}, []string{}, 0},
			{"inactive too", productQuery{IncludeInactive: true, Category: "electronics", Sort: sortPrice}, []string{"E-4", "E-2", "E-3", "E-1"}, 4},
			{"inactive too, all", productQuery{IncludeInactive: true, Sort: sortPrice, Limit: 2}, []string{"E-4", "B-1"}, 6},
			{"inactive too, text", productQuery{IncludeInactive: true, Q: "radio"}, []string{"E-4"}, 1},
			{"sku prefix", productQuery{SKU: "E-", Sort: sortPrice}, []string{"E-2", "E-3", "E-1"}, 3},
			{"sku prefix is anchored", productQuery{SKU: "-1"}, []string{}, 0},
			{"sku prefix, inactive too", productQuery{SKU: "E", IncludeInactive: true, Sort: sortPrice}, []string{"E-4", "E-2", "E-3", "E-1"}, 4},
			{"inactive only", productQuery{Active: ptr(false), IncludeInactive: true}, []string{"E-4"}, 1},
			{"active only, admin", productQuery{Active: ptr(true), IncludeInactive: true, Category: "books", Sort: sortPrice}, []string{"B-1", "B-2"}, 2},
			{"inactive only by price", productQuery{Active: ptr(false), IncludeInactive: true, Sort: sortPrice}, []string{"E-4"}, 1},
			{"sku and text", productQuery{SKU: "B", Q: "wireless", IncludeInactive: true}, []string{"B-2"}, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := tt.q
				if q.Page == 0 {
					q.Page = 1
				}
				if q.Limit == 0 {
					q.Limit = 20
				}
				got, total, err := s.List(ctx, q)
				if err != nil {
					t.Fatalf("List(%+v): %v", q, err)
				}
				if !slices.Equal(skus(got), tt.want) || total != tt.total {
					t.Errorf("List(%+v) = %v total %d, want %v total %d", q, skus(got), total, tt.want, tt.total)
				}
				for _, p := range got {
					if p.Outbox != nil {
						t.Errorf("List returned %s with its outbox", p.SKU)
					}
				}
			})
		}
		draft := testProduct("G-1", "Rake", "Garden rake", "garden", 1500, base.Add(8*time.Minute))
		draft.Active = false
		if err := s.Create(ctx, draft, mustEvent(t, evProductCreated)); err != nil {
			t.Fatal(err)
		}
		cats, err := s.Categories(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := []categoryCount{{"books", 2}, {"electronics", 3}}; fmt.Sprint(cats) != fmt.Sprint(want) {
			t.Errorf("Categories = %v, want %v", cats, want)
		}
		// With inactive products: the draft-only category, the inactive E-4; never the deleted H-1.
		cats, err = s.Categories(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if want := []categoryCount{{"books", 2}, {"electronics", 4}, {"garden", 1}}; fmt.Sprint(cats) != fmt.Sprint(want) {
			t.Errorf("Categories(include inactive) = %v, want %v", cats, want)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestEventsKeepTrace: product.created keeps the trace of the request that created the product.
func TestEventsKeepTrace(t *testing.T) {
	t.Parallel()
	ctx, want := sharedtest.TracedContext(t)
	p, err := createProduct(ctx, newMemProductStore(), testProduct("SKU-T", "Mug", "", "home", 100, now()), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Outbox) != 1 {
		t.Fatalf("outbox = %v, want product.created", p.Outbox)
	}
	for _, ev := range p.Outbox {
		if e := ev.event(p.ID); e.TraceParent != want {
			t.Errorf("%s traceparent = %q, want %q", e.Type, e.TraceParent, want)
		}
	}
}

// TestListSortIndexed: every list order, over the whole catalog and in a category, comes from an
// index of productIndexes or nameIndexes (under sort=name's collation), so MongoDB reads one page
// instead of sorting every matching product in memory on every page.
func TestListSortIndexed(t *testing.T) {
	t.Parallel()
	models := append(slices.Clone(productIndexes), nameIndexes...)
	for _, sort := range []string{sortNewest, sortPrice, sortPriceDesc, sortName, sortRelevance} {
		var collation *options.Collation
		if sort == sortName {
			collation = nameCollation
		}
		for _, eq := range [][]string{nil, {"category"}} {
			if !sharedtest.SortIndexed(models, eq, listSort(sort, false), collation) {
				t.Errorf("GET /products?sort=%s with equality on %v: no index gives the order %v", sort, eq, listSort(sort, false))
			}
		}
	}
}
