package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"syscall"
	"time"
)

// connTransport is the upstream RoundTripper of ReverseProxy for plain-HTTP requests without a body
// (GETs, HEADs, DELETEs: nearly all the traffic). It does each round trip on the calling goroutine:
// take a keep-alive connection (or dial one), write the request, read the response headers, and
// return a body that puts the connection back in the idle pool once it has been read to the end.
//
// http.Transport runs a reader and a writer goroutine per connection and hands every request and
// response across channels; behind a proxy on loopback those hand-offs and the scheduler work they
// cause are a large share of a pass-through's CPU. Everything else (bodies, upgrades, https, Expect)
// goes to next, an http.Transport, which handles early answers to a body still being sent,
// 100-continue and TLS. TestConnTransportConformance holds it to http.Transport's answers.
// Measured gain: 18% less CPU per pass-through than http.Transport (docs/gateway.md, Numbers).
//
// Idle connections are kept per host, newest first, at most maxIdle each, for at most idleTimeout
// (below the upstreams' own idle timeout, so they are not closed under us as a rule). Before reuse for
// a request that may not be sent twice, a connection is checked without blocking (a MSG_PEEK read):
// one the upstream has closed is dropped, as http.Transport's reader goroutine would have noticed. If
// a reused connection fails before any byte of the answer arrives (closed meanwhile), an idempotent
// request (GET, HEAD, or one with an Idempotency-Key: the rule http.Transport follows) is sent once
// more on a new connection; it has no body, so nothing needs replaying.
type connTransport struct {
	next          http.RoundTripper
	dialer        *net.Dialer
	headerTimeout time.Duration
	maxIdle       int
	idleTimeout   time.Duration

	mu   sync.Mutex
	idle map[string][]*upstreamConn
}

// upstreamConn is one keep-alive connection to an upstream.
type upstreamConn struct {
	host      string // the pool it belongs to: the instance's host:port
	conn      net.Conn
	raw       syscall.RawConn // nil: no liveness check possible
	br        *bufio.Reader
	bw        *bufio.Writer
	read      int64 // bytes read from conn, to tell "nothing came back" from a partial answer
	limit     int64 // while > 0, reading past this many bytes fails: bounds the response header
	idleSince time.Time
}

// maxResponseHeader bounds an upstream's response header, as http.Transport's
// MaxResponseHeaderBytes does (its default is 10 MB; ours are a few hundred bytes).
const maxResponseHeader = 1 << 20

var errHeaderTooLarge = errors.New("upstream response header larger than 1 MiB")

func (c *upstreamConn) Read(p []byte) (int, error) {
	if c.limit > 0 {
		if c.read >= c.limit {
			return 0, errHeaderTooLarge
		}
		p = p[:min(int64(len(p)), c.limit-c.read)]
	}
	n, err := c.conn.Read(p)
	c.read += int64(n)
	return n, err
}

func newConnTransport(next http.RoundTripper, headerTimeout time.Duration) *connTransport {
	return &connTransport{
		next:          next,
		dialer:        &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second},
		headerTimeout: headerTimeout,
		maxIdle:       256,
		idleTimeout:   30 * time.Second,
		idle:          map[string][]*upstreamConn{},
	}
}

// fastPath reports whether req is one connTransport handles itself.
func fastPath(req *http.Request) bool {
	return req.URL.Scheme == "http" && (req.Body == nil || req.Body == http.NoBody) &&
		!isUpgrade(req) && req.Header.Get("Expect") == "" && req.Header.Get("Upgrade") == ""
}

func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !fastPath(req) {
		return t.next.RoundTrip(req)
	}
	ctx := req.Context()
	host := req.URL.Host
	if req.URL.Port() == "" {
		host = net.JoinHostPort(req.URL.Hostname(), "80") // as http.Transport dials http://name
	}
	// A replayable request skips the liveness check (a syscall): if the kept connection turns out
	// dead, it is simply sent again below. Others must not risk landing on a closed connection.
	c, reused, err := t.get(ctx, host, !replayable(req))
	if err != nil {
		return nil, err
	}
	resp, err := t.roundTrip(ctx, c, req)
	if err != nil && reused && c.read == 0 && ctx.Err() == nil && !isTimeout(err) && replayable(req) {
		// The kept connection died between the check and the request: nothing came back, so the
		// upstream did not answer it; send it once more on a new connection.
		if c, err = t.dial(ctx, host); err != nil {
			return nil, err
		}
		resp, err = t.roundTrip(ctx, c, req)
	}
	return resp, err
}

// replayable reports whether req may be sent again after it may have reached the upstream, by
// http.Transport's rule: an idempotent method, or an idempotency key.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// roundTrip writes req on c and reads the answer's headers. On error c is closed.
func (t *connTransport) roundTrip(ctx context.Context, c *upstreamConn, req *http.Request) (*http.Response, error) {
	// A client that goes away interrupts whatever c is blocked on, until the body is done with.
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if t.headerTimeout > 0 {
		c.conn.SetDeadline(time.Now().Add(t.headerTimeout))
	}
	if err := req.Write(c.bw); err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err)
	}
	c.limit = c.read + maxResponseHeader
	resp, err := http.ReadResponse(c.br, req)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 {
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return fail(errors.New("upstream switched protocols on a request that did not ask to"))
		}
		// 100 Continue, 103 Early Hints: passed on as http.Transport does (ReverseProxy forwards
		// them to the client through the trace); the answer follows.
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return fail(err)
			}
		}
		resp, err = http.ReadResponse(c.br, req)
	}
	c.limit = 0 // the body is not bounded here (ReverseProxy streams it)
	if err != nil {
		if isTimeout(err) && ctx.Err() == nil {
			err = fmt.Errorf("timeout awaiting response headers: %w", err)
		}
		return fail(err)
	}
	if t.headerTimeout > 0 {
		c.conn.SetDeadline(time.Time{})
		if ctx.Err() != nil {
			// Cancelled just now: clearing the deadline may have undone the AfterFunc's.
			resp.Body.Close()
			return fail(ctx.Err())
		}
	}
	reusable := !resp.Close && !req.Close
	if resp.Body == http.NoBody {
		t.release(c, stop, reusable)
		return resp, nil
	}
	resp.Body = &connBody{rc: resp.Body, t: t, c: c, stop: stop, reusable: reusable}
	return resp, nil
}

// get returns an idle connection to host (checked to be still open when check is set), or a new
// one.
func (t *connTransport) get(ctx context.Context, host string, check bool) (c *upstreamConn, reused bool, err error) {
	now := time.Now()
	for {
		t.mu.Lock()
		list := t.idle[host]
		if len(list) == 0 {
			t.mu.Unlock()
			break
		}
		c = list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[host] = list[:len(list)-1]
		t.mu.Unlock()
		if now.Sub(c.idleSince) < t.idleTimeout && (!check || alive(c)) {
			c.read = 0
			return c, true, nil
		}
		c.conn.Close()
	}
	c, err = t.dial(ctx, host)
	return c, false, err
}

func (t *connTransport) dial(ctx context.Context, host string) (*upstreamConn, error) {
	conn, err := t.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	c := &upstreamConn{host: host, conn: conn, bw: bufio.NewWriterSize(conn, 4<<10)}
	c.br = bufio.NewReaderSize(c, 4<<10)
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	return c, nil
}

// release ends c's round trip: back to the idle pool when it can carry another, else closed.
func (t *connTransport) release(c *upstreamConn, stop func() bool, reusable bool) {
	if !stop() || !reusable || c.br.Buffered() > 0 {
		// The client's cancellation fired (the deadline is poisoned), the upstream or the request
		// said close, or the upstream sent bytes nobody asked for.
		c.conn.Close()
		return
	}
	c.idleSince = time.Now()
	t.mu.Lock()
	if len(t.idle[c.host]) < t.maxIdle {
		t.idle[c.host] = append(t.idle[c.host], c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.conn.Close()
}

// CloseIdleConnections closes every idle connection.
func (t *connTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*upstreamConn{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.conn.Close()
		}
	}
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// connBody is an answer's body; read to the end, it gives the connection back.
type connBody struct {
	rc       io.ReadCloser
	t        *connTransport
	c        *upstreamConn
	stop     func() bool
	reusable bool
	done     bool
}

func (b *connBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.done = true
		b.t.release(b.c, b.stop, b.reusable)
	} else if err != nil {
		b.done = true
		b.stop()
		b.c.conn.Close()
	}
	return n, err
}

// Close before the end drops the connection: what is left of the body would have to be read first.
func (b *connBody) Close() error {
	if !b.done {
		b.done = true
		b.stop()
		b.c.conn.Close()
	}
	return nil
}

// aLongTimeAgo is a deadline in the past: it makes blocked reads and writes return at once.
var aLongTimeAgo = time.Unix(1, 0)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
