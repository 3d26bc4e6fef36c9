package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// BenchmarkOrderCreate measures POST /orders through the whole stack (JWT check, product lookups
// over loopback HTTP to a fake product service, in-memory store, outbox write); the relay is not
// running. Run: go test -run '^$' -bench OrderCreate -benchtime 3000x ./order/
func BenchmarkOrderCreate(b *testing.B) {
	h := newHarness(b)
	body := `{"items":[{"sku":"TSHIRT-1","quantity":2},{"sku":"MUG-1","quantity":1}],"shipping_address":` + addrJSON + `}`
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code, resp, _ := h.do("POST", "/orders", h.customer, body, "Idempotency-Key", shared.NewID()); code != http.StatusCreated {
				b.Errorf("POST /orders: status = %d: %s", code, resp)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "orders/s")
}

// loopbackInventory plays inventory on an in-process bus: every order.created the relay publishes
// is answered with inventory.reserved, delivered to the saga's handler as Kafka would.
type loopbackInventory struct {
	co   *checkout
	mu   sync.Mutex
	seen map[string]time.Time // order ID → when confirmed
}

func (l *loopbackInventory) Publish(ctx context.Context, topic string, events ...shared.Event) error {
	for _, e := range events {
		if e.Type != "order.created" {
			continue
		}
		var d orderEventData
		json.Unmarshal(e.Data, &d)
		r, _ := shared.NewEvent(evReserved, d.OrderID, map[string]any{"order_id": d.OrderID, "user_id": d.UserID, "expires_at": time.Now().Add(15 * time.Minute)})
		if err := l.co.handleInventoryEvent(ctx, r); err != nil {
			return err
		}
		l.mu.Lock()
		l.seen[d.OrderID] = time.Now()
		l.mu.Unlock()
	}
	return nil
}

// BenchmarkCheckoutSaga measures the time from POST /orders to the order being confirmed when the
// relay, a loopback event bus and a reserving inventory are in-process (no Kafka): the service's
// own share of the saga latency. Run: go test -run '^$' -bench CheckoutSaga -benchtime 2000x ./order/
func BenchmarkCheckoutSaga(b *testing.B) {
	h := newHarness(b)
	inv := &loopbackInventory{co: h.co, seen: map[string]time.Time{}}
	r := newRelay(slog.New(slog.DiscardHandler), h.store, inv, h.metrics, time.Second)
	h.co.wake = r.Wake
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	body := `{"items":[{"sku":"TSHIRT-1","quantity":1}],"shipping_address":` + addrJSON + `}`
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		code, resp, _ := h.do("POST", "/orders", h.customer, body, "Idempotency-Key", shared.NewID())
		if code != http.StatusCreated {
			b.Fatalf("POST /orders: status = %d: %s", code, resp)
		}
		id := decodeView(b, resp).ID
		for deadline := time.Now().Add(5 * time.Second); ; {
			inv.mu.Lock()
			at, ok := inv.seen[id]
			inv.mu.Unlock()
			if ok {
				lat = append(lat, at.Sub(t0))
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("order %s not confirmed within 5s", id)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	if s := h.status(fmt.Sprint(decodeView(b, mustLast(b, h)).ID)); s != StatusConfirmed {
		b.Errorf("last order status = %s, want confirmed", s)
	}
}

// mustLast returns the JSON of the customer's newest order.
func mustLast(tb testing.TB, h *harness) string {
	tb.Helper()
	code, body, _ := h.do("GET", "/orders?limit=1", h.customer, "")
	if code != http.StatusOK {
		tb.Fatalf("GET /orders: %d", code)
	}
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	json.Unmarshal([]byte(body), &l)
	return string(l.Items[0])
}

// BenchmarkOrderViewEncode compares the encoding of one order's answer by reflection (before) with
// orderView.AppendJSON, which shared.Encode now uses.
func BenchmarkOrderViewEncode(b *testing.B) {
	at := time.Now().UTC()
	v := newOrderView(Order{ID: shared.NewID(), UserID: shared.NewID(), Status: StatusPending, Items: []Line{{SKU: "ELEC-CAM-005", Name: "Action Camera", UnitPriceCents: 19999, Quantity: 1}},
		SubtotalCents: 19999, TaxCents: 1600, TotalCents: 21599, Currency: "USD", CustomerEmail: "demo@shop.local", CustomerName: "Demo",
		Address: Address{Name: "Load Test", Street: "1 Main St", City: "Springfield", State: "IL", ZipCode: "62701", Country: "US"}, CreatedAt: at, UpdatedAt: at})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.AppendJSON(make([]byte, 0, 1024)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
