package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestMoneyText: the template function shows amounts for people and passes anything else through.
func TestMoneyText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n        json.Number
		currency string
		want     string
	}{
		{"99.99", "USD", "$99.99"}, {"1234567.5", "USD", "$1,234,567.50"}, {"0", "", "$0.00"},
		{"12", "EUR", "€12.00"}, {"3.1", "CHF", "3.10 CHF"}, {"oops", "USD", "oops"}, {"100", "GBP", "£100.00"},
		// Over the input bound (10,000,000.00): order totals and revenue reach it (99 × 9,999,999.99
		// plus tax), and are shown like any other amount, exactly.
		{"10000000.01", "USD", "$10,000,000.01"}, {"1069199998.93", "USD", "$1,069,199,998.93"},
		{"200000010000.00", "EUR", "€200,000,010,000.00"}, {"92233720368547758.07", "USD", "$92,233,720,368,547,758.07"},
		{"-1.50", "USD", "-$1.50"}, {"92233720368547758.08", "USD", "92233720368547758.08"}, {"1.005", "USD", "1.005"},
	}
	for _, tt := range tests {
		if got := moneyText(tt.n, tt.currency); got != tt.want {
			t.Errorf("moneyText(%s, %s) = %q, want %q", tt.n, tt.currency, got, tt.want)
		}
	}
}

func TestOrderUnitsCountsQuantities(t *testing.T) {
	t.Parallel()
	o := order{Items: []orderLine{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 3}}}
	if got := o.Units(); got != 5 {
		t.Errorf("Units() = %d, want 5 (the sum of quantities, not the number of lines)", got)
	}
}

// TestClip: clipping to n bytes never splits a character, so clipped text stays valid UTF-8 (the
// API refuses invalid UTF-8, and encoding/json would turn it into U+FFFD).
func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"", 3, ""},
		{"€€€", 4, "€"}, {"€€€", 6, "€€"}, {"€€€", 5, "€"}, {"a€", 2, "a"}, {"日本語", 1, ""},
		{strings.Repeat("€", 40), 100, strings.Repeat("€", 33)},
	}
	for _, tt := range tests {
		if got := clip(tt.s, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// TestCatalogNonASCII: a long search in a non-Latin script reaches the API as valid text, and a
// category beginning with a non-ASCII letter makes a valid page title.
func TestCatalogNonASCII(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	q := strings.Repeat("€", 40) // 120 bytes: over the 100-byte limit, so it is clipped
	b.get("/products?q=" + url.QueryEscape(q))
	for _, c := range gw.calls("GET /product/products") {
		v, _ := url.ParseQuery(c.Query)
		if got := v.Get("q"); got != "" && !utf8.ValidString(got) {
			t.Errorf("GET /products?q=%s: the API got q %q, not valid UTF-8", q, got)
		}
	}
	p := b.get("/products?category=" + url.QueryEscape("été"))
	if !utf8.ValidString(p.body) || !strings.Contains(p.body, "<title>Été") {
		t.Errorf("GET /products?category=été: want valid UTF-8 and the title Été\n%s", p.body)
	}
}
