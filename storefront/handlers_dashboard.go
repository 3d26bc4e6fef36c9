package main

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/errgroup"
)

// The admin dashboard (GET /admin): figures from the order and inventory stats routes and the totals
// of the product and user lists, fetched concurrently as the admin. A source that fails leaves its
// cards saying so; the rest of the page still shows. The charts are drawn here as SVG (charts.go).

// orderStats is GET /order/orders/stats (docs/order.md): the last 30 UTC days, today included.
type orderStats struct {
	Currency        string         `json:"currency"`
	Revenue         json.Number    `json:"revenue"`
	Orders          int            `json:"orders"`
	OrdersByStatus  map[string]int `json:"orders_by_status"`
	ByDay           []dayStat      `json:"by_day"`
	OtherCurrencies []string       `json:"other_currencies"`
}

// dayStat is one UTC day of orderStats.
type dayStat struct {
	Date    string      `json:"date"`
	Orders  int         `json:"orders"`
	Revenue json.Number `json:"revenue"`
}

// inventoryStats is GET /inventory/inventory/stats (docs/inventory.md).
type inventoryStats struct {
	SKUs       int64 `json:"skus"`
	OnHand     int64 `json:"on_hand"`
	Reserved   int64 `json:"reserved"`
	Available  int64 `json:"available"`
	Sold       int64 `json:"sold"`
	LowStock   int64 `json:"low_stock"`
	OutOfStock int64 `json:"out_of_stock"`
}

// dashboardData is what the dashboard reads from the API; a nil pointer is a source that failed.
type dashboardData struct {
	Orders        *orderStats
	Stock         *inventoryStats
	WaitingToShip *int // paid orders, of any age
	Products      *int // every product, inactive ones included
	Accounts      *int // every user account, admins included
}

// loadDashboard makes the dashboard's five API calls concurrently as the caller. A failing call
// leaves its field nil and is logged; the page shows the rest.
func (s *site) loadDashboard(ctx context.Context, token string) dashboardData {
	var d dashboardData
	get := func(path string, out any) error {
		_, err := s.gw.do(ctx, call{method: http.MethodGet, path: path, token: token, out: out})
		return err
	}
	var orders orderStats
	var stock inventoryStats
	var toShip, products, accounts shared.Page[json.RawMessage]
	// Each source fills its own variable; its field is set only once it succeeded.
	calls := map[string]func() error{
		"order stats":     func() error { return set(&d.Orders, &orders, get("/order/orders/stats", &orders)) },
		"inventory stats": func() error { return set(&d.Stock, &stock, get("/inventory/inventory/stats", &stock)) },
		"orders to ship": func() error {
			return set(&d.WaitingToShip, &toShip.Total, get("/order/orders?status=paid&limit=1", &toShip))
		},
		"products": func() error {
			return set(&d.Products, &products.Total, get("/product/products?limit=1&include_inactive=true", &products))
		},
		"accounts": func() error { return set(&d.Accounts, &accounts.Total, get("/user/users?limit=1", &accounts)) },
	}
	var g errgroup.Group // each call fills its own field; one failing does not cancel the others
	for name, fn := range calls {
		g.Go(func() error {
			if err := fn(); err != nil {
				s.logger.WarnContext(ctx, "dashboard source failed", "source", name, "err", err, "request_id", shared.RequestIDFrom(ctx))
			}
			return nil
		})
	}
	g.Wait()
	return d
}

// set points *dst at v when err is nil, and returns err.
func set[T any](dst **T, v *T, err error) error {
	if err == nil {
		*dst = v
	}
	return err
}

// revenueCard is one revenue figure: the amount as people read it and the orders behind it.
type revenueCard struct {
	Key    string // today, 7d, 30d: the card's data-stat
	Label  string
	Amount string
	Orders int
}

type dashboardView struct {
	layout
	dashboardData
	Revenue     []revenueCard // today, 7 days, 30 days; nil when order stats failed
	DaysChart   dayChart
	StatusChart statusChart
	Unavailable []string // the figures that could not be read, for the notice
}

// newDashboardView turns the API's answers into the page's figures and charts.
func newDashboardView(l layout, d dashboardData) dashboardView {
	v := dashboardView{layout: l, dashboardData: d}
	if st := d.Orders; st != nil {
		v.Revenue = []revenueCard{sumDays(st, "today", "Today", 1), sumDays(st, "7d", "Last 7 days", 7),
			{Key: "30d", Label: "Last 30 days", Amount: moneyText(st.Revenue, st.Currency), Orders: st.Orders}}
		v.DaysChart = newDayChart(st)
		v.StatusChart = newStatusChart(st.OrdersByStatus)
	} else {
		v.Unavailable = append(v.Unavailable, "revenue and orders")
	}
	for _, miss := range []struct {
		failed bool
		what   string
	}{{d.WaitingToShip == nil, "orders waiting to ship"}, {d.Stock == nil, "stock"}, {d.Products == nil, "products"}, {d.Accounts == nil, "accounts"}} {
		if miss.failed {
			v.Unavailable = append(v.Unavailable, miss.what)
		}
	}
	return v
}

// sumDays is the revenue card of the last n days of st (today is the last entry). Amounts are
// added in cents; a day that is not an amount makes the amount unknown. A day's revenue is a sum,
// so it is read without the bound on typed amounts (shared.ParseCentsUnbounded).
func sumDays(st *orderStats, key, label string, n int) revenueCard {
	c := revenueCard{Key: key, Label: label}
	var sum shared.Cents
	days := st.ByDay[max(len(st.ByDay)-n, 0):]
	for _, d := range days {
		cents, err := shared.ParseCentsUnbounded(string(d.Revenue))
		if err != nil {
			c.Amount = "—"
		}
		sum += cents
		c.Orders += d.Orders
	}
	if c.Amount == "" {
		c.Amount = shared.Money{Amount: sum, Currency: st.Currency}.String()
	}
	return c
}

func handleAdminDashboard(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := s.loadDashboard(r.Context(), s.accessToken(r))
		s.render(w, r, http.StatusOK, "admin_dashboard.html", newDashboardView(s.newLayout(w, r, "Dashboard"), d))
	})
}
