package shared

import (
	"errors"
	"strconv"
)

// Cents is an amount of money in minor units of a two-decimal currency (see Currencies). Storage and
// events carry it as the integer; the API carries it as an exact JSON number in major units with two
// decimals: Cents(9999) is 99.99, Cents(5) is 0.05. No float is involved anywhere.
//
// The zero value is 0.00. MarshalJSON writes any int64, negatives included ("-1.50"); ParseCents and
// UnmarshalJSON accept only 0 ≤ c ≤ MaxCents.
type Cents int64

// MaxCents bounds every amount parsed from outside: 1e9 minor units (10,000,000.00). Anything above
// is a typo or an attack, and the bound keeps sums of many lines far from int64 overflow.
const MaxCents Cents = 1_000_000_000

// maxMoneyText bounds the input ParseCents reads: a valid amount needs at most a few dozen bytes, and
// the bound makes the cost of hostile input (megabytes of digits) constant.
const maxMoneyText = 64

// The errors of ParseCents. Their texts are API field messages (they follow the field name).
var (
	ErrMoneySyntax    = errors.New("must be a decimal number such as 99.99")
	ErrMoneyNegative  = errors.New("must not be negative")
	ErrMoneyPrecision = errors.New("must have at most 2 decimal places")
	ErrMoneyTooLarge  = errors.New("must not exceed 10000000.00")
)

// ParseCents converts the text of a JSON number into cents exactly. The rules:
//
//   - Syntax is the JSON number grammar (RFC 8259 § 6) and nothing else: no leading '+', no leading
//     zeros ("01"), no bare ".5" or "5.", no whitespace, no "NaN", no quotes, at most 64 bytes.
//     Exponent forms are JSON numbers and are accepted exactly: "1e2" is 10000, "12345e-2" is 12345.
//   - The value must be a whole number of cents: digits after the second decimal must be zeros
//     ("19.990" is 1999), otherwise ErrMoneyPrecision ("0.005", "1e-3"). Nothing is ever rounded.
//   - Negative amounts are ErrMoneyNegative; zero in any spelling ("-0", "0e5", "0.000") is 0.
//   - Amounts above MaxCents are ErrMoneyTooLarge, however many digits or exponent they have.
//
// Otherwise the error is ErrMoneySyntax. On error the amount is 0.
func ParseCents(s string) (Cents, error) {
	return parseCents(s, false)
}

// ParseCentsUnbounded reads an amount the platform wrote itself (Cents.MarshalJSON in an API answer)
// for showing or adding up, never one a person or client typed: ParseCents's grammar and precision
// rules, but negatives are read and the bound is the int64 range instead of MaxCents, because sums
// (an order's total, a day's revenue) go far over the bound on input. A value outside int64 is
// ErrMoneyTooLarge. For every int64 c, ParseCentsUnbounded(c.String()) == c.
func ParseCentsUnbounded(s string) (Cents, error) {
	return parseCents(s, true)
}

// parseCents is ParseCents, or ParseCentsUnbounded when unbounded.
func parseCents(s string, unbounded bool) (Cents, error) {
	n := len(s)
	if n == 0 || n > maxMoneyText {
		return 0, ErrMoneySyntax
	}
	i := 0
	neg := s[0] == '-'
	if neg {
		i++
	}
	intStart := i
	if i < n && s[i] == '0' {
		i++
	} else {
		i = skipDigits(s, i)
	}
	if i == intStart {
		return 0, ErrMoneySyntax
	}
	intDigits := s[intStart:i]
	fracDigits := ""
	if i < n && s[i] == '.' {
		fs := i + 1
		i = skipDigits(s, fs)
		if i == fs {
			return 0, ErrMoneySyntax
		}
		fracDigits = s[fs:i]
	}
	exp := 0
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := i < n && s[i] == '-'
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ds := i
		i = skipDigits(s, ds)
		if i == ds {
			return 0, ErrMoneySyntax
		}
		for _, d := range s[ds:i] {
			// Saturate: 1000 already moves any 64-byte mantissa far past MaxCents or below a cent.
			exp = min(exp*10+int(d-'0'), 1000)
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != n {
		return 0, ErrMoneySyntax
	}

	// The value is digits × 10^(exp − len(fracDigits)); in cents, × 100 more.
	digits := trimLeadingZeros(intDigits + fracDigits)
	shift := exp - len(fracDigits) + 2
	if shift < 0 {
		drop := min(-shift, len(digits))
		if !allZeros(digits[len(digits)-drop:]) {
			return 0, ErrMoneyPrecision
		}
		digits, shift = digits[:len(digits)-drop], 0
	}
	if digits == "" {
		return 0, nil
	}
	if neg && !unbounded {
		return 0, ErrMoneyNegative
	}
	// Up to 19 digits fit in a uint64 (< 1.8e19) and int64 holds no 20-digit number, so the bound is
	// checked on the value afterwards, without overflow.
	if len(digits)+shift > 19 {
		return 0, ErrMoneyTooLarge
	}
	var u uint64
	for j := 0; j < len(digits); j++ {
		u = u*10 + uint64(digits[j]-'0')
	}
	for ; shift > 0; shift-- {
		u *= 10
	}
	limit := uint64(MaxCents)
	switch {
	case unbounded && neg:
		limit = 1 << 63 // -limit is math.MinInt64
	case unbounded:
		limit = 1<<63 - 1
	}
	if u > limit {
		return 0, ErrMoneyTooLarge
	}
	if neg {
		return Cents(-u), nil // two's complement: -(1<<63) is math.MinInt64
	}
	return Cents(u), nil
}

func skipDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func trimLeadingZeros(s string) string {
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

// AppendText appends c in major units with exactly two decimals ("99.99", "0.05", "-1.50"); it
// implements encoding.TextAppender and never fails.
func (c Cents) AppendText(b []byte) ([]byte, error) {
	u := uint64(c)
	if c < 0 {
		b = append(b, '-')
		u = -u // two's complement: right for math.MinInt64 too
	}
	b = strconv.AppendUint(b, u/100, 10)
	return append(b, '.', byte('0'+u%100/10), byte('0'+u%10)), nil
}

// String returns c as AppendText writes it; ParseCents(c.String()) == c for 0 ≤ c ≤ MaxCents, and
// ParseCentsUnbounded(c.String()) == c for every c.
func (c Cents) String() string {
	b, _ := c.AppendText(make([]byte, 0, 24))
	return string(b)
}

// MarshalJSON writes c as a JSON number (not a string) with two decimals.
func (c Cents) MarshalJSON() ([]byte, error) { return c.AppendText(make([]byte, 0, 24)) }

// UnmarshalJSON reads a JSON number with ParseCents's rules; a JSON string, or any other kind of
// value, is ErrMoneySyntax, so "price":"9.99" is refused as it always was. A JSON null leaves c alone,
// as encoding/json does for every type.
func (c *Cents) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := ParseCents(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// DefaultCurrency is the currency of an amount that names none.
const DefaultCurrency = "USD"

// currencySymbol returns the symbol of one of the currencies the platform prices in, all ISO 4217
// codes with two decimal places, so that Cents is exact for each. A currency with another exponent
// (JPY, BHD) needs its own rules in ParseCents and AppendText before it can be added here.
func currencySymbol(code string) (string, bool) {
	switch code {
	case "USD":
		return "$", true
	case "EUR":
		return "€", true
	case "GBP":
		return "£", true
	}
	return "", false
}

// KnownCurrency reports whether code (upper case) is a currency the platform prices in: USD, EUR, GBP.
func KnownCurrency(code string) bool {
	_, ok := currencySymbol(code)
	return ok
}

// Money is an amount with its currency, for showing to people.
type Money struct {
	Amount   Cents
	Currency string // ISO 4217 code; empty means DefaultCurrency
}

// String renders m for people, with thousands separators: "$1,234.50", "-€1.50", and for a currency
// without a known symbol the code after the number: "3.10 CHF".
func (m Money) String() string {
	cur := m.Currency
	if cur == "" {
		cur = DefaultCurrency
	}
	plain := m.Amount.String()
	sign := ""
	if plain[0] == '-' {
		sign, plain = "-", plain[1:]
	}
	dot := len(plain) - 3
	b := make([]byte, 0, len(plain)+len(plain)/3+8)
	b = append(b, sign...)
	sym, known := currencySymbol(cur)
	b = append(b, sym...)
	for i := 0; i < dot; i++ {
		if i > 0 && (dot-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, plain[i])
	}
	b = append(b, plain[dot:]...)
	if !known {
		b = append(b, ' ')
		b = append(b, cur...)
	}
	return string(b)
}
