package shared

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestParseCents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Cents
		wantErr error
	}{
		{"99.99", 9999, nil},
		{"0.1", 10, nil},
		{"0.01", 1, nil},
		{"1", 100, nil},
		{"0", 0, nil},
		{"-0", 0, nil},
		{"-0.00", 0, nil},
		{"0e99999999", 0, nil},
		{"0.000", 0, nil},
		{"19.990", 1999, nil},
		{"1e2", 10000, nil},
		{"1E2", 10000, nil},
		{"1.5E+1", 1500, nil},
		{"12345e-2", 12345, nil},
		{"1e-2", 1, nil},
		{"1000e-5", 1, nil},
		{"10000000", MaxCents, nil},
		{"10000000.00", MaxCents, nil},
		{"0.005", 0, ErrMoneyPrecision},
		{"1.005", 0, ErrMoneyPrecision},
		{"1e-3", 0, ErrMoneyPrecision},
		{"1e-99999999", 0, ErrMoneyPrecision},
		{"-1", 0, ErrMoneyNegative},
		{"-0.01", 0, ErrMoneyNegative},
		{"-1e300", 0, ErrMoneyNegative},
		{"10000000.01", 0, ErrMoneyTooLarge},
		{"1e8", 0, ErrMoneyTooLarge},
		{"1e300", 0, ErrMoneyTooLarge},
		{"1e99999999999999999999", 0, ErrMoneyTooLarge},
		{"9223372036854775807", 0, ErrMoneyTooLarge},
		{"92233720368547758.08", 0, ErrMoneyTooLarge},
		{strings.Repeat("9", 64), 0, ErrMoneyTooLarge},
		{strings.Repeat("9", 65), 0, ErrMoneySyntax},
		{"1" + strings.Repeat("0", 1<<20), 0, ErrMoneySyntax},
		{"", 0, ErrMoneySyntax},
		{"-", 0, ErrMoneySyntax},
		{"01", 0, ErrMoneySyntax},
		{"00.5", 0, ErrMoneySyntax},
		{"5.", 0, ErrMoneySyntax},
		{".5", 0, ErrMoneySyntax},
		{"+1", 0, ErrMoneySyntax},
		{"1e", 0, ErrMoneySyntax},
		{"1e+", 0, ErrMoneySyntax},
		{"1.e2", 0, ErrMoneySyntax},
		{"NaN", 0, ErrMoneySyntax},
		{"Infinity", 0, ErrMoneySyntax},
		{"0x10", 0, ErrMoneySyntax},
		{"1,5", 0, ErrMoneySyntax},
		{"1_000", 0, ErrMoneySyntax},
		{`"9.99"`, 0, ErrMoneySyntax},
		{" 1", 0, ErrMoneySyntax},
		{"1 ", 0, ErrMoneySyntax},
		{"1\n", 0, ErrMoneySyntax},
		{"٣", 0, ErrMoneySyntax},
		{"1\x00", 0, ErrMoneySyntax},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 70 {
			name = name[:20] + "..."
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCents(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseCents(%q) error = %v, want %v", name, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseCents(%q) = %d, want %d", name, got, tt.want)
			}
		})
	}
}

func TestCentsFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    Cents
		want string
	}{
		{0, "0.00"}, {5, "0.05"}, {10, "0.10"}, {100, "1.00"}, {9999, "99.99"}, {MaxCents, "10000000.00"},
		{-150, "-1.50"}, {-5, "-0.05"},
		{math.MaxInt64, "92233720368547758.07"}, {math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Cents(%d).String() = %q, want %q", int64(tt.c), got, tt.want)
		}
		b, err := json.Marshal(struct {
			P Cents `json:"p"`
		}{tt.c})
		if want := `{"p":` + tt.want + `}`; err != nil || string(b) != want {
			t.Errorf("json.Marshal(%d) = %s, %v; want %s", int64(tt.c), b, err, want)
		}
	}
}

func TestCentsUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body    string
		want    Cents
		wantErr bool
	}{
		{`{"p":99.99}`, 9999, false},
		{`{"p":1e2}`, 10000, false},
		{`{"p":null}`, 7, false}, // null leaves the value alone
		{`{"p":"9.99"}`, 7, true},
		{`{"p":true}`, 7, true},
		{`{"p":[1]}`, 7, true},
		{`{"p":-1}`, 7, true},
		{`{"p":0.001}`, 7, true},
	}
	for _, tt := range tests {
		v := struct {
			P Cents `json:"p"`
		}{7}
		err := json.Unmarshal([]byte(tt.body), &v)
		if (err != nil) != tt.wantErr || v.P != tt.want {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d, error %v", tt.body, v.P, err, tt.want, tt.wantErr)
		}
	}
}

func TestMoneyString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    Money
		want string
	}{
		{Money{9999, "USD"}, "$99.99"}, {Money{123456750, "USD"}, "$1,234,567.50"}, {Money{0, ""}, "$0.00"},
		{Money{1200, "EUR"}, "€12.00"}, {Money{10000, "GBP"}, "£100.00"}, {Money{310, "CHF"}, "3.10 CHF"},
		{Money{-150, "USD"}, "-$1.50"}, {Money{100000, "USD"}, "$1,000.00"}, {Money{99999, "USD"}, "$999.99"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.m, got, tt.want)
		}
	}
	for code, want := range map[string]bool{"USD": true, "EUR": true, "GBP": true, "usd": false, "CHF": false, "": false} {
		if got := KnownCurrency(code); got != want {
			t.Errorf("KnownCurrency(%q) = %v, want %v", code, got, want)
		}
	}
}

// FuzzCentsRoundTrip: ParseCents(format(c)) == c for every amount in range, through String and
// through JSON, and every amount out of range is refused with the right error.
func FuzzCentsRoundTrip(f *testing.F) {
	for _, c := range []int64{0, 1, 5, 99, 100, 9999, int64(MaxCents), int64(MaxCents) + 1, -1, math.MaxInt64, math.MinInt64} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c int64) {
		s := Cents(c).String()
		got, err := ParseCents(s)
		switch {
		case c < 0:
			if !errors.Is(err, ErrMoneyNegative) {
				t.Fatalf("ParseCents(%q) = %d, %v; want ErrMoneyNegative", s, got, err)
			}
		case Cents(c) > MaxCents:
			if !errors.Is(err, ErrMoneyTooLarge) {
				t.Fatalf("ParseCents(%q) = %d, %v; want ErrMoneyTooLarge", s, got, err)
			}
		default:
			if err != nil || got != Cents(c) {
				t.Fatalf("ParseCents(%q) = %d, %v; want %d", s, got, err, c)
			}
			b, err := json.Marshal(Cents(c))
			if err != nil {
				t.Fatal(err)
			}
			var back Cents
			if err := json.Unmarshal(b, &back); err != nil || back != Cents(c) {
				t.Fatalf("JSON round trip of %d via %s = %d, %v", c, b, back, err)
			}
		}
	})
}

// FuzzParseCents: ParseCents never panics, returns 0 with every error, and on every JSON number agrees
// exactly with math/big: the value × 100 when it is a whole number of cents in range, otherwise the
// matching error. What it accepts formats back to itself.
func FuzzParseCents(f *testing.F) {
	for _, s := range []string{"99.99", "0.1", "1e2", "-0", "0.005", "1.005", "10000000.01", "1e-2", "0.000",
		"9.990e1", "abc", "01", "1E+3", ".5", "5.", " 1", "1e99999", "-1e-99999", strings.Repeat("1", 64),
		"92233720368547758.07", "92233720368547758.08", "-92233720368547758.08", "-92233720368547758.09", "-1.50"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCents(s)
		if err != nil {
			if c != 0 {
				t.Fatalf("ParseCents(%q) = %d with error %v", s, c, err)
			}
		} else {
			if c < 0 || c > MaxCents {
				t.Fatalf("ParseCents(%q) = %d out of range", s, c)
			}
			if back, err := ParseCents(c.String()); err != nil || back != c {
				t.Fatalf("round trip of %q: %s → %d, %v", s, c, back, err)
			}
		}
		var n json.Number
		if len(s) > maxMoneyText || json.Unmarshal([]byte(s), &n) != nil || string(n) != s {
			if err == nil {
				t.Fatalf("ParseCents(%q) accepted what is not a JSON number text", s)
			}
			if _, err := ParseCentsUnbounded(s); err == nil {
				t.Fatalf("ParseCentsUnbounded(%q) accepted what is not a JSON number text", s)
			}
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok || expTooBig(s) {
			return // math/big would need gigabytes for 1e999999999; the table covers these
		}
		r.Mul(r, big.NewRat(100, 1))
		switch u, uerr := ParseCentsUnbounded(s); {
		case !r.IsInt():
			if !errors.Is(uerr, ErrMoneyPrecision) {
				t.Fatalf("ParseCentsUnbounded(%q) error = %v, want ErrMoneyPrecision", s, uerr)
			}
		case !r.Num().IsInt64():
			if !errors.Is(uerr, ErrMoneyTooLarge) {
				t.Fatalf("ParseCentsUnbounded(%q) error = %v, want ErrMoneyTooLarge", s, uerr)
			}
		case uerr != nil || int64(u) != r.Num().Int64():
			t.Fatalf("ParseCentsUnbounded(%q) = %d, %v; want %s", s, u, uerr, r.Num())
		}
		switch {
		case r.Sign() < 0:
			if err == nil {
				t.Fatalf("ParseCents(%q) accepted a negative amount", s)
			}
		case !r.IsInt():
			if !errors.Is(err, ErrMoneyPrecision) {
				t.Fatalf("ParseCents(%q) error = %v, want ErrMoneyPrecision", s, err)
			}
		case r.Num().Cmp(big.NewInt(int64(MaxCents))) > 0:
			if !errors.Is(err, ErrMoneyTooLarge) {
				t.Fatalf("ParseCents(%q) error = %v, want ErrMoneyTooLarge", s, err)
			}
		default:
			if err != nil || int64(c) != r.Num().Int64() {
				t.Fatalf("ParseCents(%q) = %d, %v; want %s", s, c, err, r.Num())
			}
		}
	})
}

// expTooBig reports whether the exponent of a JSON number text has more than four digits.
func expTooBig(s string) bool {
	i := strings.IndexAny(s, "eE")
	return i >= 0 && len(strings.TrimLeft(s[i+1:], "+-0")) > 4
}

// TestParseCentsUnbounded: amounts the platform wrote itself (sums far over MaxCents, negatives)
// read back exactly, up to the int64 range; the JSON grammar and the precision rule are ParseCents's.
func TestParseCentsUnbounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Cents
		err  error
	}{
		{"10000000.01", MaxCents + 1, nil},
		{"19999999.98", 1_999_999_998, nil},
		{"200000010000.00", 20_000_001_000_000, nil},
		{"90071992547409.91", 1<<53 - 1, nil},
		{"92233720368547758.07", math.MaxInt64, nil},
		{"-92233720368547758.08", math.MinInt64, nil},
		{"-1.50", -150, nil},
		{"-0", 0, nil},
		{"1e9", 100_000_000_000, nil},
		{"92233720368547758.08", 0, ErrMoneyTooLarge},
		{"-92233720368547758.09", 0, ErrMoneyTooLarge},
		{"1e400", 0, ErrMoneyTooLarge},
		{"99999999999999999999", 0, ErrMoneyTooLarge},
		{"1.005", 0, ErrMoneyPrecision},
		{"+1", 0, ErrMoneySyntax},
		{`"1.00"`, 0, ErrMoneySyntax},
		{"1,000.00", 0, ErrMoneySyntax},
	}
	for _, tt := range tests {
		got, err := ParseCentsUnbounded(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseCentsUnbounded(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// FuzzCentsFormatExact: every int64 amount, far over MaxCents included, is written exactly: its
// String (and JSON) parsed back without the input bound is the amount, and Money.String is the same
// digits with a sign, a symbol and thousands separators every three digits.
func FuzzCentsFormatExact(f *testing.F) {
	for _, c := range []int64{0, 1, -1, 99, int64(MaxCents), int64(MaxCents) + 1, 1_999_999_998, 20_000_001_000_000,
		1 << 53, 1<<53 + 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c int64) {
		s := Cents(c).String()
		if got, err := ParseCentsUnbounded(s); err != nil || got != Cents(c) {
			t.Fatalf("ParseCentsUnbounded(%q) = %d, %v; want %d", s, got, err, c)
		}
		var back Cents
		if b, _ := json.Marshal(Cents(c)); json.Unmarshal(b, &back) == nil && Cents(c) > MaxCents {
			t.Fatalf("json.Unmarshal(%s) accepted an amount over MaxCents", b)
		}
		shown := Money{Amount: Cents(c), Currency: "USD"}.String()
		plain := strings.Replace(shown, "$", "", 1)
		if strings.Count(shown, "$") != 1 {
			t.Fatalf("Money.String() = %q, want one $", shown)
		}
		digits := strings.ReplaceAll(plain, ",", "")
		if digits != s {
			t.Fatalf("Money.String() = %q, want the digits of %q", shown, s)
		}
		whole := strings.TrimPrefix(plain[:len(plain)-3], "-")
		for i, part := range strings.Split(whole, ",") {
			if len(part) != 3 && (i > 0 || len(part) == 0 || len(part) > 3) {
				t.Fatalf("Money.String() = %q, groups of three digits wanted", shown)
			}
		}
	})
}
