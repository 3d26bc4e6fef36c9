package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// testStockListLevels is the store contract of the list's filters: each level and the SKU prefix,
// alone and together, with items whose low-stock thresholds differ.
func testStockListLevels(t *testing.T, s stockStore) {
	ctx := context.Background()
	create := func(sku string, onHand, threshold int64) {
		t.Helper()
		if _, err := s.CreateItem(ctx, StockItem{SKU: sku, OnHand: onHand, LowStockThreshold: threshold, UpdatedAt: t0},
			Movement{Delta: onHand, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	create("A-LOW", 3, 5)     // low
	create("A-EDGE", 5, 5)    // low: at the threshold
	create("B-OUT", 0, 5)     // out
	create("C-RES", 10, 5)    // reserved below
	create("D-OK", 50, 5)     // nothing special
	create("E-LOW10", 8, 10)  // low under its own threshold
	create("F-SOLD", 4, 5)    // held completely below: out and reserved
	create("G-NOLIMIT", 1, 0) // threshold 0: never low
	create("A.DOT", 100, 5)   // a '.' in the prefix is literal
	if _, held, err := s.Hold(ctx, "C-RES", "o-1", 2, t0); err != nil || !held {
		t.Fatalf("Hold C-RES: %v %v", held, err)
	}
	if _, held, err := s.Hold(ctx, "F-SOLD", "o-2", 4, t0); err != nil || !held {
		t.Fatalf("Hold F-SOLD: %v %v", held, err)
	}
	tests := []struct {
		q    stockQuery
		want string
	}{
		{stockQuery{}, "[A-EDGE A-LOW A.DOT B-OUT C-RES D-OK E-LOW10 F-SOLD G-NOLIMIT]"},
		{stockQuery{Level: levelLow}, "[A-EDGE A-LOW E-LOW10]"},
		{stockQuery{Level: levelOut}, "[B-OUT F-SOLD]"},
		{stockQuery{Level: levelReserved}, "[C-RES F-SOLD]"},
		{stockQuery{SKU: "A-"}, "[A-EDGE A-LOW]"},
		{stockQuery{SKU: "A."}, "[A.DOT]"},
		{stockQuery{SKU: "LOW"}, "[]"},
		{stockQuery{SKU: "A", Level: levelLow}, "[A-EDGE A-LOW]"},
		{stockQuery{SKU: "F", Level: levelReserved}, "[F-SOLD]"},
	}
	for _, tt := range tests {
		tt.q.Page, tt.q.Limit = 1, 20
		items, total, err := s.List(ctx, tt.q)
		if err != nil {
			t.Fatalf("List(%+v): %v", tt.q, err)
		}
		got := []string{}
		for _, it := range items {
			got = append(got, it.SKU)
		}
		if fmt.Sprint(got) != tt.want || total != int64(len(got)) {
			t.Errorf("List(%+v) = %v (total %d), want %s", tt.q, got, total, tt.want)
		}
	}
	items, total, _ := s.List(ctx, stockQuery{Level: levelLow, Page: 2, Limit: 2})
	if total != 3 || len(items) != 1 || items[0].SKU != "E-LOW10" {
		t.Errorf("List(low, page 2 of 2) = %+v, total %d, want [E-LOW10] of 3", items, total)
	}
}

// TestStockListFilters: GET /inventory filters by level and SKU prefix from the URL, and refuses a
// bad value with 400 in the error shape naming it.
func TestStockListFilters(t *testing.T) {
	t.Parallel()
	s := newTestServer(t) // MUG-1, MUG-2 (1 reserved), TEE-1, 10 on hand each
	if _, _, err := s.s.Adjust(context.Background(), "TEE-1", Movement{Delta: -10, At: t0}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query     string
		want      int
		wantSKUs  string
		wantField string
	}{
		{"", 200, "[MUG-1 MUG-2 TEE-1]", ""},
		{"?level=all", 200, "[MUG-1 MUG-2 TEE-1]", ""},
		{"?level=out", 200, "[TEE-1]", ""},
		{"?level=reserved", 200, "[MUG-2]", ""},
		{"?level=low", 200, "[]", ""},
		{"?sku=mug", 200, "[MUG-1 MUG-2]", ""},
		{"?sku=mug-2&level=reserved", 200, "[MUG-2]", ""},
		{"?level=lots", 400, "", "level"},
		{"?sku=" + url.QueryEscape(".*"), 400, "", "sku"},
		{"?sku=" + url.QueryEscape(`{"$ne":null}`), 400, "", "sku"},
		{"?sku=" + url.QueryEscape(string(make([]byte, 65))), 400, "", "sku"},
		{"?limit=0", 400, "", "limit"},
		{"?limit=101", 400, "", "limit"},
		{"?page=-1", 400, "", "page"},
	}
	for _, tt := range tests {
		rec := sharedtest.Serve(s.h, "GET", "/inventory"+tt.query, "")
		if rec.Code != tt.want {
			t.Errorf("GET /inventory%s: status = %d, want %d: %s", tt.query, rec.Code, tt.want, rec.Body)
			continue
		}
		if tt.want != http.StatusOK {
			var e shared.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Fields[tt.wantField] == "" {
				t.Errorf("GET /inventory%s: body %s, want the error shape naming %s", tt.query, rec.Body, tt.wantField)
			}
			continue
		}
		var l shared.Page[StockItem]
		json.Unmarshal(rec.Body.Bytes(), &l)
		got := []string{}
		for _, it := range l.Items {
			got = append(got, it.SKU)
		}
		if fmt.Sprint(got) != tt.wantSKUs || l.Total != len(got) {
			t.Errorf("GET /inventory%s = %v (total %d), want %s", tt.query, got, l.Total, tt.wantSKUs)
		}
	}
}
