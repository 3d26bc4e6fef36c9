package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestRealtimeProxy: the browser's socket at the storefront's /realtime/ws reaches the gateway's
// /realtime/ws with the session's access token as a bearer token, the resume point kept and any
// token or cookie from the browser dropped; a plain GET is refused.
func TestRealtimeProxy(t *testing.T) {
	t.Parallel()
	gw := newFakeGateway(t)
	rt := &fakeRealtime{messages: []string{`{"seq":4,"type":"order.paid","data":{}}`}}
	gw.realtime = rt
	store := newMemSessionStore()
	h, _ := newTestServerStore(t, gw, store)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	sid := signedInSession(t, store, gw, fakeCustomer)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/realtime/ws?since=3&epoch=E1&access_token=planted"
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookieSession + "=" + sid}}})
	if err != nil {
		t.Fatalf("dial through the storefront: %v", err)
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(msg), "order.paid") {
		t.Fatalf("first message = %q, %v", msg, err)
	}
	rt.mu.Lock()
	q, auth := rt.queries[0], rt.auths[0]
	rt.mu.Unlock()
	if q != "epoch=E1&since=3" {
		t.Errorf("query at realtime = %q, want epoch=E1&since=3 (no access_token)", q)
	}
	if !strings.HasPrefix(auth, "Bearer at-") {
		t.Errorf("Authorization at realtime = %q, want the session's bearer token", auth)
	}
	for _, r := range gw.calls("GET /realtime/ws") {
		if r.Session == "" || strings.Contains(r.Query, "planted") {
			t.Errorf("gateway saw %+v, want the session's token and no planted one", r)
		}
	}

	resp, err := http.Get(srv.URL + "/realtime/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /realtime/ws without upgrade: status = %d, want 400", resp.StatusCode)
	}
}
