package main

import (
	"fmt"
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

// TestStubPaymentsBounded drives more paid orders than the stub remembers through Charge and Refund:
// its memory must stay bounded (it grew by an entry per paid order for the life of the process), while
// a recent order's charge and a recent refund stay idempotent.
func TestStubPaymentsBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p := newStubPayments()
	c := card{Number: "4242424242424242"}
	n := 3 * stubMemory
	var last charge
	for i := range n {
		ch, err := p.Charge(ctx, chargeRequest{OrderID: fmt.Sprintf("o%d", i), AmountCents: 100, Card: c})
		if err != nil {
			t.Fatalf("Charge %d: %v", i, err)
		}
		if i%2 == 0 {
			if _, err := p.Refund(ctx, ch.ID); err != nil {
				t.Fatalf("Refund %d: %v", i, err)
			}
		}
		last = ch
	}
	p.mu.Lock()
	sizes := map[string]int{"byOrder": len(p.byOrder), "orderOf": len(p.orderOf), "refunds": len(p.refunds),
		"chargeIDs": len(p.chargeIDs), "refunded": len(p.refunded)}
	p.mu.Unlock()
	for name, size := range sizes {
		if size > stubMemory {
			t.Errorf("after %d charges: %s holds %d entries, want at most %d", n, name, size, stubMemory)
		}
	}
	again, err := p.Charge(ctx, chargeRequest{OrderID: fmt.Sprintf("o%d", n-1), AmountCents: 100, Card: c})
	if err != nil || again.ID != last.ID {
		t.Errorf("Charge of the last order again = %v, %v; want the first charge %s", again, err, last.ID)
	}
	r1, _ := p.Refund(ctx, last.ID)
	r2, _ := p.Refund(ctx, last.ID)
	if r1 == "" || r1 != r2 {
		t.Errorf("Refund twice = %q, %q; want one refund ID", r1, r2)
	}
	if got := p.chargeCount(); got != n {
		t.Errorf("charges = %d, want %d", got, n)
	}
}
