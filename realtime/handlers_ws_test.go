package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// testEnv is a realtime server over httptest with a real JWKS issuer and a fake session store.
type testEnv struct {
	srv  *httptest.Server
	hub  *hub
	cons *consumer
	iss  *sharedtest.Issuer
}

// fakeSessions maps session IDs to identities; "down" means auth is unreachable.
type fakeSessions map[string]shared.Identity

func (f fakeSessions) resolve(_ context.Context, sid string) (shared.Identity, error) {
	if sid == "down" {
		return shared.Identity{}, fmt.Errorf("auth: %w", shared.ErrUnavailable)
	}
	return f[sid], nil
}

var (
	alice = shared.Identity{UserID: "u-alice", Email: "alice@shop.local", Name: "Alice", Role: shared.RoleCustomer}
	bob   = shared.Identity{UserID: "u-bob", Email: "bob@shop.local", Name: "Bob", Role: shared.RoleCustomer}
)

func newTestEnv(tb testing.TB, mutate func(*Config)) *testEnv {
	tb.Helper()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		tb.Fatal(err)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	iss := sharedtest.NewIssuer(tb)
	h := newHub(cfg.Hub, nil)
	logger := shared.NewLogger(io.Discard, "realtime", "error")
	cons := newConsumer(h, logger, cfg.MaxEventAge, nil)
	live := &conns{}
	handler := NewServer(logger, cfg, shared.NewMetrics("realtime"), shared.NewReadiness(), h, cons, iss.Verifier(),
		fakeSessions{"s-alice": alice}, live, newMemNotifications(nil))
	srv := httptest.NewServer(handler)
	tb.Cleanup(func() {
		h.shutdown()
		live.wait(5 * time.Second)
		srv.Close()
	})
	return &testEnv{srv: srv, hub: h, cons: cons, iss: iss}
}

// dial connects to /ws with query and headers and reads the hello.
func (e *testEnv) dial(tb testing.TB, query string, hdr http.Header) (*websocket.Conn, hello) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.srv.URL+"/ws"+query, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		tb.Fatalf("GET /ws%s: %v (status %d)", query, err, status)
	}
	tb.Cleanup(func() { c.CloseNow() })
	m := readMsg(tb, c)
	if m.Type != "hello" {
		tb.Fatalf("first message type = %q, want hello", m.Type)
	}
	var hi hello
	if err := json.Unmarshal(m.Data, &hi); err != nil {
		tb.Fatal(err)
	}
	return c, hi
}

func (e *testEnv) bearer(tb testing.TB, id shared.Identity) http.Header {
	return http.Header{"Authorization": {e.iss.Bearer(tb, id)}}
}

func readMsg(tb testing.TB, c *websocket.Conn) message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, p, err := c.Read(ctx)
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	var m message
	if err := json.Unmarshal(p, &m); err != nil {
		tb.Fatalf("message %s: %v", p, err)
	}
	return m
}

// event builds a Kafka event with data.
func event(tb testing.TB, typ string, data map[string]any) shared.Event {
	tb.Helper()
	e, err := shared.NewEvent(typ, "agg", data)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// release teaches the consumer's catalog that skus belong to active products, with stale
// product.created events: nothing is published, later events about the SKUs are public.
func (e *testEnv) release(tb testing.TB, skus ...string) {
	tb.Helper()
	for _, sku := range skus {
		ev := event(tb, "product.created", map[string]any{"product_id": "p-" + sku, "sku": sku, "active": true})
		ev.OccurredAt = time.Now().Add(-time.Hour)
		e.consume(tb, ev)
	}
}

func (e *testEnv) consume(tb testing.TB, evs ...shared.Event) {
	tb.Helper()
	for _, ev := range evs {
		if err := e.cons.handle(context.Background(), ev); err != nil {
			tb.Fatalf("handle %s: %v", ev.Type, err)
		}
	}
}

// typesUntil reads messages until one of type "marker" and returns the types before it, with the
// user_id of each ("type:user").
func typesUntil(tb testing.TB, c *websocket.Conn, marker string) []string {
	tb.Helper()
	var out []string
	for {
		m := readMsg(tb, c)
		if m.Type == marker {
			return out
		}
		var d struct {
			UserID string `json:"user_id"`
		}
		json.Unmarshal(m.Data, &d)
		out = append(out, m.Type+":"+d.UserID)
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	ca, _ := e.dial(t, "", e.bearer(t, alice))
	ca2, _ := e.dial(t, "", e.bearer(t, alice)) // a second tab
	cb, _ := e.dial(t, "?access_token="+url.QueryEscape(e.iss.Token(t, bob, time.Hour)), nil)
	cadm, _ := e.dial(t, "", e.bearer(t, sharedtest.Admin))
	canon, _ := e.dial(t, "", nil)
	ccookie, hi := e.dial(t, "", http.Header{"Cookie": {"session_id=s-alice"}})
	if hi.UserID != alice.UserID {
		t.Fatalf("session cookie: hello user = %q, want %q", hi.UserID, alice.UserID)
	}

	e.release(t, "SKU-1")
	e.consume(t,
		event(t, "order.confirmed", map[string]any{"order_id": "o1", "user_id": alice.UserID, "status": "confirmed"}),
		event(t, "inventory.updated", map[string]any{"sku": "SKU-1", "on_hand": 5, "reserved": 1, "available": 4}),
		event(t, "inventory.reserved", map[string]any{"order_id": "o2", "user_id": bob.UserID}),
		event(t, "user.registered", map[string]any{"user_id": "u-carol", "email": "c@x"}),
		event(t, "inventory.low_stock", map[string]any{"sku": "SKU-1", "available": 1, "low_stock_threshold": 5}),
		event(t, "order.mystery", map[string]any{"order_id": "o3"}), // no user: admins only
		event(t, "product.updated", map[string]any{"product_id": "p1", "sku": "END", "active": true}),
	)
	public := []string{"inventory.updated:"}
	for _, tc := range []struct {
		name string
		c    *websocket.Conn
		want []string
	}{
		// Each order event the bell counts is followed by its "notification" for the same user.
		{"alice", ca, []string{"order.confirmed:u-alice", "notification:u-alice", public[0]}},
		{"alice second tab", ca2, []string{"order.confirmed:u-alice", "notification:u-alice", public[0]}},
		{"alice by cookie", ccookie, []string{"order.confirmed:u-alice", "notification:u-alice", public[0]}},
		{"bob", cb, []string{public[0], "inventory.reserved:u-bob"}},
		{"anonymous", canon, public},
		// Low-stock alerts are for admins only.
		// Admins also get every user's notifications (the page bumps its bell only for its own) and
		// the admins' ones (low stock).
		{"admin", cadm, []string{"order.confirmed:u-alice", "notification:u-alice", public[0], "inventory.reserved:u-bob", "user.registered:u-carol",
			"inventory.low_stock:", "notification:", "order.mystery:"}},
	} {
		if got := typesUntil(t, tc.c, "product.updated"); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s got %v, want %v", tc.name, got, tc.want)
		}
	}
	s := e.hub.stats()
	if s.Connections != 6 || s.Users != 3 || s.Admins != 1 || s.Anonymous != 1 {
		t.Errorf("stats = %+v, want 6 connections, 3 users, 1 admin, 1 anonymous", s)
	}
}

func TestMessageShape(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	c, _ := e.dial(t, "", e.bearer(t, alice))
	ev := event(t, "order.shipped", map[string]any{"order_id": "o1", "user_id": alice.UserID, "total_cents": 1299})
	e.consume(t, ev)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, p, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"seq", "type", "data", "occurred_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("message %s lacks %q", p, k)
		}
	}
	if string(m["data"]) != string(ev.Data) {
		t.Errorf("data = %s, want the event's data %s", m["data"], ev.Data)
	}
}

func TestResume(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, func(c *Config) { c.Hub.BufferSize = 4 })
	c, hi := e.dial(t, "", e.bearer(t, alice))
	e.consume(t, event(t, "order.created", map[string]any{"order_id": "o1", "user_id": alice.UserID}))
	first := readMsg(t, c)
	c.Close(websocket.StatusNormalClosure, "")

	// Missed while away: two of hers, one of bob's, one public.
	e.release(t, "S")
	e.consume(t,
		event(t, "order.confirmed", map[string]any{"order_id": "o1", "user_id": alice.UserID}),
		event(t, "order.created", map[string]any{"order_id": "o9", "user_id": bob.UserID}),
		event(t, "inventory.updated", map[string]any{"sku": "S"}),
		event(t, "order.paid", map[string]any{"order_id": "o1", "user_id": alice.UserID}),
	)
	q := fmt.Sprintf("?since=%d&epoch=%s", first.Seq, hi.Epoch)
	c2, _ := e.dial(t, q, e.bearer(t, alice))
	var got []string
	last := first.Seq
	for range 5 {
		m := readMsg(t, c2)
		if m.Seq <= last {
			t.Fatalf("seq %d after %d: want increasing", m.Seq, last)
		}
		last = m.Seq
		got = append(got, m.Type)
	}
	if want := "order.confirmed,notification,inventory.updated,order.paid,notification"; strings.Join(got, ",") != want {
		t.Fatalf("resumed %v, want %s", got, want)
	}
	// Live messages follow the backlog.
	e.consume(t, event(t, "order.shipped", map[string]any{"order_id": "o1", "user_id": alice.UserID}))
	if m := readMsg(t, c2); m.Type != "order.shipped" {
		t.Fatalf("live after backlog: type = %q, want order.shipped", m.Type)
	}

	for _, tc := range []struct {
		name, query string
	}{
		{"other epoch", fmt.Sprintf("?since=%d&epoch=old", first.Seq)},
		{"ahead of server", fmt.Sprintf("?since=%d&epoch=%s", last+100, hi.Epoch)},
		{"evicted", fmt.Sprintf("?since=0&epoch=%s", hi.Epoch)}, // buffer holds 4: seq 1.. is gone
	} {
		if tc.name == "evicted" {
			for i := range 5 {
				e.release(t, fmt.Sprint("S", i))
				e.consume(t, event(t, "inventory.updated", map[string]any{"sku": fmt.Sprint("S", i)}))
			}
		}
		c3, _ := e.dial(t, tc.query, e.bearer(t, alice))
		if m := readMsg(t, c3); m.Type != "resync" {
			t.Errorf("%s: first message after hello = %q, want resync", tc.name, m.Type)
		}
	}
}

func TestSlowConsumerDropped(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, func(c *Config) { c.Hub.SendQueue = 4 })
	slow, _ := e.dial(t, "", nil) // reads nothing until it is kicked
	fast, _ := e.dial(t, "", e.bearer(t, sharedtest.Admin))
	big := strings.Repeat("x", 16<<10)
	got := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			if _, _, err := fast.Read(ctx); err != nil {
				close(got)
				return
			}
			got <- struct{}{}
		}
	}()
	e.release(t, "S")
	for i := 0; e.hub.stats().SlowConsumers == 0; i++ {
		if i == 5000 {
			t.Fatal("slow client never dropped")
		}
		e.consume(t, event(t, "inventory.updated", map[string]any{"sku": "S", "n": i, "pad": big}))
		if _, ok := <-got; !ok { // the fast client keeps up: it must never be dropped
			t.Fatalf("fast client lost its connection after %d messages", i)
		}
	}
	// The slow client sees what was already in flight and then a policy-violation close.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = slow.Read(ctx)
	}
	if code := websocket.CloseStatus(err); code != websocket.StatusPolicyViolation {
		t.Fatalf("slow client: close = %v (%d), want %d", err, code, websocket.StatusPolicyViolation)
	}
	waitFor(t, "the slow connection to be unregistered", func() bool { return e.hub.stats().Connections == 1 })
	if s := e.hub.stats(); s.MessagesDropped == 0 || s.SlowConsumers != 1 {
		t.Errorf("stats = %+v, want dropped > 0 and one slow consumer", s)
	}
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConnectRejected(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	expired := e.iss.Token(t, alice, -time.Minute)
	for _, tc := range []struct {
		name  string
		query string
		hdr   http.Header
		want  int
	}{
		{"bad bearer", "", http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized},
		{"expired bearer", "", http.Header{"Authorization": {"Bearer " + expired}}, http.StatusUnauthorized},
		{"bad access_token", "?access_token=nope", nil, http.StatusUnauthorized},
		{"foreign origin", "", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"bad origin", "", http.Header{"Origin": {"javascript:alert(1)"}}, http.StatusForbidden},
		{"bad since", "?since=-1", nil, http.StatusBadRequest},
		{"auth down", "", http.Header{"Cookie": {"session_id=down"}}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, e.srv.URL+"/ws"+tc.query, &websocket.DialOptions{HTTPHeader: tc.hdr})
			if err == nil {
				c.CloseNow()
				t.Fatalf("GET /ws%s: upgraded, want status %d", tc.query, tc.want)
			}
			if resp == nil || resp.StatusCode != tc.want {
				t.Fatalf("GET /ws%s: resp = %v, want status %d", tc.query, resp, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name, origin, wantUser string
		hdr                    http.Header
	}{
		{"allowed origin", "http://localhost:3000", "", nil},
		{"unknown session is anonymous", "http://127.0.0.1:3008", "", http.Header{"Cookie": {"session_id=unknown"}}},
	} {
		hdr := http.Header{"Origin": {tc.origin}}
		for k, v := range tc.hdr {
			hdr[k] = v
		}
		if _, hi := e.dial(t, "", hdr); hi.UserID != tc.wantUser {
			t.Errorf("%s: user = %q, want %q", tc.name, hi.UserID, tc.wantUser)
		}
	}
}

// TestNotAHandshake: a request to /ws that is no WebSocket handshake (a plain GET from curl or a
// browser tab, a wrong version, a bad key) is a 400 in the error shape, not the WebSocket library's
// plain-text answer, and nothing is upgraded.
func TestNotAHandshake(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	handshake := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
	without := func(name string, set ...string) http.Header {
		h := handshake.Clone()
		h.Del(name)
		if len(set) > 0 {
			h[http.CanonicalHeaderKey(name)] = set
		}
		return h
	}
	for _, tc := range []struct {
		name string
		hdr  http.Header
	}{
		{"plain GET", http.Header{}},
		{"no Connection: Upgrade", without("Connection", "keep-alive")},
		{"no Upgrade", without("Upgrade")},
		{"other protocol", without("Upgrade", "h2c")},
		{"no version", without("Sec-Websocket-Version")},
		{"version 8", without("Sec-Websocket-Version", "8")},
		{"no key", without("Sec-Websocket-Key")},
		{"short key", without("Sec-Websocket-Key", "c2hvcnQ=")},
		{"two keys", without("Sec-Websocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ==")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest("GET", e.srv.URL+"/ws", nil)
			req.Header = tc.hdr
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body shared.ErrorBody
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(raw, &body) != nil || body.Error.Code != shared.CodeInvalid || body.Error.RequestID == "" {
				t.Errorf("GET /ws (%s): %d %q, want 400 in the error shape", tc.name, resp.StatusCode, raw)
			}
		})
	}
}

func TestConnectionsPerUserCapped(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, func(c *Config) { c.Hub.MaxPerUser = 2 })
	e.dial(t, "", e.bearer(t, alice))
	e.dial(t, "", e.bearer(t, alice))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.srv.URL+"/ws", &websocket.DialOptions{HTTPHeader: e.bearer(t, alice)})
	if err == nil {
		c.CloseNow()
		t.Fatal("third connection of a user with a cap of 2 was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("GET /ws: resp = %v, want status %d", resp, http.StatusTooManyRequests)
	}
	e.dial(t, "", e.bearer(t, bob)) // others are not affected
	e.dial(t, "", nil)
}

// TestAnonymousConnectionsPerAddressCapped: past REALTIME_MAX_ANONYMOUS_PER_ADDRESS anonymous
// connections from one client address, the next is refused with 429 in the error shape before the
// upgrade. The address is the one a trusted proxy names (the gateway's X-Forwarded-For), so visitors
// behind the gateway are counted apart; a signed-in user is not bound by it; a closed connection's
// slot comes back.
func TestAnonymousConnectionsPerAddressCapped(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, func(c *Config) { c.Hub.MaxAnonPerAddress = 2 })
	first, _ := e.dial(t, "", nil)
	e.dial(t, "", nil)
	dial := func(hdr http.Header) (*websocket.Conn, *http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return websocket.Dial(ctx, e.srv.URL+"/ws", &websocket.DialOptions{HTTPHeader: hdr})
	}
	c, resp, err := dial(nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("a third anonymous connection from one address with a cap of 2 was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("GET /ws: resp = %v, want status %d", resp, http.StatusTooManyRequests)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || body.Error.Code != "too_many_requests" {
		t.Errorf("429 body: %+v, want the error shape with code too_many_requests", body)
	}
	// Behind the gateway (a trusted loopback peer), each visitor is its own address.
	e.dial(t, "", http.Header{"X-Forwarded-For": {"203.0.113.7"}})
	e.dial(t, "", http.Header{"X-Forwarded-For": {"203.0.113.7"}})
	if c, _, err := dial(http.Header{"X-Forwarded-For": {"203.0.113.7"}}); err == nil {
		c.CloseNow()
		t.Error("a third connection of the visitor the proxy named was accepted")
	}
	e.dial(t, "", e.bearer(t, alice)) // signed in: bound per user, not per address
	first.Close(websocket.StatusNormalClosure, "")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, _, err := dial(nil)
		if err == nil {
			c.CloseNow()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed connection's slot did not come back: %v", err)
		}
	}
}

func TestBroadcast(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	anon, _ := e.dial(t, "", nil)
	for _, tc := range []struct {
		name string
		auth string
		body string
		want int
	}{
		{"anonymous", "", `{"message":"hi"}`, http.StatusUnauthorized},
		{"customer", e.iss.Bearer(t, alice), `{"message":"hi"}`, http.StatusForbidden},
		{"empty", e.iss.Bearer(t, sharedtest.Admin), `{"message":" "}`, http.StatusBadRequest},
		{"unknown field", e.iss.Bearer(t, sharedtest.Admin), `{"message":"hi","x":1}`, http.StatusBadRequest},
		// Free text as everywhere (shared.Printable): it reaches every shopper's page and bell.
		{"bidi override", e.iss.Bearer(t, sharedtest.Admin), `{"message":"Sale \u202Eetis siht tfel\u202C"}`, http.StatusBadRequest},
		{"control character", e.iss.Bearer(t, sharedtest.Admin), `{"message":"Sale\u001b[2J"}`, http.StatusBadRequest},
		{"admin", e.iss.Bearer(t, sharedtest.Admin), `{"message":"Sale starts now","level":"info"}`, http.StatusAccepted},
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/broadcast", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("POST /broadcast (%s): status = %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	m := readMsg(t, anon)
	var d map[string]string
	json.Unmarshal(m.Data, &d)
	if m.Type != "announcement" || d["message"] != "Sale starts now" {
		t.Fatalf("anonymous got %s %v, want the announcement", m.Type, d)
	}
}

func TestSuspendedUserDisconnected(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	c, _ := e.dial(t, "", e.bearer(t, alice))
	e.consume(t, event(t, "user.status_changed", map[string]any{"user_id": alice.UserID, "status": "suspended"}))
	if m := readMsg(t, c); m.Type != "user.status_changed" {
		t.Fatalf("type = %q, want user.status_changed", m.Type)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("after suspension: err = %v, want close %d", err, websocket.StatusPolicyViolation)
	}
}

func TestShutdownGoingAway(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	c, _ := e.dial(t, "", nil)
	e.hub.shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after shutdown: err = %v, want close %d", err, websocket.StatusGoingAway)
	}
}

func TestStatsAndClientJS(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.dial(t, "", nil)
	e.consume(t, event(t, "product.created", map[string]any{"product_id": "p", "active": true}))
	resp, err := http.Get(e.srv.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var s hubStats
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || s.Connections != 1 || s.MessagesByType["product.created"] != 1 || s.EventsConsumed != 1 {
		t.Fatalf("GET /stats: status = %d, body %+v; want 200, 1 connection, 1 product.created", resp.StatusCode, s)
	}
	resp, err = http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`realtime_messages_published_total{service="realtime",type="product.created"} 1`,
		`realtime_events_total{service="realtime",result="consumed"} 1`, "realtime_connections"} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("GET /metrics lacks %s", want)
		}
	}
}
