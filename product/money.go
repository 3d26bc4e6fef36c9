package main

import (
	"errors"
	"strconv"
)

// maxPriceCents bounds every price: 1e9 minor units ($10,000,000.00). Anything above is a typo or an
// attack, and the bound keeps sums of many lines far from int64 overflow.
const maxPriceCents = 1_000_000_000

// currencies lists the accepted ISO 4217 codes. All have two decimal places, so "cents" is exact for
// each; a currency with another exponent needs its own entry in parseMoney and formatMoney.
var currencies = map[string]bool{"USD": true, "EUR": true, "GBP": true}

var (
	errMoneySyntax    = errors.New("must be a decimal number such as 99.99")
	errMoneyNegative  = errors.New("must not be negative")
	errMoneyPrecision = errors.New("must have at most 2 decimal places")
	errMoneyTooLarge  = errors.New("must not exceed 10000000.00")
)

// parseMoney converts the text of a JSON number (json.Number, or the raw bytes of a JSON value) into
// integer cents, exactly: no float is ever involved, so "0.1" is 10 and "1.005" is an error rather than
// a rounded 100 or 101. It accepts the JSON number grammar (exponents included: "1e2" is 10000),
// digits beyond the second decimal only when they are zeros ("9.990"), and rejects negatives and
// values above maxPriceCents.
func parseMoney(s string) (int64, error) {
	i := 0
	n := len(s)
	if n == 0 || n > 64 {
		return 0, errMoneySyntax
	}
	neg := false
	if s[i] == '-' {
		neg = true
		i++
	}
	// Integer part: "0" or [1-9][0-9]*.
	intStart := i
	if i < n && s[i] == '0' {
		i++
	} else {
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i == intStart {
		return 0, errMoneySyntax
	}
	intDigits := s[intStart:i]
	fracDigits := ""
	if i < n && s[i] == '.' {
		i++
		fs := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs {
			return 0, errMoneySyntax
		}
		fracDigits = s[fs:i]
	}
	exp := 0
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		es := i
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ds := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == ds || i-ds > 3 {
			return 0, errMoneySyntax
		}
		e, err := strconv.Atoi(s[es:i])
		if err != nil {
			return 0, errMoneySyntax
		}
		exp = e
	}
	if i != n {
		return 0, errMoneySyntax
	}
	// The value is digits × 10^(exp − len(fracDigits)); cents multiply by 100 more.
	digits := trimLeftZeros(intDigits + fracDigits)
	shift := exp - len(fracDigits) + 2
	if shift < 0 {
		// Drop -shift trailing digits; they must all be zeros.
		drop := -shift
		if drop >= len(digits) {
			if digits != "" && !allZeros(digits) {
				return 0, errMoneyPrecision
			}
			digits = ""
		} else {
			if !allZeros(digits[len(digits)-drop:]) {
				return 0, errMoneyPrecision
			}
			digits = digits[:len(digits)-drop]
		}
		shift = 0
	}
	if digits == "" {
		return 0, nil // zero in any spelling, "-0" included
	}
	if neg {
		return 0, errMoneyNegative
	}
	// maxPriceCents has 10 digits; anything longer is too large before we even multiply.
	if len(digits)+shift > 10 {
		return 0, errMoneyTooLarge
	}
	var v int64
	for j := 0; j < len(digits); j++ {
		v = v*10 + int64(digits[j]-'0')
	}
	for ; shift > 0; shift-- {
		v *= 10
	}
	if v > maxPriceCents {
		return 0, errMoneyTooLarge
	}
	return v, nil
}

func trimLeftZeros(s string) string {
	for len(s) > 0 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

func allZeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// money is an amount in cents that marshals as an exact JSON number with two decimals: 9999 → 99.99,
// 5 → 0.05, 100 → 1.00.
type money int64

// appendMoney appends cents as a decimal with two places.
func appendMoney(b []byte, cents int64) []byte {
	if cents < 0 {
		b = append(b, '-')
		cents = -cents
	}
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10))
	return b
}

// formatMoney returns cents as a decimal string with two places.
func formatMoney(cents int64) string { return string(appendMoney(nil, cents)) }

// MarshalJSON writes the amount as a JSON number, never through float64.
func (m money) MarshalJSON() ([]byte, error) { return appendMoney(nil, int64(m)), nil }
