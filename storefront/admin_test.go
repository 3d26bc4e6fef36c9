package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
)

// TestAdminForbidden: every admin page and form is a 403 page for customers and a sign-in redirect
// for visitors; the API is never asked.
func TestAdminForbidden(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	customer := newBrowser(t, srv)
	customer.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	anon := newBrowser(t, srv)
	gets := []string{"/admin", "/admin/products", "/admin/products/new", "/admin/products/p01/edit", "/admin/products/p01/delete", "/admin/inventory", "/admin/orders", "/admin/orders/o-1", "/admin/users"}
	for _, path := range gets {
		if p := customer.get(path); p.status != http.StatusForbidden || !strings.Contains(p.body, "Not allowed") {
			t.Errorf("GET %s as customer: status = %d, want %d", path, p.status, http.StatusForbidden)
		}
		if p := anon.get(path); p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/login?next=") {
			t.Errorf("GET %s signed out: status = %d, Location %q, want 303 to login", path, p.status, location(p))
		}
	}
	posts := []string{"/admin/products", "/admin/products/p01", "/admin/products/p01/delete", "/admin/inventory/SKU-01/adjust", "/admin/orders/x/status", "/admin/users/u-demo/status"}
	for _, path := range posts {
		if p := customer.submit("/", path, url.Values{"status": {"suspended"}, "delta": {"1"}}); p.status != http.StatusForbidden {
			t.Errorf("POST %s as customer: status = %d, want %d", path, p.status, http.StatusForbidden)
		}
	}
	for _, prefix := range []string{"POST /product", "PUT /product", "DELETE /product", "POST /inventory", "PATCH /"} {
		if n := len(gw.calls(prefix)); n != 0 {
			t.Errorf("%s reached the API %d times for a customer", prefix, n)
		}
	}
}

func TestAdminProducts(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")

	bad := b.submit("/admin/products/new", "/admin/products", url.Values{"name": {""}, "sku": {"bad sku"}, "price": {"1.999"}, "category": {"toys"}, "stock": {"-1"}, "images": {"javascript:alert(1)"}})
	for _, want := range []string{"Name is required", "SKU: 1–64", "Price must be an amount", "Initial stock", "Images are https:// URLs", `aria-invalid="true"`,
		// the textareas' messages are tied to them like the inputs'
		`<textarea id="f-images" name="images" rows="2" aria-invalid="true" aria-describedby="e-images">`, `<p class="field-error" id="e-images">`} {
		if !strings.Contains(bad.body, want) {
			t.Errorf("POST /admin/products invalid: body lacks %q", want)
		}
	}
	if bad.status != http.StatusBadRequest {
		t.Errorf("POST /admin/products invalid: status = %d, want 400", bad.status)
	}
	// Prices follow the platform's one parser (shared.ParseCents) after trimming what people type.
	for _, price := range []string{"0", "-0", "-1", "0.005", "1e-3", "1e999999", "10000000.01", "abc", "0x10", "1,5", ".5", "5.", strings.Repeat("9", 80)} {
		p := b.submit("/admin/products/new", "/admin/products", url.Values{"name": {"Thing"}, "sku": {"THING-1"}, "price": {price}, "category": {"toys"}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Price must be an amount") {
			t.Errorf("POST /admin/products price %q: status = %d, want 400 with the price message", price, p.status)
		}
	}
	// The product API takes letters, digits and '-' only: the form says so and checks it itself.
	for _, sku := range []string{"TEA_1", "TEA.1"} {
		p := b.submit("/admin/products/new", "/admin/products", url.Values{"name": {"Thing"}, "sku": {sku}, "price": {"5"}, "category": {"toys"}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "SKU: 1–64 letters, digits or &#39;-&#39;.") {
			t.Errorf("POST /admin/products SKU %q: status = %d, want 400 saying letters, digits or '-'", sku, p.status)
		}
	}
	if n := len(gw.calls("POST /product/products")); n != 0 {
		t.Fatalf("invalid prices reached the API %d times", n)
	}
	if p := b.submit("/admin/products/new", "/admin/products", url.Values{"name": {"Thing"}, "sku": {"THING-1"}, "price": {" 19.990 "}, "category": {"toys"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST /admin/products price \" 19.990 \": status = %d, want 303", p.status)
	} else if calls := gw.calls("POST /product/products"); len(calls) != 1 || !strings.Contains(calls[0].Body, `"price":19.99,`) {
		t.Errorf("POST /admin/products price \" 19.990 \": API calls %+v, want one with price 19.99", calls)
	}

	// An image the API refuses (it names it images[1]) marks the images field, not "invalid request".
	img := b.submit("/admin/products/new", "/admin/products", url.Values{"name": {"Thing"}, "sku": {"THING-2"}, "price": {"5"}, "category": {"toys"},
		"images": {"https://img.example/a.jpg\n\nhttps://user:pw@img.example/b.jpg"}})
	if img.status != http.StatusBadRequest || strings.Contains(img.body, "invalid request") || !strings.Contains(img.body, "Please correct the marked fields") ||
		!strings.Contains(img.body, "Image 2: must be an absolute http or https URL") {
		t.Errorf("POST /admin/products image the API refuses: status = %d, want 400 marking image 2 (not 'invalid request')\n%s", img.status, img.body)
	}
	// A plain http image is one the shop would never show (its pages load images over HTTPS only).
	plain := b.submit("/admin/products/new", "/admin/products", url.Values{"name": {"Thing"}, "sku": {"THING-3"}, "price": {"5"}, "category": {"toys"},
		"images": {"http://img.example/a.jpg"}})
	if plain.status != http.StatusBadRequest || !strings.Contains(plain.body, "Images must be https:// URLs") {
		t.Errorf("POST /admin/products with an http image: status = %d, want 400 saying images must be https", plain.status)
	}
	form := url.Values{"name": {"Teapot"}, "sku": {"TEA-1"}, "price": {"24.50"}, "currency": {"usd"}, "category": {"kitchen"}, "stock": {"7"}, "active": {"1"}, "description": {"Brews tea."}, "images": {"https://img.example/teapot.jpg"}}
	if p := b.submit("/admin/products/new", "/admin/products", form); p.status != http.StatusSeeOther || location(p) != "/admin/products" {
		t.Fatalf("POST /admin/products: status = %d, Location %q\n%s", p.status, location(p), p.body)
	}
	calls := gw.calls("POST /product/products")
	var sent map[string]any
	dec := json.NewDecoder(strings.NewReader(calls[len(calls)-1].Body))
	dec.UseNumber()
	dec.Decode(&sent)
	if sent["price"] != json.Number("24.50") || sent["stock"] != json.Number("7") || sent["currency"] != "USD" || sent["active"] != true {
		t.Errorf("create body = %s, want price 24.50, stock 7, USD, active", calls[len(calls)-1].Body)
	}
	if p := b.submit("/admin/products/new", "/admin/products", form); p.status != http.StatusConflict || !strings.Contains(p.body, "already exists") {
		t.Errorf("POST /admin/products duplicate SKU: status = %d, want 409 with the API's field message", p.status)
	}

	form.Set("name", "Teapot XL")
	form.Del("stock")
	if p := b.submit("/admin/products/p02/edit", "/admin/products/p02", form); p.status != http.StatusSeeOther {
		t.Errorf("POST /admin/products/p02: status = %d, want 303", p.status)
	}
	if puts := gw.calls("PUT /product/products/p02"); len(puts) != 1 || strings.Contains(puts[0].Body, `"stock"`) {
		t.Errorf("update calls = %+v, want one PUT without stock", puts)
	}
	if p := b.get("/admin/products/p03/delete"); p.status != 200 || !strings.Contains(p.body, "Delete Product 03?") {
		t.Errorf("GET delete confirmation: status = %d", p.status)
	}
	if len(gw.calls("DELETE /product/products/p03")) != 0 {
		t.Error("the confirmation page deleted the product")
	}
	if p := b.submit("/admin/products/p03/delete", "/admin/products/p03/delete", nil); p.status != http.StatusSeeOther {
		t.Errorf("POST delete: status = %d, want 303", p.status)
	}
	if len(gw.calls("DELETE /product/products/p03")) != 1 {
		t.Error("delete did not call DELETE /product/products/p03")
	}
	if p := b.get("/admin/products"); !strings.Contains(p.body, "Deleted.") || strings.Contains(p.body, "SKU-03") {
		t.Error("product list after delete still shows SKU-03 or lacks the notice")
	}
	// The second click of a double submit finds the product gone: the list says so, not a 404 page.
	if p := b.submit("/admin/products", "/admin/products/p03/delete", nil); p.status != http.StatusSeeOther || location(p) != "/admin/products" {
		t.Errorf("POST delete again: status = %d, Location %q, want 303 to /admin/products", p.status, location(p))
	} else if l := b.get("/admin/products"); !strings.Contains(l.body, "already deleted") {
		t.Error("product list after a second delete lacks the notice that it was already deleted")
	}
	lists := gw.calls("GET /product/products")
	if last := lists[len(lists)-1]; !strings.Contains(last.Query, "include_inactive=true") {
		t.Errorf("admin product list query = %q, want include_inactive=true", last.Query)
	}
}

func TestAdminInventoryOrdersUsers(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")

	// Each row's stock form carries its own fresh key, sent as the Idempotency-Key header: the same
	// form sent twice (a double click, a re-post) adjusts once and says so.
	invPage := b.get("/admin/inventory").body
	formKey := adjustKey(t, invPage, "SKU-04")
	if again := adjustKey(t, b.get("/admin/inventory").body, "SKU-04"); again == formKey || adjustKey(t, invPage, "SKU-01") == formKey {
		t.Errorf("adjust form keys: SKU-04 %q, on the next render %q, SKU-01 %q: want a fresh key per form", formKey, again, adjustKey(t, invPage, "SKU-01"))
	}
	form := url.Values{"delta": {"-2"}, "reason": {"damaged"}, "idempotency_key": {formKey}}
	if p := b.submit("/admin/inventory", "/admin/inventory/SKU-04/adjust", form); p.status != http.StatusSeeOther {
		t.Errorf("POST adjust: status = %d, want 303", p.status)
	}
	if p := b.submit("/admin/inventory", "/admin/inventory/SKU-04/adjust", form); p.status != http.StatusSeeOther ||
		!strings.Contains(b.get(location(p)).body, "it was not applied again") {
		t.Errorf("POST adjust again with the same form: status = %d, want 303 to a page saying it was not applied again", p.status)
	}
	adj := gw.calls("POST /inventory/inventory/SKU-04/adjust")
	if len(adj) != 2 || adj[0].Body != `{"delta":-2,"reason":"damaged"}` || adj[0].IdempotencyKey != formKey || adj[1].IdempotencyKey != formKey {
		t.Errorf("adjust calls = %+v, want two with the form's Idempotency-Key %s", adj, formKey)
	}
	if got, want := availableOf(t, b.get("/admin/inventory").body, "SKU-04"), availableOf(t, invPage, "SKU-04")-2; got != want {
		t.Errorf("SKU-04 available after the same -2 form sent twice = %d, want %d (once)", got, want)
	}
	// The same form sent back with another change (the back button, an edited field).
	form.Set("delta", "-3")
	if p := b.submit("/admin/inventory", "/admin/inventory/SKU-04/adjust", form); p.status != http.StatusConflict ||
		!strings.Contains(p.body, "already sent with another change") {
		t.Errorf("POST adjust with a used form and another delta: status = %d, want 409 saying the form was already sent", p.status)
	}
	for name, k := range map[string]string{"no key": "", "a foreign key": "not-a-form-key", "an upper-case key": strings.ToUpper(shared.NewID())} {
		before := len(gw.calls("POST /inventory/inventory/SKU-04/adjust"))
		f := url.Values{"delta": {"1"}}
		if k != "" {
			f.Set("idempotency_key", k)
		}
		if p := b.submit("/admin/inventory", "/admin/inventory/SKU-04/adjust", f); p.status != http.StatusBadRequest || !strings.Contains(p.body, "reload the inventory") {
			t.Errorf("POST adjust with %s: status = %d, want 400 asking to reload", name, p.status)
		}
		if n := len(gw.calls("POST /inventory/inventory/SKU-04/adjust")) - before; n != 0 {
			t.Errorf("POST adjust with %s reached inventory %d times", name, n)
		}
	}
	for _, delta := range []string{"0", "x", ""} {
		if p := b.submit("/admin/inventory", "/admin/inventory/SKU-04/adjust", url.Values{"delta": {delta}}); p.status != http.StatusBadRequest {
			t.Errorf("POST adjust delta %q: status = %d, want 400", delta, p.status)
		}
	}
	// inventory refuses a reason with control or bidi characters (shared.Printable): the page says so
	// before asking, not "invalid request".
	for _, reason := range []string{"count\tagain", "restock \u202egnp.exe"} {
		p := b.submit("/admin/inventory", "/admin/inventory/SKU-04/adjust", url.Values{"delta": {"1"}, "reason": {reason}, "idempotency_key": {shared.NewID()}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "The reason must be plain text") {
			t.Errorf("POST adjust reason %q: status = %d, want 400 saying the reason must be plain text", reason, p.status)
		}
	}
	if adj := gw.calls("POST /inventory/inventory/SKU-04/adjust"); len(adj) != 3 {
		t.Errorf("adjust calls = %d, want 3: a refused reason reached inventory", len(adj))
	}
	// The inventory service says only "conflict" and "not found": the page says what happened.
	if p := b.submit("/admin/inventory", "/admin/inventory/SKU-01/adjust", url.Values{"delta": {"-50"}, "idempotency_key": {shared.NewID()}}); p.status != http.StatusConflict ||
		!strings.Contains(p.body, "SKU-01 cannot change by -50") || strings.Contains(p.body, "<p class=\"lead\">conflict") ||
		// the page says to reload the inventory: it links there, not only to the shop
		!strings.Contains(p.body, `<a class="button" href="/admin/inventory">Back to the inventory</a>`) {
		t.Errorf("POST adjust below zero: status = %d, want 409 saying the change would take stock below what is reserved, with a link back\n%s", p.status, p.body)
	}
	for _, sku := range []string{"NO-SUCH-SKU", "%3Cx%3E"} {
		if p := b.submit("/admin/inventory", "/admin/inventory/"+sku+"/adjust", url.Values{"delta": {"1"}, "idempotency_key": {shared.NewID()}}); p.status != http.StatusNotFound || !strings.Contains(p.body, "No stock item") {
			t.Errorf("POST adjust of SKU %s: status = %d, want 404 saying there is no such stock item", sku, p.status)
		}
	}

	// An order to move along.
	c := newBrowser(t, srv)
	c.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	c.submit("/products/p02", "/cart/add", url.Values{"sku": {"SKU-02"}, "quantity": {"1"}})
	key := idemRe.FindStringSubmatch(c.get("/checkout").body)[1]
	id := strings.TrimPrefix(location(c.submit("/checkout", "/checkout", url.Values{"idempotency_key": {key}, "address_id": {"addr-1"}})), "/orders/")
	gw.setOrderStatus(id, "paid")
	page := b.get("/admin/orders")
	if !strings.Contains(page.body, `<select id="s-`+id+`" name="status"><option value="shipped">Shipped</option>`) {
		t.Errorf("GET /admin/orders: paid order offers no shipped option")
	}
	if p := b.submit("/admin/orders", "/admin/orders/"+id+"/status", url.Values{"status": {"shipped"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST order status: status = %d, want 303", p.status)
	}
	if calls := gw.calls("PATCH /order/orders/" + id + "/status"); len(calls) != 1 || !strings.Contains(calls[0].Body, `"status":"shipped"`) {
		t.Errorf("status calls = %+v", calls)
	}
	if p := b.submit("/admin/orders", "/admin/orders/"+id+"/status", url.Values{"status": {"pending"}}); p.status != http.StatusBadRequest {
		t.Errorf("POST order status pending: status = %d, want 400", p.status)
	}

	if p := b.submit("/admin/users", "/admin/users/u-demo/status", url.Values{"status": {"suspended"}, "confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST suspend: status = %d, want 303", p.status)
	}
	if calls := gw.calls("PATCH /user/users/u-demo/status"); len(calls) != 1 || calls[0].Body != `{"status":"suspended"}` {
		t.Errorf("suspend calls = %+v", calls)
	}
	if p := b.get("/admin/users"); !strings.Contains(p.body, "Reactivate") {
		t.Error("GET /admin/users after suspend: no Reactivate button")
	}
	if p := b.submit("/admin/users", "/admin/users/u-admin/status", url.Values{"status": {"suspended"}}); p.status != http.StatusBadRequest {
		t.Errorf("POST suspend self: status = %d, want 400", p.status)
	}
}

// TestAdminInventoryInactive: the admin's stock list asks for inactive products' items and marks
// them; the shop's own stock reads (a public batch) never see them.
func TestAdminInventoryInactive(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.mu.Lock()
	gw.products[4].Active = false // SKU-05
	gw.mu.Unlock()
	admin := newBrowser(t, srv)
	admin.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	p := admin.get("/admin/inventory")
	row := func(sku string) string {
		_, after, ok := strings.Cut(p.body, "<code>"+sku+"</code>")
		if !ok {
			t.Fatalf("GET /admin/inventory: status %d, no row for %s", p.status, sku)
		}
		r, _, _ := strings.Cut(after, "</tr>")
		return r
	}
	if r := row("SKU-05"); !strings.Contains(r, "Inactive product") {
		t.Errorf("SKU-05's row %q lacks the inactive badge", r)
	}
	if r := row("SKU-04"); strings.Contains(r, "Inactive product") {
		t.Errorf("an active product's row %q is marked inactive", r)
	}
	// The products list's Stock column shows an inactive product's stock too: the admin reads it
	// with include_inactive, the public batch hides it.
	pl := admin.get("/admin/products")
	_, after, ok := strings.Cut(pl.body, "<code>SKU-05</code>")
	if r, _, _ := strings.Cut(after, "</tr>"); !ok || !strings.Contains(r, `data-stock-sku="SKU-05">`) {
		t.Errorf("GET /admin/products: SKU-05's row %q shows no stock, want its badge", r)
	}
	// Its name does not link to the shop's page, which is a 404 for an inactive product.
	before, _, _ := strings.Cut(pl.body, "<code>SKU-05</code>")
	if row := before[strings.LastIndex(before, "<tr>"):]; strings.Contains(row, `href="/products/p05"`) || !strings.Contains(row, `href="/admin/products/p05/edit">Product 05</a>`) {
		t.Errorf("GET /admin/products: inactive SKU-05's name links %q, want its edit page, not the shop's 404", row)
	}
	stock, err := newGatewayClient(gw.srv.URL, shared.NewMetrics("storefront")).stockBySKU(t.Context(), []string{"SKU-04", "SKU-05"})
	if _, leaked := stock["SKU-05"]; err != nil || leaked || len(stock) != 1 {
		t.Errorf("public stock batch = %v, %v; want SKU-04 only", stock, err)
	}
}

// adjustKey returns the idempotency key of sku's stock form on the admin inventory page.
func adjustKey(t *testing.T, page, sku string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)action="/admin/inventory/` + regexp.QuoteMeta(sku) + `/adjust".*?name="idempotency_key" value="([0-9a-f]{32})"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the inventory page has no stock form with an idempotency key for %s", sku)
	}
	return m[1]
}

// availableOf reads sku's available stock off the admin inventory page.
func availableOf(t *testing.T, page, sku string) int {
	t.Helper()
	m := regexp.MustCompile(`data-stock-available="` + regexp.QuoteMeta(sku) + `">(-?\d+)<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the inventory page shows no available stock for %s", sku)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestRowActionsNamed: a button or link repeated on every row of a list says, for screen readers,
// which row it acts on (a list of "Edit, Delete, Edit, Delete" or "Apply, Apply" says nothing).
func TestRowActionsNamed(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	for path, wants := range map[string][]string{
		"/admin/products":  {`Edit<span class="visually-hidden"> Product 01</span></a>`, `Delete<span class="visually-hidden"> Product 01</span></a>`},
		"/admin/inventory": {`Apply<span class="visually-hidden"> to SKU-01</span></button>`, `<label class="visually-hidden" for="r-SKU-01">Reason for SKU-01</label>`},
		"/admin/users":     {`Suspend<span class="visually-hidden"> ` + fakeCustomer.Name + `</span></button>`},
	} {
		p := b.get(path)
		for _, want := range wants {
			if !strings.Contains(p.body, want) {
				t.Errorf("GET %s: body lacks %q", path, want)
			}
		}
	}
	b.submit("/products/p04", "/cart/add", url.Values{"sku": {"SKU-04"}, "quantity": {"1"}})
	if p := b.get("/cart"); !strings.Contains(p.body, `Update<span class="visually-hidden"> Product 04</span></button>`) {
		t.Errorf("GET /cart: the Update button does not name its product")
	}
}
