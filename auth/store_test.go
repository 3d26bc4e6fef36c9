package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
	"go.mongodb.org/mongo-driver/mongo"
)

// TestAccountStore is the contract of accountStore, run against the in-memory store always and
// against MongoDB when MONGO_TEST_URI is set (a fresh database per run, dropped after).
func TestAccountStore(t *testing.T) {
	t.Parallel()
	sharedtest.EachContractStore(t, "auth_test_", func() accountStore { return newMemAccountStore() }, func(db *mongo.Database) accountStore { return newMongoAccountStore(db) },
		func(t *testing.T, _ string, newStore func(testing.TB) accountStore) {
			testAccountStoreContract(t, newStore(t))
			t.Run("relay contract", func(t *testing.T) {
				s := newStore(t)
				sharedtest.OutboxContract{Store: accountOutbox{s}, SingleEvent: true, Write: func(t *testing.T, key string) string {
					now := time.Now().UTC().Truncate(time.Millisecond)
					a := account{ID: "u-" + key, Email: key + "@example.com", Name: key, Role: "customer", PasswordHash: []byte("h"),
						Status: statusActive, CreatedAt: now, UpdatedAt: now, EventPending: true}
					if err := s.Create(context.Background(), a); err != nil {
						t.Fatal(err)
					}
					e, _ := registeredEvent(a)
					return e.ID
				}}.Run(t)
			})
		})
}

func testAccountStoreContract(t *testing.T, s accountStore) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := account{ID: "a1", Email: "a@example.com", Name: "A", Role: "customer", PasswordHash: []byte("h"),
		Status: statusActive, CreatedAt: now, UpdatedAt: now, EventPending: true}
	if err := s.Create(ctx, a); err != nil {
		t.Fatalf("Create: %v", err)
	}
	dup := a
	dup.ID = "a2"
	if err := s.Create(ctx, dup); !errors.Is(err, shared.ErrConflict) {
		t.Fatalf("Create with taken email: err = %v, want ErrConflict", err)
	}
	got, err := s.ByEmail(ctx, "a@example.com")
	if err != nil || got.ID != "a1" || string(got.PasswordHash) != "h" || got.Role != "customer" {
		t.Fatalf("ByEmail = %+v, %v", got, err)
	}
	got.PasswordHash[0] = 'x' // a copy: must not change the store
	if again, _ := s.ByID(ctx, "a1"); string(again.PasswordHash) != "h" {
		t.Fatalf("store returned shared memory")
	}
	if _, err := s.ByEmail(ctx, "nobody@example.com"); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("ByEmail unknown: err = %v, want ErrNotFound", err)
	}
	if _, err := s.ByID(ctx, "nope"); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("ByID unknown: err = %v, want ErrNotFound", err)
	}

	if err := s.SetPasswordHash(ctx, "a1", []byte("h2")); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	if got, _ := s.ByEmail(ctx, "a@example.com"); string(got.PasswordHash) != "h2" {
		t.Fatalf("hash after SetPasswordHash = %q", got.PasswordHash)
	}
	if err := s.SetPasswordHash(ctx, "nope", []byte("x")); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("SetPasswordHash unknown: err = %v, want ErrNotFound", err)
	}

	pending, err := s.PendingEvents(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].ID != "a1" {
		t.Fatalf("PendingEvents = %v, %v", pending, err)
	}
	if err := s.MarkPublished(ctx, "a1"); err != nil {
		t.Fatalf("MarkPublished: %v", err)
	}
	if pending, _ := s.PendingEvents(ctx, 10); len(pending) != 0 {
		t.Fatalf("PendingEvents after MarkPublished = %v", pending)
	}
	if err := s.MarkPublished(ctx, "nope"); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("MarkPublished unknown: err = %v", err)
	}

	t1, t2 := now.Add(time.Second), now.Add(2*time.Second)
	if ok, err := s.SetStatus(ctx, "a1", statusSuspended, t2); !ok || err != nil {
		t.Fatalf("SetStatus newer = %v, %v; want applied", ok, err)
	}
	if ok, err := s.SetStatus(ctx, "a1", statusActive, t1); ok || err != nil {
		t.Fatalf("SetStatus older = %v, %v; want ignored", ok, err)
	}
	if ok, err := s.SetStatus(ctx, "a1", statusSuspended, t2); ok || err != nil {
		t.Fatalf("SetStatus replay = %v, %v; want ignored", ok, err)
	}
	if got, _ := s.ByID(ctx, "a1"); got.Status != statusSuspended {
		t.Fatalf("status = %q, want suspended", got.Status)
	}
	if _, err := s.SetStatus(ctx, "nope", statusActive, t2); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("SetStatus unknown: err = %v, want ErrNotFound", err)
	}

	// The name follows user.updated, newest event first: a replayed or older one changes nothing.
	if ok, err := s.SetName(ctx, "a1", "Ann New", t2); !ok || err != nil {
		t.Fatalf("SetName newer = %v, %v; want applied", ok, err)
	}
	if ok, err := s.SetName(ctx, "a1", "Ann Old", t1); ok || err != nil {
		t.Fatalf("SetName older = %v, %v; want ignored", ok, err)
	}
	if got, _ := s.ByID(ctx, "a1"); got.Name != "Ann New" || got.Status != statusSuspended {
		t.Fatalf("after SetName: name %q, status %q; want Ann New, suspended", got.Name, got.Status)
	}
	if _, err := s.SetName(ctx, "nope", "X", t2); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("SetName unknown: err = %v, want ErrNotFound", err)
	}

	// E-mail verification: a change of address goes through the unique index, and the outbox flag
	// is cleared only for the verification the relay published.
	other := account{ID: "b1", Email: "b@example.com", Role: "customer", Status: statusActive, CreatedAt: now, UpdatedAt: now}
	if err := s.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyEmail(ctx, "a1", "b@example.com", t1); !errors.Is(err, shared.ErrConflict) {
		t.Fatalf("VerifyEmail onto a taken address: err = %v, want ErrConflict", err)
	}
	if err := s.VerifyEmail(ctx, "nope", "z@example.com", t1); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("VerifyEmail unknown: err = %v, want ErrNotFound", err)
	}
	if err := s.VerifyEmail(ctx, "a1", "new@example.com", t1); err != nil {
		t.Fatalf("VerifyEmail: %v", err)
	}
	if got, err := s.ByEmail(ctx, "new@example.com"); err != nil || got.ID != "a1" || !got.EmailVerified || !got.EmailVerifiedAt.Equal(t1) {
		t.Fatalf("ByEmail(new) = %+v, %v", got, err)
	}
	if _, err := s.ByEmail(ctx, "a@example.com"); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("ByEmail(old) after the change: err = %v, want ErrNotFound", err)
	}
	if err := s.Create(ctx, account{ID: "c1", Email: "a@example.com", Status: statusActive, CreatedAt: now}); err != nil {
		t.Fatalf("Create with the freed address: %v", err)
	}
	if pending, _ := s.PendingEvents(ctx, 10); len(pending) != 1 || pending[0].ID != "a1" || !pending[0].EmailEventPending {
		t.Fatalf("PendingEvents after VerifyEmail = %+v", pending)
	}
	if err := s.VerifyEmail(ctx, "a1", "new@example.com", t2); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkEmailPublished(ctx, "a1", t1); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.PendingEvents(ctx, 10); len(pending) != 1 {
		t.Fatalf("MarkEmailPublished of an older verification cleared the newer one's flag")
	}
	if err := s.MarkEmailPublished(ctx, "a1", t2); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.PendingEvents(ctx, 10); len(pending) != 0 {
		t.Fatalf("PendingEvents after MarkEmailPublished = %+v", pending)
	}
}

// TestLinkStore is the contract of linkStore: memory always, MongoDB with MONGO_TEST_URI.
func TestLinkStore(t *testing.T) {
	t.Parallel()
	sharedtest.EachContractStore(t, "auth_test_", func() linkStore { return newMemLinkStore() }, func(db *mongo.Database) linkStore { return newMongoLinkStore(db) },
		func(t *testing.T, _ string, newStore func(testing.TB) linkStore) {
			s, ctx := newStore(t), context.Background()
			now := time.Now().UTC().Truncate(time.Millisecond)
			old, _ := newLink(linkReset, "u1", "u@example.com", now)
			l, _ := newLink(linkReset, "u1", "u@example.com", now)
			v, _ := newLink(linkVerify, "u1", "new@example.com", now)
			for _, x := range []link{old, l, v} {
				if err := s.Save(ctx, x); err != nil {
					t.Fatalf("Save: %v", err)
				}
			}
			if _, err := s.Take(ctx, linkReset, old.Hash, now); !errors.Is(err, shared.ErrNotFound) {
				t.Fatalf("Take of a replaced link: err = %v, want ErrNotFound", err)
			}
			if _, err := s.Take(ctx, linkVerify, l.Hash, now); !errors.Is(err, shared.ErrNotFound) {
				t.Fatalf("Take for the wrong purpose: err = %v, want ErrNotFound", err)
			}
			if _, err := s.Take(ctx, linkReset, l.Hash, l.ExpiresAt); !errors.Is(err, shared.ErrNotFound) {
				t.Fatalf("Take at its expiry: err = %v, want ErrNotFound", err)
			}
			got, err := s.Take(ctx, linkReset, l.Hash, now)
			if err != nil || got.UserID != "u1" || got.Email != "u@example.com" || !got.ExpiresAt.Equal(l.ExpiresAt) {
				t.Fatalf("Take = %+v, %v", got, err)
			}
			if _, err := s.Take(ctx, linkReset, l.Hash, now); !errors.Is(err, shared.ErrNotFound) {
				t.Fatalf("second Take: err = %v, want ErrNotFound", err)
			}
			if got, err := s.Live(ctx, "u1", linkVerify, now); err != nil || got.Hash != v.Hash || got.Email != "new@example.com" {
				t.Fatalf("Live = %+v, %v; want the verify link", got, err)
			}
			if _, err := s.Live(ctx, "u1", linkVerify, v.ExpiresAt); !errors.Is(err, shared.ErrNotFound) {
				t.Fatalf("Live at its expiry: err = %v, want ErrNotFound", err)
			}
			if _, err := s.Live(ctx, "u1", linkReset, now); !errors.Is(err, shared.ErrNotFound) {
				t.Fatalf("Live of a taken link: err = %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, "u1", linkVerify); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Take(ctx, linkVerify, v.Hash, now); !errors.Is(err, shared.ErrNotFound) {
				t.Fatalf("Take after Delete: err = %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, "nobody", linkReset); err != nil {
				t.Fatalf("Delete of nothing: %v", err)
			}
		})
}
