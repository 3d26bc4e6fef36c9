package shared_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
)

// TestServePprof: PPROF_ADDR unset serves nothing; set, the profiles answer on that listener until
// shutdown (Abort runs the closers), and a taken port is an error at start.
func TestServePprof(t *testing.T) {
	t.Parallel()
	if addr := shared.NewEnv(func(string) string { return "" }).Pprof(); addr != "" {
		t.Fatalf("Pprof() with PPROF_ADDR unset = %q, want empty (off)", addr)
	}
	s := shared.NewService(io.Discard, "test", "info")
	if err := s.ServePprof(""); err != nil {
		t.Fatalf("ServePprof(\"\") = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := s.ServePprof(addr); err == nil || !strings.Contains(err.Error(), "pprof") {
		t.Errorf("ServePprof(taken port) = %v, want a pprof error", err)
	}
	ln.Close()
	if err := s.ServePprof(addr); err != nil {
		t.Fatalf("ServePprof(%s) = %v", addr, err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/cmdline = %d, want 200", resp.StatusCode)
	}
	s.Abort(nil)
	if resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline"); err == nil {
		resp.Body.Close()
		t.Errorf("pprof still answers after shutdown (%d)", resp.StatusCode)
	}
}
