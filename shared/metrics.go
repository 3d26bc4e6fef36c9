package shared

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics is a small Prometheus text-format registry: HTTP request counts and latency histograms by
// route, method and status, Go runtime basics, and counters and gauges a service adds. Safe for
// concurrent use; the zero value is not usable, use NewMetrics.
type Metrics struct {
	service string
	start   time.Time

	// requests maps reqKey to *histogram. A sync.Map because the set of series settles after the
	// first requests and is then only read, by every request on every core: its reads take no lock
	// (an RWMutex's read lock is a shared counter every core writes).
	requests sync.Map

	mu       sync.RWMutex
	counters map[string]*CounterVec
	gauges   []gaugeFunc
}

type reqKey struct {
	route, method string
	status        int
}

type gaugeFunc struct {
	name, help string
	fn         func() float64
}

// latencyBuckets are the upper bounds, in seconds, of the request latency histogram.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts [15]atomic.Uint64 // one per bucket plus +Inf
	sumNs  atomic.Uint64
	total  atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, s)
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(d.Nanoseconds()))
	h.total.Add(1)
}

// NewMetrics returns a registry whose series carry service="name".
func NewMetrics(service string) *Metrics {
	return &Metrics{
		service:  service,
		start:    time.Now(),
		counters: make(map[string]*CounterVec),
	}
}

// CounterVec is a counter with labels, exported as name{label="value",...}.
type CounterVec struct {
	name, help string
	labels     []string
	mu         sync.Mutex
	values     map[string]*atomic.Uint64
}

// Counter returns the counter vector called name, creating it with help and label names.
func (m *Metrics) Counter(name, help string, labels ...string) *CounterVec {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.counters[name]; ok {
		return c
	}
	c := &CounterVec{name: name, help: help, labels: labels, values: make(map[string]*atomic.Uint64)}
	m.counters[name] = c
	return c
}

// Add adds n to the series with the label values, given in the order of the label names.
func (c *CounterVec) Add(n uint64, values ...string) {
	c.With(values...).Add(n)
}

// With returns the series with the label values, created at zero if new. A caller on a hot path
// resolves its series once and then adds to it with no lookup, allocation or lock.
func (c *CounterVec) With(values ...string) *Counter {
	key := strings.Join(values, "\x00")
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.values[key]
	if !ok {
		v = new(atomic.Uint64)
		c.values[key] = v
	}
	return (*Counter)(v)
}

// Counter is one series of a CounterVec.
type Counter atomic.Uint64

// Add adds n.
func (c *Counter) Add(n uint64) { (*atomic.Uint64)(c).Add(n) }

// Inc adds one.
func (c *Counter) Inc() { (*atomic.Uint64)(c).Add(1) }

// Inc adds one.
func (c *CounterVec) Inc(values ...string) { c.Add(1, values...) }

// Value returns the series' current count (for tests and health pages).
func (c *CounterVec) Value(values ...string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.values[strings.Join(values, "\x00")]; ok {
		return v.Load()
	}
	return 0
}

// Gauge registers a gauge whose value fn reports at scrape time. name may carry labels:
// `breaker_state{instance="a"}`.
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gauges = append(m.gauges, gaugeFunc{name: name, help: help, fn: fn})
}

// Middleware records every request under its route pattern (r.Pattern, "unmatched" for none), so
// IDs in paths do not explode the series.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec, ok := w.(*StatusRecorder)
		if !ok {
			rec = &StatusRecorder{ResponseWriter: w}
		}
		next.ServeHTTP(rec, r)
		status := rec.Status
		if status == 0 {
			status = http.StatusOK
		}
		route := RouteFrom(r.Context(), r)
		if route == "" {
			route = "unmatched"
		}
		m.Observe(route, r.Method, status, time.Since(start))
	})
}

// Observe records one request; Middleware calls it, and so may a handler that serves without a route.
// route must come from a closed set (a registered mux pattern or "unmatched"); the method is mapped
// onto the closed set of MethodLabel, so a client inventing methods cannot add series.
func (m *Metrics) Observe(route, method string, status int, d time.Duration) {
	k := reqKey{route: route, method: MethodLabel(method), status: status}
	v, ok := m.requests.Load(k)
	if !ok {
		v, _ = m.requests.LoadOrStore(k, new(histogram))
	}
	v.(*histogram).observe(d)
}

// MethodLabel is the metrics label for an HTTP method: the method itself for the nine methods of
// RFC 9110 and PATCH (RFC 5789), "other" for anything else. Method names are client-chosen tokens of
// any length, so a label taken verbatim would let one client create series without bound.
func MethodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// Handler serves the registry in the Prometheus text exposition format 0.0.4.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		m.WriteTo(w)
	})
}

// WriteTo writes the exposition to w.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	svc := `service="` + m.service + `"`

	type series struct {
		route, method, status string
		h                     *histogram
	}
	var keys []series
	m.requests.Range(func(k, v any) bool {
		rk := k.(reqKey)
		keys = append(keys, series{rk.route, rk.method, strconv.Itoa(rk.status), v.(*histogram)})
		return true
	})
	slices.SortFunc(keys, func(a, b series) int {
		return strings.Compare(a.route+a.method+a.status, b.route+b.method+b.status)
	})
	m.mu.RLock()
	b.WriteString("# HELP http_requests_total HTTP requests served, by route, method and status.\n# TYPE http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "http_requests_total{%s,route=%q,method=%q,status=%q} %d\n", svc, k.route, k.method, k.status, k.h.total.Load())
	}
	b.WriteString("# HELP http_request_duration_seconds HTTP request latency.\n# TYPE http_request_duration_seconds histogram\n")
	for _, k := range keys {
		h := k.h
		labels := fmt.Sprintf("%s,route=%q,method=%q,status=%q", svc, k.route, k.method, k.status)
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.counts[i].Load()
			fmt.Fprintf(&b, "http_request_duration_seconds_bucket{%s,le=\"%g\"} %d\n", labels, le, cum)
		}
		cum += h.counts[len(latencyBuckets)].Load()
		fmt.Fprintf(&b, "http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", labels, cum)
		fmt.Fprintf(&b, "http_request_duration_seconds_sum{%s} %g\n", labels, float64(h.sumNs.Load())/1e9)
		fmt.Fprintf(&b, "http_request_duration_seconds_count{%s} %d\n", labels, cum)
	}
	names := make([]string, 0, len(m.counters))
	for n := range m.counters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := m.counters[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
		c.mu.Lock()
		series := make([]string, 0, len(c.values))
		for key, v := range c.values {
			vals := strings.Split(key, "\x00")
			lbl := svc
			for i, l := range c.labels {
				if i < len(vals) {
					lbl += fmt.Sprintf(",%s=%q", l, vals[i])
				}
			}
			series = append(series, fmt.Sprintf("%s{%s} %d\n", c.name, lbl, v.Load()))
		}
		c.mu.Unlock()
		sort.Strings(series)
		for _, s := range series {
			b.WriteString(s)
		}
	}
	gauges := slices.Clone(m.gauges)
	m.mu.RUnlock()

	seen := map[string]bool{}
	for _, g := range gauges {
		base, labels, _ := strings.Cut(g.name, "{")
		if !seen[base] {
			seen[base] = true
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", base, g.help, base)
		}
		lbl := svc
		if labels != "" {
			lbl += "," + strings.TrimSuffix(labels, "}")
		}
		fmt.Fprintf(&b, "%s{%s} %g\n", base, lbl, g.fn())
	}

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(&b, "# HELP go_goroutines Goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines{%s} %d\n", svc, runtime.NumGoroutine())
	fmt.Fprintf(&b, "# HELP go_memstats_heap_alloc_bytes Heap bytes allocated and in use.\n# TYPE go_memstats_heap_alloc_bytes gauge\ngo_memstats_heap_alloc_bytes{%s} %d\n", svc, ms.HeapAlloc)
	fmt.Fprintf(&b, "# HELP go_memstats_sys_bytes Bytes obtained from the OS.\n# TYPE go_memstats_sys_bytes gauge\ngo_memstats_sys_bytes{%s} %d\n", svc, ms.Sys)
	fmt.Fprintf(&b, "# HELP go_gc_cycles_total Completed GC cycles.\n# TYPE go_gc_cycles_total counter\ngo_gc_cycles_total{%s} %d\n", svc, ms.NumGC)
	fmt.Fprintf(&b, "# HELP process_uptime_seconds Seconds since the process started.\n# TYPE process_uptime_seconds gauge\nprocess_uptime_seconds{%s} %g\n", svc, time.Since(m.start).Seconds())
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
