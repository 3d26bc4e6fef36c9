package main

import (
	"encoding/json"
	"testing"
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
