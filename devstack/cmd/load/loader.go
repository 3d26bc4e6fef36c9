package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// scenario is one kind of load: an optional setup, then step repeated by every client.
type scenario struct {
	series    []string                             // names of the Stats each client fills, in report order
	ok        map[string]func(outcome string) bool // a series' notion of success; default 2xx
	setup     func(ctx context.Context) error
	setupDone string
	step      func(ctx context.Context, client int, st map[string]*Stats)
	final     func(w io.Writer, elapsed time.Duration, series []*Stats)
	cleanup   func(ctx context.Context, w io.Writer)
	cpu       bool // report the platform's CPU time per confirmed order (the "saga" series)
}

type loader struct {
	cfg    config
	client *http.Client
	seq    atomic.Uint64
	salt   int

	products []string                 // product IDs (product)
	tokens   []string                 // access tokens of the customers (checkout)
	skus     atomic.Pointer[[]string] // in-stock SKUs, refreshed during checkout
	events   *orderEvents             // the customers' realtime sockets (checkout)

	mu        sync.Mutex
	confirmed [][2]string // token, order ID of every confirmed order (checkout), cancelled afterwards
}

func newLoader(cfg config) *loader {
	// Keep as many idle connections as requests may be in flight, so a busy moment does not end in
	// closed connections and new dials (which would be measured): -c clients, or -max-inflight arrivals.
	conns := cfg.concurrency
	if cfg.rate > 0 {
		conns = max(conns, cfg.maxInFlight)
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		// Like curl: no Accept-Encoding, so answers are plain and the gateway's cache applies to them.
		DisableCompression:    true,
		ResponseHeaderTimeout: cfg.timeout,
	}
	return &loader{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.timeout}, salt: rand.IntN(1_000_000), events: newOrderEvents()}
}

// drive runs the load until the duration is over (requests already sent are finished) or ctx ends,
// and returns the elapsed time, the merged series and, in open-loop mode (-rate), what the scheduler
// did (nil in closed-loop mode).
func (l *loader) drive(ctx context.Context, sc scenario) (time.Duration, []*Stats, *arrivals) {
	start := time.Now()
	var per []map[string]*Stats
	var sched *arrivals
	if l.cfg.rate > 0 {
		// Arrival i is step(i): the checkout's customer i mod -customers. Each arrival records into a
		// series of its own, merged under a lock when it is done (a few hundred a second).
		all := newSeries(sc.series)
		var mu sync.Mutex
		a := openLoop(ctx, l.cfg.rate, l.cfg.duration, l.cfg.maxInFlight, func(ctx context.Context, i int) {
			st := newSeries(sc.series)
			sc.step(ctx, i, st)
			mu.Lock()
			defer mu.Unlock()
			for name, s := range st {
				all[name].Merge(s)
			}
		})
		per, sched = []map[string]*Stats{all}, &a
	} else {
		// Closed loop: each client sends its next step when the previous one is done.
		deadline := start.Add(l.cfg.duration)
		per = make([]map[string]*Stats, l.cfg.concurrency)
		var wg sync.WaitGroup
		for i := range l.cfg.concurrency {
			st := newSeries(sc.series)
			per[i] = st
			wg.Go(func() {
				for ctx.Err() == nil && time.Now().Before(deadline) {
					sc.step(ctx, i, st)
				}
			})
		}
		wg.Wait()
	}
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
	return elapsed, out, sched
}

// newSeries returns an empty Stats for each name.
func newSeries(names []string) map[string]*Stats {
	st := make(map[string]*Stats, len(names))
	for _, name := range names {
		st[name] = NewStats(name)
	}
	return st
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

// getList reads every page of a list, as token ("" for a public list, which the gateway may answer
// from its cache).
func getList[T any](ctx context.Context, l *loader, path, token string) ([]T, error) {
	var all []T
	for page := 1; ; page++ {
		r, ok := l.do(ctx, http.MethodGet, fmt.Sprintf("%s?limit=100&page=%d", path, page), token, nil, nil, true)
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
	}](ctx, l, "/product/products", "")
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
	}](ctx, l, "/inventory/inventory", "")
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
