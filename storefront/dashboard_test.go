package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// dashboardRoutes adds the stats routes to the fake gateway: GET /order/orders/stats computes the
// last 30 UTC days from the fake's orders with the order service's rules (revenue: paid, shipped,
// delivered in USD), GET /inventory/inventory/stats from its stock (sold: units of paid-and-beyond
// orders).
func (g *fakeGateway) dashboardRoutes(mux *http.ServeMux, requireAdmin func(http.HandlerFunc) http.HandlerFunc) {
	mux.HandleFunc("GET /order/orders/stats", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, g.orderStats(time.Now()))
	}))
	mux.HandleFunc("GET /inventory/inventory/stats", requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		var st inventoryStats
		for _, it := range g.stock {
			st.SKUs++
			st.OnHand += int64(it.OnHand)
			st.Reserved += int64(it.Reserved)
			st.Available += int64(it.Available)
			switch {
			case it.Available <= 0:
				st.OutOfStock++
			case it.Available <= it.LowStockThreshold:
				st.LowStock++
			}
		}
		for _, o := range g.orders {
			if paidStatus(o.Status) {
				st.Sold += int64(o.Units())
			}
		}
		writeJSON(w, 200, st)
	}))
}

func paidStatus(s string) bool { return s == "paid" || s == "shipped" || s == "delivered" }

// fakeDay is one day of the fake's order stats.
type fakeDay struct {
	Date    string       `json:"date"`
	Orders  int          `json:"orders"`
	Revenue shared.Cents `json:"revenue"`
}

// orderStats is the fake's answer to GET /order/orders/stats at now.
func (g *fakeGateway) orderStats(now time.Time) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -29)
	days := make([]fakeDay, 30)
	for i := range days {
		days[i].Date = from.AddDate(0, 0, i).Format(time.DateOnly)
	}
	byStatus := map[string]int{}
	for _, s := range orderStatuses {
		byStatus[s] = 0
	}
	var revenue shared.Cents
	n := 0
	for _, o := range g.orders {
		i := int(o.CreatedAt.Sub(from) / (24 * time.Hour))
		if o.CreatedAt.Before(from) || i >= 30 {
			continue
		}
		n++
		byStatus[o.Status]++
		days[i].Orders++
		if c, err := shared.ParseCents(string(o.Total)); err == nil && paidStatus(o.Status) && o.Currency == "USD" {
			days[i].Revenue += c
			revenue += c
		}
	}
	return map[string]any{"from": from, "to": now, "currency": "USD", "revenue": revenue, "orders": n,
		"orders_by_status": byStatus, "by_day": days, "other_currencies": []string{}}
}

// addOrder stores o in the fake as the order service would have it.
func (g *fakeGateway) addOrder(o order) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.orders[o.ID] = o
}

// seedDashboard adds orders of every status over the last 30 days (and one older): today 2 paid
// (10.00 + 2.50), 3 days ago a shipped 7.25 and a pending 100.00, 10 days ago a delivered 20.00 and
// a cancelled 50.00, 40 days ago a paid 999.00 that the stats leave out.
func seedDashboard(g *fakeGateway, now time.Time) {
	mk := func(n int, daysAgo int, status, total string) {
		g.addOrder(order{ID: fmt.Sprintf("ord-dash-%02d", n), UserID: fakeCustomer.ID, Status: status, Total: json.Number(total), Currency: "USD",
			Items: []orderLine{{SKU: "SKU-02", Quantity: 2}}, CreatedAt: now.AddDate(0, 0, -daysAgo)})
	}
	mk(1, 0, "paid", "10.00")
	mk(2, 0, "paid", "2.50")
	mk(3, 3, "shipped", "7.25")
	mk(4, 3, "pending", "100.00")
	mk(5, 10, "delivered", "20.00")
	mk(6, 10, "cancelled", "50.00")
	mk(7, 40, "paid", "999.00")
}

// statValue returns the text of the .stat-value inside the card data-stat=name.
func statValue(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`data-stat="` + regexp.QuoteMeta(name) + `"[^>]*>\s*<(?:p|span) class="stat-label">[^<]*</(?:p|span)>\s*<(?:p|span) class="stat-value">([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("dashboard has no card %q", name)
	}
	return m[1]
}

// TestAdminDashboard: the dashboard shows what the APIs answer, draws both charts with their text
// alternatives, asks the APIs as the admin, and keeps working when one source fails.
func TestAdminDashboard(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	// Keep clear of midnight UTC, so "today" and "3 days ago" stay where they were put.
	now := time.Now().UTC()
	if now.Hour() == 23 && now.Minute() >= 58 {
		t.Skip("too close to midnight UTC")
	}
	seedDashboard(gw, now)
	admin := newBrowser(t, srv)
	admin.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	p := admin.get("/admin")
	if p.status != http.StatusOK {
		t.Fatalf("GET /admin: status = %d\n%s", p.status, p.body)
	}
	// Fixture stock: SKU-01..14 with on hand i, available i-1, threshold 3 → out: SKU-01; low: 02..04.
	wants := map[string]string{
		"revenue-today": "$12.50", "revenue-7d": "$19.75", "revenue-30d": "$39.75",
		"waiting-to-ship": "3", "low-stock": "3", "out-of-stock": "1", "on-hand": "105", "reserved": "0",
		"sold": strconv.Itoa(2 * 5), "products": "14", "accounts": "2",
	}
	for card, want := range wants {
		if got := statValue(t, p.body, card); got != want {
			t.Errorf("card %s = %q, want %q", card, got, want)
		}
	}
	for _, want := range []string{
		`<title id="days-title">`, `<desc id="days-desc">30 days from`, `aria-labelledby="days-title days-desc"`,
		`Orders placed in the last 30 days by current status: pending 1, confirmed 0, rejected 0, paid 2, cancelled 1, shipped 1, delivered 1`,
		`<td data-label="Orders" class="num" data-status-count="paid">2</td>`,
		now.Format(time.DateOnly) + `</th><td data-label="Orders" class="num">2</td><td data-label="Revenue" class="num">$12.50</td>`,
		`<a href="/admin" aria-current="page">Dashboard</a>`, `src="/static/dashboard.js`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("GET /admin: body lacks %q", want)
		}
	}
	if n := strings.Count(p.body, `<tr><th scope="row" data-label="Day">`); n != 30 {
		t.Errorf("day table rows = %d, want 30", n)
	}
	if n := strings.Count(p.body, "<rect x="); n != 30 {
		t.Errorf("revenue bars = %d, want 30", n)
	}
	for _, path := range []string{"GET /order/orders/stats", "GET /inventory/inventory/stats", "GET /order/orders", "GET /product/products", "GET /user/users"} {
		calls := gw.calls(path)
		if len(calls) == 0 || calls[len(calls)-1].Token == "" {
			t.Errorf("%s: calls %+v, want one with the admin's token", path, calls)
		}
	}

	// One source down: its cards say so, the rest still shows.
	gw.failWith("GET /order/orders/stats", http.StatusServiceUnavailable)
	p = admin.get("/admin")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Not available right now: revenue and orders.") || strings.Contains(p.body, `data-chart="days"`) {
		t.Errorf("GET /admin with order stats down: status %d, want 200 with the notice and no chart\n%s", p.status, p.body)
	}
	if got := statValue(t, p.body, "out-of-stock"); got != "1" {
		t.Errorf("out-of-stock card with order stats down = %q, want 1", got)
	}

	// A customer never gets the page, and the stats are never asked for on their behalf.
	customer := newBrowser(t, srv)
	customer.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	before := len(gw.calls("GET /inventory/inventory/stats"))
	if p := customer.get("/admin"); p.status != http.StatusForbidden {
		t.Errorf("GET /admin as customer: status = %d, want 403", p.status)
	}
	if n := len(gw.calls("GET /inventory/inventory/stats")); n != before {
		t.Errorf("a customer's GET /admin reached the stats API")
	}
}

// TestDayChartScales: bars and the orders line stay inside the plot, the highest day reaches its
// top, and an empty month draws flat bars rather than dividing by zero.
func TestDayChartScales(t *testing.T) {
	t.Parallel()
	st := &orderStats{Currency: "USD"}
	for i, rev := range []string{"0.00", "40.00", "100.00", "1234567.89"} {
		st.ByDay = append(st.ByDay, dayStat{Date: fmt.Sprintf("2026-03-0%d", i+1), Orders: i, Revenue: json.Number(rev)})
	}
	c := newDayChart(st)
	for i, b := range c.Bars {
		if b.Y < dayPlotTop || b.Y+b.H > dayPlotBottom+0.1 || b.X < dayPlotLeft || b.X+b.W > dayPlotRight {
			t.Errorf("bar %d = %+v, outside the plot", i, b)
		}
		if p := c.Points[i]; p.Y < dayPlotTop || p.Y > dayPlotBottom {
			t.Errorf("point %d = %+v, outside the plot", i, p)
		}
	}
	if !strings.Contains(c.Summary, "highest $1,234,567.89 on 2026-03-04") {
		t.Errorf("summary = %q", c.Summary)
	}
	flat := newDayChart(&orderStats{Currency: "USD", ByDay: st.ByDay[:1]})
	if len(flat.Bars) != 1 || flat.Bars[0].H != 0 {
		t.Errorf("chart of one empty day = %+v", flat.Bars)
	}
}

// TestSumDaysOverInputBound: the revenue cards add up days whose revenue is over the 10,000,000.00
// input bound exactly, instead of showing the amount as unknown.
func TestSumDaysOverInputBound(t *testing.T) {
	t.Parallel()
	st := &orderStats{Currency: "USD", ByDay: []dayStat{
		{Date: "2026-03-01", Orders: 1, Revenue: "1.00"},
		{Date: "2026-03-02", Orders: 2, Revenue: "10000000.01"},
		{Date: "2026-03-03", Orders: 99, Revenue: "1069199998.93"},
	}}
	for n, want := range map[int]string{1: "$1,069,199,998.93", 2: "$1,079,199,998.94", 3: "$1,079,199,999.94"} {
		if c := sumDays(st, "k", "label", n); c.Amount != want {
			t.Errorf("sumDays(last %d) = %q, want %q", n, c.Amount, want)
		}
	}
	st.ByDay = append(st.ByDay, dayStat{Date: "2026-03-04", Revenue: "oops"})
	if c := sumDays(st, "k", "label", 1); c.Amount != "—" {
		t.Errorf("sumDays of a day that is not an amount = %q, want —", c.Amount)
	}
}

// TestChromiumDashboard: in a real browser, the dashboard's figures are the APIs' figures, and an
// order event on the live socket makes the page fetch and show the new ones without a reload.
// Screenshots at phone and desktop width go to $STOREFRONT_SCREENSHOTS when set.
func TestChromiumDashboard(t *testing.T) {
	bin := chromiumOrSkip(t)
	now := time.Now().UTC()
	if now.Hour() == 23 && now.Minute() >= 55 {
		t.Skip("too close to midnight UTC")
	}
	gw := newFakeGateway(t)
	seedDashboard(gw, now)
	rt := &fakeRealtime{messages: []string{`{"seq":1,"type":"order.created","data":{"order_id":"ord-dash-live","status":"pending"}}`}}
	// The new order exists once the page's socket connects, that is after the page was rendered.
	var once sync.Once
	gw.realtime = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			gw.addOrder(order{ID: "ord-dash-live", UserID: fakeCustomer.ID, Status: "paid", Total: "5.00", Currency: "USD",
				Items: []orderLine{{SKU: "SKU-03", Quantity: 1}}, CreatedAt: time.Now()})
		})
		rt.ServeHTTP(w, r)
	})
	store := newMemSessionStore()
	handler, _ := newTestServerStore(t, gw, store)
	admin := httptest.NewServer(withSession(handler, signedInSession(t, store, gw, fakeAdmin)))
	defer admin.Close()

	var dom string
	for range 3 { // the socket is real network: on a loaded machine the dump may come first
		dom = chromium(t, bin, "--virtual-time-budget=8000", "--dump-dom", admin.URL+"/admin")
		if strings.Contains(dom, "Updated at") {
			break
		}
	}
	if !strings.Contains(dom, "Updated at") {
		t.Fatalf("the dashboard did not refresh after order.created\n%s", dom)
	}
	api := gw.orderStats(time.Now())
	days := api["by_day"].([]fakeDay)
	today := days[len(days)-1]
	wants := map[string]string{
		"revenue-today":   shared.Money{Amount: today.Revenue, Currency: "USD"}.String(),
		"revenue-30d":     shared.Money{Amount: api["revenue"].(shared.Cents), Currency: "USD"}.String(),
		"waiting-to-ship": "4", // the fixture's 3 paid orders and the new one
		"sold":            strconv.Itoa(2*5 + 1),
	}
	if wants["revenue-today"] != "$17.50" {
		t.Fatalf("fake API revenue today = %s, want $17.50 (fixture changed?)", wants["revenue-today"])
	}
	for card, want := range wants {
		if got := statValue(t, dom, card); got != want {
			t.Errorf("in Chromium, card %s = %q, want %q as the API answers", card, got, want)
		}
	}
	if !strings.Contains(dom, `data-status-count="paid">3<`) {
		t.Errorf("in Chromium, the status table does not show 3 paid orders (30 days)")
	}

	dir := os.Getenv("STOREFRONT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for name, size := range map[string]string{"admin-dashboard": "1280,1100", "phone-admin-dashboard": "390,2200"} {
		file := filepath.Join(dir, name+".png")
		chromium(t, bin, "--screenshot="+file, "--window-size="+size, admin.URL+"/admin")
		if st, err := os.Stat(file); err != nil || st.Size() < 2000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	t.Logf("screenshots in %s", dir)
}

// BenchmarkDashboard measures GET /admin's server time: the five API calls (concurrent, over loopback
// HTTP to the fake gateway, which computes the stats from 10,000 orders and 1,000 products' stock
// as the services' memory stores do) and the render with both charts.
// Run: go test -run '^$' -bench Dashboard -benchtime 200x ./storefront/
func BenchmarkDashboard(b *testing.B) {
	gw := newFakeGateway(b)
	now := time.Now().UTC()
	statuses := orderStatuses
	for i := range 10_000 {
		gw.addOrder(order{ID: fmt.Sprintf("ord-bench-%05d", i), UserID: fakeCustomer.ID, Status: statuses[i%len(statuses)],
			Total: json.Number(fmt.Sprintf("%d.%02d", 10+i%90, i%100)), Currency: "USD", Items: []orderLine{{SKU: "SKU-01", Quantity: 1 + i%3}},
			CreatedAt: now.Add(-time.Duration(i%(30*24)) * time.Hour)})
	}
	gw.mu.Lock()
	for i := range 1000 {
		p := product{ID: fmt.Sprintf("pb%04d", i), SKU: fmt.Sprintf("BENCH-%04d", i), Name: "Bench", Price: "1.00", Currency: "USD", Category: "books", Active: true}
		gw.products = append(gw.products, p)
		gw.stock[p.SKU] = stockItem{SKU: p.SKU, OnHand: i % 20, Available: i % 20, LowStockThreshold: 5}
	}
	gw.mu.Unlock()
	store := newMemSessionStore()
	h, _ := newTestServerStore(b, gw, store)
	h = withSession(h, signedInSession(b, store, gw, fakeAdmin))
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin", nil))
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "Not available right now") {
			b.Fatalf("GET /admin: status = %d\n%.2000s", rec.Code, rec.Body)
		}
	}
}

// TestAdminDashboardOneOrder: a revenue card counting one order says "1 order placed", not
// "1 orders placed"; the others keep the plural.
func TestAdminDashboardOneOrder(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	now := time.Now().UTC()
	if now.Hour() == 23 && now.Minute() >= 58 {
		t.Skip("too close to midnight UTC")
	}
	gw.addOrder(order{ID: "ord-one", UserID: fakeCustomer.ID, Status: "paid", Total: "10.00", Currency: "USD",
		Items: []orderLine{{SKU: "SKU-02", Quantity: 1}}, CreatedAt: now})
	gw.addOrder(order{ID: "ord-two", UserID: fakeCustomer.ID, Status: "paid", Total: "5.00", Currency: "USD",
		Items: []orderLine{{SKU: "SKU-02", Quantity: 1}}, CreatedAt: now.AddDate(0, 0, -10)})
	admin := newBrowser(t, srv)
	admin.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	p := admin.get("/admin")
	if strings.Contains(p.body, "1 orders placed") || !strings.Contains(p.body, `<p class="stat-note">1 order placed</p>`) ||
		!strings.Contains(p.body, `<p class="stat-note">2 orders placed</p>`) {
		t.Errorf("GET /admin with one order today, two in 30 days: want \"1 order placed\" and \"2 orders placed\"\n%s", p.body)
	}
}
