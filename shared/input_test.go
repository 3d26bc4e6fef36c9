package shared

import (
	"net/url"
	"strings"
	"testing"
)

func TestIsWord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s     string
		max   int
		punct string
		want  bool
	}{
		{"SKU-1", 64, "-", true},
		{"sku_1.a", 64, "-_.", true},
		{"Z", 1, "", true},
		{"", 64, "-", false},
		{strings.Repeat("A", 65), 64, "-", false},
		{strings.Repeat("A", 64), 64, "-", true},
		{"a.b", 64, "-", false},
		{"$where", 64, "-_", false},
		{"a b", 64, "-", false},
		{"a/b", 128, "-_.", false},
		{"é", 64, "-", false},
		{"A\x00", 64, "-", false},
		{"a%2e", 64, "-", false},
	}
	for _, tt := range tests {
		if got := IsWord(tt.s, tt.max, tt.punct); got != tt.want {
			t.Errorf("IsWord(%q, %d, %q) = %v, want %v", tt.s, tt.max, tt.punct, got, tt.want)
		}
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	if id := NewID(); !ValidID(id) {
		t.Errorf("ValidID(NewID() = %q) = false", id)
	}
	for _, s := range []string{"", "0123456789abcdef0123456789abcde", "0123456789ABCDEF0123456789abcdef",
		"0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0", "../3456789abcdef0123456789abcdef"} {
		if ValidID(s) {
			t.Errorf("ValidID(%q) = true, want false", s)
		}
	}
}

func TestRandomToken(t *testing.T) {
	t.Parallel()
	a, b := RandomToken(), RandomToken()
	if len(a) != RandomTokenLen || a == b || !ValidRandomToken(a) {
		t.Fatalf("RandomToken() = %q, %q: want two different valid tokens of %d characters", a, b, RandomTokenLen)
	}
	for _, s := range []string{"", a[:42], a + "A", a[:42] + "=", a[:42] + "+", a[:42] + "/"} {
		if ValidRandomToken(s) {
			t.Errorf("ValidRandomToken(%q) = true, want false", s)
		}
	}
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s         string
		multiline bool
		want      bool
	}{
		{"Blue Mug", false, true},
		{"é 漢字 😀 \u2028", false, true},
		{"", false, true},
		{"a\nb", false, false},
		{"a\nb\r\n\tc", true, true},
		{"a\x00b", true, false},
		{"a\x1bb", true, false},
		{"a\x7fb", false, false},
		{"a\u0085b", true, false}, // C1 control (NEL)
		{"a\xffb", false, false},
		{"\xed\xa0\x80", false, false},         // a UTF-16 surrogate, invalid in UTF-8
		{"\u202egnp.exe", false, false},        // right-to-left override
		{"a\u202ab", true, false},              // left-to-right embedding
		{"a\u2066b\u2069", false, false},       // an isolate
		{"a\u2069", false, false},              // pop directional isolate
		{"a\u202fb", false, true},              // narrow no-break space, past the range
		{"a\u2065b", false, true},              // unassigned, before the isolates
		{"שלום \u200fעולם\u200e", false, true}, // the marks right-to-left text uses
	}
	for _, tt := range tests {
		if got := Printable(tt.s, tt.multiline); got != tt.want {
			t.Errorf("Printable(%q, %v) = %v, want %v", tt.s, tt.multiline, got, tt.want)
		}
	}
}

func TestQueryInt(t *testing.T) {
	t.Parallel()
	const msg = "must be an integer from 1 to 100"
	tests := []struct {
		query   string
		want    int
		problem string
	}{
		{"", 20, ""},
		{"limit=", 20, ""},
		{"limit=1", 1, ""},
		{"limit=100", 100, ""},
		{"limit=0", 20, msg},
		{"limit=101", 20, msg},
		{"limit=-5", 20, msg},
		{"limit=ten", 20, msg},
		{"limit=1.5", 20, msg},
		{"limit=99999999999999999999", 20, msg},
		{"other=5", 20, ""},
	}
	for _, tt := range tests {
		v, _ := url.ParseQuery(tt.query)
		fields := map[string]string{}
		got := QueryInt(v, "limit", 20, 1, 100, fields)
		if got != tt.want || fields["limit"] != tt.problem || len(fields) > 1 {
			t.Errorf("QueryInt(%q) = %d, fields %v; want %d, limit %q", tt.query, got, fields, tt.want, tt.problem)
		}
	}
}

// TestValidIdempotencyKey: 1 to 255 visible ASCII characters, nothing else (order and inventory
// answer anything else with 400 naming Idempotency-Key).
func TestValidIdempotencyKey(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]bool{
		"a": true, "run-1": true, "~!{}": true, strings.Repeat("k", MaxIdempotencyKey): true,
		"": false, strings.Repeat("k", MaxIdempotencyKey+1): false, "has space": false, "tab\t": false,
		"é": false, "\x7f": false,
	} {
		if got := ValidIdempotencyKey(k); got != want {
			t.Errorf("ValidIdempotencyKey(%q) = %v, want %v", k, got, want)
		}
	}
}
