package stack

import (
	"bytes"
	"io"
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

// TestProgramOutputQuiet checks that discarded logs cost nothing per line: the program's output goes
// straight to its file, without the prefix writer's parsing, and still reaches the file.
func TestProgramOutputQuiet(t *testing.T) {
	t.Parallel()
	var file bytes.Buffer
	w := programOutput(&file, io.Discard, "order")
	if w != io.Writer(&file) {
		t.Errorf("programOutput(file, io.Discard) = %T, want the file itself", w)
	}
	var shown bytes.Buffer
	w = programOutput(&file, &shown, "order")
	io.WriteString(w, `{"level":"INFO","msg":"hello"}`+"\n")
	if !strings.Contains(shown.String(), "order") || !strings.Contains(file.String(), `"msg":"hello"`) {
		t.Errorf("programOutput(file, logs): logs got %q, file %q; want both", shown.String(), file.String())
	}
}

// TestLastWarnings: DumpLogs picks the warnings and errors of both slog handlers, newest last, at
// most n of them, and nothing else.
func TestLastWarnings(t *testing.T) {
	log := []byte(`{"level":"INFO","msg":"request"}
{"level":"WARN","msg":"one"}
time=x level=ERROR msg=two
{"level":"ERROR","msg":"three"}
`)
	got := lastWarnings(log, 2)
	if len(got) != 2 || string(got[1]) != `{"level":"ERROR","msg":"three"}` || bytes.Contains(got[0], []byte("request")) {
		t.Errorf("lastWarnings(log, 2) = %q; want the last two warning or error lines", got)
	}
	if all := lastWarnings(log, 10); len(all) != 3 {
		t.Errorf("lastWarnings(log, 10) = %q, want the 3 warning and error lines", all)
	}
}
