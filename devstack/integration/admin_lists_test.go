//go:build unix

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBrowserAdminLists drives headless Chromium through the real storefront, gateway and services
// as the admin: each admin list's filter form (orders by customer e-mail, order ID, status and date;
// products by SKU and active flag; inventory by level and SKU; users by text and status) narrows the
// list to what the API data says it should, and the order page shows the order's timeline (who,
// when, why) and moves it on with its own form. The pages are checked at 390 px for horizontal
// overflow. Screenshots go to $BROWSER_SCREENSHOTS or a temporary directory named in the log.
func TestBrowserAdminLists(t *testing.T) {
	bin, shots := browserEnv(t)

	// Data through the API: a product, and two new customers with one order each; Alice pays hers,
	// Bob's stays confirmed and holds its stock.
	stamp := time.Now().UnixNano() % 1e9
	api := newClient(t, platform.URL("gateway"))
	api.login(adminEmail, adminPass)
	sku := fmt.Sprintf("ADML-%d", stamp)
	newStockedProduct(t, api, sku, fmt.Sprintf("Admin List Lamp %d", stamp), 9.50, 10)
	place := func(email string, pay bool) string {
		c, _ := newCustomer(t, email, "lists-Passw0rd!")
		var o order
		c.must(201, "POST", "/order/orders", orderBody(sku, 1), &o, "Idempotency-Key", fmt.Sprint("adml-", stamp))
		eventually(t, 10*time.Second, "order of "+email+" confirmed", func() bool {
			c.must(200, "GET", "/order/orders/"+o.ID, nil, &o)
			return o.Status == "confirmed"
		})
		if pay {
			c.must(200, "POST", "/order/orders/"+o.ID+"/pay", map[string]any{"card_number": "4242424242424242", "exp_month": 12, "exp_year": time.Now().Year() + 2, "cvc": "123"}, &o)
		}
		return o.ID
	}
	alice, bob := fmt.Sprintf("alice-%d@example.com", stamp), fmt.Sprintf("bob-%d@example.com", stamp)
	aliceOrder, bobOrder := place(alice, true), place(bob, false)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	browser := startChrome(ctx, t, bin)
	sf := platform.URL("storefront")
	admin := signedInTab(ctx, t, browser, shots, sf, adminEmail, adminPass)

	rows := func(table string) int {
		var n int
		admin.must(fmt.Sprintf(`document.querySelectorAll('#%s tbody tr').length`, table), &n)
		return n
	}
	// filter fills the list's filter form, submits it, and checks the number of rows and that the
	// filter is in the URL (so the list can be bookmarked).
	filter := func(list, table string, fields map[string]string, want int, mustShow ...string) {
		t.Helper()
		admin.navigate(sf + list)
		admin.fill(fields)
		admin.click(`form.admin-filter button[type=submit]`)
		var href string
		admin.must(`location.href`, &href)
		for sel, v := range fields {
			name := strings.TrimPrefix(sel, "#f-")
			if v != "" && !strings.Contains(href, name+"=") {
				admin.fail("after filtering %s by %s: URL %s lacks it", list, name, href)
			}
		}
		if got := rows(table); got != want {
			admin.fail("%s filtered by %v: %d rows, want %d", list, fields, got, want)
		}
		for _, s := range mustShow {
			if !strings.Contains(admin.text("#"+table), s) {
				admin.fail("%s filtered by %v: table lacks %q", list, fields, s)
			}
		}
	}

	filter("/admin/orders", "admin-orders", map[string]string{"#f-email": fmt.Sprint("alice-", stamp)}, 1, alice, "Integration Customer", "Paid")
	admin.screenshot("20-admin-orders-by-email")
	filter("/admin/orders", "admin-orders", map[string]string{"#f-email": fmt.Sprint("ALICE-", stamp), "#f-status": "confirmed"}, 0)
	filter("/admin/orders", "admin-orders", map[string]string{"#f-id": bobOrder[:10]}, 1, bob)
	today := time.Now().UTC().Format(time.DateOnly)
	filter("/admin/orders", "admin-orders", map[string]string{"#f-email": fmt.Sprint("bob-", stamp), "#f-from": today, "#f-to": today}, 1, bob)
	filter("/admin/orders", "admin-orders", map[string]string{"#f-email": fmt.Sprint("bob-", stamp), "#f-from": "2099-01-01"}, 0)
	// A refused value: the API's message beside the field, the form kept.
	admin.navigate(sf + "/admin/orders?from=2026-03-05&to=2026-03-01")
	if msg := admin.text("#fe-from"); msg == "" {
		admin.fail("from after to: no message beside the field")
	}
	filter("/admin/products", "admin-products", map[string]string{"#f-sku": strings.ToLower(sku)}, 1, sku)
	filter("/admin/products", "admin-products", map[string]string{"#f-sku": sku, "#f-active": "false"}, 0)
	filter("/admin/inventory", "admin-inventory", map[string]string{"#f-sku": sku, "#f-level": "reserved"}, 1, sku)
	filter("/admin/inventory", "admin-inventory", map[string]string{"#f-sku": sku, "#f-level": "out"}, 0)
	filter("/admin/users", "admin-users", map[string]string{"#f-q": fmt.Sprint("bob-", stamp), "#f-status": "active"}, 1, bob)
	filter("/admin/users", "admin-users", map[string]string{"#f-q": fmt.Sprint("bob-", stamp), "#f-status": "suspended"}, 0)

	// Alice's order page, reached from the list: its timeline, then shipped with a reason.
	admin.navigate(sf + "/admin/orders?email=" + fmt.Sprint("alice-", stamp))
	admin.click(fmt.Sprintf(`a[href="/admin/orders/%s"]`, aliceOrder))
	steps := func() []string {
		var out []string
		admin.must(`[...document.querySelectorAll('#order-timeline li')].map(li => li.textContent.replace(/\s+/g, ' ').trim())`, &out)
		return out
	}
	got := steps()
	if len(got) != 3 || !strings.HasPrefix(got[0], "Pending") || !strings.Contains(got[0], "by customer Integration Customer <"+alice+">") ||
		!strings.Contains(got[1], "by system") || !strings.HasPrefix(got[2], "Paid") {
		admin.fail("timeline = %q, want pending by Alice, confirmed by system, paid", got)
	}
	admin.fill(map[string]string{"#reason-shipped": "DHL 42"})
	admin.click(`form[data-next-status="shipped"] button[type=submit]`)
	if p := admin.path(); p != "/admin/orders/"+aliceOrder {
		admin.fail("after shipping: at %s, want the order page", p)
	}
	got = steps()
	if len(got) != 4 || !strings.HasPrefix(got[3], "Shipped") || !strings.Contains(got[3], "by admin") || !strings.Contains(got[3], "DHL 42") {
		admin.fail("timeline after shipping = %q, want a 4th step shipped by the admin with the reason", got)
	}
	admin.screenshot("21-admin-order-page")

	// The same pages on a phone: nothing wider than the screen.
	if err := admin.c.call(ctx, admin.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true}, nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/admin/orders/" + aliceOrder, "/admin/orders?status=paid", "/admin/products", "/admin/inventory", "/admin/users"} {
		admin.navigate(sf + path)
		var wide int
		admin.must(`document.documentElement.scrollWidth`, &wide)
		if wide > 390 {
			admin.fail("GET %s at 390 px: page is %d px wide", path, wide)
		}
	}
	admin.screenshot("22-admin-order-page-390")
}
