package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestSubscribeFilter(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	c, _ := e.dial(t, "", e.bearer(t, alice))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","skus":["SKU-1"],"categories":["books"]}`)); err != nil {
		t.Fatal(err)
	}
	if m := readMsg(t, c); m.Type != "subscribed" || string(m.Data) != `{"skus":["SKU-1"],"categories":["books"]}` {
		t.Fatalf("ack = %s %s, want subscribed with the lists", m.Type, m.Data)
	}
	e.release(t, "SKU-1", "SKU-2")
	e.consume(t,
		event(t, "inventory.updated", map[string]any{"sku": "SKU-2"}),                                     // filtered out
		event(t, "product.updated", map[string]any{"sku": "SKU-3", "category": "garden", "active": true}), // filtered out
		event(t, "inventory.updated", map[string]any{"sku": "SKU-1"}),
		event(t, "product.created", map[string]any{"sku": "SKU-9", "category": "books", "active": true}),
		event(t, "order.created", map[string]any{"order_id": "o", "user_id": alice.UserID}), // never filtered
		event(t, "announcement", map[string]any{"message": "end"}),
	)
	got := typesUntil(t, c, "announcement")
	if want := "inventory.updated:,product.created:,order.created:u-alice"; strings.Join(got, ",") != want {
		t.Fatalf("filtered stream = %v, want %s", got, want)
	}
	// Unsubscribing restores everything.
	c.Write(ctx, websocket.MessageText, []byte(`{"type":"unsubscribe"}`))
	if m := readMsg(t, c); m.Type != "subscribed" {
		t.Fatalf("ack type = %q, want subscribed", m.Type)
	}
	e.consume(t, event(t, "inventory.updated", map[string]any{"sku": "SKU-2"}))
	if m := readMsg(t, c); m.Type != "inventory.updated" {
		t.Fatalf("after unsubscribe: type = %q, want inventory.updated", m.Type)
	}
}

func FuzzParseSubscribe(f *testing.F) {
	for _, s := range []string{`{"type":"subscribe","skus":["A"]}`, `{"type":"unsubscribe"}`, `{"type":"subscribe","categories":[""]}`, `{"skus":1}`, `[]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		flt, ok := parseSubscribe(p)
		if !ok && flt != nil {
			t.Fatal("rejected message produced a filter")
		}
		if flt != nil && len(flt.skus)+len(flt.categories) > maxSubscriptions {
			t.Fatalf("filter of %d entries exceeds the bound", len(flt.skus)+len(flt.categories))
		}
	})
}

// TestClientMessageFlood: a client's frames cost realtime a read, a goroutine and a JSON decode each
// (a subscribe of 200 SKUs also the hub's lock), and nothing at the edge limits them: eight anonymous
// connections sending subscriptions back to back kept realtime at a full core. A connection may send
// a burst of clientBurst messages and clientRate a second after that; the next closes it with 1008.
func TestClientMessageFlood(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	calm, _ := e.dial(t, "", nil)
	for i := range clientBurst {
		if err := calm.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","skus":["SKU-1"]}`)); err != nil {
			t.Fatalf("subscribe #%d of a burst: %v", i+1, err)
		}
		if m := readMsg(t, calm); m.Type != "subscribed" {
			t.Fatalf("subscribe #%d of a burst: got %s, want subscribed", i+1, m.Type)
		}
	}

	flood, _ := e.dial(t, "", nil)
	go func() {
		for range 10 * clientBurst {
			if flood.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","skus":["SKU-1","SKU-2"]}`)) != nil {
				return
			}
		}
	}()
	var err error
	for err == nil {
		_, _, err = flood.Read(ctx)
	}
	if code := websocket.CloseStatus(err); code != websocket.StatusPolicyViolation {
		t.Fatalf("flooding client: connection ended with %v (%d), want close %d", err, code, websocket.StatusPolicyViolation)
	}
}
