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

// TestProfileStore is the contract every profileStore meets: run against the in-memory store always,
// and against MongoDB when MONGO_TEST_URI is set (a fresh database per run, dropped afterwards).
func TestProfileStore(t *testing.T) {
	t.Parallel()
	sharedtest.EachContractStore(t, "user_test_", func() profileStore { return newMemProfileStore() }, func(db *mongo.Database) profileStore { return newMongoProfileStore(db) },
		func(t *testing.T, name string, newStore func(testing.TB) profileStore) {
			// A server that may lose concurrent updates (sharedtest.NonAtomic: FerretDB on its own)
			// cannot judge the compare-and-swap race; MongoDB and the devstack's FerretDB can.
			atomic := name == "mem" || !sharedtest.NonAtomic(sharedtest.Mongo(t, "user_probe_"))
			testProfileStore(t, atomic, newStore)
		})
}

func testProfile(id, email, name string, created time.Time) Profile {
	return newProfile(id, email, name, shared.RoleCustomer, created)
}

// testProfileStore runs the contract; atomic says the backend applies a conditional write atomically,
// which the concurrency case needs.
func testProfileStore(t *testing.T, atomic bool, newStore func(testing.TB) profileStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("create get conflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		p := testProfile("u1", "a@example.com", "Ann", t0)
		p.Phone = "+15550102030"
		p.Preferences.OrderEmailsOff = true // stored negated: must round-trip
		p.Addresses = []Address{{ID: "a1", Name: "Home", Street: "1 Main St", City: "Springfield", ZipCode: "12345", Country: "US", IsDefault: true}}
		if err := s.Create(ctx, p); err != nil {
			t.Fatalf("Create: %v", err)
		}
		got, err := s.Get(ctx, "u1")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if got.Email != p.Email || got.Name != p.Name || got.Status != statusActive || got.Phone != p.Phone ||
			got.Preferences != p.Preferences || !got.CreatedAt.Equal(t0) || len(got.Addresses) != 1 || got.Addresses[0] != p.Addresses[0] {
			t.Errorf("Get = %+v, want %+v", got, p)
		}
		if err := s.Create(ctx, p); !errors.Is(err, shared.ErrConflict) {
			t.Errorf("Create twice: err = %v, want ErrConflict", err)
		}
		if _, err := s.Get(ctx, "nobody"); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Get missing: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("relay contract", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		sharedtest.OutboxContract{Store: profileOutbox{s}, Write: func(t *testing.T, key string) string {
			id := "u-" + key
			if _, err := s.Get(ctx, id); errors.Is(err, shared.ErrNotFound) {
				if err := s.Create(ctx, testProfile(id, key+"@example.com", "Ann", t0)); err != nil {
					t.Fatal(err)
				}
			}
			p, err := s.Update(ctx, id, func(p *Profile) error {
				p.Name += "+"
				return addEvent(p, eventUserUpdated, userUpdated{UserID: id, Name: p.Name})
			})
			if err != nil {
				t.Fatal(err)
			}
			return p.Outbox[len(p.Outbox)-1].ID
		}}.Run(t)
	})

	t.Run("get returns a copy", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		p := testProfile("u1", "a@example.com", "Ann", t0)
		p.Addresses = []Address{{ID: "a1", Name: "Home"}}
		if err := s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, "u1")
		got.Addresses[0].Name = "changed"
		again, _ := s.Get(ctx, "u1")
		if again.Addresses[0].Name != "Home" {
			t.Errorf("store shares memory with its callers: name = %q", again.Addresses[0].Name)
		}
	})

	t.Run("update", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.Update(ctx, "nobody", func(*Profile) error { return nil }); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("Update missing: err = %v, want ErrNotFound", err)
		}
		if err := s.Create(ctx, testProfile("u1", "a@example.com", "Ann", t0)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Update(ctx, "u1", func(p *Profile) error {
			p.Name = "Anna"
			p.ID = "hijack" // the store keeps the ID
			return addEvent(p, eventUserUpdated, userUpdated{UserID: "u1", Name: "Anna"})
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if got.ID != "u1" || got.Name != "Anna" || got.Version != 1 || !got.HasPending {
			t.Errorf("Update = id %q name %q version %d pending %v, want u1 Anna 1 true", got.ID, got.Name, got.Version, got.HasPending)
		}
		boom := errors.New("boom")
		if _, err := s.Update(ctx, "u1", func(p *Profile) error { p.Name = "lost"; return boom }); !errors.Is(err, boom) {
			t.Errorf("Update with failing fn: err = %v, want boom", err)
		}
		stored, _ := s.Get(ctx, "u1")
		if stored.Name != "Anna" || stored.Version != 1 || len(stored.Outbox) != 1 || stored.Outbox[0].Type != eventUserUpdated {
			t.Errorf("after failed update: name %q version %d outbox %d, want Anna 1 1", stored.Name, stored.Version, len(stored.Outbox))
		}
		if _, err := s.Update(ctx, "hijack", func(*Profile) error { return nil }); !errors.Is(err, shared.ErrNotFound) {
			t.Errorf("fn changed the ID and a new profile appeared: err = %v", err)
		}
	})

	t.Run("concurrent updates lose nothing", func(t *testing.T) {
		t.Parallel()
		if !atomic {
			t.Skip("the Mongo server does not apply conditional writes atomically (FerretDB without MONGO_TEST_SERIAL=1)")
		}
		s := newStore(t)
		if err := s.Create(ctx, testProfile("u1", "a@example.com", "Ann", t0)); err != nil {
			t.Fatal(err)
		}
		const writers = 8
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := range writers {
			wg.Go(func() {
				_, err := s.Update(ctx, "u1", func(p *Profile) error {
					return addAddress(p, Address{ID: fmt.Sprintf("a%d", i), Name: "n"}, true)
				})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Update: %v", err)
			}
		}
		got, _ := s.Get(ctx, "u1")
		defaults := 0
		for _, a := range got.Addresses {
			if a.IsDefault {
				defaults++
			}
		}
		if len(got.Addresses) != writers || defaults != 1 || got.Version != writers {
			t.Errorf("after %d concurrent adds: %d addresses, %d defaults, version %d", writers, len(got.Addresses), defaults, got.Version)
		}
	})

	t.Run("list", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i, p := range []Profile{
			testProfile("u3", "carol@example.com", "Carol", t0.Add(3*time.Second)),
			testProfile("u1", "ann@example.com", "Ann Smith", t0.Add(1*time.Second)),
			testProfile("u2", "bob@shop.test", "Bob (.*)", t0.Add(2*time.Second)),
			testProfile("u4", "dave@example.com", "Dave", t0.Add(4*time.Second)),
		} {
			if i == 3 {
				p.Status = statusSuspended
			}
			if err := s.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name  string
			f     listFilter
			want  []string
			total int64
		}{
			{"all", listFilter{Page: 1, Limit: 10}, []string{"u1", "u2", "u3", "u4"}, 4},
			{"page 2", listFilter{Page: 2, Limit: 3}, []string{"u4"}, 4},
			{"past the end", listFilter{Page: 5, Limit: 3}, []string{}, 4},
			{"suspended", listFilter{Status: statusSuspended, Page: 1, Limit: 10}, []string{"u4"}, 1},
			{"active", listFilter{Status: statusActive, Page: 1, Limit: 2}, []string{"u1", "u2"}, 3},
			{"q email", listFilter{Q: "EXAMPLE.com", Page: 1, Limit: 10}, []string{"u1", "u3", "u4"}, 3},
			{"q name", listFilter{Q: "smith", Page: 1, Limit: 10}, []string{"u1"}, 1},
			{"q is text, not a pattern", listFilter{Q: "(.*)", Page: 1, Limit: 10}, []string{"u2"}, 1},
			{"q and status", listFilter{Q: "example", Status: statusActive, Page: 1, Limit: 10}, []string{"u1", "u3"}, 2},
		}
		for _, tt := range tests {
			got, total, err := s.List(ctx, tt.f)
			if err != nil {
				t.Fatalf("%s: List: %v", tt.name, err)
			}
			ids := []string{}
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.want) || total != tt.total {
				t.Errorf("%s: List = %v total %d, want %v total %d", tt.name, ids, total, tt.want, tt.total)
			}
		}
	})

	t.Run("pending", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, id := range []string{"u1", "u2", "u3"} {
			if err := s.Create(ctx, testProfile(id, id+"@example.com", id, t0)); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"u1", "u3"} {
			if _, err := s.Update(ctx, id, func(p *Profile) error {
				return addEvent(p, eventUserStatusChanged, userStatusChanged{UserID: id, Status: statusSuspended})
			}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Pending(ctx, 10)
		if err != nil || len(got) != 2 {
			t.Fatalf("Pending = %d profiles, %v; want 2", len(got), err)
		}
		if got, _ := s.Pending(ctx, 1); len(got) != 1 {
			t.Errorf("Pending(limit 1) = %d profiles, want 1", len(got))
		}
		if _, err := s.Update(ctx, "u1", func(p *Profile) error { p.Outbox = nil; return nil }); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Pending(ctx, 10)
		if len(got) != 1 || got[0].ID != "u3" || len(got[0].Outbox) != 1 || got[0].Outbox[0].event().Type != eventUserStatusChanged {
			t.Errorf("Pending after ack = %+v, want only u3 with its event", got)
		}
	})
}
