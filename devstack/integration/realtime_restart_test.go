package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestRealtimeRestartKeepsReleasedProducts: realtime restarted with the same instance ID resumes its
// consumer group's committed offsets, past every demo product's product.created. After the restart an
// anonymous socket subscribed to a released demo product and to a draft still gets the demo product's
// live stock (its catalog was warmed from product.events) and nothing about the draft.
func TestRealtimeRestartKeepsReleasedProducts(t *testing.T) {
	gw := platform.URL("gateway")
	admin := bearerOf(t, adminEmail, adminPass)
	auth := []string{"Authorization", "Bearer " + admin}
	api := newClient(t, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const released = "ELEC-CAM-005" // a demo product, active since the seed

	draft := fmt.Sprintf("DRAFT-RS-%d", time.Now().UnixNano())
	// The socket is open before the draft exists: its stock event cannot go out before anyone listens.
	first := dialRealtime(ctx, t, gw, admin)
	api.must(201, "POST", "/product/products", map[string]any{"sku": draft, "name": "Unreleased " + draft,
		"description": "not for sale yet", "price": 19.99, "currency": "USD", "category": "home-kitchen",
		"stock": 3, "active": false}, nil, auth...)
	// Wait until realtime has consumed the draft (its stock reached an admin), so its offsets are
	// past it and past the whole demo catalog when it stops.
	readUntil(ctx, t, first, "admin", func(typ string, d msgData) bool {
		return typ == "inventory.updated" && d.SKU == draft
	})

	if err := platform.StopProgram("realtime"); err != nil {
		t.Fatalf("stop realtime: %v", err)
	}
	restarted := time.Now()
	if err := platform.Restart("realtime"); err != nil {
		t.Fatalf("restart realtime: %v", err)
	}
	if err := platform.WaitReady(ctx, 60*time.Second); err != nil { // includes the catalog warm-up
		t.Fatalf("after the restart: %v", err)
	}
	t.Logf("realtime ready (catalog warmed) %s after its restart", time.Since(restarted).Round(time.Millisecond))

	anon := dialRealtime(ctx, t, gw, "")
	subscribeTo(ctx, t, anon, draft, released)
	adminWS := dialRealtime(ctx, t, gw, admin)
	// The draft's stock first, and seen by an admin, so that it went out before the released one's.
	api.must(200, "POST", "/inventory/inventory/"+draft+"/adjust", map[string]any{"delta": 1, "reason": "restart test"}, nil, auth...)
	readUntil(ctx, t, adminWS, "admin", func(typ string, d msgData) bool {
		return typ == "inventory.updated" && d.SKU == draft
	})
	api.must(200, "POST", "/inventory/inventory/"+released+"/adjust", map[string]any{"delta": 1, "reason": "restart test"}, nil, auth...)
	// Before the fix, the released product's stock went to admins only: this read ran out of time.
	readCtx, readCancel := context.WithTimeout(ctx, 20*time.Second)
	defer readCancel()
	var leaked []string
	readUntil(readCtx, t, anon, "anonymous", func(typ string, d msgData) bool {
		if d.SKU == draft {
			leaked = append(leaked, typ)
		}
		return typ == "inventory.updated" && d.SKU == released
	})
	if len(leaked) > 0 {
		t.Errorf("anonymous socket got %v about the draft after the restart", leaked)
	}
}

// subscribeTo narrows c's public messages to skus and reads the acknowledgement.
func subscribeTo(ctx context.Context, tb testing.TB, c *websocket.Conn, skus ...string) {
	tb.Helper()
	req, _ := json.Marshal(map[string]any{"type": "subscribe", "skus": skus})
	if err := c.Write(ctx, websocket.MessageText, req); err != nil {
		tb.Fatalf("subscribe: %v", err)
	}
	readUntil(ctx, tb, c, "subscriber", func(typ string, _ msgData) bool { return typ == "subscribed" })
}
