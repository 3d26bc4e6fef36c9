// Package stack runs the whole platform on one machine: a Kafka-protocol broker (kfake), Redis
// (redis-server or miniredis), optionally FerretDB for the Mongo wire protocol, Mailpit (SMTP and a
// web inbox for the mail the platform sends), and the eight programs
// built from the repository. The launcher (devstack/cmd/devstack, `make run`) and the integration tests
// both use it.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Program is one of the platform's binaries.
type Program struct {
	Name  string
	Port  int // default port, before Options.PortOffset
	Redis int // Redis DB, -1 for none
	Mongo bool
}

// Programs lists the eight programs in start order; ports and Redis DBs follow ARCHITECTURE.md.
var Programs = []Program{
	{"auth", 4000, 0, true},
	{"user", 3001, 1, true},
	{"product", 3002, -1, true},
	{"inventory", 3003, 3, true},
	{"order", 5003, 4, true},
	{"realtime", 3009, 5, false},
	{"gateway", 3008, 2, false},
	{"storefront", 3000, 6, false},
}

// Infrastructure ports, before Options.PortOffset.
const (
	KafkaPort = 9092
	RedisPort = 6379
	MongoPort = 27017
)

// Options configures Start. The zero value runs everything on the default ports with in-memory stores.
type Options struct {
	Root       string            // repository root; default: parent of the working directory's devstack
	Dir        string            // state directory (binaries, logs, data); default Root/.devstack
	PortOffset int               // added to every port, so tests can run beside `make run`
	Mongo      string            // "mem" (default), "ferret" (embedded FerretDB) or a mongodb:// URI
	Redis      string            // "auto" (default: redis-server if installed, else miniredis), "redis-server", "miniredis"
	Env        map[string]string // extra environment for every program
	Logs       io.Writer         // program logs, prefixed; nil discards (files in Dir/logs always)
	Persist    bool              // keep Kafka's log in Dir/kafka across restarts
	// Replicas is how many copies of each Replicated program run (0 or 1: one; at most MaxReplicas).
	// More than one needs shared stores (Mongo "ferret" or a URI); only the first copy seeds demo data.
	Replicas int
	// SecondProduct starts product-2 even with in-memory stores, where it seeds its own copy of the
	// demo catalog (same SKUs, other IDs): enough for fault tests that list products and order by SKU.
	SecondProduct bool
	// OTLPEndpoint, when set, is every program's OTEL_EXPORTER_OTLP_ENDPOINT (an OTLP/HTTP receiver
	// such as Jaeger's :4318): tracing on. Empty: off, as in production without a receiver.
	OTLPEndpoint string
	// Pprof gives every program instance a PPROF_ADDR: 127.0.0.1 on its own port + PprofPortShift
	// (the gateway's profiles on 3058 + PortOffset), for `go tool pprof` under load.
	Pprof bool
	// CountKafka counts every request the broker receives and serves the counts as JSON on
	// 127.0.0.1 at KafkaPort + PprofPortShift, path KafkaCountsPath (the load command reads them).
	CountKafka bool
	// Supervise, when set, turns supervision on (supervise.go): a program instance that exits
	// without the Stack asking it to (a crash, a kill -9 from outside) is reported here, one line
	// naming it and its exit status, and started again after a backoff of 1 s doubling to 30 s,
	// like compose.yaml's restart: unless-stopped. nil (the test groups, which kill and restart
	// programs themselves): an exit is left alone.
	Supervise io.Writer
}

// PprofPortShift is how far above its HTTP port a program serves pprof with Options.Pprof: clear of
// every other port of the platform (3000-3012, 4000, 5003 and the infrastructure's).
const PprofPortShift = 50

// Stack is a running platform.
type Stack struct {
	opts   Options
	logger *slog.Logger
	kafka  *kfake.Cluster
	// kafkaFreeze holds the broker's connections still between PauseKafka and ResumeKafka.
	kafkaFreeze freezer
	stopCounts  func() // nil: Options.CountKafka off
	redis       *redisServer
	ferret      func()
	mongo       string

	mu    sync.Mutex
	procs map[string]*proc
	// closing is set by Close (under mu), which then closes quit to cancel the restarts waiting
	// out their backoff and waits for them (restarts).
	closing    bool
	quit       chan struct{}
	restarts   sync.WaitGroup
	restartMin time.Duration // the first restart's wait; 0: restartMin (tests shorten it)
	// supervising turns Options.Supervise on once Start has seen every program ready.
	supervising atomic.Bool
}

// Port returns the port a program or infrastructure piece listens on.
func (s *Stack) Port(def int) int { return def + s.opts.PortOffset }

// URL returns http://127.0.0.1:<port> of a program.
func (s *Stack) URL(name string) string {
	for _, p := range Programs {
		if p.Name == name {
			return fmt.Sprintf("http://127.0.0.1:%d", s.Port(p.Port))
		}
	}
	return ""
}

// RedisMode says which Redis runs: "redis-server" or "miniredis".
func (s *Stack) RedisMode() string { return s.redis.mode }

// MongoMode describes the stores: "in-memory", "ferretdb" or the URI.
func (s *Stack) MongoMode() string {
	switch s.opts.Mongo {
	case "", "mem":
		return "in-memory"
	case "ferret":
		return "ferretdb (SQLite)"
	}
	return s.opts.Mongo
}

// Build compiles the eight programs into dir/bin with one `go build`, and Mailpit (buildMailpit).
func Build(ctx context.Context, root, dir string, out io.Writer) error {
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, p := range Programs {
		args = append(args, "./"+p.Name)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	return buildMailpit(ctx, root, dir, out)
}

// Start brings up the infrastructure and the programs (already built into Dir/bin by Build) and waits
// until every program's /readyz answers 200. On error everything started is stopped.
func Start(ctx context.Context, opts Options) (s *Stack, err error) {
	if opts.Root == "" {
		return nil, errors.New("stack: Options.Root is required")
	}
	if opts.Dir == "" {
		opts.Dir = filepath.Join(opts.Root, ".devstack")
	}
	if opts.Logs == nil {
		opts.Logs = io.Discard
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	infraLog, err := os.Create(filepath.Join(opts.Dir, "logs", "infra.log"))
	if err != nil {
		return nil, err
	}
	s = &Stack{opts: opts, procs: map[string]*proc{}, quit: make(chan struct{}),
		logger: slog.New(slog.NewTextHandler(infraLog, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()

	kdir := ""
	if opts.Persist {
		kdir = filepath.Join(opts.Dir, "kafka")
	}
	if s.kafka, err = startKafka(s.Port(KafkaPort), kdir, s.kafkaFreeze.listener); err != nil {
		return s, err
	}
	if opts.CountKafka {
		var c kafkaCounter
		c.watch(s.kafka)
		if s.stopCounts, err = c.serve(fmt.Sprintf("127.0.0.1:%d", s.Port(KafkaPort+PprofPortShift))); err != nil {
			return s, err
		}
	}
	if s.redis, err = newRedis(opts.Redis, fmt.Sprintf("127.0.0.1:%d", s.Port(RedisPort)), filepath.Join(opts.Dir, "redis"), infraLog); err != nil {
		return s, err
	}
	switch opts.Mongo {
	case "", "mem":
	case "ferret":
		addr := fmt.Sprintf("127.0.0.1:%d", s.Port(MongoPort))
		if s.ferret, err = StartFerret(ctx, addr, filepath.Join(opts.Dir, "ferretdb"), s.logger); err != nil {
			return s, err
		}
		s.mongo = "mongodb://" + addr + "/"
	default:
		s.mongo = opts.Mongo
	}
	if err := s.checkReplicas(); err != nil {
		return s, err
	}
	if err := s.prepareAuthKeys(ctx); err != nil {
		return s, err
	}
	if err := s.startMailpit(); err != nil {
		return s, err
	}

	for _, p := range Programs {
		for k := 1; k <= s.copies(p); k++ {
			// Every copy is behind the gateway's pool (round-robin, failover); with shared stores
			// the first seeds the demo data and the others leave it alone.
			env := s.env(p, s.Port(ReplicaPort(p, k)))
			if k > 1 && s.mongo != "" {
				env = append(env, "SEED_DEMO_DATA=false")
			}
			if err := s.spawn(InstanceName(p, k), p.Name, env); err != nil {
				return s, err
			}
		}
	}
	// A copy more is six programs more starting on the same two cores.
	if err := s.WaitReady(ctx, time.Duration(30+30*max(s.opts.Replicas, 1))*time.Second); err != nil {
		return s, err
	}
	s.supervising.Store(true)
	return s, nil
}

// runtimeEnv is the Go runtime's environment of program p: GOMAXPROCS=1 for every program but
// auth, whose work is bcrypt, CPU-bound per request, so it keeps every core. The stack runs eight
// programs, Mailpit, the Kafka broker and Redis on one machine, often of two cores, and none of the
// others needs more than a fraction of a core. With a P per core, each wake-up of a goroutine while
// the program's other P is idle wakes a second thread to look for work, and those threads take the
// cores that the other programs' steps of the same order wait for (docs/performance.md, "Session 11:
// where an unsaturated order's time goes"). It comes before os.Environ(), so a caller's own
// GOMAXPROCS wins (os/exec keeps the last of duplicate keys), as does Options.Env, appended after.
func runtimeEnv(p Program) []string {
	if p.Name == "auth" {
		return nil
	}
	return []string{"GOMAXPROCS=1"}
}

// LauncherProcs is how many Ps the launcher itself should run with, or 0 to leave the Go runtime's
// choice: 1 unless the stores are FerretDB (mongo "ferret") or getenv("GOMAXPROCS") is set. The
// launcher then holds the Kafka broker, whose requests one goroutine handles in turn, the copying of
// the programs' logs and, without redis-server, miniredis: none of them needs a second core, and
// with two Ps a goroutine's wake-up can wake a second thread as well (runtimeEnv); what that saves
// is in docs/performance.md, "The launcher's one P". With FerretDB (-mongo=ferret, and every run of
// copies) the launcher serves the programs' store queries too, and keeps every core.
func LauncherProcs(mongo string, getenv func(string) string) int {
	if mongo == "ferret" || getenv("GOMAXPROCS") != "" {
		return 0
	}
	return 1
}

// env is the environment of one program instance listening on port.
func (s *Stack) env(p Program, port int) []string {
	u := func(name string) string { return s.URL(name) }
	env := append(runtimeEnv(p), os.Environ()...)
	env = append(env,
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port),
		fmt.Sprintf("KAFKA_BROKERS=127.0.0.1:%d", s.Port(KafkaPort)),
		"REDIS_URL=",
		"REDIS_HOST=127.0.0.1",
		fmt.Sprintf("REDIS_PORT=%d", s.Port(RedisPort)),
		"JWKS_URL="+u("auth")+"/.well-known/jwks.json",
		"AUTH_ISSUER=http://localhost:"+strconv.Itoa(s.Port(3008))+"/auth",
		"AUTH_URL="+u("auth"),
		"PRODUCT_URL="+u("product"),
		"USER_URL="+u("user"),
		"GATEWAY_URL="+u("gateway"),
		fmt.Sprintf("ALLOWED_ORIGINS=localhost:%[1]d,127.0.0.1:%[1]d,localhost:%[2]d,127.0.0.1:%[2]d", s.Port(3000), s.Port(3008)),
	)
	if p.Redis >= 0 {
		env = append(env, "REDIS_DB="+strconv.Itoa(p.Redis))
	}
	if p.Name == "auth" {
		// The storefront signs in through auth's code flow as the client "storefront"; its redirect
		// URI moves with the port offset, and auth compares redirect URIs byte for byte.
		sf := s.Port(3000)
		env = append(env, fmt.Sprintf(`AUTH_CLIENTS=[{"id":"storefront","first_party":true,`+
			`"redirect_uris":["http://localhost:%[1]d/auth/callback","http://127.0.0.1:%[1]d/auth/callback"],`+
			`"grant_types":["authorization_code","refresh_token"],"scopes":["openid","profile","email","offline_access"]},`+
			`{"id":"demo-app","redirect_uris":["http://127.0.0.1:8080/callback","http://localhost:8080/callback"],`+
			`"grant_types":["authorization_code","refresh_token"],"scopes":["openid","profile","email","offline_access",`+
			`"profile:write","addresses","orders:read","orders:write"]}]`, sf))
	}
	if dir := s.authKeysDir(); dir != "" && p.Name == "auth" {
		env = append(env, "AUTH_SIGNING_KEYS_DIR="+dir)
	}
	if p.Name == "storefront" {
		// One CSRF key for every copy: a form one copy rendered may be posted to another.
		env = append(env, fmt.Sprintf("STOREFRONT_PUBLIC_URL=http://localhost:%d", s.Port(3000)),
			"STOREFRONT_SECRET=devstack-storefront-csrf-key-not-for-production")
	}
	if p.Mongo {
		env = append(env, "MONGO_URI="+s.mongo, "MONGO_DB="+p.Name)
	}
	if mailSenders[p.Name] {
		env = append(env, s.mailEnv(p.Name)...)
	}
	for _, q := range Programs {
		env = append(env, strings.ToUpper(q.Name)+"_SERVICE_URLS="+s.serviceURLs(q.Name))
	}
	if s.opts.Pprof {
		env = append(env, fmt.Sprintf("PPROF_ADDR=127.0.0.1:%d", port+PprofPortShift))
	}
	if s.opts.OTLPEndpoint != "" {
		env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT="+s.opts.OTLPEndpoint)
	}
	for k, v := range s.opts.Env {
		env = append(env, k+"="+v)
	}
	return env
}

// StopRedis kills Redis; StartRedis brings it back on the same port.
func (s *Stack) StopRedis()        { s.redis.Stop() }
func (s *Stack) StartRedis() error { return s.redis.Start() }

// Close stops the programs and Mailpit (SIGTERM, in reverse start order, so the gateway goes first),
// then Kafka, Redis and FerretDB.
func (s *Stack) Close() error {
	var errs []error
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.quit)
	}
	s.mu.Unlock()
	s.restarts.Wait() // a restart under way finishes, so its instance is in procs below
	s.mu.Lock()
	procs := s.procs
	s.procs = map[string]*proc{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.stop(20 * time.Second); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.kafkaFreeze.thaw()
	if s.stopCounts != nil {
		s.stopCounts()
	}
	if s.kafka != nil {
		s.kafka.Close()
	}
	if s.redis != nil {
		s.redis.Stop()
	}
	if s.ferret != nil {
		s.ferret()
	}
	return errors.Join(errs...)
}
