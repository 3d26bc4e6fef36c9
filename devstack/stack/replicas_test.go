package stack

import (
	"strings"
	"testing"
)

// offsetsInUse are the port offsets of every suite and helper that may run on one machine at once.
func offsetsInUse() []int {
	offs := []int{0, 1500, 20000}
	for o := 100; o <= 950; o += 50 {
		offs = append(offs, o)
	}
	for o := 3200; o <= 4600; o += 50 {
		offs = append(offs, o)
	}
	return offs
}

// TestReplicaPortsCollideWithNothing checks ReplicaBase's arithmetic: under any two offsets in use, no
// replica port equals a base port (programs, infrastructure, gateway-2 on 3018) of another run, nor a
// replica port of another copy, and every replica port stays a valid port.
func TestReplicaPortsCollideWithNothing(t *testing.T) {
	base := map[int]string{KafkaPort: "kafka", RedisPort: "redis", MongoPort: "mongo", MailpitHTTPPort: "mailpit",
		MailpitSMTPPort: "smtp", 3018: "gateway-2 (integration)"}
	for _, p := range Programs {
		base[p.Port] = p.Name
	}
	for port := 3000; port <= 3012; port++ {
		if _, ok := base[port]; !ok {
			base[port] = "the 3000-3012 range"
		}
	}
	replicas := map[int]string{}
	for _, p := range Programs {
		for k := 2; k <= MaxReplicas; k++ {
			port := ReplicaPort(p, k)
			if other, dup := replicas[port]; dup {
				t.Fatalf("%s and %s share replica port %d", InstanceName(p, k), other, port)
			}
			replicas[port] = InstanceName(p, k)
		}
	}
	for _, o := range []int{0, 1500, 20000} { // make run, the integration and the faults suites
		for port, name := range replicas {
			if port+o >= 32768 {
				t.Errorf("%s at default offset %d: port %d is in Linux's ephemeral range (32768-60999)", name, o, port+o)
			}
		}
	}
	offs := offsetsInUse()
	taken := map[int]string{}
	for _, o := range offs {
		for port, name := range base {
			taken[port+o] = name
		}
	}
	for _, mine := range offs {
		for port, name := range replicas {
			p := port + mine
			if p > 65535 {
				t.Errorf("%s at offset %d: port %d", name, mine, p)
			}
			if other, ok := taken[p]; ok {
				t.Errorf("%s at offset %d (port %d) collides with %s at another offset", name, mine, p, other)
			}
			for _, theirs := range offs {
				if theirs == mine {
					continue
				}
				if other, ok := replicas[p-theirs]; ok {
					t.Errorf("%s at offset %d (port %d) collides with %s at offset %d", name, mine, p, other, theirs)
				}
			}
		}
	}
}

func TestCopies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      Options
		mongo     string
		want      map[string]int
		refused   string
		urlsOfPrd int
	}{
		{"default", Options{}, "", map[string]int{"auth": 1, "product": 1, "gateway": 1}, "", 1},
		{"second product in memory", Options{SecondProduct: true}, "", map[string]int{"auth": 1, "product": 2}, "", 2},
		{"shared stores", Options{}, "mongodb://x/", map[string]int{"auth": 1, "product": 2}, "", 2},
		{"three replicas", Options{Replicas: 3}, "mongodb://x/", map[string]int{"auth": 3, "order": 3, "realtime": 3, "product": 3, "gateway": 1, "storefront": 1}, "", 3},
		{"replicas in memory", Options{Replicas: 2}, "", nil, "shared stores", 0},
		{"too many", Options{Replicas: MaxReplicas + 1}, "mongodb://x/", nil, "want 1-7", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Stack{opts: tc.opts, mongo: tc.mongo}
			err := s.checkReplicas()
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("checkReplicas = %v, want an error saying %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				if got := len(s.Instances(name)); got != want {
					t.Errorf("%s: %d instances, want %d", name, got, want)
				}
			}
			if got := strings.Count(s.serviceURLs("product"), "http://"); got != tc.urlsOfPrd {
				t.Errorf("PRODUCT_SERVICE_URLS has %d URLs, want %d", got, tc.urlsOfPrd)
			}
			env := strings.Join(s.env(Programs[0], 4000), "\n")
			if keys := strings.Contains(env, "AUTH_SIGNING_KEYS_DIR="); keys != (tc.want["auth"] > 1) {
				t.Errorf("auth's environment sets AUTH_SIGNING_KEYS_DIR: %v, want %v", keys, tc.want["auth"] > 1)
			}
		})
	}
}
