package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// testOrderListFilters is the store contract of the admin list's filters (listQuery): customer
// e-mail prefix, order ID prefix and created_at range, alone and together, with search text that
// would be a pattern if it were not quoted.
func testOrderListFilters(t *testing.T, newStore func(testing.TB) orderStore) {
	ctx := context.Background()
	s := newStore(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	customers := []string{"alice@shop.local", "alice.b@shop.local", "bob@shop.local", "a+b@shop.local", ""}
	var orders []Order
	for i, email := range customers {
		o := testOrder(t, fmt.Sprint("u", i), "k", base.AddDate(0, 0, i)) // one a day, Mar 1 … Mar 5
		o.CustomerEmail, o.CustomerName = email, fmt.Sprint("Customer ", i)
		if err := s.Create(ctx, o); err != nil {
			t.Fatalf("Create: %v", err)
		}
		orders = append(orders, o)
	}
	ids := func(os []Order) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name string
		q    listQuery
		want []int // indexes into orders, newest first
	}{
		{"email prefix", listQuery{Email: "alice"}, []int{1, 0}},
		{"email exact", listQuery{Email: "alice@shop.local"}, []int{0}},
		{"dot is literal", listQuery{Email: "alice."}, []int{1}},
		{"plus is literal", listQuery{Email: "a+b"}, []int{3}},
		{"pattern text matches nothing", listQuery{Email: ".*"}, nil},
		{"anchored at the start", listQuery{Email: "shop.local"}, nil},
		{"id prefix", listQuery{IDPrefix: orders[2].ID[:10]}, []int{2}},
		{"from", listQuery{From: day(4)}, []int{4, 3}},
		{"to is exclusive", listQuery{To: day(2).Add(12 * time.Hour)}, []int{0}},
		{"range", listQuery{From: day(2), To: day(4)}, []int{2, 1}},
		{"range and email", listQuery{From: day(2), To: day(4), Email: "bob"}, []int{2}},
		{"status and email", listQuery{Status: StatusPending, Email: "alice"}, []int{1, 0}},
		{"status excludes", listQuery{Status: StatusPaid, Email: "alice"}, nil},
	}
	for _, tt := range tests {
		tt.q.Page, tt.q.Limit = 1, 10
		got, total, err := s.List(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: List: %v", tt.name, err)
		}
		var want []string
		for _, i := range tt.want {
			want = append(want, orders[i].ID)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(want) || total != int64(len(want)) {
			t.Errorf("%s: List(%+v) = %v (total %d), want %v", tt.name, tt.q, ids(got), total, want)
		}
	}
	got, _, _ := s.List(ctx, listQuery{Email: "bob", Page: 1, Limit: 10})
	if len(got) != 1 || got[0].CustomerEmail != "bob@shop.local" || got[0].CustomerName != "Customer 2" {
		t.Errorf("List keeps the customer: %+v", got)
	}
}

// TestOrderListFilters: GET /orders takes the admin list's filters from the URL; every malformed one
// is a 400 in the error shape naming it, and a customer's filters never reach other users' orders.
// TestListSortIndexed: every list whose filter is an equality on an indexed field (a customer's own
// orders, the admin list by status, the dashboard's paid orders) gets listSort from an index, so
// MongoDB reads one page, not every matching order sorted in memory per page.
func TestListSortIndexed(t *testing.T) {
	t.Parallel()
	for _, eq := range [][]string{nil, {"user_id"}, {"status"}} {
		if !sharedtest.SortIndexed(orderIndexes, eq, listSort, nil) {
			t.Errorf("GET /orders with equality on %v: no index of orderIndexes gives the order %v", eq, listSort)
		}
	}
}

func TestOrderListFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	mine := h.create("k1", `[{"sku":"MUG-1","quantity":1}]`)
	code, body, _ := h.do("POST", "/orders", h.other, `{"items":[{"sku":"MUG-1","quantity":1}],"shipping_address":`+addrJSON+`}`, "Idempotency-Key", "x")
	if code != http.StatusCreated {
		t.Fatalf("POST /orders as other: %d %s", code, body)
	}
	theirs := decodeView(t, body)
	if mine.Customer == nil || mine.Customer.Email != "demo@shop.local" || mine.Customer.Name != "Demo" {
		t.Fatalf("created order's customer = %+v, want the token's e-mail and name", mine.Customer)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	app := sharedtest.Admin
	app.ClientID, app.Scope = "demo-app", shared.ScopeOrdersRead
	appAdmin := h.iss.Bearer(t, app) // a third-party app acting for an admin: no admin view
	tests := []struct {
		name, query, auth string
		want              int
		wantIDs           []string
		wantField         string
	}{
		{"admin by email", "?email=OTHER@", h.admin, 200, []string{theirs.ID}, ""},
		{"admin by id prefix", "?id=" + mine.ID[:6], h.admin, 200, []string{mine.ID}, ""},
		// Both orders may be created in the same millisecond, and then their order is the IDs': the
		// day filter is judged on the set.
		{"admin by day", "?from=" + today + "&to=" + today, h.admin, 200, slices.Sorted(slices.Values([]string{theirs.ID, mine.ID})), ""},
		{"admin by rfc3339", "?from=2000-01-01T00:00:00Z&to=2001-01-01T00:00:00%2B02:00", h.admin, 200, nil, ""},
		{"customer filters stay in own orders", "?email=other@", h.customer, 200, nil, ""},
		{"customer id prefix of another's order", "?id=" + theirs.ID, h.customer, 200, nil, ""},
		{"third-party app of an admin sees only the admin's own", "?email=other@", appAdmin, 200, nil, ""},
		{"third-party app of an admin, no filter", "", appAdmin, 200, nil, ""},
		{"unknown status", "?status=lost", h.admin, 400, nil, "status"},
		{"malformed from", "?from=yesterday", h.admin, 400, nil, "from"},
		{"impossible date", "?to=2026-02-30", h.admin, 400, nil, "to"},
		{"year before 1970", "?from=0001-01-01", h.admin, 400, nil, "from"},
		{"last day of 9999", "?to=9999-12-31", h.admin, 200, slices.Sorted(slices.Values([]string{theirs.ID, mine.ID})), ""},
		{"from after to", "?from=2026-03-05&to=2026-03-01", h.admin, 400, nil, "from"},
		{"limit zero", "?limit=0", h.admin, 400, nil, "limit"},
		{"limit too big", "?limit=1000", h.admin, 400, nil, "limit"},
		{"page not a number", "?page=x", h.admin, 400, nil, "page"},
		{"id not hex", "?id=" + url.QueryEscape("^.*"), h.admin, 400, nil, "id"},
		{"id too long", "?id=" + mine.ID + "0", h.admin, 400, nil, "id"},
		{"email with regex is literal", "?email=" + url.QueryEscape(".*"), h.admin, 200, nil, ""},
		{"email too long", "?email=" + url.QueryEscape(string(make([]byte, 300))), h.admin, 400, nil, "email"},
		{"email with control characters", "?email=a%00b", h.admin, 400, nil, "email"},
		{"email with spaces", "?email=a+b", h.admin, 400, nil, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := h.do("GET", "/orders"+tt.query, tt.auth, "")
			if tt.want != http.StatusOK {
				checkRefusal(t, "GET /orders"+tt.query, code, tt.want, body, tt.wantField)
				return
			}
			if code != http.StatusOK {
				t.Fatalf("GET /orders%s: status = %d, want 200: %s", tt.query, code, body)
			}
			var l shared.Page[orderView]
			if err := json.Unmarshal([]byte(body), &l); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range l.Items {
				got = append(got, o.ID)
				if tt.auth != h.admin && o.NextStatuses != nil {
					t.Errorf("GET /orders%s: a non-admin got next_statuses", tt.query)
				}
			}
			if tt.name == "admin by day" || tt.name == "last day of 9999" {
				slices.Sort(got)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantIDs) {
				t.Errorf("GET /orders%s = %v, want %v", tt.query, got, tt.wantIDs)
			}
		})
	}
}

// TestOrderHistory: an admin reading an order gets its timeline (who, when, why) and the moves an
// admin may make now; the customer gets neither. People are recorded from the request's identity,
// saga steps as the system.
func TestOrderHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.create("k1", `[{"sku":"MUG-1","quantity":1}]`)
	h.confirm(o.ID)
	if code, body, _ := h.do("POST", "/orders/"+o.ID+"/pay", h.customer, payJSON); code != http.StatusOK {
		t.Fatalf("pay: %d %s", code, body)
	}
	if code, body, _ := h.do("PATCH", "/orders/"+o.ID+"/status", h.admin, `{"status":"shipped","reason":"DHL 123"}`); code != http.StatusOK {
		t.Fatalf("ship: %d %s", code, body)
	}
	code, body, _ := h.do("GET", "/orders/"+o.ID, h.admin, "")
	if code != http.StatusOK {
		t.Fatalf("GET as admin: %d %s", code, body)
	}
	v := decodeView(t, body)
	type step struct{ status, kind, user, reason string }
	want := []step{
		{"pending", "customer", "u-demo", ""},
		{"confirmed", "system", "", ""},
		{"paid", "customer", "u-demo", ""},
		{"shipped", "admin", sharedtest.Admin.UserID, "DHL 123"},
	}
	var got []step
	for _, e := range v.History {
		got = append(got, step{string(e.Status), e.By.Kind, e.By.UserID, e.Reason})
		if e.At.IsZero() {
			t.Errorf("history entry %+v has no time", e)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history = %v, want %v", got, want)
	}
	if last := v.History[len(v.History)-1]; last.By.Email != sharedtest.Admin.Email || last.By.Name != sharedtest.Admin.Name {
		t.Errorf("shipping admin = %+v, want %s", last.By, sharedtest.Admin.Email)
	}
	if fmt.Sprint(v.NextStatuses) != "[delivered]" {
		t.Errorf("next statuses of a shipped order = %v, want [delivered]", v.NextStatuses)
	}
	_, body, _ = h.do("GET", "/orders/"+o.ID, h.customer, "")
	if c := decodeView(t, body); c.History != nil || c.NextStatuses != nil {
		t.Errorf("customer's view has admin fields: history %v next %v", c.History, c.NextStatuses)
	}
	_, body, _ = h.do("GET", "/orders?limit=1", h.admin, "")
	var l shared.Page[orderView]
	json.Unmarshal([]byte(body), &l)
	if len(l.Items) != 1 || fmt.Sprint(l.Items[0].NextStatuses) != "[delivered]" || l.Items[0].History != nil {
		t.Errorf("admin list item = %+v, want next statuses and no history", l.Items)
	}
}

// TestHistoryOfOlderOrders: events stored before actors were recorded still make a timeline, with
// the actor their type implies, and orders without a recorded customer have no customer field.
func TestHistoryOfOlderOrders(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := testOrder(t, "u1", "k", at)
	// A reconcile nudge (order.created again) and a late-reservation release (order.cancelled of a
	// cancelled order) are events without a change: not steps of the history.
	for _, st := range []Status{StatusPending, StatusConfirmed, StatusCancelled, StatusCancelled} {
		ev := newOrderEvent(o, st, "why "+string(st), at)
		o.Events = append(o.Events, ev)
	}
	var got []string
	for _, e := range history(o) {
		got = append(got, fmt.Sprintf("%s/%s/%s/%s", e.Status, e.By.Kind, e.By.UserID, e.Reason))
	}
	want := "[pending/customer/u1/ confirmed/system//why confirmed cancelled/unknown//why cancelled]"
	if fmt.Sprint(got) != want {
		t.Errorf("history = %v, want %s", got, want)
	}
	if v := newOrderView(o); v.Customer != nil {
		t.Errorf("customer of an order without one = %+v, want none", v.Customer)
	}
}

// TestAdminNext: the admin's actions come from the transition table.
func TestAdminNext(t *testing.T) {
	want := map[Status]string{
		StatusPending: "[cancelled]", StatusConfirmed: "[cancelled]", StatusPaid: "[cancelled shipped]",
		StatusShipped: "[delivered]", StatusDelivered: "[]", StatusRejected: "[]", StatusCancelled: "[]",
	}
	for s, w := range want {
		if got := fmt.Sprint(adminNext(s)); got != w {
			t.Errorf("adminNext(%s) = %s, want %s", s, got, w)
		}
	}
}
