package main

import (
	"context"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestAddToCartSurvivesSlowRedis: an add whose script Redis ran but answered after the client's read
// timeout (1 s) is sent again by go-redis on a new connection. Before, the second run added the
// quantity again: "add 1" on a stalled Redis put 2 in the cart.
func TestAddToCartSurvivesSlowRedis(t *testing.T) {
	t.Parallel()
	slow := sharedtest.NewSlowRedis(t, 1500*time.Millisecond)
	if slow == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	ctx := context.Background()
	s := &redisSessionStore{rdb: slow.Client}
	sid := shared.RandomToken()
	if err := s.AddToCart(ctx, sid, "SKU-1", 1); err != nil { // loads the script: the late reply is the add's
		t.Fatal(err)
	}
	slow.DelayNext()
	if err := s.AddToCart(ctx, sid, "SKU-1", 1); err != nil {
		t.Fatalf("AddToCart with a late answer: %v", err)
	}
	c, err := s.Cart(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Lines) != 1 || c.Lines[0].Qty != 2 {
		t.Errorf("cart after adding 1 twice (the second answered late) = %+v, want one line of 2", c.Lines)
	}
}
