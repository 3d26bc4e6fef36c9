package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// prefixWriter writes each complete line of a program's output to w as "name | line", turning the
// programs' JSON log lines into a short human form: time, level, message, then the other fields.
type prefixWriter struct {
	w    io.Writer
	name string
	mu   sync.Mutex
	buf  []byte
}

// programOutput is where a program's output goes: its log file and, prefixed and made readable,
// logs. With logs discarded (the launcher's -quiet, the test suites) it is the file alone: the
// prefix writer parses every JSON line to render it, which under load cost the launcher more CPU than
// some of the programs (docs/performance.md), only to throw the result away.
func programOutput(file, logs io.Writer, name string) io.Writer {
	if logs == io.Discard {
		return file
	}
	return io.MultiWriter(file, newPrefixWriter(logs, name))
}

// outMu serialises lines from all programs so they never interleave mid-line.
var outMu sync.Mutex

func newPrefixWriter(w io.Writer, name string) *prefixWriter {
	return &prefixWriter{w: w, name: name}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		line := HumanLine(p.buf[:i])
		p.buf = p.buf[i+1:]
		outMu.Lock()
		fmt.Fprintf(p.w, "%-10s | %s\n", p.name, line)
		outMu.Unlock()
	}
	return len(b), nil
}

// HumanLine renders one slog JSON line as "15:04:05 INFO msg k=v ..."; other text comes back as is.
func HumanLine(line []byte) string {
	var m map[string]any
	if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &m) != nil {
		return string(line)
	}
	var sb strings.Builder
	if ts, ok := m["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			sb.WriteString(t.Local().Format("15:04:05 "))
		}
	}
	if lv, ok := m["level"].(string); ok {
		fmt.Fprintf(&sb, "%-5s ", lv)
	}
	if msg, ok := m["msg"].(string); ok {
		sb.WriteString(msg)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		switch k {
		case "time", "level", "msg", "service":
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := json.Marshal(m[k])
		s := string(v)
		if str, ok := m[k].(string); ok && !strings.ContainsAny(str, " \"=") {
			s = str
		}
		fmt.Fprintf(&sb, " %s=%s", k, s)
	}
	return sb.String()
}
