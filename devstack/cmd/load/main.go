// Command load drives the running platform through its gateway for a fixed time, either with a fixed
// number of concurrent clients that each send the next request when the previous one is answered
// (closed loop, -c), or with arrivals at a fixed rate whatever the answers (open loop, -rate), and
// reports requests, errors by status, requests per second, latency percentiles and, for cached reads,
// the gateway's X-Cache-Status counts.
//
//	go run ./cmd/load -gateway http://127.0.0.1:3008 -scenario catalog-hit -c 16 -d 15s
//	go run ./cmd/load -gateway http://127.0.0.1:3008 -scenario checkout -rate 100 -d 8s
//
// Scenarios:
//
//	catalog-hit   GET /product/products?category=books&limit=20, the same URL every time (cache HIT path)
//	catalog-miss  the same list with a different minPrice/page every time, so every request misses
//	product       GET /product/products/{id} of a random seeded product
//	health        GET /health (the gateway alone; never rate limited)
//	login         POST /auth/login with the demo account (bound by bcrypt)
//	checkout      registers and logs in -customers new customers and opens each one's realtime socket
//	              (GET /realtime/ws through the gateway), then each client or arrival places an order
//	              of one unit of a random in-stock SKU (Idempotency-Key) and waits for its
//	              order.confirmed or order.rejected on the socket; reports orders/s, the time from POST
//	              sent to that event read, and the platform's CPU time per confirmed order (/proc)
//	              and, when the launcher runs with -count-kafka, the broker's requests per confirmed
//	              order by API, consumer group and topic
//
// The gateway rate-limits per client IP (GATEWAY_RATE_LIMIT, and GATEWAY_AUTH_RATE_LIMIT for login
// and register), and every client here has the same IP, and per customer (GATEWAY_USER_RATE_LIMIT):
// start the platform with all three raised (docs/performance.md). A run that sees 429s says so at the
// end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("load", run) }

var scenarios = []string{"catalog-hit", "catalog-miss", "product", "health", "login", "checkout", "storefront-home", "storefront-catalog"}

type config struct {
	gateway     string
	storefront  string
	concurrency int
	duration    time.Duration
	scenario    string
	customers   int
	timeout     time.Duration
	rate        float64 // arrivals per second; 0: closed loop
	maxInFlight int
	pids        string
	sagaTimeout time.Duration
	email       string
	cancel      bool
	password    string
	restock     int // checkout: raise every SKU's available stock to this first; 0: off
	adminEmail  string
	adminPass   string
}

func run(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.gateway, "gateway", "http://127.0.0.1:3008", "gateway base URL")
	fs.StringVar(&cfg.storefront, "storefront", "http://127.0.0.1:3000", "storefront base URL (storefront-* scenarios: server-rendered pages, each calling the gateway)")
	fs.IntVar(&cfg.concurrency, "c", 16, "concurrent clients")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "how long to send new requests")
	fs.StringVar(&cfg.scenario, "scenario", "catalog-hit", strings.Join(scenarios, ", "))
	fs.IntVar(&cfg.customers, "customers", 0, "checkout: customers to register and log in (default: -c)")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.Float64Var(&cfg.rate, "rate", 0, "open loop: start this many steps (checkout: orders) per second whatever the answers, instead of -c clients")
	fs.IntVar(&cfg.maxInFlight, "max-inflight", 1000, "open loop: arrivals due while this many are unanswered are dropped (and counted)")
	fs.StringVar(&cfg.pids, "pids", "", "checkout: comma-separated PIDs of the platform for the CPU report (default: the processes listening on the platform's ports, offset as the gateway's)")
	fs.DurationVar(&cfg.sagaTimeout, "saga-timeout", 30*time.Second, "checkout: give up on an order still pending after this")
	fs.StringVar(&cfg.email, "email", "demo@shop.local", "login: account email")
	fs.StringVar(&cfg.password, "password", "demo-Passw0rd!", "login: account password")
	fs.IntVar(&cfg.restock, "restock", 0, "checkout: first raise every SKU's available stock to this, as the admin, so the run does not end in out-of-stock rejections (0: off)")
	fs.StringVar(&cfg.adminEmail, "admin-email", "admin@shop.local", "-restock: admin account email")
	fs.StringVar(&cfg.adminPass, "admin-password", "admin-Passw0rd!", "-restock: admin account password")
	fs.BoolVar(&cfg.cancel, "cancel", true, "checkout: cancel the confirmed orders afterwards (untimed), so their stock comes back and runs repeat")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var bad []error
	if cfg.concurrency < 1 || cfg.duration <= 0 {
		bad = append(bad, errors.New("-c must be ≥ 1 and -d > 0"))
	}
	if cfg.restock < 0 {
		bad = append(bad, errors.New("-restock must be ≥ 0 (0: off)"))
	}
	if cfg.rate < 0 || math.IsNaN(cfg.rate) || math.IsInf(cfg.rate, 0) || cfg.maxInFlight < 1 {
		bad = append(bad, errors.New("-rate must be ≥ 0 (0: closed loop) and -max-inflight ≥ 1"))
	}
	pids, err := parsePIDs(cfg.pids)
	if err != nil {
		bad = append(bad, err)
	}
	if cfg.customers <= 0 {
		cfg.customers = cfg.concurrency
	}
	u, err := url.Parse(cfg.gateway)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad = append(bad, fmt.Errorf("-gateway %q: want http(s)://host:port", cfg.gateway))
	}
	if err := errors.Join(bad...); err != nil {
		return err
	}
	cfg.gateway = strings.TrimRight(cfg.gateway, "/")
	cfg.storefront = strings.TrimRight(cfg.storefront, "/")
	if strings.HasPrefix(cfg.scenario, "storefront-") {
		// The storefront's pages are the requests: aim the client at it instead of the gateway.
		cfg.gateway = cfg.storefront
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l := newLoader(cfg)
	defer l.client.CloseIdleConnections()
	sc, err := l.scenario(cfg.scenario)
	if err != nil {
		return err
	}
	if sc.setup != nil {
		t := time.Now()
		if err := sc.setup(ctx); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		fmt.Fprintf(stdout, "setup: %s in %s\n", sc.setupDone, time.Since(t).Round(time.Millisecond))
	}

	if sc.cpu && len(pids) == 0 {
		port, _ := strconv.Atoi(u.Port())
		if pids, err = findPIDs("/proc", platformPorts(port)); err != nil {
			fmt.Fprintf(stderr, "load: no CPU report: %v (give -pids)\n", err)
		}
	}
	var countsURL, mailURL string
	if sc.cpu {
		port, _ := strconv.Atoi(u.Port())
		countsURL, mailURL = kafkaCountsURL(port), mailInfoURL(port)
	}
	kafkaBefore := kafkaCounts(ctx, countsURL)
	mailBefore, mailOK := mailAccepted(ctx, mailURL)
	self := []int{os.Getpid()}
	cpuBefore, selfBefore := sampleCPU("/proc", pids), sampleCPU("/proc", self)
	machineBefore, machineOK := sampleMachine("/proc")
	loadBefore := loadavg()
	elapsed, series, sched := l.drive(ctx, sc)
	cpuAfter, selfAfter := sampleCPU("/proc", pids), sampleCPU("/proc", self)
	machineAfter, machineOK2 := sampleMachine("/proc")
	mailAfter, mailOK2 := mailAccepted(ctx, mailURL)
	var kafkaAfter map[string]int64
	if kafkaBefore != nil {
		kafkaAfter = kafkaCounts(ctx, countsURL)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "interrupted; partial results:")
	}
	mode := fmt.Sprintf("concurrency %d (closed loop)", cfg.concurrency)
	if sched != nil {
		mode = fmt.Sprintf("rate %g/s (open loop)", cfg.rate)
	}
	fmt.Fprintf(stdout, "scenario %s  gateway %s  %s  duration %s (elapsed %s)\n",
		cfg.scenario, cfg.gateway, mode, cfg.duration, elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "loadavg  before %s  after %s\n", loadBefore, loadavg())
	if sched != nil {
		fmt.Fprintf(stdout, "arrivals %d due, %d started, %d late by > %s (max %s), %d dropped (limit %d in flight)\n",
			sched.Due, sched.Started, sched.Late, lateAfter, ms(sched.MaxLate), sched.Dropped, cfg.maxInFlight)
	}
	limited := 0
	for _, s := range series {
		unit := "requests"
		if s.Name == "saga" {
			unit = "orders"
		}
		s.Summarize(elapsed).Write(stdout, unit)
		limited += s.Status["429"]
	}
	if sc.final != nil {
		sc.final(stdout, elapsed, series)
	}
	if sc.cpu && len(cpuBefore) > 0 {
		confirmed, finished := 0, 0
		for _, s := range series {
			confirmed += s.Status["confirmed"]
			finished += s.Status["confirmed"] + s.Status["rejected"]
		}
		platform := writeCPU(stdout, cpuBefore, cpuAfter, confirmed, finished)
		if machineOK && machineOK2 && len(selfBefore) == 1 && len(selfAfter) == 1 {
			writeMachine(stdout, machineBefore, machineAfter, platform, selfAfter[0].CPU-selfBefore[0].CPU)
		}
		if mailOK && mailOK2 {
			writeMail(stdout, mailBefore, mailAfter, confirmed)
		}
		writeKafka(stdout, kafkaBefore, kafkaAfter, confirmed)
	}
	if sc.cleanup != nil {
		sc.cleanup(ctx, stdout)
	}
	if limited > 0 {
		fmt.Fprintln(stdout, rateLimitHint(limited))
	}
	return nil
}

// rateLimitHint explains n 429 answers: every client here shares one IP, so the per-IP limits bind
// first, and the per-customer one binds a checkout whose customers each place many orders a second.
func rateLimitHint(n int) string {
	return fmt.Sprintf("note: %d answers were 429: a gateway rate limit was hit, per client IP (GATEWAY_RATE_LIMIT; "+
		"GATEWAY_AUTH_RATE_LIMIT for login and register; all load comes from one IP) or per customer "+
		"(GATEWAY_USER_RATE_LIMIT; a checkout customer places about rate/-customers orders a second); start the platform with "+
		"GATEWAY_RATE_LIMIT=100000/s:100000 GATEWAY_AUTH_RATE_LIMIT=100000/m:100000 GATEWAY_USER_RATE_LIMIT=100000/s:100000 "+
		"(docs/performance.md)", n)
}

// parsePIDs reads -pids: empty, or a comma-separated list of process IDs.
func parsePIDs(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var pids []int
	for f := range strings.SplitSeq(s, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pid < 1 {
			return nil, fmt.Errorf("-pids %q: want comma-separated process IDs", s)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// loadavg is the first three fields of /proc/loadavg, or "?" where there is none.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
