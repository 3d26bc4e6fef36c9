package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// upstream is a fake service instance that records what it received and answers with handler (or,
// by default, its name and the path it saw).
type upstream struct {
	name    string
	server  *httptest.Server
	calls   atomic.Int64
	last    atomic.Pointer[http.Request]
	handler atomic.Pointer[http.HandlerFunc]
}

func newUpstream(tb testing.TB, name string) *upstream {
	tb.Helper()
	u := &upstream{name: name}
	u.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			shared.Healthz(w, r)
			return
		}
		u.calls.Add(1)
		u.last.Store(r.Clone(r.Context()))
		if h := u.handler.Load(); h != nil {
			(*h)(w, r)
			return
		}
		io.WriteString(w, u.name+" "+r.URL.RequestURI())
	}))
	tb.Cleanup(u.server.Close)
	return u
}

// handle replaces the upstream's answer.
func (u *upstream) handle(h http.HandlerFunc) { u.handler.Store(&h) }

// testEnv builds a gateway in front of fake upstreams. env overrides the defaults; services without
// an entry point at a closed port.
type testEnv struct {
	handler http.Handler
	gw      *gateway
	kv      *memStore
}

func newTestEnv(tb testing.TB, env map[string]string) *testEnv {
	tb.Helper()
	return newTestEnvKV(tb, env, newMemStore())
}

// newTestEnvKV is newTestEnv on the given store, so several gateway copies can share one Redis.
func newTestEnvKV(tb testing.TB, env map[string]string, kv *memStore) *testEnv {
	tb.Helper()
	full := withEveryService(map[string]string{"LOG_LEVEL": "error"}, "http://"+sharedtest.ClosedAddr)
	full["AUTH_URL"] = "http://" + sharedtest.ClosedAddr
	for k, v := range env {
		full[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return full[k] })
	if err != nil {
		tb.Fatal(err)
	}
	kv.maxPerIndex = cfg.CacheMaxEntries // as run gives it to the Redis store
	logger := slog.New(slog.DiscardHandler)
	metrics := shared.NewMetrics("gateway")
	gw := newGateway(logger, cfg, metrics, kv)
	return &testEnv{handler: NewServer(logger, cfg, metrics, shared.NewReadiness(), gw), gw: gw, kv: kv}
}

// withEveryService points every service's *_SERVICE_URLS in env at url and returns env (a new map
// when env is nil).
func withEveryService(env map[string]string, url string) map[string]string {
	if env == nil {
		env = map[string]string{}
	}
	for _, s := range serviceDefaults {
		env[strings.ToUpper(s.name)+"_SERVICE_URLS"] = url
	}
	return env
}

// do sends a request through the gateway and returns the recorded response.
func (e *testEnv) do(tb testing.TB, method, target string, header http.Header) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func TestRouting(t *testing.T) {
	t.Parallel()
	ups := map[string]*upstream{}
	env := map[string]string{}
	for _, s := range serviceDefaults {
		ups[s.name] = newUpstream(t, s.name)
		env[strings.ToUpper(s.name)+"_SERVICE_URLS"] = ups[s.name].server.URL
	}
	e := newTestEnv(t, env)
	tests := []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/auth/.well-known/jwks.json", 200, "auth /.well-known/jwks.json"},
		{"POST", "/auth/login", 200, "auth /login"},
		{"GET", "/user/users/me", 200, "user /users/me"},
		{"GET", "/product/products?category=shoes&page=2", 200, "product /products?category=shoes&page=2"},
		{"DELETE", "/product/products/p1", 200, "product /products/p1"},
		{"GET", "/inventory/inventory/SKU-1", 200, "inventory /inventory/SKU-1"},
		{"POST", "/order/orders", 200, "order /orders"},
		{"GET", "/realtime/stats", 200, "realtime /stats"},
		{"GET", "/product/a%2Fb", 200, "product /a%2Fb"},
		{"GET", "/nope/x", 404, `"code":"not_found"`},
		// Operator endpoints stay on each program's own port.
		{"GET", "/order/metrics", 404, `"code":"not_found"`},
		{"GET", "/auth/readyz", 404, `"code":"not_found"`},
		{"GET", "/realtime/healthz", 404, `"code":"not_found"`},
		{"POST", "/product/metrics", 404, `"code":"not_found"`},
		{"GET", "/inventory/%6detrics", 404, `"code":"not_found"`},
		{"GET", "/user/readyz?scope=pod", 404, `"code":"not_found"`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			before := 0
			for _, u := range ups {
				before += int(u.calls.Load())
			}
			rec := e.do(t, tt.method, tt.target, nil)
			if tt.status == 404 {
				after := 0
				for _, u := range ups {
					after += int(u.calls.Load())
				}
				if after != before {
					t.Errorf("%s %s: reached an upstream", tt.method, tt.target)
				}
			}
			if rec.Code != tt.status {
				t.Fatalf("%s %s: status = %d, want %d (body %q)", tt.method, tt.target, rec.Code, tt.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("%s %s: body = %q, want it to contain %q", tt.method, tt.target, rec.Body, tt.body)
			}
			if rec.Header().Get("X-Request-ID") == "" {
				t.Errorf("%s %s: no X-Request-ID", tt.method, tt.target)
			}
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	rec := e.do(t, "GET", "/product/products", http.Header{
		"X-Request-Id":      {"abc-123"},
		"X-Forwarded-For":   {"6.6.6.6"},
		"X-User-Id":         {"u-admin"},
		"X-User-Role":       {"admin"},
		"X-Identity":        {"{}"},
		"X-Auth-Request-Id": {"x"},
		"Traceparent":       {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	})
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /product/products: status = %d, want 200", rec.Code)
	}
	got := up.last.Load()
	if v := got.Header.Get("X-Request-ID"); v != "abc-123" {
		t.Errorf("upstream X-Request-ID = %q, want abc-123", v)
	}
	if v := got.Header.Get("X-Forwarded-For"); v != "192.0.2.1" {
		t.Errorf("upstream X-Forwarded-For = %q, want only the peer 192.0.2.1", v)
	}
	if v := got.Header.Get("X-Forwarded-Host"); v != "example.com" {
		t.Errorf("upstream X-Forwarded-Host = %q, want example.com", v)
	}
	if v := got.Header.Get("Traceparent"); v == "" {
		t.Error("upstream lost traceparent")
	}
	for _, h := range []string{"X-User-Id", "X-User-Role", "X-Identity", "X-Auth-Request-Id"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("upstream got client identity header %s: %q", h, v)
		}
	}
	if v := rec.Header().Values("X-Content-Type-Options"); len(v) != 1 {
		t.Errorf("X-Content-Type-Options = %q, want exactly one", v)
	}
}

func TestRoundRobinSkipsUnhealthy(t *testing.T) {
	t.Parallel()
	a, b, c := newUpstream(t, "a"), newUpstream(t, "b"), newUpstream(t, "c")
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": a.server.URL + "," + b.server.URL + "," + c.server.URL})
	for range 6 {
		if rec := e.do(t, "POST", "/product/products", nil); rec.Code != http.StatusOK {
			t.Fatalf("POST /product/products: status = %d, want 200", rec.Code)
		}
	}
	for _, u := range []*upstream{a, b, c} {
		if n := u.calls.Load(); n != 2 {
			t.Errorf("instance %s got %d of 6 requests, want 2", u.name, n)
		}
	}

	// b dies; two failed health checks take it out, and no request reaches it afterwards.
	b.server.Close()
	p, _ := e.gw.pool("product")
	client := &http.Client{}
	p.checkAll(t.Context(), client, 2*time.Second)
	p.checkAll(t.Context(), client, 2*time.Second)
	if p.instances[1].healthy.Load() {
		t.Fatal("instance b still healthy after two failed checks")
	}
	before := a.calls.Load() + c.calls.Load()
	for range 10 {
		if rec := e.do(t, "POST", "/product/products", nil); rec.Code != http.StatusOK {
			t.Fatalf("POST /product/products with b down: status = %d, want 200", rec.Code)
		}
	}
	if n := a.calls.Load() + c.calls.Load() - before; n != 10 {
		t.Errorf("healthy instances got %d of 10 requests, want 10", n)
	}
	rec := e.do(t, "GET", "/health/services/product", nil)
	var st serviceStatus
	json.Unmarshal(rec.Body.Bytes(), &st)
	if rec.Code != http.StatusOK || st.Status != "up" || len(st.Instances) != 3 || st.Instances[1].Healthy {
		t.Errorf("GET /health/services/product: status = %d, body %s, want up with b unhealthy", rec.Code, rec.Body)
	}
}

func TestRetryOnConnectFailure(t *testing.T) {
	t.Parallel()
	good := newUpstream(t, "good")
	good.handle(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, "good "+r.Method+" "+string(b))
	})
	// The dead instance stays "healthy" (no check ran), so round-robin picks it half the time. A
	// connect failure means nothing reached it, not a byte of a body either: every request goes on to
	// the good instance, whatever its method and with its body whole (an instance killed or restarting
	// must not fail the writes sent to it meanwhile); once the dead one's breaker opens, nothing is sent
	// there.
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": "http://" + sharedtest.ClosedAddr + "," + good.server.URL})
	for i := range 4 {
		body := fmt.Sprintf(`{"sku":"a%d"}`, i)
		req := httptest.NewRequest("POST", "/product/products", strings.NewReader(body))
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if want := "good POST " + body; rec.Code != http.StatusOK || rec.Body.String() != want {
			t.Errorf("POST /product/products #%d: status = %d, body %q; want 200 %q (retried with its body)", i, rec.Code, rec.Body, want)
		}
	}
	for i := range 4 {
		for _, method := range []string{"GET", "DELETE"} {
			target := fmt.Sprintf("/product/products/%d", i)
			if rec := e.do(t, method, target, nil); rec.Code != http.StatusOK {
				t.Errorf("%s %s: status = %d, want 200 (retried)", method, target, rec.Code)
			}
		}
	}
}

func TestBreakerOpenAnswers503(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	up.handle(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	for i := range 5 {
		if rec := e.do(t, "POST", "/product/products", nil); rec.Code != http.StatusInternalServerError {
			t.Fatalf("POST #%d: status = %d, want the upstream's 500", i, rec.Code)
		}
	}
	rec := e.do(t, "POST", "/product/products", nil)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("POST after 5 failures: status = %d, want 503", rec.Code)
	}
	if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("POST after 5 failures: Retry-After = %q, want seconds until half-open", ra)
	}
	if !strings.Contains(rec.Body.String(), `"code":"unavailable"`) {
		t.Errorf("POST after 5 failures: body %s, want the error shape", rec.Body)
	}
	if n := up.calls.Load(); n != 5 {
		t.Errorf("upstream got %d calls, want 5 (none once open)", n)
	}
	rec = e.do(t, "GET", "/health/detailed", nil)
	if !strings.Contains(rec.Body.String(), `"circuit":"open"`) {
		t.Errorf("GET /health/detailed: body %s, want an open circuit", rec.Body)
	}
}

// TestBadUpgradeKeepsBreakerSlots: a request that asks to switch to a protocol name httputil refuses
// (not printable ASCII) is the client's 400, and takes no trial slot from a half-open breaker.
// ReverseProxy answered it through the error handler without a round trip, so the admission was never
// reported: three such requests while the instance's breaker was half-open held its three trial slots
// for good, and the service answered 503 until the gateway restarted.
func TestBadUpgradeKeepsBreakerSlots(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL, "GATEWAY_RATE_LIMIT": "off"})
	p, _ := e.gw.pool("product")
	br := p.instances[0].breaker
	for br.State() != StateOpen { // a restarting instance: connections refused, then back
		done, err := br.Allow()
		if err != nil {
			t.Fatal(err)
		}
		done(errUpstream5xx)
	}
	br.Probe() // its health check answers again: half-open, three trial requests
	bad := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket\u00e9"}}
	for i := range 3 {
		rec := e.do(t, "GET", "/product/products", bad)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"code":"invalid"`) {
			t.Errorf("GET with Upgrade %q #%d: %d %s, want 400 invalid", bad.Get("Upgrade"), i+1, rec.Code, rec.Body)
		}
	}
	for i := range 3 {
		target := fmt.Sprintf("/product/products/p%d", i) // three paths: three round trips, not HITs
		if rec := e.do(t, "GET", target, nil); rec.Code != http.StatusOK {
			t.Fatalf("GET %s after the bad upgrades: %d %s, want 200 (a trial request)", target, rec.Code, rec.Body)
		}
	}
	if st := br.State(); st != StateClosed {
		t.Errorf("breaker after three good trials: %s, want closed", st)
	}
}

// TestWebSocketUpgrade: an upgrade to /realtime/ws passes through, and bytes flow both ways after it.
func TestWebSocketUpgrade(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "realtime")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" || r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want an upgrade on /ws", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo " + line)
		brw.Flush()
	})
	e := newTestEnv(t, map[string]string{"REALTIME_SERVICE_URLS": up.server.URL})
	gw := httptest.NewServer(e.handler)
	defer gw.Close()

	conn, err := net.Dial("tcp", gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /realtime/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nCookie: session_id=x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("GET /realtime/ws: status = %d, want 101", resp.StatusCode)
	}
	io.WriteString(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo hello\n" {
		t.Errorf("after upgrade: read %q, %v; want %q", line, err, "echo hello\n")
	}
}

// TestLocationThroughGateway: a Location a service writes relative to its own root names the same
// resource through the gateway (order's 201 says /orders/{id}; the client must follow
// /order/orders/{id}); absolute, scheme-relative and path-relative references pass unchanged.
func TestLocationThroughGateway(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "order")
	e := newTestEnv(t, map[string]string{"ORDER_SERVICE_URLS": up.server.URL})
	for _, tc := range []struct{ upstream, want string }{
		{"/orders/o1", "/order/orders/o1"},
		{"/orders/o1?x=1", "/order/orders/o1?x=1"},
		{"https://shop.example/orders/o1", "https://shop.example/orders/o1"},
		{"//evil.example/x", "//evil.example/x"},
		{"/\\evil.example/x", "/\\evil.example/x"},
		{"o1", "o1"},
		{"", ""},
	} {
		up.handle(func(w http.ResponseWriter, r *http.Request) {
			if tc.upstream != "" {
				w.Header().Set("Location", tc.upstream)
			}
			w.WriteHeader(http.StatusCreated)
		})
		rec := e.do(t, "POST", "/order/orders", nil)
		if rec.Code != http.StatusCreated || rec.Header().Get("Location") != tc.want {
			t.Errorf("upstream Location %q: got %d Location %q, want 201 %q", tc.upstream, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
}

// TestUpgradeHeaderOnPlainAnswerKeepsDeadlines: a request that only asks for an upgrade (Upgrade and
// Connection: upgrade on any route) and gets an ordinary answer keeps the server's write deadline.
// Clearing it before the upstream agreed to switch protocols let a client that never reads hold the
// handler, its upstream connection and its buffers for ever, one per request it sent.
func TestUpgradeHeaderOnPlainAnswerKeepsDeadlines(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "order")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		for range 512 { // far more than the sockets between the gateway and the client hold
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	e := newTestEnv(t, map[string]string{"ORDER_SERVICE_URLS": up.server.URL, "GATEWAY_RATE_LIMIT": "off"})
	returned := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		e.handler.ServeHTTP(w, r)
	}))
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	srv.Start()
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // ends a handler still writing, so the servers can close
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	io.WriteString(conn, "GET /order/orders HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	// The client reads nothing: the handler must give up once the write deadline passes.
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Error("GET /order/orders with Upgrade, client not reading: handler still writing 5 s after a 300 ms write timeout")
	}

	// A real upgrade still outlives the write timeout.
	rt := newUpstream(t, "realtime")
	rt.handle(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo " + line)
		brw.Flush()
	})
	ws := newTestEnv(t, map[string]string{"REALTIME_SERVICE_URLS": rt.server.URL})
	wsSrv := httptest.NewUnstartedServer(ws.handler)
	wsSrv.Config.WriteTimeout = 300 * time.Millisecond
	wsSrv.Start()
	t.Cleanup(wsSrv.Close)
	wc, err := net.Dial("tcp", wsSrv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	wc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(wc, "GET /realtime/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(wc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("GET /realtime/ws: %v %v, want 101", resp, err)
	}
	time.Sleep(600 * time.Millisecond) // past the write timeout
	io.WriteString(wc, "late\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo late\n" {
		t.Errorf("upgraded connection after the write timeout: read %q, %v; want %q", line, err, "echo late\n")
	}
}
