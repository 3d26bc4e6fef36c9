package stack

import (
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// superviseHelperEnv, when set, makes this test binary the program supervise_test.go starts in
// place of a real one: the value is a marker file. The first run creates it and exits with status
// 3 (a crash after start); a later run (the restart) serves until SIGTERM and exits 0.
const superviseHelperEnv = "STACK_SUPERVISE_HELPER"

func TestMain(m *testing.M) {
	if marker := os.Getenv(superviseHelperEnv); marker != "" {
		os.Exit(superviseHelper(marker))
	}
	os.Exit(m.Run())
}

func superviseHelper(marker string) int {
	if _, err := os.Stat(marker); os.IsNotExist(err) {
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return 1
		}
		return 3
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	return 0
}

// lineWriter sends each write (Stack.notice writes one line at a time) to a channel.
type lineWriter chan string

func (w lineWriter) Write(b []byte) (int, error) {
	w <- string(b)
	return len(b), nil
}

// TestSuperviseRestartsAnExitedProgram: with Options.Supervise, an instance that exits without the
// Stack asking (here it exits with status 3 just after start) is reported, naming it and its exit
// status, and started again; a Kill or a Close the Stack is asked for is neither reported nor
// restarted.
func TestSuperviseRestartsAnExitedProgram(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"bin", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(dir, "bin", "order")); err != nil {
		t.Fatal(err)
	}
	lines := make(lineWriter, 16)
	s := &Stack{opts: Options{Dir: dir, Logs: io.Discard, Supervise: lines}, procs: map[string]*proc{},
		quit: make(chan struct{}), restartMin: time.Millisecond}
	s.supervising.Store(true)
	defer s.Close()
	env := append(os.Environ(), superviseHelperEnv+"="+filepath.Join(dir, "ran"))
	if err := s.spawn("order", "order", env); err != nil {
		t.Fatal(err)
	}
	first, _ := s.proc("order")

	next := func(want ...string) string {
		t.Helper()
		select {
		case line := <-lines:
			for _, w := range want {
				if !strings.Contains(line, w) {
					t.Errorf("notice %q, want it to say %q", line, w)
				}
			}
			return line
		case <-time.After(30 * time.Second): // a guard, not a wait: the notice comes at once
			t.Fatalf("no notice within 30 s, want one saying %q", want)
			return ""
		}
	}
	next("order exited unexpectedly", "exit status 3", filepath.Join(dir, "logs", "order.log"))
	next("order restarted")
	second, err := s.proc("order")
	if err != nil || second == first || second.exited() {
		t.Fatalf("after the restart: instance %p (first %p), err %v, want a new one running", second, first, err)
	}

	// Exits the Stack asks for: decided before done closes, so nothing may be waiting by now.
	if err := s.Kill("order"); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart("order"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v, want nil (the helper exits 0 on SIGTERM)", err)
	}
	select {
	case line := <-lines:
		t.Errorf("after Kill, Restart and Close: notice %q, want none", line)
	default:
	}
	if third, _ := s.proc("order"); third != nil {
		t.Errorf("after Close an instance is still registered")
	}
}
