package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

// countingServer is an httptest server that counts the connections it accepted.
func countingServer(tb testing.TB, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv, &conns
}

// spyTransport records that a request went to the fallback.
type spyTransport struct {
	calls atomic.Int64
	rt    http.RoundTripper
}

func (s *spyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.calls.Add(1)
	return s.rt.RoundTrip(r)
}

func get(tb testing.TB, rt http.RoundTripper, method, url string, body io.Reader) (*http.Response, string, error) {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

// TestConnTransportReuse: bodiless requests share one kept-alive connection whatever the answer's
// framing (length, chunked, none for HEAD and 204); requests with a body go to the fallback.
func TestConnTransportReuse(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			io.WriteString(w, "part one,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part two")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/echo":
			io.Copy(w, r.Body)
		default:
			io.WriteString(w, "hello "+r.Method)
		}
	})
	spy := &spyTransport{rt: newTransport(time.Second)}
	tr := newConnTransport(spy, time.Second)
	defer tr.CloseIdleConnections()
	steps := []struct{ method, path, body string }{
		{"GET", "/a", "hello GET"}, {"GET", "/chunked", "part one,part two"}, {"HEAD", "/a", ""},
		{"GET", "/empty", ""}, {"DELETE", "/a", "hello DELETE"}, {"GET", "/a", "hello GET"},
	}
	for _, s := range steps {
		if _, body, err := get(t, tr, s.method, srv.URL+s.path, nil); err != nil || body != s.body {
			t.Fatalf("%s %s: %q, %v; want %q", s.method, s.path, body, err, s.body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("connections for %d bodiless requests = %d, want 1", len(steps), n)
	}
	if n := spy.calls.Load(); n != 0 {
		t.Errorf("fallback calls for bodiless requests = %d, want 0", n)
	}
	if _, body, err := get(t, tr, "POST", srv.URL+"/echo", strings.NewReader("payload")); err != nil || body != "payload" {
		t.Errorf("POST with a body: %q, %v; want payload", body, err)
	}
	if n := spy.calls.Load(); n != 1 {
		t.Errorf("fallback calls after a POST with a body = %d, want 1", n)
	}
}

// TestConnTransportDropsClosedAndUnfinished: a connection the upstream closed while idle, one whose
// answer said Connection: close, and one whose body was not read to the end are not reused.
func TestConnTransportDropsClosedAndUnfinished(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, strings.Repeat("x", 64<<10))
	})
	tr := newConnTransport(newTransport(time.Second), time.Second)
	defer tr.CloseIdleConnections()
	want := int64(1)
	check := func(what string) {
		t.Helper()
		if _, body, err := get(t, tr, "GET", srv.URL+"/", nil); err != nil || len(body) != 64<<10 {
			t.Fatalf("GET after %s: %d bytes, %v", what, len(body), err)
		}
		if n := conns.Load(); n != want {
			t.Errorf("connections after %s = %d, want %d", what, n, want)
		}
	}
	check("the first request")
	srv.CloseClientConnections() // closes the idle one
	want++
	check("the upstream closed the idle connection")

	get(t, tr, "GET", srv.URL+"/close", nil) // reuses the idle connection, which the answer ends
	want++
	check("an answer with Connection: close")

	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close() // most of the body unread
	want++
	check("a body closed before its end")
}

// TestConnTransportRetriesDeadConnection: a kept connection that the upstream closes on receiving
// the next request (after the liveness check passed) costs nothing: the request is sent again on a
// new connection.
func TestConnTransportRetriesDeadConnection(t *testing.T) {
	t.Parallel()
	ln := listenLocal(t)
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if n == 1 && i == 1 {
						return // the first connection dies with the second request unanswered
					}
					io.Copy(io.Discard, req.Body)
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	tr := newConnTransport(newTransport(time.Second), time.Second)
	defer tr.CloseIdleConnections()
	for i := range 3 {
		if _, body, err := get(t, tr, "GET", "http://"+ln.Addr().String()+"/", nil); err != nil || body != "ok" {
			t.Fatalf("GET #%d: %q, %v; want ok", i+1, body, err)
		}
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("connections = %d, want 2 (the dead one replaced once)", n)
	}
}

// TestConnTransportTimeoutAndCancel: a slow upstream fails with a timeout after the header timeout,
// and a client that goes away ends the wait at once with its context's error.
func TestConnTransportTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tr := newConnTransport(newTransport(time.Second), 100*time.Millisecond)
	defer tr.CloseIdleConnections()
	start := time.Now()
	_, _, err := get(t, tr, "GET", srv.URL+"/slow", nil)
	if !isTimeout(err) || time.Since(start) > 5*time.Second {
		t.Errorf("GET a slow upstream: err = %v after %s, want a timeout after about 100ms", err, time.Since(start))
	}

	tr = newConnTransport(newTransport(time.Second), time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("GET with the client gone: err = %v after %s, want context.Canceled at once", err, time.Since(start))
	}
}

// TestConnTransportDialError: a refused connection is the *net.OpError "dial" that retryable
// recognises (any method may go to another instance).
func TestConnTransportDialError(t *testing.T) {
	t.Parallel()
	tr := newConnTransport(newTransport(time.Second), time.Second)
	_, _, err := get(t, tr, "GET", "http://"+sharedtest.ClosedAddr+"/", nil)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("GET a closed port: err = %v, want a dial *net.OpError", err)
	}
}

// TestReplayable: only requests that may safely reach the upstream twice are resent.
func TestReplayable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		method, key string
		want        bool
	}{{"GET", "", true}, {"HEAD", "", true}, {"DELETE", "", false}, {"POST", "", false}, {"POST", "k1", true}} {
		req := httptest.NewRequest(tt.method, "/", nil)
		if tt.key != "" {
			req.Header.Set("Idempotency-Key", tt.key)
		}
		if got := replayable(req); got != tt.want {
			t.Errorf("replayable(%s, key %q) = %v, want %v", tt.method, tt.key, got, tt.want)
		}
	}
}

// TestConnTransportDefaultPort: an instance URL without a port is dialled on port 80, as
// http.Transport would.
func TestConnTransportDefaultPort(t *testing.T) {
	t.Parallel()
	tr := newConnTransport(newTransport(time.Second), time.Second)
	tr.dialer = &net.Dialer{Timeout: 100 * time.Millisecond}
	var dialed string
	tr.dialer.Control = func(_, address string, _ syscall.RawConn) error {
		dialed = address
		return errors.New("not really")
	}
	get(t, tr, "GET", "http://127.0.0.1/x", nil)
	if dialed != "127.0.0.1:80" {
		t.Errorf("GET http://127.0.0.1/x dialled %q, want 127.0.0.1:80", dialed)
	}
}

// TestConnTransportHeaderLimit: an upstream whose header never ends fails the request instead of
// filling memory.
func TestConnTransportHeaderLimit(t *testing.T) {
	t.Parallel()
	ln := listenLocal(t)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		http.ReadRequest(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := "X-Filler: " + strings.Repeat("a", 1000) + "\r\n"
		for range 2000 { // 2 MB of header
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	}()
	tr := newConnTransport(newTransport(time.Second), 5*time.Second)
	if _, _, err := get(t, tr, "GET", "http://"+ln.Addr().String()+"/", nil); !errors.Is(err, errHeaderTooLarge) {
		t.Errorf("GET with a 2 MB header: err = %v, want errHeaderTooLarge", err)
	}
}

// listenLocal listens on a free loopback port, closed when the test ends.
func listenLocal(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return ln
}
