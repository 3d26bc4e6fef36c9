package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestSecurityRealtimeDraftProducts: an admin creates an inactive (draft) product through the
// gateway; anonymous and customer sockets get nothing of it (not its product.created with name and
// price, not its stock) while an admin socket does; once it is activated, the public sees it.
func TestSecurityRealtimeDraftProducts(t *testing.T) {
	gw := platform.URL("gateway")
	admin, customer := bearerOf(t, adminEmail, adminPass), bearerOf(t, demoEmail, demoPass)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sockets := map[string]*websocket.Conn{
		"anonymous": dialRealtime(ctx, t, gw, ""),
		"customer":  dialRealtime(ctx, t, gw, customer),
		"admin":     dialRealtime(ctx, t, gw, admin),
	}

	sku := fmt.Sprintf("DRAFT-%d", time.Now().UnixNano())
	api := newClient(t, gw)
	auth := []string{"Authorization", "Bearer " + admin}
	var p struct {
		ID string `json:"id"`
	}
	body := map[string]any{"sku": sku, "name": "Unreleased Lamp " + sku, "description": "not for sale yet",
		"price": 49.99, "currency": "USD", "category": "home-kitchen", "stock": 7, "active": false}
	api.must(201, "POST", "/product/products", body, &p, auth...)
	newClient(t, gw).must(404, "GET", "/product/products/"+p.ID, nil, nil)

	// The admin sees the draft and its stock once inventory has created the item, in either order:
	// realtime reads product.events and inventory.events independently, and Kafka orders nothing
	// across topics. (Without them the read runs into ctx's deadline and fails.)
	var created, stocked bool
	readUntil(ctx, t, sockets["admin"], "admin", func(typ string, d msgData) bool {
		created = created || (typ == "product.created" && d.ProductID == p.ID)
		stocked = stocked || (typ == "inventory.updated" && d.SKU == sku)
		return created && stocked
	})

	delete(body, "stock")
	body["active"] = true
	api.must(200, "PUT", "/product/products/"+p.ID, body, nil, auth...)
	for _, who := range []string{"anonymous", "customer"} {
		var leaked []string
		readUntil(ctx, t, sockets[who], who, func(typ string, d msgData) bool {
			if d.SKU != sku && d.ProductID != p.ID {
				return false
			}
			if typ == "product.updated" && d.Active != nil && *d.Active {
				return true // released: from here on the public may see it
			}
			leaked = append(leaked, typ)
			return false
		})
		if len(leaked) > 0 {
			t.Errorf("%s socket received %v about the draft before it was released", who, leaked)
		}
	}
}

// msgData is the part of a realtime message's data the test looks at.
type msgData struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Active    *bool  `json:"active"`
}

// readUntil reads c's messages until stop holds for one (or ctx ends: the test fails) and returns the
// set of types read before it.
func readUntil(ctx context.Context, tb testing.TB, c *websocket.Conn, who string, stop func(typ string, d msgData) bool) map[string]bool {
	tb.Helper()
	seen := map[string]bool{}
	for {
		_, p, err := c.Read(ctx)
		if err != nil {
			tb.Fatalf("%s socket: read: %v (saw %v)", who, err, seen)
		}
		var m struct {
			Type string  `json:"type"`
			Data msgData `json:"data"`
		}
		if json.Unmarshal(p, &m) != nil {
			continue // data of another shape (an order, a hello): not about the product
		}
		if stop(m.Type, m.Data) {
			return seen
		}
		seen[m.Type] = true
	}
}

// dialRealtime opens the gateway's /realtime/ws, with a bearer token unless token is empty, and reads
// the hello.
func dialRealtime(ctx context.Context, tb testing.TB, gw, token string) *websocket.Conn {
	tb.Helper()
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(gw, "http")+"/realtime/ws", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		tb.Fatalf("dial %s/realtime/ws: %v", gw, err)
	}
	tb.Cleanup(func() { c.CloseNow() })
	c.SetReadLimit(1 << 20)
	if _, p, err := c.Read(ctx); err != nil || !strings.Contains(string(p), `"hello"`) {
		tb.Fatalf("realtime: first message %s, %v; want hello", p, err)
	}
	return c
}

// bearerOf logs in through the gateway and returns the access token.
func bearerOf(tb testing.TB, email, password string) string {
	tb.Helper()
	return newClient(tb, platform.URL("gateway")).login(email, password).AccessToken
}
