package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// hitPathCase is one request sent to the gateway in TestHitPathSameAnswers and TestHitPathTakes.
type hitPathCase struct {
	name, method, target string
	header               map[string]string
	remote               string // default httptest's 192.0.2.1:1234, a trusted proxy below
	fast                 bool   // hitPath answers it itself
}

var hitPathCases = []hitPathCase{
	{name: "list", method: "GET", target: "/product/products", fast: true},
	{name: "HEAD", method: "HEAD", target: "/product/products", fast: true},
	{name: "query in another order", method: "GET", target: "/product/products?page=1&category=demo", fast: true},
	{name: "one product", method: "GET", target: "/product/products/p1", fast: true},
	{name: "cached 404", method: "GET", target: "/product/products/missing", fast: true},
	{name: "inventory", method: "GET", target: "/inventory/inventory/SKU-1", fast: true},
	{name: "client request ID kept", method: "GET", target: "/product/products", header: map[string]string{"X-Request-ID": "abc-123"}, fast: true},
	{name: "bad request ID replaced", method: "GET", target: "/product/products", header: map[string]string{"X-Request-ID": "a b"}, fast: true},
	{name: "HTTPS at a trusted proxy", method: "GET", target: "/product/products", header: map[string]string{"X-Forwarded-Proto": "https"}, fast: true},
	{name: "HTTPS claimed by a client", method: "GET", target: "/product/products", header: map[string]string{"X-Forwarded-Proto": "https"}, remote: "203.0.113.9:4000", fast: true},
	{name: "HEAD of a cached 404", method: "HEAD", target: "/product/products/missing", fast: true},
	{name: "range (the cache answers in full either way)", method: "GET", target: "/product/products", header: map[string]string{"Range": "bytes=0-3"}, fast: true},
	{name: "If-Modified-Since (not evaluated either way)", method: "GET", target: "/product/products", header: map[string]string{"If-Modified-Since": "Sat, 05 Dec 2026 00:00:00 GMT"}, fast: true},
	{name: "another cookie", method: "GET", target: "/product/products", header: map[string]string{"Cookie": "theme=dark"}},
	{name: "escaped ? in the path", method: "GET", target: "/product/products/p1%3Fx=1"},
	{name: "lower-case method", method: "get", target: "/product/products"},
	{name: "CORS", method: "GET", target: "/product/products", header: map[string]string{"Origin": "http://localhost:3000"}},
	{name: "conditional", method: "GET", target: "/product/products", header: map[string]string{"If-None-Match": `"v1"`}},
	{name: "bearer token", method: "GET", target: "/product/products", header: map[string]string{"Authorization": "Bearer x"}},
	{name: "session cookie", method: "GET", target: "/product/products", header: map[string]string{"Cookie": "session_id=s1"}},
	{name: "upgrade", method: "GET", target: "/product/products", header: map[string]string{"Connection": "Upgrade", "Upgrade": "websocket"}},
	{name: "unclean path", method: "GET", target: "/product//products"},
	{name: "escaped path", method: "GET", target: "/product/products%2Fp1"},
	{name: "not cached yet", method: "GET", target: "/product/products/p2"},
	{name: "uncached service", method: "GET", target: "/order/orders"},
	{name: "write", method: "POST", target: "/order/orders"},
	{name: "health", method: "GET", target: "/health"},
	{name: "unknown service", method: "GET", target: "/nope/x"},
}

// hitPathGateway is a gateway in front of a fake product/inventory/order upstream, with its cache
// primed (each cacheable target fetched once) and a generous rate limit.
func hitPathGateway(t *testing.T, up *httptest.Server, fast bool) (http.Handler, *shared.Metrics, *sharedtest.LogBuffer) {
	t.Helper()
	env := map[string]string{"GATEWAY_CACHE_L1_TTL": "1m", "GATEWAY_RATE_LIMIT": "1/h:1000", "TRUSTED_PROXIES": "192.0.2.0/24",
		"PRODUCT_SERVICE_URLS": up.URL, "INVENTORY_SERVICE_URLS": up.URL, "ORDER_SERVICE_URLS": up.URL}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &sharedtest.LogBuffer{}
	logger := shared.NewLogger(logs, "gateway", "info")
	metrics := shared.NewMetrics("gateway")
	gw := newGateway(logger, cfg, metrics, newMemStore())
	h := newStack(logger, cfg, metrics, shared.NewReadiness(), gw)
	if fast {
		h = NewServer(logger, cfg, metrics, shared.NewReadiness(), gw)
	}
	for _, target := range []string{"/product/products", "/product/products?category=demo&page=1", "/product/products/p1", "/product/products/missing", "/inventory/inventory/SKU-1"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if got := w.Header().Get("X-Cache-Status"); got != cacheMiss {
			t.Fatalf("priming GET %s: X-Cache-Status %q, want MISS", target, got)
		}
	}
	return h, metrics, logs
}

func hitPathUpstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/products/missing":
			w.Header().Set("Cache-Control", "public, max-age=10")
			shared.WriteError(w, r, nil, shared.Errorf(shared.CodeNotFound, "no such product"))
		case r.Method == "GET":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Etag", `"v1"`)
			io.WriteString(w, `{"path":"`+r.URL.Path+`","query":"`+r.URL.RawQuery+`"}`)
		default:
			w.WriteHeader(http.StatusCreated)
		}
	}))
	t.Cleanup(up.Close)
	return up
}

func (c hitPathCase) request() *http.Request {
	r := httptest.NewRequest(c.method, c.target, nil)
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	if c.remote != "" {
		r.RemoteAddr = c.remote
	}
	return r
}

// TestHitPathSameAnswers sends every case, and then enough requests to run the rate limit's leases
// dry and into 429s, to a gateway with hitPath and to one with the middleware stack alone: status,
// body, headers, log lines and request metrics must be the same.
//
// It runs in a synctest bubble: the clock stands still while both gateways answer, so the rate
// limiter's leases (their expiry, and how busily they were spent) are the same for both. On the real
// clock a slow run (-race on a loaded machine) could let one gateway's lease go stale or stop counting
// as busy between the two calls, and RateLimit-Remaining then differed between them.
func TestHitPathSameAnswers(t *testing.T) {
	synctest.Test(t, testHitPathSameAnswers)
}

func testHitPathSameAnswers(t *testing.T) {
	up := hitPathUpstream(t)
	fast, fastMetrics, fastLogs := hitPathGateway(t, up, true)
	stack, stackMetrics, stackLogs := hitPathGateway(t, up, false)
	generatedID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	// What may differ between two runs of one request in an error body: its ID, and the seconds to
	// wait in a 429, when the two gateways' buckets are read either side of a second.
	requestIDInBody := regexp.MustCompile(`"request_id":"[^"]*"|retry in [0-9]+ s`)
	var cases []hitPathCase
	for range 3 {
		cases = append(cases, hitPathCases...)
	}
	for range 1000 { // the IP bucket holds 1000: this runs it dry through both paths
		cases = append(cases, hitPathCase{name: "burst", method: "GET", target: "/product/products"})
	}
	limited := 0
	for i, c := range cases {
		wf, ws := httptest.NewRecorder(), httptest.NewRecorder()
		fastFrom, stackFrom := len(fastLogs.String()), len(stackLogs.String())
		fast.ServeHTTP(wf, c.request())
		stack.ServeHTTP(ws, c.request())
		lf, ls := logLines(t, fastLogs.String()[fastFrom:]), logLines(t, stackLogs.String()[stackFrom:])
		if len(lf) == 0 || !slices.Equal(lf, ls) {
			t.Fatalf("request %d (%s %s, %s): log lines differ\nhitPath: %q\nstack:   %q", i, c.method, c.target, c.name, lf, ls)
		}
		bf, bs := requestIDInBody.ReplaceAll(wf.Body.Bytes(), nil), requestIDInBody.ReplaceAll(ws.Body.Bytes(), nil)
		if wf.Code != ws.Code || !bytes.Equal(bf, bs) {
			t.Fatalf("request %d (%s %s, %s): hitPath %d %q, stack %d %q", i, c.method, c.target, c.name, wf.Code, wf.Body, ws.Code, ws.Body)
		}
		if wf.Code == http.StatusTooManyRequests {
			limited++
		}
		hf, hs := wf.Result().Header, ws.Result().Header
		for _, k := range []string{"Date", "Age", "Ratelimit-Reset", "Retry-After"} {
			if (hf[k] == nil) != (hs[k] == nil) {
				t.Errorf("request %d (%s): %s %q with hitPath, %q without", i, c.name, k, hf[k], hs[k])
			}
			delete(hf, k)
			delete(hs, k)
		}
		if c.header["X-Request-ID"] != "abc-123" {
			if !generatedID.MatchString(hf.Get("X-Request-Id")) || !generatedID.MatchString(hs.Get("X-Request-Id")) {
				t.Errorf("request %d (%s): X-Request-ID %q with hitPath, %q without, want generated IDs", i, c.name, hf.Get("X-Request-Id"), hs.Get("X-Request-Id"))
			}
			hf.Del("X-Request-Id")
			hs.Del("X-Request-Id")
		}
		if !headersEqual(hf, hs) {
			t.Fatalf("request %d (%s %s, %s): headers differ\nhitPath: %v\nstack:   %v", i, c.method, c.target, c.name, hf, hs)
		}
	}
	if limited == 0 {
		t.Fatal("the burst never reached the rate limit: the 429 path was not compared")
	}
	if f, s := requestCounts(fastMetrics), requestCounts(stackMetrics); !slices.Equal(f, s) {
		t.Fatalf("request metrics differ\nhitPath: %v\nstack:   %v", f, s)
	}
}

// TestHitPathTakes checks which requests hitPath answers itself: without this, TestHitPathSameAnswers
// would pass with a hitPath that never answers anything.
func TestHitPathTakes(t *testing.T) {
	up := hitPathUpstream(t)
	h, _, _ := hitPathGateway(t, up, true)
	p := h.(*hitPath)
	for _, c := range hitPathCases {
		warm := hitPathCase{method: "GET", target: "/product/products", remote: c.remote}
		h.ServeHTTP(httptest.NewRecorder(), warm.request()) // a first request from an address leases its tokens
		w := httptest.NewRecorder()
		if got := p.serve(w, c.request()); got != c.fast {
			t.Errorf("%s (%s %s): hitPath answered %v, want %v", c.name, c.method, c.target, got, c.fast)
		}
		if !c.fast && (len(w.Header()) != 0 || w.Body.Len() != 0) {
			t.Errorf("%s: hitPath passed it on but wrote %v %q", c.name, w.Header(), w.Body)
		}
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// logLines returns the JSON log lines in s without what differs between two runs of one request
// (time, request ID, duration).
func logLines(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		delete(m, "time")
		delete(m, "request_id")
		delete(m, "duration_ms")
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	return out
}

// requestCounts returns the http_requests_total lines of m's exposition.
func requestCounts(m *shared.Metrics) []string {
	var b strings.Builder
	m.WriteTo(&b)
	var out []string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "http_requests_total{") {
			out = append(out, line)
		}
	}
	slices.Sort(out)
	return out
}
