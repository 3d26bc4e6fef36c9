package stack

import (
	"os"
	"testing"
)

// TestProgramsRunWithOneP checks the Go runtime environment the stack gives its programs: one P for
// every program but auth, and a GOMAXPROCS of the caller's environment or of Options.Env wins.
func TestProgramsRunWithOneP(t *testing.T) {
	t.Setenv("GOMAXPROCS", "") // restored at the end
	os.Unsetenv("GOMAXPROCS")
	s := &Stack{}
	for _, p := range Programs {
		got, ok := lastValue(s.env(p, p.Port), "GOMAXPROCS")
		if p.Name == "auth" {
			if got != "" {
				t.Errorf("%s: GOMAXPROCS=%q, want it unset", p.Name, got)
			}
			continue
		}
		if !ok || got != "1" {
			t.Errorf("%s: GOMAXPROCS=%q (set: %v), want 1", p.Name, got, ok)
		}
	}

	t.Setenv("GOMAXPROCS", "2")
	if got, _ := lastValue(s.env(Programs[4], 5003), "GOMAXPROCS"); got != "2" {
		t.Errorf("caller's GOMAXPROCS=2: order gets %q, want 2", got)
	}
	s.opts.Env = map[string]string{"GOMAXPROCS": "3"}
	if got, _ := lastValue(s.env(Programs[4], 5003), "GOMAXPROCS"); got != "3" {
		t.Errorf("Options.Env GOMAXPROCS=3: order gets %q, want 3", got)
	}
}

// TestLauncherProcs checks the launcher's own Ps: one, unless it serves FerretDB or the caller set
// GOMAXPROCS.
func TestLauncherProcs(t *testing.T) {
	for _, c := range []struct {
		mongo, gomaxprocs string
		want              int
	}{
		{"mem", "", 1},
		{"mongodb://127.0.0.1:27017", "", 1},
		{"ferret", "", 0},
		{"mem", "2", 0},
		{"mem", "1", 0},
	} {
		getenv := func(k string) string {
			if k == "GOMAXPROCS" {
				return c.gomaxprocs
			}
			return ""
		}
		if got := LauncherProcs(c.mongo, getenv); got != c.want {
			t.Errorf("LauncherProcs(%q) with GOMAXPROCS=%q = %d, want %d", c.mongo, c.gomaxprocs, got, c.want)
		}
	}
}
