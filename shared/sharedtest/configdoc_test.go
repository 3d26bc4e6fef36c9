package sharedtest

import (
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
