package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// TestQuoteEqualsOrderTotal: for every demo product alone and for mixed carts, the total the
// storefront's checkout page shows (the order service's quote) is the total of the order the same
// checkout then creates, to the cent; products out of stock, which the cart refuses, are compared
// through the API (quote, then create with the same body). Every order is cancelled again so the
// stock is released.
func TestQuoteEqualsOrderTotal(t *testing.T) {
	gw := newClient(t, platform.URL("gateway"))
	gw.login(demoEmail, demoPass)
	products := demoProducts(t, gw)
	sf := newClient(t, platform.URL("storefront"))
	sfSignIn(t, sf, demoEmail, demoPass, "/")

	// One cart costs about a dozen gateway requests on the demo user's credential; two carts a second
	// stay inside the gateway's default per-credential budget (30/s) with the test's own calls.
	pace := time.NewTicker(500 * time.Millisecond)
	defer pace.Stop()
	var inStock []demoProduct
	shipped := map[bool]int{} // shipping charged → carts seen
	for _, p := range products {
		<-pace.C
		if p.available < 1 {
			q, o := apiQuoteThenOrder(t, gw, []line{{p.SKU, 1}})
			if q != o.Total {
				t.Errorf("%s (out of stock) through the API: quote total %s, order total %s", p.SKU, q, o.Total)
			}
			continue
		}
		inStock = append(inStock, p)
		shown, ship, o := checkout(t, sf, gw, []line{{p.SKU, 1}})
		shipped[ship > 0]++
		if shown != o.Total {
			t.Errorf("%s: checkout page total %s, order total %s", p.SKU, shown, o.Total)
		}
	}
	if len(inStock) < 2 {
		t.Fatalf("%d demo products in stock, want at least 2 for mixed carts", len(inStock))
	}
	// Mixed carts: groups of 2 to 5 products with 1 to 3 of each (capped by stock), so carts fall on
	// both sides of the free-shipping threshold. Stock is read again for each group: the single
	// orders above were cancelled, but inventory releases their stock when it consumes the
	// cancellation, so a product with one left (another test's) may not be back yet.
	for i, start := 0, 0; start < len(inStock); i++ {
		n := min(2+i%4, len(inStock)-start)
		group := inStock[start : start+n]
		start += n
		skus := make([]string, len(group))
		for j, p := range group {
			skus[j] = p.SKU
		}
		avail := available(t, gw, skus...)
		var cart []line
		for j, p := range group {
			if q := min(1+(i+j)%3, avail[p.SKU]); q > 0 {
				cart = append(cart, line{p.SKU, q})
			}
		}
		if len(cart) == 0 {
			continue
		}
		<-pace.C
		shown, ship, o := checkout(t, sf, gw, cart)
		shipped[ship > 0]++
		if shown != o.Total {
			t.Errorf("mixed cart %v: checkout page total %s, order total %s", cart, shown, o.Total)
		}
	}
	if shipped[true] == 0 || shipped[false] == 0 {
		t.Errorf("carts with shipping charged: %d, free: %d; want both sides of the threshold covered", shipped[true], shipped[false])
	}
}

// TestQuoteThroughGateway: the quote is a write like any other at the gateway (a cookie call needs
// JSON and the gateway's own origin), is never cached, and reserves nothing.
func TestQuoteThroughGateway(t *testing.T) {
	base := platform.URL("gateway")
	c := newClient(t, base)
	c.login(demoEmail, demoPass)
	p := demoProducts(t, c)[0]
	body := map[string]any{"items": []map[string]any{{"sku": p.SKU, "quantity": 1}}}
	if code, resp := send(t, c, "POST", "/order/orders/quote", `{"items":[{"sku":"`+p.SKU+`","quantity":1}]}`,
		"Origin", "http://evil.example", "Content-Type", "application/json"); code != http.StatusForbidden {
		t.Errorf("cookie quote from a foreign origin: %d %s, want 403", code, resp)
	}
	var first, second struct{ Total json.Number }
	for _, out := range []any{&first, &second} {
		resp := c.must(200, "POST", "/order/orders/quote", body, out, "Origin", base)
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("quote Cache-Control = %q, want no-store", cc)
		}
	}
	if first.Total == "" || first.Total != second.Total {
		t.Errorf("quote totals %q, %q: want one non-empty total", first.Total, second.Total)
	}
	if after := available(t, c, p.SKU)[p.SKU]; after != p.available {
		t.Errorf("%s available %d after two quotes, was %d: a quote reserved stock", p.SKU, after, p.available)
	}
}

type line struct {
	SKU string
	Qty int
}

type demoProduct struct {
	SKU       string `json:"sku"`
	available int
}

// demoProducts is every active product of the catalog with what inventory can sell of it.
func demoProducts(t *testing.T, c *client) []demoProduct {
	t.Helper()
	var all []demoProduct
	for page := 1; ; page++ {
		var list struct {
			Items []demoProduct `json:"items"`
			Total int           `json:"total"`
		}
		c.must(200, "GET", fmt.Sprintf("/product/products?limit=100&page=%d", page), nil, &list)
		all = append(all, list.Items...)
		if len(list.Items) == 0 || len(all) >= list.Total {
			break
		}
	}
	if len(all) == 0 {
		t.Fatal("the catalog has no products")
	}
	skus := make([]string, len(all))
	for i, p := range all {
		skus[i] = p.SKU
	}
	avail := available(t, c, skus...)
	for i := range all {
		all[i].available = avail[all[i].SKU]
	}
	return all
}

// available is what inventory can sell of each of skus (at most 100: one batch call).
func available(t *testing.T, c *client, skus ...string) map[string]int {
	t.Helper()
	var batch struct {
		Items []stock `json:"items"`
	}
	c.must(200, "GET", "/inventory/inventory/batch?skus="+url.QueryEscape(strings.Join(skus, ",")), nil, &batch)
	out := map[string]int{}
	for _, it := range batch.Items {
		out[it.SKU] = it.Available
	}
	return out
}

// pricedOrder is an order's total, exactly as the API wrote it.
type pricedOrder struct {
	ID    string       `json:"id"`
	Total shared.Cents `json:"total"`
}

// apiQuoteThenOrder quotes lines and then orders them with the same body through the gateway, and
// cancels the order.
func apiQuoteThenOrder(t *testing.T, c *client, lines []line) (shared.Cents, pricedOrder) {
	t.Helper()
	body := map[string]any{"items": items(lines), "shipping_address": address}
	var q pricedOrder
	c.must(200, "POST", "/order/orders/quote", body, &q, "Origin", c.base)
	var o pricedOrder
	c.must(201, "POST", "/order/orders", body, &o, "Origin", c.base, "Idempotency-Key", shared.NewID())
	cancelOrder(t, c, o.ID)
	return q.Total, o
}

func items(lines []line) []map[string]any {
	out := make([]map[string]any, 0, len(lines))
	for _, l := range lines {
		out = append(out, map[string]any{"sku": l.SKU, "quantity": l.Qty})
	}
	return out
}

var (
	summaryTotal    = regexp.MustCompile(`data-summary="total">(?:<strong>)?([^<]+)<`)
	summaryShipping = regexp.MustCompile(`data-summary="shipping">([^<]+)<`)
	idemKey         = regexp.MustCompile(`name="idempotency_key" value="([0-9a-f]{32})"`)
)

// checkout fills the storefront cart with lines, reads the checkout page's total and shipping, places
// the order with a new address and returns what the page showed and the order the API then holds
// (cancelled again).
func checkout(t *testing.T, sf, gw *client, lines []line) (shown, shipping shared.Cents, o pricedOrder) {
	t.Helper()
	postForm(t, sf, "/cart/clear", url.Values{"csrf_token": {formToken(sf, "/")}})
	for _, l := range lines {
		resp := postForm(t, sf, "/cart/add", url.Values{"csrf_token": {formToken(sf, "/")}, "sku": {l.SKU}, "quantity": {fmt.Sprint(l.Qty)}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("storefront POST /cart/add %v: status %d", l, resp.StatusCode)
		}
	}
	page := readBody(sf.must(200, "GET", "/checkout", nil, nil))
	total, ship, key := summaryTotal.FindStringSubmatch(page), summaryShipping.FindStringSubmatch(page), idemKey.FindStringSubmatch(page)
	if total == nil || ship == nil || key == nil {
		t.Fatalf("checkout page for %v has no total, shipping or idempotency key:\n%.3000s", lines, page)
	}
	shown, shipping = pageCents(t, total[1]), pageCents(t, ship[1])
	form := url.Values{"csrf_token": {formToken(sf, "/checkout")}, "idempotency_key": {key[1]}}
	for k, v := range address {
		form.Set(k, v)
	}
	resp := postForm(t, sf, "/checkout", form)
	id, ok := strings.CutPrefix(resp.Header.Get("Location"), "/orders/")
	if resp.StatusCode != http.StatusSeeOther || !ok {
		t.Fatalf("storefront POST /checkout %v: status %d Location %q\n%.2000s", lines, resp.StatusCode, resp.Header.Get("Location"), readBody(resp))
	}
	gw.must(200, "GET", "/order/orders/"+id, nil, &o)
	cancelOrder(t, gw, id)
	return shown, shipping, o
}

// cancelOrder cancels order id so its stock is released; one that inventory already rejected (409)
// holds none.
func cancelOrder(t *testing.T, c *client, id string) {
	t.Helper()
	if resp := c.do("POST", "/order/orders/"+id+"/cancel", nil, nil, "Origin", c.base); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
		t.Errorf("cancel order %s: status %d %s", id, resp.StatusCode, readBody(resp))
	}
}

// pageCents reads an amount as the storefront shows it ("$1,234.50").
func pageCents(t *testing.T, s string) shared.Cents {
	t.Helper()
	c, err := shared.ParseCents(strings.NewReplacer("$", "", ",", "", " ", "").Replace(strings.TrimSpace(s)))
	if err != nil {
		t.Fatalf("page amount %q: %v", s, err)
	}
	return c
}
