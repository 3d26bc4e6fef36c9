package main

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// errMoney is returned for an amount that is not a plain non-negative decimal with at most two decimals.
var errMoney = errors.New("must be an amount like 19.99")

// maxCents bounds an amount at 10 million units, far above any price, far below int64 overflow.
const maxCents = 10_000_000_00

// parseCents parses a decimal amount ("19.99", "5", "0.5") into integer cents exactly, without floats.
// It rejects signs, exponents, more than two decimals and amounts above maxCents.
func parseCents(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || len(whole) > 9 {
		return 0, errMoney
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, errMoney
			}
		}
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, errMoney
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	c := w*100 + f
	if c > maxCents {
		return 0, errMoney
	}
	return c, nil
}

// numberCents turns an API amount (a JSON number such as 99.99, read as json.Number so no float is
// involved) into cents. An empty or malformed number is 0, false.
func numberCents(n json.Number) (int64, bool) {
	c, err := parseCents(string(n))
	return c, err == nil
}

// centsNumber renders cents as the JSON number the API expects ("19.90" → 19.90).
func centsNumber(c int64) json.Number {
	return json.Number(formatDecimal(c))
}

// formatDecimal renders cents as "1234.50".
func formatDecimal(c int64) string {
	neg := c < 0
	if neg {
		c = -c
	}
	s := strconv.FormatInt(c/100, 10) + "." + twoDigits(c%100)
	if neg {
		return "-" + s
	}
	return s
}

func twoDigits(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// formatMoney renders an API amount for people: "$1,234.50" for USD, "1,234.50 EUR" otherwise.
func formatMoney(n json.Number, currency string) string {
	c, ok := numberCents(n)
	if !ok {
		return string(n)
	}
	return formatCents(c, currency)
}

// formatCents renders cents with thousands separators and the currency.
func formatCents(c int64, currency string) string {
	s := formatDecimal(c)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String() + "." + frac
	sign := ""
	if neg {
		sign = "-"
	}
	switch currency {
	case "", "USD":
		return sign + "$" + out
	case "EUR":
		return sign + "€" + out
	case "GBP":
		return sign + "£" + out
	}
	return sign + out + " " + currency
}
