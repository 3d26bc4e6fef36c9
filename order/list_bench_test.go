package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// BenchmarkAdminOrderList serves the admin's filtered order list (a page of 20) from 10,000 orders
// of 500 customers in the in-memory store, through the whole handler stack (JWT check, middleware,
// JSON), one filter per sub-benchmark. The admin pages' budget is 30 ms of server time. Run:
//
//	go test -run '^$' -bench AdminOrderList -benchtime 200x ./order/
func BenchmarkAdminOrderList(b *testing.B) {
	h := newHarness(b)
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var some Order
	for i := range 10_000 {
		o := testOrder(b, fmt.Sprint("u", i%500), fmt.Sprint("k", i), base.Add(time.Duration(i)*7*time.Minute))
		o.CustomerEmail, o.CustomerName = fmt.Sprintf("customer%03d@shop.local", i%500), fmt.Sprint("Customer ", i%500)
		o.Status = statuses[i%len(statuses)]
		if err := h.store.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
		some = o
	}
	admin := h.iss.Bearer(b, sharedtest.Admin)
	for _, q := range []string{
		"",
		"?status=paid",
		"?email=customer042",
		"?id=" + some.ID[:4],
		"?from=2026-01-10&to=2026-01-20",
		"?status=paid&email=customer04&from=2026-01-01&to=2026-02-28&page=2",
	} {
		b.Run(q, func(b *testing.B) {
			code, body, _ := h.do("GET", "/orders"+q, admin, "")
			var l shared.Page[orderView]
			if err := json.Unmarshal([]byte(body), &l); code != http.StatusOK || err != nil || l.Total == 0 {
				b.Fatalf("GET /orders%s: status = %d, total %d (%v)", q, code, l.Total, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if code, _, _ := h.do("GET", "/orders"+q, admin, ""); code != http.StatusOK {
					b.Fatalf("GET /orders%s: status = %d", q, code)
				}
			}
		})
	}
}
