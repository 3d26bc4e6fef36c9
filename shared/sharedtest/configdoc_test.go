package sharedtest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
)

func TestConfigDocDiff(t *testing.T) {
	t.Parallel()
	const doc = "# Configuration\n\n## auth ([docs/auth.md](auth.md))\n" +
		"| variable | kind | default | meaning |\n|---|---|---|---|\n" +
		"| `HTTP_ADDR` | host:port | `127.0.0.1:4000` | listen address |\n" +
		"| `REDIS_PASSWORD` | secret |  | password |\n" +
		"| `AUTH_ACCESS_TTL` | duration >= 1m | `10m` | access token lifetime |\n" +
		"| `AUTH_GONE` | string | | no longer read |\n" +
		"\n## user\n| variable | kind | default | meaning |\n|---|---|---|---|\n| `USER_ONLY` | string | | |\n"
	vars := []shared.EnvVar{
		{Name: "HTTP_ADDR", Kind: "host:port", Default: "127.0.0.1:4000"},
		{Name: "REDIS_PASSWORD", Kind: "secret"},
		{Name: "AUTH_ACCESS_TTL", Kind: "duration >= 1m", Default: "15m"},
		{Name: "TRUSTED_PROXIES", Kind: "list of IP or CIDR", Default: "127.0.0.1/32"},
		{Name: "HTTP_ADDR", Kind: "host:port", Default: "127.0.0.1:4000"},
	}
	got := strings.Join(ConfigDocDiff(doc, "auth", vars), "\n")
	for _, want := range []string{
		"| `TRUSTED_PROXIES` | list of IP or CIDR | `127.0.0.1/32` | <what it does> |", // read, not documented
		"AUTH_GONE, which auth does not read",                                          // documented, not read
		`AUTH_ACCESS_TTL is documented as kind "duration >= 1m", default "10m"; the code reads kind "duration >= 1m", default "15m"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ConfigDocDiff does not say %q; it says:\n%s", want, got)
		}
	}
	if n := len(ConfigDocDiff(doc, "auth", vars)); n != 3 {
		t.Errorf("ConfigDocDiff found %d differences, want 3:\n%s", n, got)
	}
	if strings.Contains(got, "USER_ONLY") || strings.Contains(got, "REDIS_PASSWORD") {
		t.Errorf("ConfigDocDiff reports a row of another section or a matching row:\n%s", got)
	}
	if d := ConfigDocDiff(doc, "order", vars[:1]); len(d) != 1 || !strings.Contains(d[0], `no "## order" section`) {
		t.Errorf("missing section: %q", d)
	}
}

// recordTB records what a check reports instead of failing the test; Fatalf ends the goroutine, as
// testing's does.
type recordTB struct {
	testing.TB
	msgs []string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recordTB) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }

// TestCheckBadConfig: a loader that accepts the bad values, or names only some of them, fails the
// check once per missing name; one that names them all passes.
func TestCheckBadConfig(t *testing.T) {
	t.Parallel()
	bad := map[string]string{"A_VAR": "x", "B_VAR": "y"}
	for _, tt := range []struct {
		name  string
		names []string // what the loader's error names
		want  []string // what the check reports, in order
	}{
		{"accepts", nil, []string{"bad values accepted"}},
		{"names one", []string{"A_VAR"}, []string{"does not name B_VAR"}},
		{"names both", []string{"A_VAR", "B_VAR"}, nil},
	} {
		load := func(getenv func(string) string) (int, error) {
			if len(tt.names) == 0 {
				return 0, nil
			}
			for _, n := range tt.names {
				if getenv(n) != bad[n] {
					t.Errorf("load read %s = %q, want %q", n, getenv(n), bad[n])
				}
			}
			return 0, errors.New(strings.Join(tt.names, ", "))
		}
		rec := &recordTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			CheckBadConfig(rec, load, bad)
		}()
		<-done
		if len(rec.msgs) != len(tt.want) {
			t.Errorf("%s: reported %q, want %d messages", tt.name, rec.msgs, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(rec.msgs[i], w) {
				t.Errorf("%s: reported %q, want %q", tt.name, rec.msgs[i], w)
			}
		}
	}
}
