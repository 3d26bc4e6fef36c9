package stack

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Replicated names the programs Options.Replicas multiplies: the six back-end services. The gateway
// and the storefront stay single (docs/operations.md § Many copies): their shared state (rate limits,
// sessions, cache purges) is in Redis and Kafka, and a second copy of either is started by a test
// with StartCopy when it needs one.
var Replicated = map[string]bool{"auth": true, "user": true, "product": true, "inventory": true, "order": true, "realtime": true}

// MaxReplicas bounds Options.Replicas so that every copy's port stays inside its block (ReplicaPort).
const MaxReplicas = 7

// ReplicaBase is the first port of the copies after the first (before Options.PortOffset).
//
// Copy k ≥ 2 of the program at index i of Programs listens on ReplicaBase + 8(k-2) + i, so the block is
// 12643-12690. It was chosen by arithmetic, not by luck (TestReplicaPortsCollideWithNothing): with
// every port offset a suite or helper uses on this machine (0, 100-950 and 3200-4600 in steps of 50,
// 1500, 20000), no base port (1025, 3000-3018, 4000, 5003, 6379, 8025, 9092, 27017) plus one offset
// equals a replica port plus another, two suites' replica blocks never meet, and at the suites'
// default offsets (0, 1500, 20000) every copy listens below 32768, where Linux's ephemeral ports
// begin: a port in that range can be taken at random by an outgoing connection ("address in use").
// Few bases pass all three; the next free ones are 12644, 12693 and 12694.
const ReplicaBase = 12643

// ReplicaPort is the port of copy k (1-based) of program p before the port offset: its own port for
// the first copy, ReplicaBase + 8(k-2) + index for the others.
func ReplicaPort(p Program, k int) int {
	if k <= 1 {
		return p.Port
	}
	for i, q := range Programs {
		if q.Name == p.Name {
			return ReplicaBase + len(Programs)*(k-2) + i
		}
	}
	return 0
}

// InstanceName is "auth" for the first copy of auth, "auth-2" for the second, and so on.
func InstanceName(p Program, k int) string {
	if k <= 1 {
		return p.Name
	}
	return fmt.Sprintf("%s-%d", p.Name, k)
}

// copies is how many instances of p run: Options.Replicas (at least 1) for a replicated program, one
// for the others; product runs at least two when stores are shared or SecondProduct asks for it.
func (s *Stack) copies(p Program) int {
	if !Replicated[p.Name] {
		return 1
	}
	n := max(s.opts.Replicas, 1)
	if p.Name == "product" && (s.mongo != "" || s.opts.SecondProduct) {
		n = max(n, 2)
	}
	return n
}

// Instance is one running copy of a program.
type Instance struct {
	Name    string // "order", "order-2"
	Program string
	URL     string // http://127.0.0.1:<port>
}

// Instances lists every copy of program, first copy first (nil for an unknown program).
func (s *Stack) Instances(program string) []Instance {
	for _, p := range Programs {
		if p.Name != program {
			continue
		}
		var out []Instance
		for k := 1; k <= s.copies(p); k++ {
			out = append(out, Instance{InstanceName(p, k), p.Name, fmt.Sprintf("http://127.0.0.1:%d", s.Port(ReplicaPort(p, k)))})
		}
		return out
	}
	return nil
}

// serviceURLs is the comma-separated list of every copy of program, for <NAME>_SERVICE_URLS.
func (s *Stack) serviceURLs(program string) string {
	var urls []string
	for _, in := range s.Instances(program) {
		urls = append(urls, in.URL)
	}
	return strings.Join(urls, ",")
}

// checkReplicas refuses what cannot work: copies of a stateful service need stores they share.
func (s *Stack) checkReplicas() error {
	if s.opts.Replicas < 0 || s.opts.Replicas > MaxReplicas {
		return fmt.Errorf("stack: Replicas = %d, want 1-%d", s.opts.Replicas, MaxReplicas)
	}
	if s.opts.Replicas > 1 && s.mongo == "" {
		return fmt.Errorf("stack: %d replicas need shared stores (Mongo \"ferret\" or a mongodb:// URI); in-memory stores are one per process", s.opts.Replicas)
	}
	return nil
}

// authKeysDir is the AUTH_SIGNING_KEYS_DIR every auth copy shares when there are several: with keys in
// memory each copy would sign with its own, which the others and the verifiers (JWKS_URL names the
// first copy) do not know. Empty with one copy.
func (s *Stack) authKeysDir() string {
	for _, p := range Programs {
		if p.Name == "auth" && s.copies(p) > 1 {
			return filepath.Join(s.opts.Dir, "auth-keys")
		}
	}
	return ""
}

// prepareAuthKeys fills authKeysDir before any auth copy starts, with `auth rotate-keys` (three keys on
// a fresh directory): copies started together on an empty directory would each generate their own.
func (s *Stack) prepareAuthKeys(ctx context.Context) error {
	dir := s.authKeysDir()
	if dir == "" {
		return nil
	}
	if pems, _ := filepath.Glob(filepath.Join(dir, "*.pem")); len(pems) >= 2 {
		return nil
	}
	cmd := exec.CommandContext(ctx, filepath.Join(s.opts.Dir, "bin", "auth"), "rotate-keys")
	cmd.Env = s.env(Programs[0], s.Port(Programs[0].Port))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("auth rotate-keys: %w: %s", err, out)
	}
	return nil
}
