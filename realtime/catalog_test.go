package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func TestRouteEvent(t *testing.T) {
	t.Parallel()
	cat := newCatalog()
	for _, d := range []string{
		`{"product_id":"p-s","sku":"S","active":true}`,
		`{"product_id":"p-d","sku":"D","active":false}`,
		`{"product_id":"p-n","sku":"N"}`, // no "active": counts as inactive
	} {
		var ed eventData
		if err := json.Unmarshal([]byte(d), &ed); err != nil {
			t.Fatal(err)
		}
		cat.learn("product.created", ed)
	}
	admins := audience{}
	for _, tc := range []struct {
		typ, data string
		want      audience
		poison    bool
	}{
		{"order.confirmed", `{"order_id":"o","user_id":"u1"}`, audience{userID: "u1"}, false},
		{"inventory.rejected", `{"order_id":"o","user_id":"u2","shortages":[]}`, audience{userID: "u2"}, false},
		{"user.updated", `{"user_id":"u3","name":"N"}`, audience{userID: "u3"}, false},
		{"announcement", `{"message":"m"}`, audience{public: true}, false},
		{"order.unknown", `{"order_id":"o"}`, admins, false},
		{"inventory.low_stock", `{"sku":"S"}`, admins, false},
		// Released products are public.
		{"inventory.updated", `{"sku":"S","available":1}`, audience{public: true, sku: "S"}, false},
		{"product.created", `{"sku":"S2","category":"books","active":true}`, audience{public: true, sku: "S2", category: "books"}, false},
		{"product.updated", `{"sku":"S","category":"books","active":true}`, audience{public: true, sku: "S", category: "books"}, false},
		{"product.deleted", `{"product_id":"p-s","sku":"S"}`, audience{public: true, sku: "S"}, false},
		{"product.deleted", `{"product_id":"p-s"}`, audience{public: true}, false},
		// Unreleased products, unknown SKUs and events that do not say "active" reach admins only,
		// whatever a user_id or category in them says.
		{"product.created", `{"sku":"D2","name":"Secret","price_cents":999,"stock":5,"active":false}`, admins, false},
		{"product.created", `{"sku":"D3","category":"books"}`, admins, false},
		{"product.created", `{"sku":"D4","user_id":"u1","active":false}`, admins, false},
		{"product.updated", `{"sku":"S","category":"books","active":false}`, admins, false}, // unpublished
		{"product.updated", `{"sku":"D","active":null}`, admins, false},
		{"inventory.updated", `{"sku":"D","available":5}`, admins, false},
		{"inventory.updated", `{"sku":"N","available":5}`, admins, false},
		{"inventory.updated", `{"sku":"never-seen","available":5}`, admins, false},
		{"inventory.updated", `{"available":5}`, admins, false},
		{"inventory.updated", `{"sku":"D","user_id":"u1"}`, admins, false},
		{"product.deleted", `{"product_id":"p-d","sku":"D"}`, admins, false},
		{"product.deleted", `{"product_id":"p-d"}`, admins, false},
		{"product.deleted", `{"product_id":"unknown"}`, admins, false},
		// Data that is not an object of the right types is a poison event.
		{"order.created", `[1,2]`, audience{}, true},
		{"order.created", `{"user_id":7}`, audience{}, true},
		{"product.created", `{"sku":"S","active":"yes"}`, audience{}, true},
	} {
		d, err := parseEventData(shared.Event{ID: "e", Type: tc.typ, Data: json.RawMessage(tc.data)})
		if tc.poison != errors.Is(err, shared.ErrPoison) {
			t.Errorf("parseEventData(%s %s): err = %v, want poison %v", tc.typ, tc.data, err, tc.poison)
		}
		if err != nil {
			continue
		}
		if got := cat.route(tc.typ, d); got != tc.want {
			t.Errorf("route(%s %s) = %+v, want %+v", tc.typ, tc.data, got, tc.want)
		}
	}
}

func TestCatalogLearns(t *testing.T) {
	t.Parallel()
	cat := newCatalog()
	yes, no := true, false
	steps := []struct {
		typ  string
		d    eventData
		want map[string]bool // SKU -> released after the step
	}{
		{"product.created", eventData{ProductID: "p", SKU: "A", Active: &no}, map[string]bool{"A": false}},
		{"product.updated", eventData{ProductID: "p", SKU: "A", Active: &yes}, map[string]bool{"A": true}},
		{"product.updated", eventData{ProductID: "p", SKU: "B", Active: &yes}, map[string]bool{"A": false, "B": true}}, // SKU changed
		{"product.updated", eventData{ProductID: "p", SKU: "B"}, map[string]bool{"B": false}},
		{"product.updated", eventData{ProductID: "p", SKU: "B", Active: &yes}, map[string]bool{"B": true}},
		{"product.deleted", eventData{ProductID: "p"}, map[string]bool{"B": false}},
		{"inventory.updated", eventData{SKU: "B"}, map[string]bool{"B": false}},
	}
	for i, s := range steps {
		cat.learn(s.typ, s.d)
		for sku, want := range s.want {
			if got := cat.released(sku); got != want {
				t.Errorf("step %d (%s %+v): released(%q) = %v, want %v", i, s.typ, s.d, sku, got, want)
			}
		}
	}
}

// TestDraftProductsReachAdminsOnly drives the whole path (consumer, hub, sockets, resume buffers):
// nothing about a draft product reaches anonymous or customer connections, whether they take every
// public message, subscribed to its SKU or its category, or resume from the start; admins see all of
// it; once the product is activated the public sees it.
func TestDraftProductsReachAdminsOnly(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	anon, hi := e.dial(t, "", nil)
	cust, _ := e.dial(t, "", e.bearer(t, alice))
	bySKU, _ := e.dial(t, "", nil)
	byCat, _ := e.dial(t, "", e.bearer(t, bob))
	admin, _ := e.dial(t, "", e.bearer(t, sharedtest.Admin))
	subscribe(t, bySKU, `{"type":"subscribe","skus":["DRAFT-1","END"]}`)
	subscribe(t, byCat, `{"type":"subscribe","categories":["secret"]}`)

	draft := map[string]any{"product_id": "p-draft", "sku": "DRAFT-1", "name": "Unreleased", "price_cents": 4999,
		"currency": "USD", "category": "secret", "active": false}
	e.consume(t,
		event(t, "product.created", merge(draft, map[string]any{"stock": 7})),
		event(t, "inventory.updated", map[string]any{"sku": "DRAFT-1", "on_hand": 7, "reserved": 0, "available": 7}),
		event(t, "product.updated", merge(draft, map[string]any{"name": "Still unreleased"})),
		event(t, "inventory.low_stock", map[string]any{"sku": "DRAFT-1", "available": 1}),
		event(t, "product.updated", merge(draft, map[string]any{"active": true})), // released
		event(t, "inventory.updated", map[string]any{"sku": "DRAFT-1", "on_hand": 6, "reserved": 1, "available": 5}),
		event(t, "product.updated", map[string]any{"product_id": "p-end", "sku": "END", "category": "secret", "active": true}),
	)
	public := []string{"product.updated", "inventory.updated"}
	for _, tc := range []struct {
		name string
		c    *websocket.Conn
		want []string
	}{
		{"anonymous", anon, public},
		{"customer", cust, public},
		{"subscribed to the SKU", bySKU, public},
		{"subscribed to the category", byCat, public[:1]}, // stock messages carry no category
		// Admins get each product and low-stock event's notification (audience "admins") after it.
		{"admin", admin, []string{"product.created", "notification", "inventory.updated", "product.updated", "notification",
			"inventory.low_stock", "notification", "product.updated", "notification", "inventory.updated"}},
	} {
		if got := typesUntilSKU(t, tc.c, "END"); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s got %v, want %v", tc.name, got, tc.want)
		}
	}
	// A connection resuming from the start gets the released product's messages only.
	late, _ := e.dial(t, fmt.Sprintf("?since=0&epoch=%s", hi.Epoch), nil)
	if got := typesUntilSKU(t, late, "END"); strings.Join(got, ",") != strings.Join(public, ",") {
		t.Errorf("resumed anonymous got %v, want %v", got, public)
	}
}

// typesUntilSKU reads c's messages up to the first whose data has the SKU marker and returns their
// types.
func typesUntilSKU(tb testing.TB, c *websocket.Conn, marker string) []string {
	tb.Helper()
	types, _ := untilSKU(tb, c, marker)
	return types
}

// untilSKU reads c's messages up to the first whose data has the SKU marker and returns the types
// and SKUs of those before it.
func untilSKU(tb testing.TB, c *websocket.Conn, marker string) (types, skus []string) {
	tb.Helper()
	for {
		m := readMsg(tb, c)
		var d struct {
			SKU string `json:"sku"`
		}
		json.Unmarshal(m.Data, &d)
		if d.SKU == marker {
			return types, skus
		}
		types, skus = append(types, m.Type), append(skus, d.SKU)
	}
}

// subscribe sends a subscribe request on c and reads its acknowledgement.
func subscribe(tb testing.TB, c *websocket.Conn, req string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
		tb.Fatal(err)
	}
	if m := readMsg(tb, c); m.Type != "subscribed" {
		tb.Fatalf("subscribe %s: answer %q, want subscribed", req, m.Type)
	}
}

// merge returns a copy of a with b's keys set.
func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// FuzzParseLive holds the live consumer's one-pass decode to the two decodes it replaces: the same
// routing fields, the same poison verdict, the same notification.
func FuzzParseLive(f *testing.F) {
	for _, s := range []struct{ typ, data string }{
		{"order.created", `{"order_id":"0123456789abcdef","user_id":"u1","total_cents":2599,"currency":"USD","items":[{"sku":"A","name":"x"}]}`},
		{"order.cancelled", `{"order_id":"o1","user_id":"u1","previous_status":"paid","reason":"changed mind","total_cents":100,"currency":"EUR"}`},
		{"product.updated", `{"product_id":"p1","sku":"A-1","name":"Mug","category":"home","active":true}`},
		{"inventory.low_stock", `{"sku":"A-1","available":2,"low_stock_threshold":5}`},
		{"inventory.low_stock", `{"sku":"A-1","available":2.5}`},
		{"order.confirmed", `{"order_id":"o1","user_id":7}`},
		{"order.confirmed", `{"order_id":"o1","user_id":"u1","total_cents":"x"}`},
		{"inventory.updated", `{"sku":"A-1","available":3}`},
		{"order.paid", `[1]`},
		{"order.paid", `{"order_id":`},
	} {
		f.Add(s.typ, s.data)
	}
	f.Fuzz(func(t *testing.T, typ, data string) {
		e := shared.Event{ID: "0123456789abcdef0123456789abcdef", Type: typ, Data: json.RawMessage(data), OccurredAt: time.Unix(1e9, 0)}
		d, n, list, ok, err := parseLive(e)
		wd, werr := parseEventData(e)
		if (err != nil) != (werr != nil) {
			t.Fatalf("parseLive(%s %s): err = %v, parseEventData: %v", typ, data, err, werr)
		}
		if err != nil {
			return
		}
		wn, wlist, wok := notificationFor(e)
		if !reflect.DeepEqual(d, wd) || n != wn || list != wlist || ok != wok {
			t.Fatalf("parseLive(%s %s) = %+v %+v %+v %v, want %+v %+v %+v %v", typ, data, d, n, list, ok, wd, wn, wlist, wok)
		}
	})
}

// FuzzMessageJSON holds the hub's frame encoding to json.Marshal's bytes for data encoding/json
// wrote, as every event's is: a client receives the same frames as before.
func FuzzMessageJSON(f *testing.F) {
	f.Add(uint64(1), "order.created", "Action <Camera> & \u2028", int64(1_700_000_000_123_456_789))
	f.Add(uint64(0), "", "", int64(0))
	f.Fuzz(func(t *testing.T, seq uint64, typ, s string, ns int64) {
		data, _ := json.Marshal(map[string]any{"name": s, "n": ns, "items": []string{s, typ}, "ok": true})
		m := message{Seq: seq, Type: typ, Data: data, OccurredAt: time.Unix(0, ns).UTC()}
		want, err := json.Marshal(m)
		if err != nil {
			return // a time json.Marshal refuses (year past 9999): no event carries one
		}
		if got := m.appendJSON(nil); string(got) != string(want) {
			t.Fatalf("appendJSON\n got %s\nwant %s", got, want)
		}
	})
}
