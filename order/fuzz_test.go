package main

import (
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func TestTaxCents(t *testing.T) {
	t.Parallel()
	for bps, want := range map[int64]int64{0: 0, 800: 380, 10000: 4748, 825: 392} { // of 47.48
		if got := taxCents(4748, bps); got != want {
			t.Errorf("taxCents(4748, %d) = %d, want %d", bps, got, want)
		}
	}
}

// FuzzParseCreateOrder: no body makes the parser panic, and what it accepts respects the limits.
func FuzzParseCreateOrder(f *testing.F) {
	for _, s := range []string{
		`{"items":[{"sku":"A","quantity":1}],"shipping_address":` + addrJSON + `}`,
		`{"items":[{"sku":"A","quantity":1}],"address_id":"x"}`,
		`{"items":[{"sku":"A","quantity":1.5}]}`, `{"items":null}`, `[]`, `{"items":[{"sku":{"$ne":1}}]}`, ``, `{"items":[{"sku":"A","quantity":99999999999999999999}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseCreateOrder(body)
		if err != nil {
			return
		}
		if len(req.Items) < 1 || len(req.Items) > maxLines || (req.ShippingAddress == nil) == (req.AddressID == "") {
			t.Fatalf("accepted %q: %+v", body, req)
		}
		seen := map[string]bool{}
		for _, l := range req.Items {
			if l.Quantity < 1 || l.Quantity > maxQuantity || l.SKU == "" || seen[l.SKU] {
				t.Fatalf("accepted line %+v of %q", l, body)
			}
			seen[l.SKU] = true
		}
		if req.hash() != req.hash() || len(req.hash()) != 64 {
			t.Fatal("hash not stable")
		}
	})
}

// FuzzParseCard: accepted cards pass Luhn, are digits only and keep no more than last4 + brand.
func FuzzParseCard(f *testing.F) {
	f.Add("4242 4242 4242 4242", 12, 2031, "123")
	f.Add("4000-0000-0000-0002", 1, 2027, "1234")
	f.Add("", 0, 0, "")
	f.Add("4242424242424241", 13, 1999, "12a")
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, number string, month, year int, cvc string) {
		c, fields := parseCard(number, month, year, cvc, now)
		if len(fields) > 0 {
			return
		}
		if !luhn(c.Number) || strings.Trim(c.Number, "0123456789") != "" || len(c.Number) < 12 || len(c.last4()) != 4 || c.brand() == "" {
			t.Fatalf("accepted %q as %+v", number, c)
		}
		if !time.Date(year, time.Month(month)+1, 1, 0, 0, 0, 0, time.UTC).After(now) {
			t.Fatalf("accepted expired %d/%d", month, year)
		}
	})
}

// FuzzOrderActionBodies: any body on pay, cancel and the admin status change is an answer or a 4xx in
// the error shape, never a 5xx, and the order's state stays one the state machine allows.
func FuzzOrderActionBodies(f *testing.F) {
	for _, s := range []string{`{"card_number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}`,
		`{"reason":"changed my mind"}`, `{"status":"shipped","reason":"x"}`, `{"status":{"$ne":1}}`, `{"reason":"a\udcff"}`,
		"{\"reason\":\"\xff\xfe\"}", `{"exp_month":1e400}`, `[]`, ``} {
		f.Add(s)
	}
	h := newHarness(f)
	o := h.create("k-fuzz", `[{"sku":"MUG-1","quantity":1}]`)
	h.confirm(o.ID)
	customer, admin := sharedtest.Customer, sharedtest.Admin
	f.Fuzz(func(t *testing.T, body string) {
		for _, c := range []struct {
			path   string
			method string
			as     *shared.Identity
		}{{"/orders/" + o.ID + "/pay", "POST", &customer}, {"/orders/" + o.ID + "/cancel", "POST", &customer},
			{"/orders/" + o.ID + "/status", "PATCH", &admin}} {
			sharedtest.ServeFuzz(t, h.handler, c.method, c.path, body, c.as)
		}
	})
}

// FuzzOrderListQuery: any query on GET /orders is a 200 or a 400 in the error shape.
func FuzzOrderListQuery(f *testing.F) {
	for _, s := range []string{"", "page=2&limit=10", "status=paid", "status=%24ne", "limit=0", "page=abc", "status=%FF", "user_id=u-other",
		"email=a%2Bb%40x&id=AbC1&from=2026-01-01&to=2026-01-31", "email=%5E.%2A", "id=%24ne", "from=2026-02-30", "to=9999-12-31T23:59:59.999999999%2B14:00", "from=-0001-01-01"} {
		f.Add(s)
	}
	h := newHarness(f)
	h.create("k-list", `[{"sku":"MUG-1","quantity":1}]`)
	customer := sharedtest.Customer
	f.Fuzz(func(t *testing.T, query string) {
		rec := sharedtest.ServeFuzz(t, h.handler, "GET", "/orders?"+query, "", &customer)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("GET /orders?%s: status %d", query, rec.Code)
		}
	})
}
