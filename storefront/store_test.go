package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared/sharedtest"

	"github.com/goshop/platform/shared"
)

// redisStoreForTest returns a Redis-backed store on REDIS_TEST_URL, or nil when it is unset. Nothing
// is flushed: every test uses fresh random session IDs.
func redisStoreForTest(t *testing.T) *redisSessionStore {
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		return nil
	}
	return &redisSessionStore{rdb: rdb}
}

// TestSessionStore is the contract of sessionStore: the in-memory store always, Redis when
// REDIS_TEST_URL is set (make test-contract runs it against redis-server).
func TestSessionStore(t *testing.T) {
	t.Parallel()
	t.Run("mem", func(t *testing.T) {
		t.Parallel()
		testSessionStoreContract(t, newMemSessionStore())
	})
	if rs := redisStoreForTest(t); rs != nil {
		t.Run("redis", func(t *testing.T) {
			t.Parallel()
			testSessionStoreContract(t, rs)
			// The TTL slides on every read, and the keys are a hash of the session ID.
			sid := shared.RandomToken()
			ctx := context.Background()
			if err := rs.AddToCart(ctx, sid, "SKU-1", 1); err != nil {
				t.Fatal(err)
			}
			vk, ck := redisKeys(sid)
			rs.rdb.PExpire(ctx, ck, time.Minute)
			if _, err := rs.Cart(ctx, sid); err != nil {
				t.Fatal(err)
			}
			if ttl := rs.rdb.PTTL(ctx, ck).Val(); ttl < sessionTTL-time.Minute {
				t.Errorf("cart TTL after a read = %v, want about %v", ttl, sessionTTL)
			}
			if n := rs.rdb.Exists(ctx, "sf:c:"+sid, "sf:s:"+sid).Val(); n != 0 {
				t.Errorf("keys named by the raw session ID exist (%d): want only hashed names like %s", n, vk)
			}
		})
	}
}

func testSessionStoreContract(t *testing.T, s sessionStore) {
	ctx := context.Background()
	sid := shared.RandomToken()
	mustCart := func(sid string) cart {
		t.Helper()
		c, err := s.Cart(ctx, sid)
		if err != nil {
			t.Fatalf("Cart: %v", err)
		}
		return c
	}
	if c := mustCart(sid); len(c.Lines) != 0 {
		t.Fatalf("unknown session: cart = %+v, want empty", c)
	}
	if v, err := s.Values(ctx, sid); err != nil || len(v) != 0 {
		t.Fatalf("unknown session: Values = %v, %v, want empty", v, err)
	}

	// Add accumulates and clamps; Set replaces; 0 removes.
	for _, step := range []struct {
		op   string
		sku  string
		qty  int
		want int
	}{
		{"add", "SKU-B", 2, 2}, {"add", "SKU-B", 3, 5}, {"add", "SKU-B", 500, maxQuantity},
		{"set", "SKU-B", 4, 4}, {"add", "SKU-A", 1, 1}, {"set", "SKU-A", 0, 0}, {"set", "SKU-C", 120, maxQuantity},
	} {
		var err error
		if step.op == "add" {
			err = s.AddToCart(ctx, sid, step.sku, step.qty)
		} else {
			err = s.SetCartLine(ctx, sid, step.sku, step.qty)
		}
		if err != nil {
			t.Fatalf("%s %s %d: %v", step.op, step.sku, step.qty, err)
		}
		got := 0
		for _, l := range mustCart(sid).Lines {
			if l.SKU == step.sku {
				got = l.Qty
			}
		}
		if got != step.want {
			t.Fatalf("after %s %s %d: quantity = %d, want %d", step.op, step.sku, step.qty, got, step.want)
		}
	}
	if c := mustCart(sid); len(c.Lines) != 2 || c.Lines[0].SKU != "SKU-B" || c.Lines[1].SKU != "SKU-C" {
		t.Fatalf("cart = %+v, want SKU-B and SKU-C in SKU order", c.Lines)
	}

	// Line limit: a new line past maxCartLines is refused, existing lines still change.
	full := shared.RandomToken()
	for i := range maxCartLines {
		if err := s.AddToCart(ctx, full, fmt.Sprintf("SKU-%02d", i), 1); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	if err := s.AddToCart(ctx, full, "SKU-NEW", 1); !errors.Is(err, errCartFull) {
		t.Fatalf("line %d: err = %v, want errCartFull", maxCartLines+1, err)
	}
	if err := s.SetCartLine(ctx, full, "SKU-NEW", 1); !errors.Is(err, errCartFull) {
		t.Fatalf("set a new line in a full cart: err = %v, want errCartFull", err)
	}
	if err := s.AddToCart(ctx, full, "SKU-00", 1); err != nil {
		t.Fatalf("add to an existing line of a full cart: %v", err)
	}

	// Two tabs adding at once: every add counts.
	tabs := shared.RandomToken()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := s.AddToCart(ctx, tabs, "SKU-T", 1); err != nil {
				t.Errorf("concurrent add: %v", err)
			}
		})
	}
	wg.Wait()
	if c := mustCart(tabs); len(c.Lines) != 1 || c.Lines[0].Qty != 20 {
		t.Fatalf("20 concurrent adds of 1: cart = %+v, want quantity 20", c.Lines)
	}

	// Values.
	if err := s.SetValue(ctx, sid, "auth", "x"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Values(ctx, sid); v["auth"] != "x" {
		t.Fatalf("Values = %v, want auth=x", v)
	}
	if err := s.SetValue(ctx, sid, "auth", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Values(ctx, sid); v["auth"] != "" {
		t.Fatalf("Values after delete = %v", v)
	}
	s.SetValue(ctx, sid, "auth", "y")

	// Rotate moves cart and values; the old ID is empty afterwards.
	to := shared.RandomToken()
	if err := s.Rotate(ctx, sid, to); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if c := mustCart(to); len(c.Lines) != 2 {
		t.Fatalf("cart after Rotate = %+v, want the 2 lines", c.Lines)
	}
	if v, _ := s.Values(ctx, to); v["auth"] != "y" {
		t.Fatalf("values after Rotate = %v", v)
	}
	if c := mustCart(sid); len(c.Lines) != 0 {
		t.Fatalf("old session still has a cart after Rotate: %+v", c.Lines)
	}
	if v, _ := s.Values(ctx, sid); len(v) != 0 {
		t.Fatalf("old session still has values after Rotate: %v", v)
	}
	if err := s.Rotate(ctx, shared.RandomToken(), shared.RandomToken()); err != nil {
		t.Fatalf("Rotate of an empty session: %v", err)
	}

	// ClearCart, Delete.
	if err := s.ClearCart(ctx, to); err != nil || len(mustCart(to).Lines) != 0 {
		t.Fatalf("ClearCart: %v, cart %+v", err, mustCart(to).Lines)
	}
	if v, _ := s.Values(ctx, to); v["auth"] != "y" {
		t.Fatal("ClearCart removed the session's values")
	}
	s.AddToCart(ctx, to, "SKU-A", 1)
	if err := s.Delete(ctx, to); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Values(ctx, to); len(v) != 0 || len(mustCart(to).Lines) != 0 {
		t.Fatal("Delete left data behind")
	}

	// Lock: one holder at a time, free after Unlock.
	if ok, err := s.Lock(ctx, to, "refresh", time.Minute); !ok || err != nil {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	if ok, _ := s.Lock(ctx, to, "refresh", time.Minute); ok {
		t.Fatal("second Lock succeeded while held")
	}
	if err := s.Unlock(ctx, to, "refresh"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Lock(ctx, to, "refresh", time.Minute); !ok {
		t.Fatal("Lock after Unlock failed")
	}
}

// TestMemSessionTTL: a session lives sessionTTL after its last use, and every read slides it.
func TestMemSessionTTL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newMemSessionStore()
		sid := shared.RandomToken()
		s.AddToCart(ctx, sid, "SKU-1", 1)
		time.Sleep(sessionTTL - time.Second)
		if c, _ := s.Cart(ctx, sid); len(c.Lines) != 1 {
			t.Fatal("cart gone before its TTL")
		}
		time.Sleep(sessionTTL - time.Second) // the read above slid it
		if c, _ := s.Cart(ctx, sid); len(c.Lines) != 1 {
			t.Fatal("cart gone although a read slid its TTL")
		}
		time.Sleep(sessionTTL)
		if c, _ := s.Cart(ctx, sid); len(c.Lines) != 0 {
			t.Fatal("cart still there a full TTL after its last use")
		}
		ok, _ := s.Lock(ctx, sid, "refresh", time.Second)
		time.Sleep(time.Second)
		if again, _ := s.Lock(ctx, sid, "refresh", time.Second); !ok || !again {
			t.Fatal("a lock did not expire after its TTL")
		}
	})
}
