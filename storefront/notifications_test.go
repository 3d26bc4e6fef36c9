package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestNotificationCentre: the bell's count on every page, the /notifications page, mark one, mark
// all, dismissing an announcement, and what an attacker can send to the form.
func TestNotificationCentre(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	now := time.Now().UTC()
	gw.notify(fakeCustomer.ID, notificationItem{ID: "n1", Type: "order.confirmed", Title: "Order confirmed", Body: "Order #ord-1 is confirmed.", Link: "/orders/ord-1", CreatedAt: now.Add(-5 * time.Minute)})
	gw.notify(fakeCustomer.ID, notificationItem{ID: "n2", Type: "order.paid", Title: "Payment received", Body: `<script>alert(1)</script>`, Link: "javascript:alert(1)", CreatedAt: now.Add(-2 * time.Hour)})
	gw.notify(fakeCustomer.ID, notificationItem{ID: "n3", Type: "order.shipped", Title: "Order shipped", Body: "On its way.", Link: "//evil.example/x", CreatedAt: now.Add(-72 * time.Hour)})
	gw.notify(fakeAdmin.ID, notificationItem{ID: "adm", Type: "inventory.low_stock", Title: "Low stock: SKU-01", CreatedAt: now})
	gw.notify("", notificationItem{ID: "ann", Type: "announcement", Title: "Announcement", Body: "Free shipping today", Level: "warning", CreatedAt: now.Add(-time.Minute)})
	customer := newBrowser(t, srv)
	customer.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	admin := newBrowser(t, srv)
	admin.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	anon := newBrowser(t, srv)

	checkPage := func(b *browser, path string, status int, want []string, not []string) page {
		t.Helper()
		p := b.get(path)
		if p.status != status {
			t.Fatalf("GET %s: status = %d, want %d\n%s", path, p.status, status, p.body)
		}
		for _, w := range want {
			if !strings.Contains(p.body, w) {
				t.Errorf("GET %s: body lacks %q", path, w)
			}
		}
		for _, w := range not {
			if strings.Contains(p.body, w) {
				t.Errorf("GET %s: body has %q", path, w)
			}
		}
		return p
	}
	// The bell is on every page, with its count for screen readers; the announcement is a banner.
	checkPage(customer, "/orders", 200, []string{`id="bell-label">Notifications, 4 unread<`, `id="bell-count" aria-hidden="true">4<`,
		`data-bell-user="u-demo"`, `data-bell-known="true"`, `class="banner banner-warning"`, "Free shipping today", `name="id" value="ann"`, `name="next" value="/orders"`}, nil)
	checkPage(anon, "/", 200, nil, []string{`id="bell"`, "banner"})
	checkPage(admin, "/", 200, []string{`Notifications, 2 unread`, `data-bell-admin="true"`}, nil)
	// The page: newest first, time ago, links only when they stay on this site, text escaped.
	checkPage(customer, "/notifications", 200, []string{`aria-current="page"`, `href="/orders/ord-1">Order confirmed</a>`, "5 min ago", "2 h ago", "3 days ago",
		"&lt;script&gt;alert(1)&lt;/script&gt;", `<p class="notification-title"><span class="visually-hidden">Unread: </span>Order shipped</p>`, "Mark all read"},
		[]string{"javascript:", "evil.example", "Low stock"})
	checkPage(anon, "/notifications", 303, nil, nil)

	type post struct {
		name        string
		b           *browser
		form        url.Values
		noCSRF      bool
		status      int
		location    string
		wantUnread  string // the customer's bell label after
		wantAPIBody string
	}
	for _, tc := range []post{
		{name: "no CSRF token", b: customer, form: url.Values{"id": {"n1"}}, noCSRF: true, status: 403, wantUnread: "4 unread"},
		{name: "signed out", b: anon, form: url.Values{"id": {"n1"}}, status: 303, location: "/login?next=%2Fnotifications%2Fread", wantUnread: "4 unread"},
		{name: "neither id nor all", b: customer, form: url.Values{}, status: 400, wantUnread: "4 unread"},
		{name: "another user's ID", b: customer, form: url.Values{"id": {"adm"}}, status: 303, location: "/notifications", wantUnread: "4 unread", wantAPIBody: `{"ids":["adm"]}`},
		{name: "mark one", b: customer, form: url.Values{"id": {"n1"}}, status: 303, location: "/notifications", wantUnread: "3 unread", wantAPIBody: `{"ids":["n1"]}`},
		{name: "dismiss the banner", b: customer, form: url.Values{"id": {"ann"}, "next": {"/orders"}}, status: 303, location: "/orders", wantUnread: "2 unread"},
		{name: "next off the site", b: customer, form: url.Values{"id": {"n2"}, "next": {"//evil.example/"}}, status: 303, location: "/", wantUnread: "1 unread"},
		{name: "mark all", b: customer, form: url.Values{"all": {"1"}}, status: 303, location: "/notifications", wantUnread: "none unread", wantAPIBody: `{"all":true}`},
	} {
		before := len(gw.calls("POST /realtime/notifications/read"))
		var p page
		if tc.noCSRF {
			p = tc.b.post("/notifications/read", tc.form)
		} else {
			from := "/"
			if tc.b == anon {
				from = "/login"
			}
			p = tc.b.submit(from, "/notifications/read", tc.form)
		}
		if p.status != tc.status || (tc.location != "" && location(p) != tc.location) {
			t.Errorf("%s: POST /notifications/read: %d to %q, want %d to %q\n%s", tc.name, p.status, location(p), tc.status, tc.location, p.body)
		}
		calls := gw.calls("POST /realtime/notifications/read")
		if tc.wantAPIBody != "" && (len(calls) != before+1 || calls[len(calls)-1].Body != tc.wantAPIBody+"\n" && calls[len(calls)-1].Body != tc.wantAPIBody) {
			t.Errorf("%s: API calls %d→%d, last body %q, want one with %s", tc.name, before, len(calls), calls[len(calls)-1].Body, tc.wantAPIBody)
		}
		if tc.status != 303 && len(calls) != before {
			t.Errorf("%s: refused form still called the API", tc.name)
		}
		checkPage(customer, "/orders", 200, []string{"Notifications, " + tc.wantUnread}, nil)
	}
	checkPage(customer, "/orders", 200, []string{`id="bell-count" aria-hidden="true" hidden>0<`}, []string{"banner-warning", "Mark all read"})
	checkPage(customer, "/notifications", 200, nil, []string{"Mark all read", "Unread: "})
	checkPage(admin, "/", 200, []string{`Notifications, 2 unread`, "Free shipping today"}, nil)

	// Realtime down: pages still render, the bell without a count; the page itself says so. (A new
	// session: the customer's keeps its bell for bellTTL.)
	gw.failWith("GET /realtime/notifications", http.StatusServiceUnavailable)
	fresh := newBrowser(t, srv)
	fresh.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	checkPage(fresh, "/orders", 200, []string{`id="bell-label">Notifications<`}, []string{"data-bell-known"})
	checkPage(fresh, "/notifications", 503, []string{"Temporarily unavailable"}, nil)
}

// TestBellCache: a session's bell is reused for bellTTL and no longer, forgotten on demand, and the
// cache never holds more than maxBellCache bells.
func TestBellCache(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var c bellCache
		c.put("s1", bell{Known: true, Unread: 2})
		time.Sleep(bellTTL - time.Millisecond)
		if b, ok := c.get("s1"); !ok || b.Unread != 2 {
			t.Errorf("get before bellTTL = %+v, %v; want the bell", b, ok)
		}
		time.Sleep(time.Millisecond)
		if _, ok := c.get("s1"); ok {
			t.Error("get at bellTTL: still kept")
		}
		c.put("s2", bell{Known: true})
		c.forget("s2")
		if _, ok := c.get("s2"); ok {
			t.Error("get after forget: still kept")
		}
		for i := range maxBellCache {
			c.put(fmt.Sprint("full-", i), bell{Known: true})
		}
		c.put("one-more", bell{Known: true})
		if _, ok := c.get("one-more"); ok || len(c.m) > maxBellCache {
			t.Errorf("full cache: kept one more (%d bells), want at most %d", len(c.m), maxBellCache)
		}
		time.Sleep(bellTTL) // every bell expired: the next put sweeps them
		c.put("after", bell{Known: true})
		if _, ok := c.get("after"); !ok || len(c.m) != 1 {
			t.Errorf("after expiry: %d bells kept, want 1", len(c.m))
		}
	})
}

func TestTimeAgo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		-time.Minute: "just now", 30 * time.Second: "just now", 59 * time.Minute: "59 min ago", 3 * time.Hour: "3 h ago",
		30 * time.Hour: "yesterday", 72 * time.Hour: "3 days ago", 40 * 24 * time.Hour: "27 Oct 2026",
	} {
		if got := timeAgo(now.Add(-d), now); got != want {
			t.Errorf("timeAgo(now - %v) = %q, want %q", d, got, want)
		}
	}
}
