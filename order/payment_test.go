package main

import (
	"testing"
	"time"
)

func TestParseCard(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		number      string
		month, year int
		cvc         string
		wantBrand   string // "" = rejected
		wantField   string
	}{
		{"4242 4242 4242 4242", 11, 2026, "123", "visa", ""}, // valid through the end of this month
		{"5555-5555-5555-4444", 1, 2030, "1234", "mastercard", ""},
		{"2223003122003222", 1, 2030, "123", "mastercard", ""},
		{"378282246310005", 1, 2030, "1234", "amex", ""},
		{"6011111111111117", 1, 2030, "123", "discover", ""},
		{"3530111333300000", 1, 2030, "123", "unknown", ""},
		{"4242424242424242", 10, 2026, "123", "", "exp_year"}, // expired last month
		{"4242424242424242", 1, 2050, "123", "", "exp_year"},  // too far ahead
		{"4242424242424242", 0, 2030, "123", "", "exp_month"},
		{"4242424242424242", 1, 30, "123", "", "exp_year"},
		{"4242424242424242", 1, 2030, "12345", "", "cvc"},
		{"4242424242424242", 1, 2030, "abc", "", "cvc"},
		{"", 1, 2030, "123", "", "card_number"},
		{"42424242424", 1, 2030, "123", "", "card_number"},
		{"4242424242424243", 1, 2030, "123", "", "card_number"},
		{"４２４２４２４２４２４２４２４２", 1, 2030, "123", "", "card_number"},
	}
	for _, tt := range tests {
		c, fields := parseCard(tt.number, tt.month, tt.year, tt.cvc, now)
		switch {
		case tt.wantBrand == "" && fields[tt.wantField] == "":
			t.Errorf("parseCard(%q, %d/%d, %q) fields = %v, want one for %s", tt.number, tt.month, tt.year, tt.cvc, fields, tt.wantField)
		case tt.wantBrand != "" && (len(fields) > 0 || c.brand() != tt.wantBrand || c.last4() != c.Number[len(c.Number)-4:]):
			t.Errorf("parseCard(%q) = brand %q fields %v, want %s", tt.number, c.brand(), fields, tt.wantBrand)
		}
	}
}
