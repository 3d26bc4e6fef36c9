package main

import (
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
)

func TestParseMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr error
	}{
		{"99.99", 9999, nil},
		{"0.1", 10, nil},
		{"0.01", 1, nil},
		{"1", 100, nil},
		{"0", 0, nil},
		{"-0", 0, nil},
		{"0.00", 0, nil},
		{"19.990", 1999, nil},
		{"1e2", 10000, nil},
		{"1.5E+1", 1500, nil},
		{"12345e-2", 12345, nil},
		{"1e-2", 1, nil},
		{"10000000", 1_000_000_000, nil},
		{"10000000.00", 1_000_000_000, nil},
		{"1.005", 0, errMoneyPrecision},
		{"0.001", 0, errMoneyPrecision},
		{"1e-3", 0, errMoneyPrecision},
		{"-1", 0, errMoneyNegative},
		{"-0.01", 0, errMoneyNegative},
		{"10000000.01", 0, errMoneyTooLarge},
		{"1e300", 0, errMoneyTooLarge},
		{"99999999999999999999999", 0, errMoneyTooLarge},
		{"", 0, errMoneySyntax},
		{"01", 0, errMoneySyntax},
		{"1.", 0, errMoneySyntax},
		{".5", 0, errMoneySyntax},
		{"+1", 0, errMoneySyntax},
		{"1e", 0, errMoneySyntax},
		{"1e1000", 0, errMoneySyntax},
		{"NaN", 0, errMoneySyntax},
		{"1,5", 0, errMoneySyntax},
		{"\"9.99\"", 0, errMoneySyntax},
		{" 1", 0, errMoneySyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseMoney(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("parseMoney(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseMoney(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestMoneyJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cents int64
		want  string
	}{{9999, "99.99"}, {5, "0.05"}, {100, "1.00"}, {0, "0.00"}, {1_000_000_000, "10000000.00"}, {-150, "-1.50"}}
	for _, tt := range tests {
		b, err := json.Marshal(struct {
			P money `json:"p"`
		}{money(tt.cents)})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"p":` + tt.want + `}`; string(b) != want {
			t.Errorf("marshal %d = %s, want %s", tt.cents, b, want)
		}
	}
}

// FuzzParseMoney checks parseMoney against math/big on every input that is a JSON number: it must
// agree exactly, never panic, and its output must survive a format/parse round trip.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"99.99", "0.1", "1e2", "-0", "1.005", "10000000.01", "1e-2", "0.000", "9.990e1", "abc", "01", "1E+3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cents, err := parseMoney(s)
		if err != nil {
			if cents != 0 {
				t.Fatalf("parseMoney(%q) = %d with error %v", s, cents, err)
			}
		} else {
			if cents < 0 || cents > maxPriceCents {
				t.Fatalf("parseMoney(%q) = %d out of range", s, cents)
			}
			back, err := parseMoney(formatMoney(cents))
			if err != nil || back != cents {
				t.Fatalf("round trip of %q: %s → %d, %v", s, formatMoney(cents), back, err)
			}
		}
		if !json.Valid([]byte(s)) || len(s) > 64 {
			return
		}
		var n json.Number
		if json.Unmarshal([]byte(s), &n) != nil {
			return // a string or other value, not a number
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return
		}
		if expDigits(s) > 3 {
			return // parseMoney allows at most three exponent digits
		}
		r.Mul(r, big.NewRat(100, 1))
		exact := r.IsInt()
		switch {
		case r.Sign() < 0:
			// A negative amount with too many decimals may be reported either way.
			if err == nil {
				t.Fatalf("parseMoney(%q) accepted a negative amount", s)
			}
		case !exact:
			if !errors.Is(err, errMoneyPrecision) {
				t.Fatalf("parseMoney(%q) error = %v, want precision error", s, err)
			}
		case r.Num().Cmp(big.NewInt(maxPriceCents)) > 0:
			if !errors.Is(err, errMoneyTooLarge) {
				t.Fatalf("parseMoney(%q) error = %v, want too large", s, err)
			}
		default:
			if err != nil || cents != r.Num().Int64() {
				t.Fatalf("parseMoney(%q) = %d, %v; want %s", s, cents, err, r.Num())
			}
		}
	})
}

// expDigits returns how many digits the exponent of a JSON number text has (0 without one).
func expDigits(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 'e' || s[i] == 'E' {
			return len(strings.TrimLeft(s[i+1:], "+-"))
		}
	}
	return 0
}
