// Command load drives the running platform through its gateway with a fixed number of concurrent
// clients for a fixed time and reports requests, errors by status, requests per second, latency
// percentiles and, for cached reads, the gateway's X-Cache-Status counts.
//
//	go run ./cmd/load -gateway http://127.0.0.1:3008 -scenario catalog-hit -c 16 -d 15s
//
// Scenarios:
//
//	catalog-hit   GET /product/products?category=books&limit=20, the same URL every time (cache HIT path)
//	catalog-miss  the same list with a different minPrice/page every time, so every request misses
//	product       GET /product/products/{id} of a random seeded product
//	health        GET /health (the gateway alone; never rate limited)
//	login         POST /auth/login with the demo account (bound by bcrypt)
//	checkout      registers and logs in -customers new customers, then each client places orders of one
//	              unit of a random in-stock SKU (Idempotency-Key) and polls the order until it is
//	              confirmed or rejected; reports orders/s and the time from POST to the final status
//
// The gateway rate-limits per client IP (GATEWAY_RATE_LIMIT 50/s:200, GATEWAY_AUTH_RATE_LIMIT 20/m:30
// for login and register), and every client here has the same IP: start the platform with, e.g.,
// GATEWAY_RATE_LIMIT=100000/s:100000 GATEWAY_AUTH_RATE_LIMIT=100000/m:100000 in its environment
// (docs/performance.md). A run that sees 429s says so at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

var scenarios = []string{"catalog-hit", "catalog-miss", "product", "health", "login", "checkout", "storefront-home", "storefront-catalog"}

type config struct {
	gateway     string
	storefront  string
	concurrency int
	duration    time.Duration
	scenario    string
	customers   int
	timeout     time.Duration
	poll        time.Duration
	sagaTimeout time.Duration
	email       string
	cancel      bool
	password    string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
	fs.DurationVar(&cfg.poll, "poll", 10*time.Millisecond, "checkout: order status poll interval")
	fs.DurationVar(&cfg.sagaTimeout, "saga-timeout", 30*time.Second, "checkout: give up on an order still pending after this")
	fs.StringVar(&cfg.email, "email", "demo@shop.local", "login: account email")
	fs.StringVar(&cfg.password, "password", "demo-Passw0rd!", "login: account password")
	fs.BoolVar(&cfg.cancel, "cancel", true, "checkout: cancel the confirmed orders afterwards (untimed), so their stock comes back and runs repeat")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if cfg.concurrency < 1 || cfg.duration <= 0 {
		return errors.New("-c must be ≥ 1 and -d > 0")
	}
	if cfg.customers <= 0 {
		cfg.customers = cfg.concurrency
	}
	u, err := url.Parse(cfg.gateway)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-gateway %q: want http(s)://host:port", cfg.gateway)
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

	loadBefore := loadavg()
	elapsed, series := l.drive(ctx, sc)
	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "interrupted; partial results:")
	}
	fmt.Fprintf(stdout, "scenario %s  gateway %s  concurrency %d  duration %s (elapsed %s)\n",
		cfg.scenario, cfg.gateway, cfg.concurrency, cfg.duration, elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "loadavg  before %s  after %s\n", loadBefore, loadavg())
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
	if sc.cleanup != nil {
		sc.cleanup(ctx, stdout)
	}
	if limited > 0 {
		fmt.Fprintf(stdout, "note: %d answers were 429: the gateway's per-IP limit was hit; start the platform with "+
			"GATEWAY_RATE_LIMIT=100000/s:100000 GATEWAY_AUTH_RATE_LIMIT=100000/m:100000 (docs/performance.md)\n", limited)
	}
	return nil
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
