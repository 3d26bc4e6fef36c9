package stack

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

// goRuntimeEnv are variables the Go runtime reads in every program.
var goRuntimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOGC": true, "GOMAXPROCS": true, "GODEBUG": true}

// composeEnv reads compose.yaml and returns, per block (a service name or an x- anchor), the
// environment keys it sets and their values. It understands the file's own simple layout, no more.
func composeEnv(tb testing.TB, path string) map[string]map[string]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var (
		out     = map[string]map[string]string{}
		block   string
		inEnv   bool
		envInd  int
		keyLine = regexp.MustCompile(`^(\s+)([A-Z][A-Z0-9_]*):\s*"?([^"]*)"?\s*$`)
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		ind := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case ind == 0 && strings.HasPrefix(line, "x-"):
			block, inEnv, envInd = strings.SplitN(strings.TrimSuffix(line, ":"), ":", 2)[0], true, 0
			continue
		case ind == 0:
			block, inEnv = "", false
			continue
		case ind == 2 && strings.HasSuffix(trim, ":"):
			block, inEnv = strings.TrimSuffix(trim, ":"), false
			continue
		}
		if strings.HasPrefix(trim, "environment:") {
			inEnv, envInd = true, ind
			continue
		}
		if inEnv && envInd > 0 && ind <= envInd {
			inEnv = false
		}
		if m := keyLine.FindStringSubmatch(line); inEnv && m != nil {
			if out[block] == nil {
				out[block] = map[string]string{}
			}
			out[block][m[2]] = m[3]
		}
	}
	return out
}

// programReads reports whether the program reads the variable: whether its table in docs/config.md
// lists it (each program's TestConfigDoc holds that table to what its loadConfig reads).
func programReads(tb testing.TB, root, program, key string) bool {
	tb.Helper()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "config.md"))
	if err != nil {
		tb.Fatal(err)
	}
	rows, found := sharedtest.ConfigDocTable(string(doc), program)
	if !found {
		tb.Fatalf("docs/config.md has no section for %s", program)
	}
	_, ok := rows[key]
	return ok
}

// TestComposeMatchesCode keeps compose.yaml honest while no Docker engine can run it: every variable it
// sets for a program is one that program reads, every program listens on its documented port, and
// every program has a service.
func TestComposeMatchesCode(t *testing.T) {
	root := filepath.Join("..", "..")
	env := composeEnv(t, filepath.Join(root, "compose.yaml"))
	shared := env["x-env"]
	if len(shared) == 0 {
		t.Fatal("compose.yaml: no x-env block found")
	}
	for key := range shared {
		readers := 0
		for _, p := range Programs {
			if programReads(t, root, p.Name, key) {
				readers++
			}
		}
		if readers == 0 {
			t.Errorf("compose.yaml x-env sets %s, which no program reads", key)
		}
	}
	for _, p := range Programs {
		vars, ok := env[p.Name]
		if !ok {
			t.Errorf("compose.yaml has no service %q", p.Name)
			continue
		}
		for key := range vars {
			if goRuntimeEnv[key] {
				continue // read by the Go runtime itself, not by our code
			}
			if !programReads(t, root, p.Name, key) {
				t.Errorf("compose.yaml sets %s for %s, which %s does not read", key, p.Name, p.Name)
			}
		}
		if want := ":" + strconv.Itoa(p.Port); vars["HTTP_ADDR"] != want {
			t.Errorf("compose.yaml %s HTTP_ADDR = %q, want %q", p.Name, vars["HTTP_ADDR"], want)
		}
		if p.Redis >= 0 && programReads(t, root, p.Name, "REDIS_DB") {
			if got := vars["REDIS_DB"]; got != strconv.Itoa(p.Redis) {
				t.Errorf("compose.yaml %s REDIS_DB = %q, want %d", p.Name, got, p.Redis)
			}
		}
	}
	if len(env["product-2"]) == 0 {
		t.Error("compose.yaml: the second product instance has no environment")
	}
}

// composeAddrs returns each service's fixed ipv4_address in compose.yaml.
func composeAddrs(tb testing.TB, path string) map[string]netip.Addr {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]netip.Addr{}
	service := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		trim := strings.TrimSpace(line)
		if ind := len(line) - len(strings.TrimLeft(line, " ")); ind == 2 && strings.HasSuffix(trim, ":") {
			service = strings.TrimSuffix(trim, ":")
		}
		if v, ok := strings.CutPrefix(trim, "ipv4_address:"); ok {
			v, _, _ = strings.Cut(v, "#")
			a, err := netip.ParseAddr(strings.TrimSpace(v))
			if err != nil {
				tb.Fatalf("compose.yaml %s: ipv4_address: %v", service, err)
			}
			out[service] = a
		}
	}
	return out
}

// TestComposeTrustsItsProxies: in compose a visitor's request reaches the back ends through the
// gateway, and a shopper's through the storefront and then the gateway, each adding the address it
// saw to X-Forwarded-For. A program that reads TRUSTED_PROXIES (to count limits per visitor) must
// trust every hop in front of it, at the fixed address compose gives that hop; otherwise every
// visitor has the gateway's address, and one visitor's failed logins lock everyone out.
func TestComposeTrustsItsProxies(t *testing.T) {
	root := filepath.Join("..", "..")
	env := composeEnv(t, filepath.Join(root, "compose.yaml"))
	addrs := composeAddrs(t, filepath.Join(root, "compose.yaml"))
	for _, p := range Programs {
		if !programReads(t, root, p.Name, "TRUSTED_PROXIES") {
			continue
		}
		var hops []string // the proxies in front of p, in compose
		switch p.Name {
		case "storefront":
			continue // visitors reach it directly (its published port)
		case "gateway":
			hops = []string{"storefront"}
		default:
			hops = []string{"gateway", "storefront"}
		}
		var trusted []netip.Prefix
		for v := range strings.SplitSeq(env[p.Name]["TRUSTED_PROXIES"], ",") {
			if pfx, err := netip.ParsePrefix(strings.TrimSpace(v)); err == nil {
				trusted = append(trusted, pfx)
			}
		}
		for _, hop := range hops {
			a, ok := addrs[hop]
			if !ok {
				t.Errorf("compose.yaml gives %s no fixed ipv4_address, so %s cannot trust it", hop, p.Name)
				continue
			}
			if !slices.ContainsFunc(trusted, func(pfx netip.Prefix) bool { return pfx.Contains(a) }) {
				t.Errorf("compose.yaml %s TRUSTED_PROXIES = %q lacks %s (%s), which is in front of it",
					p.Name, env[p.Name]["TRUSTED_PROXIES"], hop, a)
			}
		}
	}
}
