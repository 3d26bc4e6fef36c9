package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/goshop/platform/devstack/stack"
)

// The multi-copy concerns that need real processes (docs/operations.md § Many copies). Each test uses
// the copies the stack runs (INTEGRATION_REPLICAS=2) or, with one copy each, starts the second copy it
// needs beside them on the replica port the stack would use.

var (
	copiesMu sync.Mutex
	copies   = map[string]string{} // program → URL of a second copy started by copyOf
)

// copyOf returns the URL of copy k (1 or 2) of program: the stack's own when it runs that many, else
// one started once for the whole suite (not behind the gateway; tests talk to it directly).
func copyOf(t *testing.T, program string, k int) string {
	t.Helper()
	if in := platform.Instances(program); len(in) >= k {
		return in[k-1].URL
	}
	if k != 2 {
		t.Fatalf("copyOf(%s, %d): only a second copy can be started", program, k)
	}
	copiesMu.Lock()
	defer copiesMu.Unlock()
	if u, ok := copies[program]; ok {
		return u
	}
	for _, p := range stack.Programs {
		if p.Name == program {
			port := stack.ReplicaPort(p, 2)
			if err := platform.StartCopy(context.Background(), stack.InstanceName(p, 2), program, port); err != nil {
				t.Fatalf("start %s-2: %v", program, err)
			}
			copies[program] = fmt.Sprintf("http://127.0.0.1:%d", platform.Port(port))
			return copies[program]
		}
	}
	t.Fatalf("no program %q", program)
	return ""
}

// TestCopiesRealtimeHearsOtherCopysOrders: a customer's WebSocket on realtime-2 receives the events
// of orders placed directly at order-1. Realtime reads every topic in a consumer group of its own per
// instance, so each copy sees every partition; with one group for all copies, realtime-2 would own
// only some partitions and miss the orders keyed to the others (with six orders over three
// partitions, all six land on realtime-2's share at most (2/3)^6 ≈ 9% of the time).
func TestCopiesRealtimeHearsOtherCopysOrders(t *testing.T) {
	rt2, order1 := copyOf(t, "realtime", 2), copyOf(t, "order", 1)
	admin := newClient(t, platform.URL("gateway"))
	admin.login(adminEmail, adminPass)
	sku := fmt.Sprintf("COPY-%d", time.Now().UnixNano()%1e9)
	newStockedProduct(t, admin, sku, "Copy Lamp", 5, 50)
	_, who := newCustomer(t, fmt.Sprintf("copies-%s@example.com", strings.ToLower(sku)), "Copies-Passw0rd!")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(rt2, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + who.AccessToken}}})
	if err != nil {
		t.Fatalf("dial realtime-2: %v", err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)

	direct := newClient(t, order1)
	want := map[string]bool{}
	for i := range 6 {
		var o order
		eventually(t, 15*time.Second, "an order at order-1", func() bool {
			return direct.do("POST", "/orders", orderBody(sku, 1), &o, "Authorization", "Bearer "+who.AccessToken,
				"Idempotency-Key", fmt.Sprintf("%s-%d", sku, i)).StatusCode == 201
		})
		want[o.ID] = true
	}
	for len(want) > 0 {
		_, p, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("realtime-2: read: %v; never heard of orders %v", err, want)
		}
		var m struct {
			Type string `json:"type"`
			Data struct {
				OrderID string `json:"order_id"`
			} `json:"data"`
		}
		if json.Unmarshal(p, &m) == nil && strings.HasPrefix(m.Type, "order.") {
			delete(want, m.Data.OrderID)
		}
	}
}

// TestCopiesRateLimitIsOneBudget: one client address (X-Forwarded-For from the trusted loopback
// peer, an address no other test uses) sends 390 requests alternately to two gateway copies. Its
// GATEWAY_RATE_LIMIT budget (50/s, 200 saved up) lives in Redis, so the copies together let through
// at most the burst, the refill over the elapsed time and one lease (Burst/4) per copy. With a
// budget per copy each would see 195 requests, under its own burst, and let all 390 through.
func TestCopiesRateLimitIsOneBudget(t *testing.T) {
	gws := []string{platform.URL("gateway"), secondGateway(t)}
	addr := fmt.Sprintf("198.51.100.%d", time.Now().UnixNano()%250+1)
	const requests, workers = 390, 6
	var passed, limited, next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			hc := &http.Client{Timeout: 10 * time.Second}
			for {
				i := next.Add(1) - 1
				if i >= requests {
					return
				}
				req, _ := http.NewRequest("GET", gws[i%2]+"/product/products?limit=1", nil)
				req.Header.Set("X-Forwarded-For", addr)
				resp, err := hc.Do(req)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					passed.Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
				default:
					t.Errorf("request %d: status %d", i, resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	const rate, burst, lease = 50, 200, 200 / 4
	bound := burst + int64(elapsed.Seconds()*rate+1) + 2*lease
	t.Logf("%d requests over two gateway copies in %s: %d passed, %d limited (shared budget allows at most %d)",
		requests, elapsed.Round(time.Millisecond), passed.Load(), limited.Load(), bound)
	if passed.Load() > bound {
		t.Errorf("two gateway copies let %d requests of one client through in %s, want at most %d: the budget is per copy",
			passed.Load(), elapsed.Round(time.Millisecond), bound)
	}
	if bound >= requests {
		t.Logf("the requests took too long (%s) for the bound to tell one budget from two", elapsed)
	}
}

// TestCopiesStorefrontSession: a customer signs in on storefront-1; the session cookie works on
// storefront-2, whose account page shows the same customer, and a form storefront-1 rendered is
// accepted by storefront-2. Sessions live in Redis (DB 6), not in the process that created them, and
// every copy keys its CSRF tokens with the same STOREFRONT_SECRET.
func TestCopiesStorefrontSession(t *testing.T) {
	sf1 := newClient(t, copyOf(t, "storefront", 1))
	sf2 := newClient(t, copyOf(t, "storefront", 2))
	sfSignIn(t, sf1, demoEmail, demoPass, "/")
	// Cookies are per host, not per port: the browser would send this session to either copy.
	sf2.http.Jar = sf1.http.Jar
	for name, c := range map[string]*client{"storefront-1": sf1, "storefront-2": sf2} {
		resp := c.do("GET", "/account", nil, nil)
		body := readBody(resp)
		if resp.StatusCode != 200 || !strings.Contains(body, demoEmail) {
			t.Errorf("%s: GET /account with the session from storefront-1: status %d (Location %q), want 200 showing %s",
				name, resp.StatusCode, resp.Header.Get("Location"), demoEmail)
		}
	}
	token := formToken(sf1, "/account")
	if resp := postForm(t, sf2, "/cart/clear", url.Values{"csrf_token": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("storefront-2: POST /cart/clear with storefront-1's form token: status %d, want 303 (CSRF refused: %v)",
			resp.StatusCode, csrfRefused(resp))
	}
}
