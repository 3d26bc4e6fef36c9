package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// checkSold fails the test unless sku's sold counter is want.
func checkSold(t *testing.T, s stockStore, sku string, want int64) {
	t.Helper()
	it, err := s.Get(context.Background(), sku)
	if err != nil || it.Sold != want {
		t.Fatalf("Get(%s).Sold = %d, %v, want %d", sku, it.Sold, err, want)
	}
}

// TestStockStats is the Stats part of the store contract: sold grows in the commit's write and only
// there, shrinks with a refund's restock, and the totals count live items; on MongoDB a fresh store
// on the same database (a restarted inventory) reads the same figures.
func TestStockStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eachStore(t, func(t *testing.T, s stockStore) {
		if st, err := s.Stats(ctx); err != nil || st != (stockStats{}) {
			t.Fatalf("Stats of an empty store = %+v, %v, want zeros", st, err)
		}
		mustCreate(t, s, "A", 10) // threshold 5
		mustCreate(t, s, "B", 4)  // low from the start
		mustCreate(t, s, "C", 2)
		mustCreate(t, s, "GONE", 7)
		for _, h := range []struct {
			sku, order string
			qty        int64
		}{{"A", "o1", 3}, {"A", "o2", 1}, {"C", "o1", 2}, {"GONE", "o1", 1}} {
			if _, held, err := s.Hold(ctx, h.sku, h.order, h.qty, t0); err != nil || !held {
				t.Fatalf("Hold(%s, %s) = %v, %v", h.sku, h.order, held, err)
			}
		}
		for range 2 { // the second commit is a redelivered order.paid: no change
			for _, sku := range []string{"A", "C", "GONE"} {
				if _, _, err := s.CommitHold(ctx, sku, "o1", t0); err != nil {
					t.Fatal(err)
				}
			}
		}
		checkSold(t, s, "A", 3)
		if _, err := s.MarkDeleted(ctx, "GONE", t0); err != nil {
			t.Fatal(err)
		}
		// An inactive product's item counts: the admin's lists the cards link to show it.
		if _, _, err := s.SetInactive(ctx, "B", true, 0, t0); err != nil {
			t.Fatal(err)
		}
		// A: on hand 7, o2 holds 1, available 6 (not low); B: 4 available (low); C: 0 (out).
		want := stockStats{SKUs: 3, OnHand: 7 + 4 + 0, Reserved: 1, Available: 6 + 4 + 0, Sold: 3 + 2 + 1, LowStock: 1, OutOfStock: 1}
		if st, err := s.Stats(ctx); err != nil || st != want {
			t.Fatalf("Stats = %+v, %v\nwant %+v", st, err, want)
		}
		for range 2 { // a refund, delivered twice, puts C back once
			if _, _, err := s.Restock(ctx, "C", "o1", 2, t0); err != nil {
				t.Fatal(err)
			}
		}
		checkSold(t, s, "C", 0)
		want.OnHand, want.Available, want.Sold, want.LowStock, want.OutOfStock = 13, 12, 4, 2, 0
		if st, err := s.Stats(ctx); err != nil || st != want {
			t.Fatalf("Stats after the refund = %+v, %v\nwant %+v", st, err, want)
		}
		if ms, ok := s.(*mongoStore); ok {
			restarted := newMongoStore(ms.stock.Database())
			if st, err := restarted.Stats(ctx); err != nil || st != want {
				t.Fatalf("Stats from a new store on the same database = %+v, %v\nwant %+v", st, err, want)
			}
		}
	})
}

// TestSoldOncePerOrder: through the event handlers, a paid order's units count as sold once however
// often order.paid arrives, and a refund takes them off once.
func TestSoldOncePerOrder(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		inv := newTestInventory(s)
		mustCreate(t, s, "A", 10)
		deliver(t, inv, "order.created", "o1", orderLine{"A", 4})
		paid := orderEvent(t, "order.paid", "o1")
		mustHandle(t, inv.handleEvent, paid)
		mustHandle(t, inv.handleEvent, paid) // redelivered
		deliver(t, inv, "order.paid", "o1")  // a duplicate with a new ID
		checkSold(t, s, "A", 4)
		cancelled := orderEvent(t, "order.cancelled", "o1")
		mustHandle(t, inv.handleEvent, cancelled)
		mustHandle(t, inv.handleEvent, cancelled)
		checkSold(t, s, "A", 0)
	})
}

// TestStockStatsRoute: GET /inventory/stats answers admins only, with the store's figures, never
// cached, and is not read as the SKU "STATS".
func TestStockStatsRoute(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t) // MUG-1, MUG-2 (1 held by o-1), TEE-1, 10 each
	app := sharedtest.Admin
	app.ClientID, app.Scope = "demo-app", "openid "+strings.Join(shared.APIScopes, " ")
	tests := []struct {
		name, auth string
		want       int
	}{
		{"admin", ts.admin, http.StatusOK},
		{"customer", ts.cust, http.StatusForbidden},
		{"third-party admin token, every scope", ts.iss.Bearer(t, app), http.StatusForbidden},
		{"anonymous", "", http.StatusUnauthorized},
		{"garbage token", "Bearer not-a-jwt", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		resp, body := ts.do(t, "GET", "/inventory/stats", tt.auth, nil)
		if resp.StatusCode != tt.want {
			t.Fatalf("%s: GET /inventory/stats: status = %d, want %d: %v", tt.name, resp.StatusCode, tt.want, body)
		}
		if tt.want != http.StatusOK {
			if e, _ := body["error"].(map[string]any); e["code"] == nil {
				t.Errorf("%s: body %v is not the error shape", tt.name, body)
			}
			continue
		}
		b, _ := json.Marshal(body)
		var got stockStats
		json.Unmarshal(b, &got)
		want := stockStats{SKUs: 3, OnHand: 30, Reserved: 1, Available: 29}
		if got != want || resp.Header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("GET /inventory/stats = %s (Cache-Control %q), want %+v, private", b, resp.Header.Get("Cache-Control"), want)
		}
	}
}

// BenchmarkStockStats measures GET /inventory/stats through the whole stack over 1,000 SKUs in the
// memory store. Run: go test -run '^$' -bench StockStats -benchtime 2000x ./inventory/
func BenchmarkStockStats(b *testing.B) {
	ts := newTestServer(b)
	for i := range 1000 {
		mustCreate(b, ts.s, fmt.Sprintf("BENCH-%04d", i), int64(i%20))
	}
	req := func() *http.Request {
		r := httptest.NewRequest("GET", "/inventory/stats", nil)
		r.Header.Set("Authorization", ts.admin)
		return r
	}
	for b.Loop() {
		rec := httptest.NewRecorder()
		ts.h.ServeHTTP(rec, req())
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"skus":1003`) {
			b.Fatalf("GET /inventory/stats: %d %s", rec.Code, rec.Body)
		}
	}
}
