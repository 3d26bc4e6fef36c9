package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
)

// TestOrderEventsEitherOrder: an event read before the client waits for it is kept; one read after is
// handed over; a second final event of the same order, other order events and other messages are
// ignored.
func TestOrderEventsEitherOrder(t *testing.T) {
	e := newOrderEvents()
	t0 := time.Unix(1000, 0)
	e.handle([]byte(`{"seq":0,"type":"hello","data":{"user_id":"u"}}`), t0)
	e.handle([]byte(`{"seq":1,"type":"order.created","data":{"order_id":"a"}}`), t0)
	e.handle([]byte(`{"seq":2,"type":"order.confirmed","data":{"order_id":"a"}}`), t0.Add(time.Millisecond))
	e.handle([]byte(`{"seq":3,"type":"order.rejected","data":{"order_id":"a"}}`), t0.Add(2*time.Millisecond))
	e.handle([]byte(`not json`), t0)
	ch, _ := e.wait("a")
	if f := <-ch; f != (orderFinal{"confirmed", t0.Add(time.Millisecond)}) {
		t.Errorf("early event: got %+v, want the first one, confirmed at +1ms", f)
	}
	ch, _ = e.wait("b")
	e.handle([]byte(`{"seq":4,"type":"order.rejected","data":{"order_id":"b","reason":"out of stock"}}`), t0)
	select {
	case f := <-ch:
		if f.status != "rejected" {
			t.Errorf("late event: got %+v, want rejected", f)
		}
	default:
		t.Error("an event read after wait was not handed over")
	}
	if len(e.waiting) != 0 || len(e.early) != 0 {
		t.Errorf("left over: waiting %v early %v", e.waiting, e.early)
	}
}

// TestAwaitTimesOut: an order whose event never comes is recorded as a timeout after exactly the saga
// timeout from the POST, and forgotten.
func TestAwaitTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrderEvents()
		start := time.Now()
		time.Sleep(time.Second) // the POST took 1 s
		status, took, ok := e.await(t.Context(), "x", start, 30*time.Second)
		if status != "timeout" || took != 30*time.Second || !ok || time.Since(start) != 30*time.Second {
			t.Errorf("await = %q %v %v after %v; want timeout 30s", status, took, ok, time.Since(start))
		}
		if len(e.waiting) != 0 {
			t.Errorf("timed-out order still waited for: %v", e.waiting)
		}
	})
}

func TestRateLimitHintNamesEveryLimit(t *testing.T) {
	h := rateLimitHint(7)
	for _, want := range []string{"7 answers were 429", "GATEWAY_RATE_LIMIT", "GATEWAY_AUTH_RATE_LIMIT",
		"GATEWAY_USER_RATE_LIMIT", "per customer", "GATEWAY_USER_RATE_LIMIT=100000/s:100000"} {
		if !strings.Contains(h, want) {
			t.Errorf("hint lacks %q: %s", want, h)
		}
	}
}

// fakeShop is a gateway for the checkout scenario: customers, stock, orders, and a realtime socket per
// customer on which each order's final event is pushed, for half of the orders before the POST is
// even answered. Polling an order fails the test.
type fakeShop struct {
	t       *testing.T
	mu      sync.Mutex
	sockets map[string]*websocket.Conn // by token
	orders  atomic.Int64
	polls   atomic.Int64
	subs    atomic.Int64
}

func (f *fakeShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case r.URL.Path == "/inventory/inventory":
		fmt.Fprint(w, `{"items":[{"sku":"S1","available":100}],"total":1}`)
	case r.URL.Path == "/auth/register":
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{}`)
	case r.URL.Path == "/auth/login":
		var b struct{ Email string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		fmt.Fprintf(w, `{"access_token":"tok-%s"}`, b.Email)
	case r.URL.Path == "/realtime/ws":
		c, err := websocket.Accept(w, r, nil)
		if err != nil || token == "" {
			return
		}
		f.mu.Lock()
		f.sockets[token] = c
		f.mu.Unlock()
		_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"seq":0,"type":"hello","data":{}}`))
		for { // read the subscribe, then keep reading for the close
			_, p, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if bytes.Contains(p, []byte(`"subscribe"`)) {
				f.subs.Add(1)
			}
		}
	case r.Method == http.MethodPost && r.URL.Path == "/order/orders":
		n := f.orders.Add(1)
		id, typ := fmt.Sprintf("o-%d", n), "order.confirmed"
		if n%5 == 0 {
			typ = "order.rejected"
		}
		f.mu.Lock()
		c := f.sockets[token]
		f.mu.Unlock()
		push := func() {
			if c != nil {
				_ = c.Write(context.Background(), websocket.MessageText, fmt.Appendf(nil, `{"seq":%d,"type":%q,"data":{"order_id":%q}}`, n, typ, id))
			}
		}
		if n%2 == 0 {
			push()
		} else {
			defer push()
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q,"status":"pending"}`, id)
	case strings.HasSuffix(r.URL.Path, "/cancel"):
		fmt.Fprint(w, `{}`)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/order/orders/"):
		f.polls.Add(1)
		http.Error(w, "no polling", http.StatusTeapot)
	default:
		http.NotFound(w, r)
	}
}

// TestRunCheckout runs the checkout scenario in both modes against fakeShop: every saga ends with the
// event from the socket (no timeout, no poll), and the report has the saga, the arrivals (open loop)
// and the CPU per order (of this process, given by -pids), and how busy the machine was.
func TestRunCheckout(t *testing.T) {
	for _, mode := range [][]string{{"-c", "2"}, {"-rate", "200", "-customers", "3"}} {
		t.Run(mode[0], func(t *testing.T) {
			shop := &fakeShop{t: t, sockets: map[string]*websocket.Conn{}}
			srv := httptest.NewServer(shop)
			defer srv.Close()
			args := append([]string{"load", "-gateway", srv.URL, "-scenario", "checkout", "-d", "300ms",
				"-pids", fmt.Sprint(os.Getpid()), "-saga-timeout", "5s"}, mode...)
			var out, errOut bytes.Buffer
			if err := run(t.Context(), args, nil, &out, &errOut); err != nil {
				t.Fatal(err, errOut.String())
			}
			report := out.String()
			t.Log(report)
			wants := []string{"saga = POST sent → order.confirmed/rejected read on the customer's realtime socket",
				"confirmed orders = ", "rejected:", "cleanup  cancelled", "machine  ", "cores busy "}
			if mode[0] == "-rate" {
				wants = append(wants, "rate 200/s (open loop)", "arrivals 60 due, 60 started", "0 dropped")
			}
			for _, want := range wants {
				if !strings.Contains(report, want) {
					t.Errorf("report lacks %q:\n%s", want, report)
				}
			}
			checkBenchLib(t, report)
			for _, bad := range []string{"timeout", "poll", "note:"} {
				if strings.Contains(report, bad) {
					t.Errorf("report has %q:\n%s", bad, report)
				}
			}
			customers := int64(2)
			if mode[0] == "-rate" {
				customers = 3
			}
			if shop.polls.Load() != 0 || shop.subs.Load() != customers || shop.orders.Load() < 10 {
				t.Errorf("polls %d (want 0), subscriptions %d (want %d), orders %d (want ≥ 10)",
					shop.polls.Load(), shop.subs.Load(), customers, shop.orders.Load())
			}
		})
	}
}
