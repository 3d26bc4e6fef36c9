package main

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAdminListFilters: each admin list passes exactly its filter parameters from the page URL to
// its API (the page, and the API's limit, set by the page; anything else in the URL dropped, so a
// crafted link cannot widen the query), and shows them back in its labelled form.
func TestAdminListFilters(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	tests := []struct {
		page, query string
		api         string
		want        url.Values
		shown       []string
	}{
		{"/admin/orders", "status=paid&email=Bob%40x.test&id=ab12&from=2026-01-01&to=2026-01-31&page=2&limit=999&user_id=u-x",
			"GET /order/orders$", url.Values{"status": {"paid"}, "email": {"Bob@x.test"}, "id": {"ab12"}, "from": {"2026-01-01"}, "to": {"2026-01-31"}, "page": {"2"}, "limit": {"20"}},
			[]string{`<option value="paid" selected>`, `id="f-email" name="email" type="search" value="Bob@x.test"`, `id="f-from" name="from" type="date" value="2026-01-01"`, `<label for="f-to">`}},
		{"/admin/products", "q=mug&sku=MUG&category=toys&active=false&sort=name&include_inactive=false",
			"GET /product/products$", url.Values{"include_inactive": {"true"}, "q": {"mug"}, "sku": {"MUG"}, "category": {"toys"}, "active": {"false"}, "sort": {"name"}, "page": {"1"}, "limit": {"20"}},
			[]string{`<option value="false" selected>Inactive only</option>`, `<option value="toys" selected>`, `<option value="name" selected>`, `<label for="f-sku">`}},
		{"/admin/inventory", "level=low&sku=SKU-0&page=3",
			"GET /inventory/inventory$", url.Values{"include_inactive": {"true"}, "level": {"low"}, "sku": {"SKU-0"}, "page": {"3"}, "limit": {"50"}},
			[]string{`<option value="low" selected>Low stock</option>`, `id="f-sku" name="sku" type="search" value="SKU-0"`, `<label for="f-level">`}},
		// An order ID pasted as the shop shows it, "#ab12".
		{"/admin/orders", "id=%23ab12", "GET /order/orders$", url.Values{"id": {"ab12"}, "page": {"1"}, "limit": {"20"}},
			[]string{`id="f-id" name="id" type="search" value="ab12"`}},
		{"/admin/users", "q=ann&status=suspended&role=admin",
			"GET /user/users$", url.Values{"q": {"ann"}, "status": {"suspended"}, "page": {"1"}, "limit": {"20"}},
			[]string{`<option value="suspended" selected>`, `id="f-q" name="q" type="search" value="ann"`, `<label for="f-status">`}},
	}
	for _, tt := range tests {
		p := b.get(tt.page + "?" + tt.query)
		if p.status != http.StatusOK {
			t.Errorf("GET %s?%s: status = %d, want 200", tt.page, tt.query, p.status)
			continue
		}
		calls := gw.calls(tt.api)
		if len(calls) == 0 {
			t.Errorf("GET %s: %s never called", tt.page, tt.api)
			continue
		}
		got, _ := url.ParseQuery(calls[len(calls)-1].Query)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("GET %s?%s: API query = %v, want %v", tt.page, tt.query, got, tt.want)
		}
		for _, s := range tt.shown {
			if !strings.Contains(p.body, s) {
				t.Errorf("GET %s?%s: page lacks %s", tt.page, tt.query, s)
			}
		}
		if !strings.Contains(p.body, `<a href="`+tt.page+`">Clear filters</a>`) {
			t.Errorf("GET %s?%s: no Clear filters link", tt.page, tt.query)
		}
	}
	if p := b.get("/admin/orders"); strings.Contains(p.body, "Clear filters") {
		t.Error("GET /admin/orders without a filter offers to clear one")
	}
}

// TestAdminListRefusedFilter: a filter value the API refuses shows the list page again with status
// 400, the API's message beside the field it names and the value as typed, never an error page or a
// 500; hostile text is escaped, not interpreted.
func TestAdminListRefusedFilter(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	gw.refuse["from"] = "must be a date YYYY-MM-DD or an RFC 3339 time"
	gw.refuse["level"] = "must be one of all, low, out, reserved"
	gw.refuse["active"] = "must be true or false"
	gw.refuse["status"] = "must be active or suspended"
	tests := []struct{ path, field, value string }{
		{"/admin/orders?from=yesterday", "from", "yesterday"},
		{"/admin/orders?from=" + url.QueryEscape(`"><script>alert(1)</script>`), "from", "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"/admin/inventory?level=lots", "level", ""},
		{"/admin/products?active=maybe", "active", ""},
		{"/admin/users?status=gone", "status", ""},
	}
	for _, tt := range tests {
		p := b.get(tt.path)
		if p.status != http.StatusBadRequest {
			t.Errorf("GET %s: status = %d, want 400", tt.path, p.status)
			continue
		}
		for _, want := range []string{gw.refuse[tt.field], `aria-describedby="fe-` + tt.field + `"`, `aria-invalid="true"`, `class="admin-filter"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("GET %s: page lacks %q", tt.path, want)
			}
		}
		if tt.value != "" && !strings.Contains(p.body, `value="`+tt.value+`"`) {
			t.Errorf("GET %s: the typed value is not shown back escaped", tt.path)
		}
		if strings.Contains(p.body, "<script>alert") {
			t.Errorf("GET %s: filter text reached the page unescaped", tt.path)
		}
		// The API's own message is the bare "invalid request": the field says what is wrong.
		if strings.Contains(p.body, "invalid request") || !strings.Contains(p.body, "Please correct the marked fields") {
			t.Errorf("GET %s: the alert is the API's \"invalid request\", want \"Please correct the marked fields\"", tt.path)
		}
	}
}

// TestAdminOrdersCustomer: the admin order list shows who ordered (name and e-mail) and links each
// row to the order's page; an order placed before the customer was recorded shows the user ID.
func TestAdminOrdersCustomer(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	gw.putOrder(order{ID: "0a1b2c3d4e5f", UserID: "u-bob", Status: "paid", Total: "10.00", Currency: "USD", CreatedAt: at,
		Customer: &orderCustomer{Email: "bob@x.test", Name: "Bob <Buyer>"}})
	gw.putOrder(order{ID: "99aa88bb77cc", UserID: "u-0123456789", Status: "pending", Total: "5.00", Currency: "USD", CreatedAt: at})
	p := b.get("/admin/orders")
	for _, want := range []string{`<a href="/admin/orders/0a1b2c3d4e5f">`, `Bob &lt;Buyer&gt;`, `bob@x.test`, `<code title="u-0123456789">u-012345</code>`,
		`<a href="/admin/orders/99aa88bb77cc">`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("GET /admin/orders: page lacks %s", want)
		}
	}
}

// TestAdminOrderPage: the order page shows items, address, payment, the timeline with who, when and
// why, and one form per status the order service offers, coming back to the page; unknown and
// malformed IDs are the 404 page and customers get 403.
func TestAdminOrderPage(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	o := order{ID: "0a1b2c3d4e5f", UserID: "u-bob", Status: "paid", Currency: "USD", CreatedAt: at,
		Items:    []orderLine{{SKU: "MUG-1", Name: "Blue mug", UnitPrice: "4.00", Quantity: 2, LineTotal: "8.00"}},
		Subtotal: "8.00", Tax: "0.64", Shipping: "4.99", Total: "13.63",
		ShippingAddress: &address{Name: "Bob Buyer", Street: "1 Main St", City: "Springfield", ZipCode: "62701", Country: "US"},
		Customer:        &orderCustomer{Email: "bob@x.test", Name: "Bob Buyer"},
		Payment:         &orderPayment{Last4: "4242", Brand: "visa", Amount: "13.63", PaidAt: at.Add(2 * time.Minute)},
	}
	o.History = make([]orderHistory, 3)
	o.History[0].Status, o.History[0].At, o.History[0].By.Kind, o.History[0].By.Name, o.History[0].By.Email = "pending", at, "customer", "Bob Buyer", "bob@x.test"
	o.History[1].Status, o.History[1].At, o.History[1].By.Kind = "confirmed", at.Add(time.Minute), "system"
	o.History[2].Status, o.History[2].At, o.History[2].By.Kind, o.History[2].Reason = "paid", at.Add(2*time.Minute), "customer", "<b>paid</b> by card"
	gw.putOrder(o)

	p := b.get("/admin/orders/" + o.ID)
	if p.status != http.StatusOK {
		t.Fatalf("GET /admin/orders/%s: status = %d", o.ID, p.status)
	}
	for _, want := range []string{"Blue mug", "13.63", "1 Main St", "Visa ···· 4242", `id="order-timeline"`,
		`<time datetime="2026-03-01T10:00:00Z">`, "by customer Bob Buyer &lt;bob@x.test&gt;", "by system", "&lt;b&gt;paid&lt;/b&gt; by card",
		`data-next-status="shipped"`, `data-next-status="cancelled"`, `<label for="reason-shipped">`, `name="back" value="order"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("GET /admin/orders/%s: page lacks %s", o.ID, want)
		}
	}
	if strings.Contains(p.body, `data-next-status="delivered"`) {
		t.Error("a paid order offers delivered")
	}
	// The cancel button is red on white: the red text on the primary button's teal was unreadable.
	if !strings.Contains(p.body, `<button type="submit" class="secondary danger">Mark cancelled</button>`) {
		t.Errorf("GET /admin/orders/%s: the cancel button is not a secondary danger button", o.ID)
	}
	// Each reason's label is a sentence and names its step (not "Reason for cancelled").
	if !strings.Contains(p.body, `>Reason for marking it cancelled (optional)</label>`) || strings.Contains(p.body, "Reason for cancelled") {
		t.Errorf("GET /admin/orders/%s: the cancel reason's label does not read \"Reason for marking it cancelled (optional)\"", o.ID)
	}
	if r := b.submit("/admin/orders/"+o.ID, "/admin/orders/"+o.ID+"/status", url.Values{"status": {"shipped"}, "back": {"order"}, "reason": {"DHL 1"}}); r.status != http.StatusSeeOther || location(r) != "/admin/orders/"+o.ID {
		t.Errorf("POST status from the order page: %d to %q, want 303 back to the order", r.status, location(r))
	}
	if calls := gw.calls("PATCH /order/orders/" + o.ID + "/status"); len(calls) != 1 || !strings.Contains(calls[0].Body, `"reason":"DHL 1"`) {
		t.Errorf("status calls = %+v", calls)
	}
	if p := b.get("/admin/orders/" + o.ID); !strings.Contains(p.body, `data-next-status="delivered"`) {
		t.Error("after shipping, the page does not offer delivered")
	}
	for _, path := range []string{"/admin/orders/ffffffffffff", "/admin/orders/" + strings.Repeat("a", 200), "/admin/orders/a%2Fb"} {
		if p := b.get(path); p.status != http.StatusNotFound || !strings.Contains(p.body, "Not found") {
			t.Errorf("GET %s: status = %d, want the 404 page", path, p.status)
		}
	}
	c := newBrowser(t, srv)
	c.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	if p := c.get("/admin/orders/" + o.ID); p.status != http.StatusForbidden {
		t.Errorf("GET /admin/orders/%s as customer: status = %d, want 403", o.ID, p.status)
	}
}

// TestFilterPager: pager links keep the filter and the page number, and drop page 1.
func TestFilterPager(t *testing.T) {
	t.Parallel()
	r, _ := http.NewRequest("GET", "/admin/orders?status=paid&email=a%2Bb%40x&page=2&junk=1", nil)
	f := readFilter(r, "status", "email")
	l := f.pager("/admin/orders", 100, 20)
	if l.PrevURL != "/admin/orders?email=a%2Bb%40x&status=paid" || l.NextURL != "/admin/orders?email=a%2Bb%40x&page=3&status=paid" {
		t.Errorf("pager = %+v", l)
	}
	if l := f.pager("/admin/orders", 40, 20); l.NextURL != "" {
		t.Errorf("last page has a next link: %+v", l)
	}
	r, _ = http.NewRequest("GET", "/admin/users?page=2", nil)
	if l := readFilter(r, "q").pager("/admin/users", 40, 20); l.PrevURL != "/admin/users" {
		t.Errorf("unfiltered prev = %q, want /admin/users", l.PrevURL)
	}
}

// TestPagerStopsAtLastPage: with more items than the pages a list can show (the product API serves
// pages up to maxProductPage, pageParam reads up to maxPageParam), the last page has no next link:
// it used to offer "Next" to a page that showed the same products again (or page 1), for ever.
func TestPagerStopsAtLastPage(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.mu.Lock()
	for i := len(gw.products); i < 20*maxProductPage+100; i++ { // more than both product lists' pages
		gw.products = append(gw.products, product{ID: fmt.Sprintf("b%05d", i), SKU: fmt.Sprintf("BIG-%05d", i), Name: "Big",
			Price: "1.00", Currency: "USD", Category: "books", Active: true, CreatedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	}
	gw.mu.Unlock()
	admin := newBrowser(t, srv)
	admin.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	anon := newBrowser(t, srv)
	for _, tt := range []struct {
		b          *browser
		last, next string
	}{
		{anon, "/products?page=1000", "/products?page=1001"},
		{admin, "/admin/products?page=1000", "/admin/products?page=1001"},
	} {
		p := tt.b.get(tt.last)
		if p.status != http.StatusOK || strings.Contains(p.body, `rel="next"`) || strings.Contains(p.body, `href="`+tt.next+`"`) {
			t.Errorf("GET %s: status = %d, want 200 with no link to the next page %s", tt.last, p.status, tt.next)
		}
		if p := tt.b.get(strings.Replace(tt.last, "1000", "999", 1)); !strings.Contains(p.body, `rel="next"`) {
			t.Errorf("GET %s: no next link on the page before the last", strings.Replace(tt.last, "1000", "999", 1))
		}
	}
	r, _ := http.NewRequest("GET", "/admin/orders?page=10000", nil)
	if l := readFilter(r, "status").pager("/admin/orders", 1_000_000, 20); l.NextURL != "" {
		t.Errorf("admin list pager on page %d of 50,000: next = %q, want none (pageParam reads no later page)", maxPageParam, l.NextURL)
	}
	if l := pager("/orders", maxPageParam, 1_000_000, 20); l.NextURL != "" {
		t.Errorf("orders pager on page %d of 50,000: next = %q, want none (pageParam reads no later page)", maxPageParam, l.NextURL)
	}
}

// TestListPastTheEnd: a page number past the end of a list that has items says so and links to the
// first page, instead of the empty list's "You have no orders yet" with no way back.
func TestListPastTheEnd(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.putOrder(order{ID: "ord-1", UserID: fakeAdmin.ID, Status: "paid", Total: "10.00", Currency: "USD", CreatedAt: time.Now()})
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	tests := []struct{ path, first, never string }{
		{"/orders?page=5", "/orders", "You have no orders yet"},
		{"/admin/orders?page=5", "/admin/orders", "No orders yet"},
		{"/admin/orders?page=5&status=paid", "/admin/orders?status=paid", "No orders match"},
		{"/admin/products?page=50", "/admin/products", "Create the first one"},
		{"/admin/inventory?page=50", "/admin/inventory", "No stock items yet"},
		{"/admin/users?page=50", "/admin/users", "No users found"},
	}
	for _, tt := range tests {
		p := b.get(tt.path)
		if p.status != http.StatusOK || strings.Contains(p.body, tt.never) || !strings.Contains(p.body, "past the end") ||
			!strings.Contains(p.body, `href="`+html.EscapeString(tt.first)+`"`) {
			t.Errorf("GET %s: status = %d, want 200 saying the page is past the end with a link to %s, not %q", tt.path, p.status, tt.first, tt.never)
		}
	}
	if p := b.get("/orders"); strings.Contains(p.body, "past the end") {
		t.Error("GET /orders: the first page says it is past the end")
	}
}

// BenchmarkAdminOrdersPage measures the storefront's share of a filtered admin order list: the
// request through the session, CSRF and layout middleware, the API call to a fake gateway on
// loopback answering 20 orders, and the render. The service's own time is BenchmarkAdminOrderList
// (order) and BenchmarkAdminProductList (product). Run:
//
//	go test -run '^$' -bench AdminOrdersPage -benchtime 300x ./storefront/
func BenchmarkAdminOrdersPage(b *testing.B) {
	gw, srv := newSite(b)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range 20 {
		gw.putOrder(order{ID: fmt.Sprintf("%012x", i), UserID: "u-bob", Status: "paid", Total: "10.00", Currency: "USD", CreatedAt: at,
			Customer: &orderCustomer{Email: fmt.Sprintf("bob%d@x.test", i), Name: "Bob Buyer"}})
	}
	br := newBrowser(b, srv)
	br.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	path := "/admin/orders?status=paid&email=bob&from=2026-01-01&to=2026-03-31"
	for b.Loop() {
		if p := br.get(path); p.status != http.StatusOK {
			b.Fatalf("GET %s: status = %d", path, p.status)
		}
	}
}

// TestAdminCategoriesIncludeDrafts: the admin's category filter lists a category whose products are
// all drafts (asked with include_inactive and the admin's token); the shop's does not.
func TestAdminCategoriesIncludeDrafts(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.mu.Lock()
	gw.products = append(gw.products, product{ID: "draft1", SKU: "PATIO-1", Name: "Parasol", Price: "15.00", Currency: "USD", Category: "patio"})
	gw.mu.Unlock()
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	if p := b.get("/admin/products"); p.status != http.StatusOK || !strings.Contains(p.body, `<option value="patio">`) {
		t.Errorf("GET /admin/products: status %d, filter without the draft-only category patio", p.status)
	}
	if p := b.get("/products"); p.status != http.StatusOK || strings.Contains(p.body, `value="patio"`) {
		t.Errorf("GET /products: status %d, the shop's filter lists the draft-only category patio", p.status)
	}
}

// TestAdminListActionsKeepTheList: a row's form on a filtered admin list (a stock change, an order's
// status, a suspension and its question, a reactivation) comes back to that list as it was filtered
// and paged, not to its unfiltered first page where the row may not even show; a "next" that is not
// that list (another page, another site) comes back to the whole list.
func TestAdminListActionsKeepTheList(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.putOrder(order{ID: "0123456789ab", UserID: "u-demo", Status: "paid", Total: "10.00", Currency: "USD", CreatedAt: time.Now(),
		Customer: &orderCustomer{Email: fakeCustomer.Email, Name: "Demo"}})
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	field := func(list string) string {
		return `<input type="hidden" name="next" value="` + html.EscapeString(list) + `">`
	}

	inv := "/admin/inventory?level=low&sku=SKU-0"
	page := b.get(inv).body
	if !strings.Contains(page, field(inv)) {
		t.Errorf("GET %s: the stock forms do not carry the list (want %s)", inv, field(inv))
	}
	// A change refused before it is made: the error page leads back to the same list.
	bad := url.Values{"delta": {"five"}, "idempotency_key": {adjustKey(t, page, "SKU-04")}, "next": {inv}}
	if p := b.submit(inv, "/admin/inventory/SKU-04/adjust", bad); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `href="`+html.EscapeString(inv)+`">Back to the inventory</a>`) {
		t.Errorf("POST adjust of %q from %s: status %d, want 400 leading back to the list\n%s", "five", inv, p.status, p.body)
	}
	adjust := url.Values{"delta": {"1"}, "idempotency_key": {adjustKey(t, page, "SKU-04")}, "next": {inv}}
	if p := b.submit(inv, "/admin/inventory/SKU-04/adjust", adjust); p.status != http.StatusSeeOther || location(p) != inv {
		t.Errorf("POST adjust from %s: status %d to %q, want 303 back to the list", inv, p.status, location(p))
	}

	orders := "/admin/orders?status=paid"
	if p := b.get(orders); !strings.Contains(p.body, field(orders)) {
		t.Errorf("GET %s: the status forms do not carry the list (want %s)", orders, field(orders))
	}
	ship := url.Values{"status": {"shipped"}, "next": {orders}}
	if p := b.submit(orders, "/admin/orders/0123456789ab/status", ship); p.status != http.StatusSeeOther || location(p) != orders {
		t.Errorf("POST order status from %s: status %d to %q, want 303 back to the list", orders, p.status, location(p))
	}

	users := "/admin/users?q=demo"
	if p := b.get(users); !strings.Contains(p.body, field(users)) {
		t.Errorf("GET %s: the status forms do not carry the list (want %s)", users, field(users))
	}
	// The suspension asks first: the question carries the list to its confirming post and "Keep it".
	ask := b.submit(users, "/admin/users/u-demo/status", url.Values{"status": {"suspended"}, "next": {users}})
	if !strings.Contains(ask.body, field(users)) || !strings.Contains(ask.body, `href="`+html.EscapeString(users)+`"`) {
		t.Errorf("POST suspend from %s: the question does not carry the list to its button and Keep it\n%s", users, ask.body)
	}
	for _, status := range []string{"suspended", "active"} {
		form := url.Values{"status": {status}, "confirm": {"yes"}, "next": {users}}
		if p := b.submit(users, "/admin/users/u-demo/status", form); p.status != http.StatusSeeOther || location(p) != users {
			t.Errorf("POST status %s from %s: status %d to %q, want 303 back to the list", status, users, p.status, location(p))
		}
	}
	// A product's edit and delete pages sit between the list and the post: the row links carry the
	// list there, the pages' forms, Cancel and Keep it carry it back (the journey audit's follow-up).
	products := "/admin/products?sku=SKU-0"
	carried := "?next=" + url.QueryEscape(products)
	listed := b.get(products).body
	for _, link := range []string{"/admin/products/p01/edit", "/admin/products/p01/delete"} {
		_, rest, ok := strings.Cut(listed, `href="`+link+`?next=`)
		next, _, _ := strings.Cut(rest, `"`)
		if got, err := url.QueryUnescape(html.UnescapeString(next)); !ok || err != nil || got != products {
			t.Errorf("GET %s: the row link %s carries next %q, want %s", products, link, next, products)
		}
	}
	for _, page := range []string{"/admin/products/p01/edit", "/admin/products/p01/delete"} {
		if p := b.get(page + carried); !strings.Contains(p.body, field(products)) || !strings.Contains(p.body, `href="`+html.EscapeString(products)+`"`) {
			t.Errorf("GET %s: the form or its way back does not carry the list\n%s", page+carried, p.body)
		}
	}
	form := url.Values{"next": {products}, "sku": {"SKU-01"}, "name": {"Product 01"}, "price": {"21.00"}, "currency": {"USD"},
		"category": {"kitchen"}, "active": {"on"}}
	if p := b.submit("/admin/products/p01/edit"+carried, "/admin/products/p01", form); p.status != http.StatusSeeOther || location(p) != products {
		t.Errorf("POST a product's changes from %s: status %d to %q, want 303 back to the list\n%s", products, p.status, location(p), p.body)
	}
	if p := b.submit("/admin/products/p01/delete"+carried, "/admin/products/p01/delete", url.Values{"next": {products}}); p.status != http.StatusSeeOther || location(p) != products {
		t.Errorf("POST delete from %s: status %d to %q, want 303 back to the list", products, p.status, location(p))
	}
	if p := b.get("/admin/products/p02/edit?next=" + url.QueryEscape("https://evil.example/admin/products")); strings.Contains(p.body, "evil.example") {
		t.Errorf("GET edit with a foreign next: it reached the page\n%s", p.body)
	}

	for _, next := range []string{"//evil.example/admin/users", "/admin/usersx", "/account", "https://evil.example/admin/users?q=x"} {
		form := url.Values{"status": {"active"}, "next": {next}}
		if p := b.submit(users, "/admin/users/u-demo/status", form); location(p) != "/admin/users" {
			t.Errorf("POST status with next %q: to %q, want the whole list /admin/users", next, location(p))
		}
	}
}
