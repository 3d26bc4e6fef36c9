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
