package main

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// maxCents bounds every amount the service accepts or computes (100 billion in major units), so
// subtotal arithmetic (quantity ≤ maxQuantity × lines ≤ maxLines) can never overflow int64.
const maxCents = 10_000_000_000_000

// errMoney is returned by parseCents for text that is not an exact, non-negative, two-decimal amount.
var errMoney = errors.New("not an amount with at most two decimals")

// Cents is an amount in minor units (2 decimals: USD, EUR, ...). It marshals to a JSON number in
// major units ("99.99") and is stored and published as the integer.
type Cents int64

// MarshalJSON writes c as a decimal JSON number with two fraction digits, without float math.
func (c Cents) MarshalJSON() ([]byte, error) { return []byte(formatCents(int64(c))), nil }

// UnmarshalJSON parses a JSON number exactly (see parseCents).
func (c *Cents) UnmarshalJSON(b []byte) error {
	v, err := parseCents(string(b))
	if err != nil {
		return err
	}
	*c = Cents(v)
	return nil
}

// formatCents renders cents as "-12.34" / "0.05" / "100.00".
func formatCents(c int64) string {
	neg := c < 0
	u := uint64(c)
	if neg {
		u = uint64(-c)
	}
	s := strconv.FormatUint(u/100, 10) + "." + string(rune('0'+u%100/10)) + string(rune('0'+u%10))
	if neg {
		return "-" + s
	}
	return s
}

// parseCents parses the text of a JSON number ("99.99", "5", "1.5", "2.500") into cents exactly:
// no sign, no exponent, at most two significant fraction digits (further digits must be zeros), at
// most maxCents. It never goes through float64, so 0.1+0.2 problems cannot occur.
func parseCents(s string) (int64, error) {
	if _, err := strconv.ParseFloat(s, 64); err != nil || !json.Valid([]byte(s)) {
		return 0, errMoney
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" || len(intPart) > 1 && intPart[0] == '0' {
		return 0, errMoney
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 || len(intPart) > 12 {
		return 0, errMoney
	}
	for _, r := range intPart + frac {
		if r < '0' || r > '9' {
			return 0, errMoney
		}
	}
	for len(frac) < 2 {
		frac += "0"
	}
	v, err := strconv.ParseInt(intPart+frac, 10, 64)
	if err != nil || v > maxCents {
		return 0, errMoney
	}
	return v, nil
}

// taxCents is subtotal × bps / 10000 rounded half up, in integers.
func taxCents(subtotal, bps int64) int64 {
	return (subtotal*bps + 5000) / 10000
}
