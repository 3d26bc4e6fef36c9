package faults

import (
	"fmt"
	"sync"
	"time"
)

// result is one request of the load.
type result struct {
	kind       string // "checkout" or "read"
	start, end time.Time
	status     int // 0: transport error
}

func (r result) failed() bool { return r.status == 0 || r.status >= 500 }

// load is a small checkout load through the gateway: one goroutine per customer places one-unit
// orders of sku, each with its own Idempotency-Key, retrying the same key on a failure as a careful
// client does; readers fetch uncached product lists.
type load struct {
	sku  string
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	results []result
	keys    map[string][]string // Idempotency-Key → order IDs answered (one per 2xx)
}

// orderPace and readPace space each client's requests: a few requests per second per client.
const (
	orderPace = 250 * time.Millisecond
	readPace  = 100 * time.Millisecond
	// retryFor bounds how long a client keeps retrying one key after the load was told to stop.
	retryFor = 20 * time.Second
)

var address = map[string]string{"name": "Fault Tester", "street": "1 Main St", "city": "Springfield", "state": "IL", "zip_code": "62701", "country": "US"}

func startLoad(sku string, custTokens []string, readers int) *load {
	l := &load{sku: sku, stop: make(chan struct{}), keys: map[string][]string{}}
	for i, tok := range custTokens {
		l.wg.Go(func() { l.checkouts(i, newAPI(platform.URL("gateway"), tok)) })
	}
	for i := range readers {
		l.wg.Go(func() { l.reads(i, newAPI(platform.URL("gateway"), "")) })
	}
	return l
}

func (l *load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *load) record(r result) {
	l.mu.Lock()
	l.results = append(l.results, r)
	l.mu.Unlock()
}

func (l *load) checkouts(client int, gw *api) {
	body := map[string]any{"items": []map[string]any{{"sku": l.sku, "quantity": 1}}, "shipping_address": address}
	for n := 0; !l.stopped(); n++ {
		key := fmt.Sprintf("%s-c%d-%d", l.sku, client, n)
		var giveUp time.Time
		for {
			var o struct {
				ID string `json:"id"`
			}
			start := time.Now()
			status, _ := gw.call("POST", "/order/orders", body, &o, "Idempotency-Key", key)
			l.record(result{kind: "checkout", start: start, end: time.Now(), status: status})
			if status/100 == 2 {
				l.mu.Lock()
				l.keys[key] = append(l.keys[key], o.ID)
				l.mu.Unlock()
				break
			}
			if status != 0 && status < 500 && status != 409 && status != 429 {
				break // a client error: recorded, and the invariants report it
			}
			if l.stopped() && giveUp.IsZero() {
				giveUp = time.Now().Add(retryFor)
			}
			if !giveUp.IsZero() && time.Now().After(giveUp) {
				break
			}
			time.Sleep(orderPace)
		}
		time.Sleep(orderPace)
	}
}

func (l *load) reads(reader int, gw *api) {
	for n := 0; !l.stopped(); n++ {
		// A query the gateway has never seen, so every read reaches a product instance.
		path := fmt.Sprintf("/product/products?limit=5&page=1&reader=%d-%d-%s", reader, n, l.sku)
		start := time.Now()
		status, _ := gw.call("GET", path, nil, nil)
		l.record(result{kind: "read", start: start, end: time.Now(), status: status})
		time.Sleep(readPace)
	}
}

// finish stops the load and waits for the clients' last requests.
func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}
