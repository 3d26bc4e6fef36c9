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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// scenario is one kind of load: an optional setup, then step repeated by every client.
type scenario struct {
	series    []string                             // names of the Stats each client fills, in report order
	ok        map[string]func(outcome string) bool // a series' notion of success; default 2xx
	setup     func(ctx context.Context) error
	setupDone string
	step      func(ctx context.Context, client int, st map[string]*Stats)
	final     func(w io.Writer, elapsed time.Duration, series []*Stats)
	cleanup   func(ctx context.Context, w io.Writer)
}

type loader struct {
	cfg    config
	client *http.Client
	seq    atomic.Uint64
	salt   int

	products []string                 // product IDs (product)
	tokens   []string                 // access tokens of the customers (checkout)
	skus     atomic.Pointer[[]string] // in-stock SKUs, refreshed during checkout

	mu        sync.Mutex
	confirmed [][2]string // token, order ID of every confirmed order (checkout), cancelled afterwards
}

func newLoader(cfg config) *loader {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.concurrency * 2,
		MaxIdleConnsPerHost: cfg.concurrency,
		IdleConnTimeout:     90 * time.Second,
		// Like curl: no Accept-Encoding, so answers are plain and the gateway's cache applies to them.
		DisableCompression:    true,
		ResponseHeaderTimeout: cfg.timeout,
	}
	return &loader{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.timeout}, salt: rand.IntN(1_000_000)}
}

// drive runs the clients until the duration is over (requests already sent are finished) or ctx ends,
// and returns the elapsed time and the merged series.
func (l *loader) drive(ctx context.Context, sc scenario) (time.Duration, []*Stats) {
	per := make([]map[string]*Stats, l.cfg.concurrency)
	start := time.Now()
	deadline := start.Add(l.cfg.duration)
	var wg sync.WaitGroup
	for i := range l.cfg.concurrency {
		st := map[string]*Stats{}
		for _, name := range sc.series {
			st[name] = NewStats(name)
		}
		per[i] = st
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				sc.step(ctx, i, st)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var out []*Stats
	for _, name := range sc.series {
		all := NewStats(name)
		for _, st := range per {
			all.Merge(st[name])
		}
		all.OK = sc.ok[name]
		out = append(out, all)
	}
	return elapsed, out
}

// result is one HTTP attempt.
type result struct {
	outcome string // status code, or "net" for a transport error
	cache   string
	body    []byte
	took    time.Duration
}

// do sends one request; keepBody says whether the body is read into result.body (else discarded, so
// the connection is reused). ok is false when ctx was cancelled: such an attempt is not recorded.
func (l *loader) do(ctx context.Context, method, path, token string, body []byte, header map[string]string, keepBody bool) (result, bool) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.cfg.gateway+path, rd)
	if err != nil {
		return result{outcome: "net"}, true
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	t := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{}, false
		}
		return result{outcome: "net", took: time.Since(t)}, true
	}
	r := result{outcome: strconv.Itoa(resp.StatusCode), cache: resp.Header.Get("X-Cache-Status")}
	if keepBody {
		r.body, err = io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	r.took = time.Since(t)
	if err != nil {
		if ctx.Err() != nil {
			return result{}, false
		}
		r.outcome = "net"
	}
	return r, true
}

// get is a step that fetches one path and records it in the "requests" series.
func (l *loader) get(ctx context.Context, path string, st map[string]*Stats) {
	if r, ok := l.do(ctx, http.MethodGet, path, "", nil, nil, false); ok {
		st["requests"].Add(r.took, r.outcome, r.cache)
	}
}

func (l *loader) scenario(name string) (scenario, error) {
	simple := []string{"requests"}
	switch name {
	case "catalog-hit":
		return scenario{series: simple, step: func(ctx context.Context, _ int, st map[string]*Stats) {
			l.get(ctx, "/product/products?category=books&limit=20", st)
		}}, nil
	case "catalog-miss":
		return scenario{series: simple, step: func(ctx context.Context, _ int, st map[string]*Stats) {
			l.get(ctx, missPath(l.salt, l.seq.Add(1)), st)
		}}, nil
	case "product":
		return scenario{series: simple, setup: l.loadProducts, setupDone: "product IDs listed",
			step: func(ctx context.Context, _ int, st map[string]*Stats) {
				l.get(ctx, "/product/products/"+url.PathEscape(l.products[rand.IntN(len(l.products))]), st)
			}}, nil
	case "storefront-home":
		return scenario{series: simple, step: func(ctx context.Context, _ int, st map[string]*Stats) {
			l.get(ctx, "/", st)
		}}, nil
	case "storefront-catalog":
		return scenario{series: simple, step: func(ctx context.Context, _ int, st map[string]*Stats) {
			l.get(ctx, "/products?category=books&sort=price_asc", st)
		}}, nil
	case "health":
		return scenario{series: simple, step: func(ctx context.Context, _ int, st map[string]*Stats) {
			l.get(ctx, "/health", st)
		}}, nil
	case "login":
		body, _ := json.Marshal(map[string]string{"email": l.cfg.email, "password": l.cfg.password})
		return scenario{series: simple, step: func(ctx context.Context, _ int, st map[string]*Stats) {
			if r, ok := l.do(ctx, http.MethodPost, "/auth/login", "", body, nil, false); ok {
				st["requests"].Add(r.took, r.outcome, r.cache)
			}
		}}, nil
	case "checkout":
		return l.checkout(), nil
	}
	return scenario{}, fmt.Errorf("-scenario %q: want one of %s", name, strings.Join(scenarios, ", "))
}

// missPath is a catalog list URL that differs for every n and between runs (salt), so the gateway
// cache misses every time: minPrice walks 0.00–99.99, then page moves on.
func missPath(salt int, n uint64) string {
	n += uint64(salt) * 10_000
	return fmt.Sprintf("/product/products?category=books&limit=20&minPrice=%d.%02d&page=%d",
		n%10_000/100, n%100, 1+n/10_000%1000)
}

// list is the shape of every list answer.
type list[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

// getList reads every page of a public list.
func getList[T any](ctx context.Context, l *loader, path string) ([]T, error) {
	var all []T
	for page := 1; ; page++ {
		r, ok := l.do(ctx, http.MethodGet, fmt.Sprintf("%s?limit=100&page=%d", path, page), "", nil, nil, true)
		if !ok {
			return nil, ctx.Err()
		}
		if r.outcome != "200" {
			return nil, fmt.Errorf("GET %s: %s %s", path, r.outcome, bytes.TrimSpace(r.body))
		}
		var lst list[T]
		if err := json.Unmarshal(r.body, &lst); err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		all = append(all, lst.Items...)
		if len(lst.Items) < 100 || len(all) >= lst.Total {
			return all, nil
		}
	}
}

func (l *loader) loadProducts(ctx context.Context) error {
	ps, err := getList[struct {
		ID string `json:"id"`
	}](ctx, l, "/product/products")
	if err != nil {
		return err
	}
	for _, p := range ps {
		l.products = append(l.products, p.ID)
	}
	if len(l.products) == 0 {
		return errors.New("no products (is SEED_DEMO_DATA off?)")
	}
	return nil
}

// minAvailable is the stock a SKU needs to be ordered: between two refreshes (250 ms) a few clients may
// reserve the last units, and the order is then rejected, which is correct but not what is measured.
const minAvailable = 5

// refreshSKUs lists inventory and keeps the SKUs with stock available.
func (l *loader) refreshSKUs(ctx context.Context) error {
	items, err := getList[struct {
		SKU       string `json:"sku"`
		Available int    `json:"available"`
	}](ctx, l, "/inventory/inventory")
	if err != nil {
		return err
	}
	var skus []string
	for _, it := range items {
		if it.Available >= minAvailable {
			skus = append(skus, it.SKU)
		}
	}
	if len(skus) == 0 {
		return errors.New("no SKU has stock available")
	}
	l.skus.Store(&skus)
	return nil
}

// checkout registers and logs in the customers, then each client places an order and polls it to its
// final status, again and again.
func (l *loader) checkout() scenario {
	final := map[string]bool{"confirmed": true, "rejected": true}
	sc := scenario{series: []string{"create", "poll", "saga"}, ok: map[string]func(string) bool{"saga": func(s string) bool { return final[s] }},
		setupDone: fmt.Sprintf("%d customers registered and logged in", l.cfg.customers)}
	sc.setup = func(ctx context.Context) error {
		if err := l.refreshSKUs(ctx); err != nil {
			return err
		}
		go func() { // stock changes as orders reserve it; an order for a sold-out SKU is rejected
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(250 * time.Millisecond):
					_ = l.refreshSKUs(ctx) // keep the previous list on error
				}
			}
		}()
		l.tokens = make([]string, l.cfg.customers)
		errs := make([]error, l.cfg.customers)
		sem := make(chan struct{}, l.cfg.concurrency)
		var wg sync.WaitGroup
		for i := range l.cfg.customers {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				l.tokens[i], errs[i] = l.newCustomer(ctx, i)
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	sc.step = func(ctx context.Context, client int, st map[string]*Stats) {
		token := l.tokens[client%len(l.tokens)]
		skus := *l.skus.Load()
		body, _ := json.Marshal(map[string]any{
			"items": []map[string]any{{"sku": skus[rand.IntN(len(skus))], "quantity": 1}},
			"shipping_address": map[string]string{"name": "Load Test", "street": "1 Main St", "city": "Springfield",
				"state": "IL", "zip_code": "62701", "country": "US"},
		})
		key := fmt.Sprintf("load-%d-%d-%d", l.salt, client, l.seq.Add(1))
		start := time.Now()
		r, ok := l.do(ctx, http.MethodPost, "/order/orders", token, body, map[string]string{"Idempotency-Key": key}, true)
		if !ok {
			return
		}
		st["create"].Add(r.took, r.outcome, r.cache)
		if r.outcome != "201" {
			backoff(ctx, r.outcome)
			return
		}
		var o struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if json.Unmarshal(r.body, &o) != nil || o.ID == "" {
			st["saga"].Add(time.Since(start), "bad-body", "")
			return
		}
		for !final[o.Status] {
			if time.Since(start) > l.cfg.sagaTimeout {
				st["saga"].Add(time.Since(start), "timeout:"+o.Status, "")
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(l.cfg.poll):
			}
			r, ok := l.do(ctx, http.MethodGet, "/order/orders/"+url.PathEscape(o.ID), token, nil, nil, true)
			if !ok {
				return
			}
			st["poll"].Add(r.took, r.outcome, r.cache)
			if r.outcome == "200" {
				_ = json.Unmarshal(r.body, &o)
			} else {
				backoff(ctx, r.outcome)
			}
		}
		st["saga"].Add(time.Since(start), o.Status, "")
		if o.Status == "confirmed" && l.cfg.cancel {
			l.mu.Lock()
			l.confirmed = append(l.confirmed, [2]string{token, o.ID})
			l.mu.Unlock()
		}
	}
	sc.cleanup = func(ctx context.Context, w io.Writer) {
		if len(l.confirmed) == 0 {
			return
		}
		t := time.Now()
		jobs := make(chan [2]string)
		var failed atomic.Int64
		var wg sync.WaitGroup
		for range l.cfg.concurrency {
			wg.Go(func() {
				for j := range jobs {
					r, ok := l.do(ctx, http.MethodPost, "/order/orders/"+url.PathEscape(j[1])+"/cancel", j[0], []byte("{}"), nil, true)
					if !ok || r.outcome != "200" {
						failed.Add(1)
					}
				}
			})
		}
		for _, j := range l.confirmed {
			jobs <- j
		}
		close(jobs)
		wg.Wait()
		fmt.Fprintf(w, "cleanup  cancelled %d confirmed orders (%d failed) in %s, so their stock is released\n",
			len(l.confirmed)-int(failed.Load()), failed.Load(), time.Since(t).Round(time.Millisecond))
	}
	sc.final = func(w io.Writer, elapsed time.Duration, series []*Stats) {
		for _, s := range series {
			if s.Name == "saga" {
				done := s.Status["confirmed"] + s.Status["rejected"]
				fmt.Fprintf(w, "orders   %d finished (%d confirmed, %d rejected), %.1f orders/s; saga = POST sent → final status seen (poll every %s)\n",
					done, s.Status["confirmed"], s.Status["rejected"], float64(done)/elapsed.Seconds(), l.cfg.poll)
			}
		}
	}
	return sc
}

// backoff pauses a client briefly after an error answer, so a failing platform is not hammered by a
// tight loop of instant errors.
func backoff(ctx context.Context, outcome string) {
	d := 50 * time.Millisecond
	if outcome == "429" || outcome == "503" {
		d = 200 * time.Millisecond
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// newCustomer registers a fresh customer and logs in, returning the access token.
func (l *loader) newCustomer(ctx context.Context, i int) (string, error) {
	email := fmt.Sprintf("load-%d-%d-%d@shop.local", time.Now().Unix(), l.salt, i)
	password := "load-Passw0rd!"
	reg, _ := json.Marshal(map[string]string{"email": email, "password": password, "name": fmt.Sprintf("Load Customer %d", i)})
	r, ok := l.do(ctx, http.MethodPost, "/auth/register", "", reg, nil, true)
	if !ok {
		return "", ctx.Err()
	}
	if r.outcome != "201" {
		return "", fmt.Errorf("register %s: %s %s", email, r.outcome, bytes.TrimSpace(r.body))
	}
	login, _ := json.Marshal(map[string]string{"email": email, "password": password})
	r, ok = l.do(ctx, http.MethodPost, "/auth/login", "", login, nil, true)
	if !ok {
		return "", ctx.Err()
	}
	if r.outcome != "200" {
		return "", fmt.Errorf("login %s: %s %s", email, r.outcome, bytes.TrimSpace(r.body))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("login %s: no access_token in %s", email, r.body)
	}
	return tok.AccessToken, nil
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
