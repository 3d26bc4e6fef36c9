package main

import (
	"encoding/json"
	"strconv"
	"testing"
)

func TestParseCents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"5", 500, true}, {"5.5", 550, true}, {"19.99", 1999, true}, {" 0.01 ", 1, true},
		{"10000000.00", 1_000_000_000, true}, {"10000000.01", 0, false}, {"", 0, false}, {"1.", 0, false},
		{".5", 0, false}, {"1.999", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1e3", 0, false},
		{"1,00", 0, false}, {"0x10", 0, false}, {"999999999999", 0, false}, {"NaN", 0, false},
	}
	for _, tt := range tests {
		got, err := parseCents(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseCents(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n        json.Number
		currency string
		want     string
	}{
		{"99.99", "USD", "$99.99"}, {"1234567.5", "USD", "$1,234,567.50"}, {"0", "", "$0.00"},
		{"12", "EUR", "€12.00"}, {"3.1", "CHF", "3.10 CHF"}, {"oops", "USD", "oops"}, {"100", "GBP", "£100.00"},
	}
	for _, tt := range tests {
		if got := formatMoney(tt.n, tt.currency); got != tt.want {
			t.Errorf("formatMoney(%s, %s) = %q, want %q", tt.n, tt.currency, got, tt.want)
		}
	}
	if got := formatCents(-150, "USD"); got != "-$1.50" {
		t.Errorf("formatCents(-150) = %q", got)
	}
}

// FuzzParseCents: whatever the input, parseCents never panics, and what it accepts round-trips
// through formatDecimal exactly.
func FuzzParseCents(f *testing.F) {
	for _, s := range []string{"0", "19.99", "5.5", "1.", "-1", "1e3", "99999999.99", " 7 ", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCents(s)
		if err != nil {
			return
		}
		if c < 0 || c > maxCents {
			t.Fatalf("parseCents(%q) = %d out of range", s, c)
		}
		back, err := parseCents(formatDecimal(c))
		if err != nil || back != c {
			t.Fatalf("round trip of %q: %d → %q → %d, %v", s, c, formatDecimal(c), back, err)
		}
		if _, err := strconv.ParseFloat(string(centsNumber(c)), 64); err != nil {
			t.Fatalf("centsNumber(%d) = %q is not a JSON number", c, centsNumber(c))
		}
	})
}

func TestOrderUnitsCountsQuantities(t *testing.T) {
	t.Parallel()
	o := order{Items: []orderLine{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 3}}}
	if got := o.Units(); got != 5 {
		t.Errorf("Units() = %d, want 5 (the sum of quantities, not the number of lines)", got)
	}
}
