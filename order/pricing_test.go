package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestShippingRule: flat below the threshold, free from it on, never free when the threshold is 0.
func TestShippingRule(t *testing.T) {
	t.Parallel()
	rule := shippingRule{FlatCents: 499, FreeOverCents: 5000}
	for _, tt := range []struct {
		rule     shippingRule
		subtotal int64
		want     int64
	}{
		{rule, 1, 499}, {rule, 4999, 499}, {rule, 5000, 0}, {rule, 5001, 0},
		{shippingRule{FlatCents: 499}, 1_000_000, 499},
		{shippingRule{FreeOverCents: 5000}, 100, 0},
	} {
		if got := tt.rule.cents(tt.subtotal); got != tt.want {
			t.Errorf("%+v.cents(%d) = %d, want %d", tt.rule, tt.subtotal, got, tt.want)
		}
	}
}

// TestQuoteEqualsOrder: for single lines and mixed carts, under and over the free-shipping threshold,
// the quote's amounts are the amounts of the order the same body then creates, to the cent.
func TestQuoteEqualsOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i, tt := range []struct {
		lines           string
		shipping, total string
	}{
		{`[{"sku":"MUG-1","quantity":1}]`, `"shipping":4.99`, `"total":13.09`},
		{`[{"sku":"TSHIRT-1","quantity":2},{"sku":"MUG-1","quantity":1}]`, `"shipping":4.99`, `"total":56.27`},
		{`[{"sku":"TSHIRT-1","quantity":3}]`, `"shipping":0.00`, `"total":64.77`},
		{`[{"sku":"MUG-1","quantity":1000},{"sku":"TSHIRT-1","quantity":1000}]`, `"shipping":0.00`, `"total":29689.20`},
	} {
		body := fmt.Sprintf(`{"items":%s,"shipping_address":%s}`, tt.lines, addrJSON)
		code, quote, hdr := h.do("POST", "/orders/quote", h.customer, body)
		if code != http.StatusOK || !strings.Contains(quote, tt.shipping) || !strings.Contains(quote, tt.total) {
			t.Fatalf("POST /orders/quote %s: %d %s, want 200 with %s and %s", tt.lines, code, quote, tt.shipping, tt.total)
		}
		if cc := hdr.Get("Cache-Control"); cc != "private, no-store" {
			t.Errorf("quote Cache-Control = %q, want private, no-store", cc)
		}
		var q priceView
		if err := json.Unmarshal([]byte(quote), &q); err != nil {
			t.Fatal(err)
		}
		o := h.create(fmt.Sprintf("k-%d", i), tt.lines)
		if q.Subtotal != o.Subtotal || q.Tax != o.Tax || q.Shipping != o.Shipping || q.Total != o.Total || q.Currency != o.Currency ||
			len(q.Items) != len(o.Items) || q.Total != q.Subtotal+q.Tax+q.Shipping {
			t.Errorf("quote %+v, order %+v: amounts differ", q, o)
		}
	}
}

// TestQuoteHasNoSideEffects: a quote stores no order, queues no event and takes no idempotency key,
// and needs no address.
func TestQuoteHasNoSideEffects(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for range 3 {
		if code, body, _ := h.do("POST", "/orders/quote", h.customer, `{"items":[{"sku":"MUG-1","quantity":2}]}`); code != http.StatusOK || !strings.Contains(body, `"total":21.19`) {
			t.Fatalf("POST /orders/quote without address: %d %s, want 200 total 21.19", code, body)
		}
	}
	if _, n, _ := h.store.List(context.Background(), listQuery{Page: 1, Limit: 10}); n != 0 {
		t.Errorf("%d orders stored after quotes", n)
	}
	if got := h.metrics.Counter("order_transitions_total", "").Value("pending", "owner"); got != 0 {
		t.Errorf("order_transitions_total{pending} = %d after quotes, want 0", got)
	}
}

// TestQuoteRefusals: what an attacker or a broken client can send gets a 4xx in the error shape.
func TestQuoteRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	reader := sharedtest.Customer
	reader.ClientID, reader.Scope = "demo-app", shared.ScopeOrdersRead
	app := h.iss.Bearer(t, reader)
	line := `[{"sku":"TSHIRT-1","quantity":1}]`
	items := func(l string) string { return `{"items":` + l + `}` }
	tests := []struct {
		name, auth, body, contentType string
		want                          int
		wantField                     string
	}{
		{"anonymous", "", items(line), "", http.StatusUnauthorized, ""},
		{"bad token", "Bearer nope", items(line), "", http.StatusUnauthorized, ""},
		{"third-party token without orders:write", app, items(line), "", http.StatusForbidden, ""},
		{"form body", h.customer, items(line), "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, ""},
		{"malformed json", h.customer, `{"items":`, "", http.StatusBadRequest, ""},
		{"trailing data", h.customer, items(line) + `{}`, "", http.StatusBadRequest, ""},
		{"bad UTF-8", h.customer, items(`[{"sku":"TSHIRT-1\xff","quantity":1}]`), "", http.StatusBadRequest, ""},
		{"oversized body", h.customer, items(`[{"sku":"` + strings.Repeat("A", 2<<20) + `","quantity":1}]`), "", http.StatusRequestEntityTooLarge, ""},
		{"client price", h.customer, items(`[{"sku":"TSHIRT-1","quantity":1,"unit_price":0.01}]`), "", http.StatusBadRequest, "unit_price"},
		{"no items", h.customer, items(`[]`), "", http.StatusBadRequest, "items"},
		{"zero quantity", h.customer, items(`[{"sku":"TSHIRT-1","quantity":0}]`), "", http.StatusBadRequest, "items[0].quantity"},
		{"negative quantity", h.customer, items(`[{"sku":"TSHIRT-1","quantity":-3}]`), "", http.StatusBadRequest, "items[0].quantity"},
		{"huge quantity", h.customer, items(`[{"sku":"TSHIRT-1","quantity":1001}]`), "", http.StatusBadRequest, "items[0].quantity"},
		{"overflowing quantity", h.customer, items(`[{"sku":"TSHIRT-1","quantity":99999999999999999999}]`), "", http.StatusBadRequest, ""},
		{"unknown sku", h.customer, items(`[{"sku":"NOPE","quantity":1}]`), "", http.StatusBadRequest, "items[0].sku"},
		{"duplicate sku in another case", h.customer, items(`[{"sku":"MUG-1","quantity":1},{"sku":"mug-1","quantity":2}]`), "", http.StatusBadRequest, "items[1].sku"},
		{"sku product refuses", h.customer, items(`[{"sku":"MUG_1","quantity":1}]`), "", http.StatusBadRequest, "items[0].sku"},
		{"sku query", h.customer, items(`[{"sku":"MUG-1?x=1","quantity":1}]`), "", http.StatusBadRequest, "items[0].sku"},
		{"sku dot", h.customer, items(`[{"sku":".","quantity":1}]`), "", http.StatusBadRequest, "items[0].sku"},
		{"inactive sku", h.customer, items(`[{"sku":"OLD-1","quantity":1}]`), "", http.StatusBadRequest, "items[0].sku"},
		{"mixed currencies", h.customer, items(`[{"sku":"TSHIRT-1","quantity":1},{"sku":"EURO-1","quantity":1}]`), "", http.StatusBadRequest, "items"},
		{"incomplete address", h.customer, `{"items":` + line + `,"shipping_address":{"name":"x"}}`, "", http.StatusBadRequest, "shipping_address.street"},
		{"someone else's address", h.other, `{"items":` + line + `,"address_id":"addr-1"}`, "", http.StatusBadRequest, "address_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := []string{}
			if tt.contentType != "" {
				header = append(header, "Content-Type", tt.contentType)
			}
			code, resp, _ := h.do("POST", "/orders/quote", tt.auth, tt.body, header...)
			checkRefusal(t, "POST /orders/quote", code, tt.want, resp, tt.wantField)
		})
	}
}

// TestOrderAmountBounds: the largest order the limits allow (lines of products priced at
// shared.MaxCents, a subtotal of maxCents, 100 % tax, the largest flat shipping) is priced exactly and
// its total stays under 2^53, so every JSON client reads it exactly; one cent more of subtotal is a
// 400 naming items, at quote and at creation, and the largest request (maxLines × maxQuantity at
// shared.MaxCents) does not overflow int64 on the way.
func TestOrderAmountBounds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.TaxRateBPS, c.Shipping = 10000, shippingRule{FlatCents: int64(shared.MaxCents), FreeOverCents: 0}
	})
	lines := func(n int) string {
		var b strings.Builder
		for i := range n {
			sku := fmt.Sprintf("MAX-%d", i)
			h.products.mu.Lock()
			h.products.products[sku] = fmt.Sprintf(`{"id":"pm%d","sku":%q,"name":"Max","price":%s,"currency":"USD","active":true}`, i, sku, shared.MaxCents)
			h.products.mu.Unlock()
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"sku":%q,"quantity":%d}`, sku, maxQuantity)
		}
		return "[" + b.String() + "]"
	}
	const perLine = int64(shared.MaxCents) * maxQuantity
	fits := int(maxCents / perLine) // lines whose subtotal is exactly maxCents
	if int64(fits)*perLine != maxCents {
		t.Fatalf("maxCents %d is not a whole number of full lines (%d)", int64(maxCents), perLine)
	}
	if worst := 2*maxCents + int64(shared.MaxCents); worst >= 1<<53 {
		t.Fatalf("the largest total, %d cents, is not below 2^53", worst)
	}
	code, body, _ := h.do("POST", "/orders", h.customer, fmt.Sprintf(`{"items":%s,"shipping_address":%s}`, lines(fits), addrJSON), "Idempotency-Key", "k-max")
	if code != http.StatusCreated {
		t.Fatalf("POST /orders at the largest subtotal: %d, want 201: %.300s", code, body)
	}
	var got struct{ Subtotal, Tax, Shipping, Total json.Number }
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"subtotal": maxCents, "tax": maxCents, "shipping": int64(shared.MaxCents), "total": 2*maxCents + int64(shared.MaxCents)}
	for name, n := range map[string]json.Number{"subtotal": got.Subtotal, "tax": got.Tax, "shipping": got.Shipping, "total": got.Total} {
		if c, err := shared.ParseCentsUnbounded(string(n)); err != nil || int64(c) != want[name] {
			t.Errorf("%s = %s (%d, %v), want %d cents", name, n, c, err, want[name])
		}
	}
	for _, n := range []int{fits + 1, maxLines} {
		for _, path := range []string{"/orders", "/orders/quote"} {
			code, body, _ := h.do("POST", path, h.customer, fmt.Sprintf(`{"items":%s,"shipping_address":%s}`, lines(n), addrJSON), "Idempotency-Key", fmt.Sprintf("k-over-%d", n))
			checkRefusal(t, fmt.Sprintf("POST %s with %d full lines", path, n), code, http.StatusBadRequest, body, "items")
		}
	}
}
