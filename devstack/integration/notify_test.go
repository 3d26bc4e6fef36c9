package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// notifications is the body of GET /realtime/notifications.
type notifications struct {
	Items []struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Title string `json:"title"`
		Body  string `json:"body"`
		Link  string `json:"link"`
		Read  bool   `json:"read"`
	} `json:"items"`
	Unread int `json:"unread"`
}

// find returns the ID of the first notification of typ whose link ends with suffix, or "".
func (n notifications) find(typ, suffix string) string {
	for _, it := range n.Items {
		if it.Type == typ && strings.HasSuffix(it.Link, suffix) {
			return it.ID
		}
	}
	return ""
}

// orderPlacedFor stocks a new product as admin and places an order for it as c; it returns the
// order's ID.
func orderPlacedFor(t *testing.T, admin, c *client, tag string) string {
	t.Helper()
	sku := fmt.Sprintf("NT-%s-%d", tag, time.Now().UnixNano()%1e9)
	newStockedProduct(t, admin, sku, "Notification Lamp "+tag, 9.5, 5)
	var o order
	c.must(201, "POST", "/order/orders", orderBody(sku, 1), &o, "Idempotency-Key", "nt-"+sku)
	return o.ID
}

// TestNotificationCentre drives the notification centre through the gateway: an order's confirmation
// reaches its owner's list (bearer or session cookie, never cached) and the admins' list; another user
// sees none of it and cannot mark it; a cross-site or bad request is refused; an announcement is kept
// once for everyone with read state per user; and it all survives a realtime restart.
func TestNotificationCentre(t *testing.T) {
	gw := platform.URL("gateway")
	admin := newClient(t, gw)
	adminLogin := admin.login(adminEmail, adminPass)
	stamp := time.Now().UnixNano() % 1e9
	alice, aliceLogin := newCustomer(t, fmt.Sprintf("nt-alice-%d@example.com", stamp), "alice-Passw0rd!")
	bob, bobLogin := newCustomer(t, fmt.Sprintf("nt-bob-%d@example.com", stamp), "bob-Passw0rd!")
	aliceAuth := []string{"Authorization", "Bearer " + aliceLogin.AccessToken}
	bobAuth := []string{"Authorization", "Bearer " + bobLogin.AccessToken}
	adminAuth := []string{"Authorization", "Bearer " + adminLogin.AccessToken}

	orderID := orderPlacedFor(t, admin, alice, "a")
	var got notifications
	eventually(t, 15*time.Second, "alice's list has her order's confirmation", func() bool {
		alice.must(200, "GET", "/realtime/notifications", nil, &got, aliceAuth...)
		return got.find("order.confirmed", "/orders/"+orderID) != ""
	})
	confirmed := got.find("order.confirmed", "/orders/"+orderID)
	if got.Unread < 1 {
		t.Errorf("alice: unread = %d, want at least 1", got.Unread)
	}
	// The session cookie alone works through the gateway (it exchanges it), and nothing is cached.
	var byCookie notifications
	for range 2 {
		resp := alice.must(200, "GET", "/realtime/notifications", nil, &byCookie)
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") || resp.Header.Get("X-Cache-Status") == "HIT" {
			t.Errorf("GET /realtime/notifications: Cache-Control %q, X-Cache-Status %q; want no-store, never a HIT", cc, resp.Header.Get("X-Cache-Status"))
		}
	}
	if byCookie.find("order.confirmed", "/orders/"+orderID) != confirmed {
		t.Errorf("by cookie: %+v, want the same confirmation %s", byCookie, confirmed)
	}
	var adminView notifications
	eventually(t, 10*time.Second, "the admins' list has the new order", func() bool {
		admin.must(200, "GET", "/realtime/notifications", nil, &adminView, adminAuth...)
		return adminView.find("order.created", "/admin/orders/"+orderID) != ""
	})

	// Bob sees none of it, and naming alice's notification changes nothing.
	var bobView notifications
	bob.must(200, "GET", "/realtime/notifications", nil, &bobView, bobAuth...)
	if bobView.find("order.confirmed", "/orders/"+orderID) != "" || bobView.find("order.created", orderID) != "" {
		t.Errorf("bob sees alice's or the admins' notifications: %+v", bobView)
	}
	bob.must(200, "POST", "/realtime/notifications/read", map[string]any{"ids": []string{confirmed}}, nil, bobAuth...)
	var after notifications
	alice.must(200, "GET", "/realtime/notifications", nil, &after, aliceAuth...)
	if after.Unread != got.Unread {
		t.Errorf("alice's unread after bob marked her ID: %d, want %d", after.Unread, got.Unread)
	}

	// Refusals: cross-site with the cookie, a form body with the cookie, bad and oversized bodies, no credentials.
	for _, tc := range []struct {
		name    string
		c       *client
		ct      string
		body    string
		headers []string
		want    int
	}{
		{"cross-site with the cookie", alice, "application/json", `{"all":true}`, []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"form body with the cookie", alice, "text/plain", `{"all":true}`, nil, http.StatusUnsupportedMediaType},
		{"ids not a list", alice, "application/json", `{"ids":"x"}`, aliceAuth, http.StatusBadRequest},
		{"both ids and all", alice, "application/json", `{"ids":["x"],"all":true}`, aliceAuth, http.StatusBadRequest},
		{"oversized", alice, "application/json", `{"ids":["` + strings.Repeat("a", 64<<10) + `"]}`, aliceAuth, http.StatusRequestEntityTooLarge},
		{"no credentials", newClient(t, gw), "application/json", `{"all":true}`, nil, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest("POST", gw+"/realtime/notifications/read", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ct)
		for i := 0; i+1 < len(tc.headers); i += 2 {
			req.Header.Set(tc.headers[i], tc.headers[i+1])
		}
		resp, err := tc.c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: POST /realtime/notifications/read = %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	alice.must(200, "GET", "/realtime/notifications", nil, &after, aliceAuth...)
	if after.Unread != got.Unread {
		t.Errorf("alice's unread after the refused requests: %d, want %d", after.Unread, got.Unread)
	}

	// An announcement: everyone's, once; alice dismisses it, bob still has it.
	var b struct {
		ID string `json:"notification_id"`
	}
	admin.must(202, "POST", "/realtime/broadcast", map[string]string{"message": fmt.Sprintf("Sale %d", stamp)}, &b, adminAuth...)
	alice.must(200, "GET", "/realtime/notifications", nil, &after, aliceAuth...)
	if after.find("announcement", "") != b.ID || after.Unread != got.Unread+1 {
		t.Fatalf("alice after a broadcast: %+v, want announcement %s and %d unread", after, b.ID, got.Unread+1)
	}
	alice.must(200, "POST", "/realtime/notifications/read", map[string]any{"ids": []string{b.ID}}, nil)
	alice.must(200, "POST", "/realtime/notifications/read", map[string]any{"ids": []string{confirmed}}, nil, aliceAuth...)
	bob.must(200, "GET", "/realtime/notifications", nil, &bobView, bobAuth...)
	if bobView.find("announcement", "") != b.ID || bobView.Unread < 1 {
		t.Errorf("bob after alice dismissed the announcement: %+v, want it unread", bobView)
	}

	// A restart of realtime loses nothing: the lists and the read state are in Redis.
	var before notifications
	alice.must(200, "GET", "/realtime/notifications", nil, &before, aliceAuth...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := platform.StopProgram("realtime"); err != nil {
		t.Fatalf("stop realtime: %v", err)
	}
	if err := platform.Restart("realtime"); err != nil {
		t.Fatalf("restart realtime: %v", err)
	}
	if err := platform.WaitReady(ctx, 60*time.Second); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	var restarted notifications
	eventually(t, 15*time.Second, "notifications answered after the restart", func() bool {
		return alice.do("GET", "/realtime/notifications", nil, &restarted, aliceAuth...).StatusCode == 200
	})
	if fmt.Sprint(restarted) != fmt.Sprint(before) {
		t.Errorf("after a realtime restart: %+v, want %+v", restarted, before)
	}
}
