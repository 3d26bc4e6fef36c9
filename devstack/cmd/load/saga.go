package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// orderFinal is an order's final event as a customer's realtime socket delivered it.
type orderFinal struct {
	status string    // "confirmed" or "rejected"
	at     time.Time // when the message was read off the socket
}

// orderEvents matches the final events of orders, read from the customers' realtime sockets, with the
// clients that placed them: the saga is measured as a browser sees it, without polling. An event may
// be read before the POST that created the order is answered, so whichever side comes second
// completes the pair.
type orderEvents struct {
	mu      sync.Mutex
	waiting map[string]chan orderFinal // order ID → its client, until the event comes
	early   map[string]orderFinal      // events of orders nobody waits for yet

	conns   []*websocket.Conn
	closing atomic.Bool
	lost    atomic.Int64 // sockets that ended before the run did: their orders time out
}

func newOrderEvents() *orderEvents {
	return &orderEvents{waiting: map[string]chan orderFinal{}, early: map[string]orderFinal{}}
}

// wait returns a channel that receives the order's final event (at once if it came already) and a
// function that forgets the order, for a client that stops waiting.
func (e *orderEvents) wait(id string) (<-chan orderFinal, func()) {
	ch := make(chan orderFinal, 1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if f, ok := e.early[id]; ok {
		delete(e.early, id)
		ch <- f
	} else {
		e.waiting[id] = ch
	}
	return ch, func() {
		e.mu.Lock()
		delete(e.waiting, id)
		e.mu.Unlock()
	}
}

// deliver hands an order's final event to its client, or keeps it until the client asks. Only the
// first final event of an order counts.
func (e *orderEvents) deliver(id string, f orderFinal) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ch, ok := e.waiting[id]; ok {
		delete(e.waiting, id)
		ch <- f
	} else if _, seen := e.early[id]; !seen {
		e.early[id] = f
	}
}

// handle reads one socket message (docs/realtime.md) and delivers it if it is an order.confirmed or
// order.rejected; everything else (hello, subscribed, other order events) is ignored.
func (e *orderEvents) handle(msg []byte, at time.Time) {
	var m struct {
		Type string `json:"type"`
		Data struct {
			OrderID string `json:"order_id"`
		} `json:"data"`
	}
	if json.Unmarshal(msg, &m) != nil || m.Data.OrderID == "" {
		return
	}
	if status, ok := strings.CutPrefix(m.Type, "order."); ok && (status == "confirmed" || status == "rejected") {
		e.deliver(m.Data.OrderID, orderFinal{status: status, at: at})
	}
}

// noPublic is a subscription to an SKU that does not exist: it turns off the public stock and catalog
// messages, so the sockets carry the customer's own order events and the client spends no CPU on the
// rest. Order events are never filtered.
var noPublic = []byte(`{"type":"subscribe","skus":["-load-no-such-sku-"]}`)

// watch opens the realtime socket of the customer whose access token is given, through the gateway
// (GET /realtime/ws), reads the hello, turns off public messages and reads the socket in the
// background until close. Errors: the dial or the hello failed (a 401 for a bad token, 429 when the
// customer holds too many sockets, 403 for a refused Origin).
func (e *orderEvents) watch(ctx context.Context, gateway, token string) error {
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(gateway, "http")+"/realtime/ws", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return fmt.Errorf("realtime socket: %w", err)
	}
	c.SetReadLimit(1 << 20)
	if _, p, err := c.Read(ctx); err != nil || !strings.Contains(string(p), `"hello"`) {
		c.CloseNow()
		return fmt.Errorf("realtime socket: first message %.200s, %v; want hello", p, err)
	}
	if err := c.Write(ctx, websocket.MessageText, noPublic); err != nil {
		c.CloseNow()
		return fmt.Errorf("realtime socket: subscribe: %w", err)
	}
	e.mu.Lock()
	e.conns = append(e.conns, c)
	e.mu.Unlock()
	go func() {
		for {
			// Not ctx: the socket has to outlive the setup that opened it; close ends this read.
			_, p, err := c.Read(context.Background())
			if err != nil {
				if !e.closing.Load() {
					e.lost.Add(1)
				}
				return
			}
			e.handle(p, time.Now())
		}
	}()
	return nil
}

// close closes every socket with the closing handshake, all at once.
func (e *orderEvents) close() {
	e.closing.Store(true)
	e.mu.Lock()
	defer e.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range e.conns {
		wg.Go(func() { c.Close(websocket.StatusNormalClosure, "load run over") })
	}
	wg.Wait()
	e.conns = nil
}

// await waits for the final event of order id, placed at start, until start+timeout. ok is false if
// ctx ended first (the attempt is then not recorded).
func (e *orderEvents) await(ctx context.Context, id string, start time.Time, timeout time.Duration) (status string, took time.Duration, ok bool) {
	ch, forget := e.wait(id)
	timer := time.NewTimer(time.Until(start.Add(timeout)))
	defer timer.Stop()
	select {
	case f := <-ch:
		return f.status, f.at.Sub(start), true
	case <-timer.C:
		forget()
		return "timeout", timeout, true
	case <-ctx.Done():
		forget()
		return "", 0, false
	}
}
