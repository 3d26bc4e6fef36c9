package integration

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestNoOversellUnderConcurrentCheckout places many more one-unit orders at once than there is stock,
// through the gateway, Kafka, inventory and order: exactly the stock is confirmed, the rest rejected,
// and cancelling confirmed orders gives exactly their units back.
func TestNoOversellUnderConcurrentCheckout(t *testing.T) {
	const stockUnits, orders = 20, 60
	admin := newClient(t, platform.URL("gateway"))
	admin.login(adminEmail, adminPass)
	sku := fmt.Sprintf("RUSH-%d", time.Now().UnixNano()%1e9)
	newStockedProduct(t, admin, sku, "Limited Edition Mug", 9.99, stockUnits)

	// Four customers rush at once (one customer's burst would meet the gateway's per-user rate limit).
	customers := make([]*client, 4)
	for i := range customers {
		customers[i], _ = newCustomer(t, fmt.Sprintf("rush-%d-%s@example.com", i, sku), "Rush-Passw0rd!")
	}
	body := orderBody(sku, 1)
	ids := make([]string, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			var o order
			resp := customers[i%len(customers)].do("POST", "/order/orders", body, &o, "Idempotency-Key", fmt.Sprintf("%s-%d", sku, i))
			if resp.StatusCode != 201 {
				t.Errorf("order %d: status %d", i, resp.StatusCode)
			}
			ids[i] = o.ID
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	mine := map[string]bool{}
	for _, id := range ids {
		mine[id] = true
	}
	statuses := map[string]int{}
	var confirmed []string
	// One list request per poll (not one per order), so the gateway's per-IP rate limit is not the test.
	eventually(t, 30*time.Second, "every order settled", func() bool {
		var list struct {
			Items []order `json:"items"`
		}
		admin.must(200, "GET", "/order/orders?limit=100", nil, &list)
		statuses, confirmed = map[string]int{}, nil
		for _, o := range list.Items {
			if !mine[o.ID] {
				continue
			}
			statuses[o.Status]++
			if o.Status == "confirmed" {
				confirmed = append(confirmed, o.ID)
			}
		}
		return statuses["pending"] == 0 && statuses["confirmed"]+statuses["rejected"] == orders
	})
	if statuses["confirmed"] != stockUnits || statuses["rejected"] != orders-stockUnits {
		t.Fatalf("statuses = %v, want %d confirmed and %d rejected", statuses, stockUnits, orders-stockUnits)
	}
	var s stock
	admin.must(200, "GET", "/inventory/inventory/"+sku, nil, &s)
	if s.OnHand != stockUnits || s.Reserved != stockUnits || s.Available != 0 {
		t.Errorf("after the rush: %+v, want on_hand %d reserved %d available 0", s, stockUnits, stockUnits)
	}

	for _, id := range confirmed[:5] {
		admin.must(200, "POST", "/order/orders/"+id+"/cancel", map[string]string{}, nil)
	}
	eventually(t, 10*time.Second, "cancelled orders' units released", func() bool {
		admin.must(200, "GET", "/inventory/inventory/"+sku, nil, &s)
		return s.Available == 5 && s.Reserved == stockUnits-5
	})
}
