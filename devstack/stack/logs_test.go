package stack

import (
	"bytes"
	"strings"
	"testing"
)

func TestHumanLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`{"time":"2026-01-02T03:04:05Z","level":"INFO","msg":"request","service":"auth","status":200,"path":"/login"}`, `INFO  request path=/login status=200`},
		{`{"level":"WARN","msg":"x","err":"dial tcp: refused"}`, `WARN  x err="dial tcp: refused"`},
		{`plain text line`, `plain text line`},
		{`{not json`, `{not json`},
	}
	for _, tt := range tests {
		if got := HumanLine([]byte(tt.in)); !strings.HasSuffix(got, tt.want) {
			t.Errorf("HumanLine(%s) = %q, want suffix %q", tt.in, got, tt.want)
		}
	}
}

func TestPrefixWriterSplitsLines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := newPrefixWriter(&out, "order")
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\n"))
	if got, want := out.String(), "order      | one\norder      | two\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}
