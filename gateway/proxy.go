package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goshop/platform/shared"
)

// errUpstream5xx marks a 5xx answer as a breaker failure.
var errUpstream5xx = errors.New("upstream answered 5xx")

// errTryTimeout ends a first try that got no response headers within proxy.tryTimeout.
var errTryTimeout = errors.New("upstream try timed out awaiting response headers")

// attempt carries the picked instance from the handler through Rewrite to the transport, which may
// move it to another instance on retry.
type attempt struct {
	inst *instance
	done func(error)
}

type attemptKey struct{}

// proxy forwards one service's requests to its pool with httputil.ReverseProxy.
type proxy struct {
	service string
	pool    *pool
	rp      *httputil.ReverseProxy
	logger  *slog.Logger
	retries *shared.Counter
	// tryTimeout bounds the first try of a request that may be retried on another instance (see
	// firstTryLimit); 0: no bound but the transport's.
	tryTimeout time.Duration
}

// newTransport returns the upstream transport: keep-alive pools sized for a busy gateway, bounded
// connect and header waits, no transparent compression (bodies pass through as they are).
func newTransport(headerTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
}

// bufferPool lends ReverseProxy its copy buffers, so a pass-through does not allocate 32 KiB.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v := b.p.Get(); v != nil {
		return *v.(*[]byte)
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func newProxy(service string, p *pool, transport http.RoundTripper, buffers httputil.BufferPool, logger *slog.Logger, metrics *shared.Metrics) *proxy {
	px := &proxy{
		service: service,
		pool:    p,
		logger:  logger,
		retries: metrics.Counter("gateway_upstream_retries_total", "Idempotent requests retried on another instance.", "upstream").With(service),
	}
	outcomes := map[string]*shared.Counter{}
	for _, o := range []string{"ok", "5xx", "error", "canceled", "client_error"} {
		outcomes[o] = metrics.Counter("gateway_upstream_responses_total", "Upstream round trips by outcome.", "upstream", "outcome").With(service, o)
	}
	px.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			a := pr.In.Context().Value(attemptKey{}).(*attempt)
			prefix := "/" + service
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = strings.TrimPrefix(pr.In.URL.RawPath, prefix)
			if pr.Out.URL.Path == "" {
				pr.Out.URL.Path = "/"
			}
			pr.SetURL(a.inst.url)
			pr.SetXForwarded()
			// The gateway is the only source of these; RequestID already made the inbound one sane.
			pr.Out.Header.Set(shared.RequestIDHeader, shared.RequestIDFrom(pr.In.Context()))
		},
		Transport:  shared.TraceTransport(&retryTransport{base: transport, proxy: px, outcomes: outcomes}, service),
		BufferPool: buffers,
		ErrorLog:   slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusUnauthorized && resp.Request.Context().Value(sessionUnresolvedKey{}) != nil {
				return errSessionUnresolved // errorHandler: 503
			}
			stripUpstreamHeaders(resp)
			publicLocation(resp.Header, "/"+service)
			return nil
		},
		ErrorHandler: px.errorHandler,
	}
	return px
}

// gatewayOwnedHeaders are response headers only the gateway sets: security headers and X-Request-ID
// (the gateway's middleware) and CORS. Canonical keys, so deleting them needs no canonicalization.
var gatewayOwnedHeaders = []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
	http.CanonicalHeaderKey(shared.RequestIDHeader), "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
	"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Access-Control-Max-Age"}

// stripUpstreamHeaders drops the upstream's copies of gatewayOwnedHeaders, so the client does not get
// them twice or from the wrong party.
func stripUpstreamHeaders(resp *http.Response) error {
	for _, k := range gatewayOwnedHeaders {
		delete(resp.Header, k)
	}
	return nil
}

// publicLocation makes a Location the service wrote relative to its own root (order's 201 names
// /orders/{id}) point at the same resource through the gateway (/order/orders/{id}): prefix is
// "/<service>". Absolute URLs, scheme-relative ones ("//host/...") and relative references without
// a leading slash are the service's to mean and stay as they are.
func publicLocation(h http.Header, prefix string) {
	loc := h.Get("Location")
	if strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, "/\\") {
		h.Set("Location", prefix+loc)
	}
}

// ServeHTTP picks an instance and proxies r to it; with no instance available it answers 503 in the
// error shape with Retry-After.
func (px *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isUpgrade(r) && !printableASCII(r.Header.Get("Upgrade")) {
		// ReverseProxy refuses to switch to such a protocol name through its error handler: the
		// client's mistake, not the upstream's (that would be a 503).
		shared.WriteError(w, r, nil, shared.Errorf(shared.CodeInvalid, "Upgrade must name a protocol in printable ASCII"))
		return
	}
	inst, done, err := px.pool.pick(nil)
	if err != nil {
		writeUnavailable(w, r, err)
		return
	}
	// No deadline is cleared here for an upgrade: net/http clears the connection's deadlines itself
	// when ReverseProxy hijacks it after a 101, so a WebSocket outlives WriteTimeout (realtime pings
	// keep it honest). Any request may carry Upgrade; an ordinary answer to one keeps the deadlines.
	a := &attempt{inst: inst, done: done}
	// The transport reports every round trip to the breaker; a request ReverseProxy ends before any
	// (its error handler) must still give its admission back, or a half-open breaker's trial slot
	// stays taken for good. done reports once: after a round trip this does nothing.
	defer func() { a.done(context.Canceled) }()
	px.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), attemptKey{}, a)))
}

// printableASCII reports whether s is printable ASCII, what ReverseProxy accepts as an Upgrade.
func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && shared.HeaderHasToken(r.Header, "Connection", "upgrade")
}

func writeUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	secs := 1
	var ni *errNoInstance
	if errors.As(err, &ni) && ni.retryAfter > 0 {
		secs = int((ni.retryAfter + time.Second - 1) / time.Second)
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	shared.WriteError(w, r, nil, &shared.Error{Code: shared.CodeUnavailable, Message: err.Error() + ", try again later", Err: err})
}

// errorHandler answers a failed round trip: a body over the limit is the client's 413, a body that
// stopped arriving its 400, a client that left 499 (for the log: nobody reads it), a 401 to a caller
// whose session could not be checked 503 (errSessionUnresolved), anything else the upstream's fault,
// 503 in the error shape: with Retry-After and "try again" unless it was a write that may have
// reached the upstream.
func (px *proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		tooLarge(w, r, nil, maxErr.Limit)
		return
	case bodyTimedOut(r):
		// The client's body stopped arriving (the server's ReadTimeout); it still waits for an answer.
		w.Header().Set("Connection", "close")
		shared.WriteError(w, r, nil, shared.Errorf(shared.CodeInvalid, "the request body did not arrive in time"))
		return
	case r.Context().Err() != nil:
		// The client left; nobody reads the answer.
		w.WriteHeader(499)
		return
	case errors.Is(err, errSessionUnresolved):
		w.Header().Set("Retry-After", "1")
		shared.WriteError(w, r, nil, &shared.Error{Code: shared.CodeUnavailable,
			Message: "your session could not be checked right now, try again", Err: err})
		return
	}
	px.logger.WarnContext(r.Context(), "upstream failed", "upstream", px.service,
		"request_id", shared.RequestIDFrom(r.Context()), "path", r.URL.Path, "err", err)
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions && !connectFailed(err) {
		// The upstream may have taken the write and applied it (a hung or dying instance): advising a
		// retry, or a Retry-After that clients honour, would make a non-idempotent one twice.
		shared.WriteError(w, r, nil, &shared.Error{Code: shared.CodeUnavailable, Err: err,
			Message: fmt.Sprintf("%s service did not answer; the change may have been made, check before repeating it", px.service)})
		return
	}
	w.Header().Set("Retry-After", "1")
	shared.WriteError(w, r, nil, &shared.Error{Code: shared.CodeUnavailable,
		Message: fmt.Sprintf("%s service is unavailable, try again", px.service), Err: err})
}

// retryTransport reports every round trip's outcome to the instance's breaker and retries a request
// once on another instance when the first attempt failed before reaching the upstream (see retryable).
type retryTransport struct {
	base     http.RoundTripper
	proxy    *proxy
	outcomes map[string]*shared.Counter // by outcome, of this proxy's service; read-only
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	a := req.Context().Value(attemptKey{}).(*attempt)
	first := req
	var held *heldBody
	if hasBody(req) && len(t.proxy.pool.instances) > 1 && !isUpgrade(req) {
		held = &heldBody{ReadCloser: req.Body}
		first = req.WithContext(req.Context())
		first.Body = held
	}
	resp, err := t.try(first, t.firstTryLimit(req))
	t.report(req, a, resp, err)
	if err == nil || !(errors.Is(err, errTryTimeout) || retryable(req, err, held)) {
		return resp, err
	}
	inst, done, perr := t.proxy.pool.pick(a.inst)
	if perr != nil {
		return resp, err
	}
	t.proxy.retries.Inc()
	a.inst, a.done = inst, done
	retry := req.Clone(req.Context())
	retry.URL.Scheme, retry.URL.Host, retry.Host = inst.url.Scheme, inst.url.Host, ""
	resp, err = t.base.RoundTrip(retry)
	t.report(retry, a, resp, err)
	return resp, err
}

// firstTryLimit is how long the first try of req may wait for response headers before the request
// moves to another instance: proxy.tryTimeout for a bodiless GET or HEAD of a service with more than
// one instance, else 0 (only the transport's UpstreamTimeout). A hung instance then costs a read at
// most tryTimeout, and the breaker, counting each such try as a failure, soon stops sending it any.
// Writes are not hedged: they may not be sent twice.
func (t *retryTransport) firstTryLimit(req *http.Request) time.Duration {
	if t.proxy.tryTimeout <= 0 || len(t.proxy.pool.instances) < 2 ||
		(req.Method != http.MethodGet && req.Method != http.MethodHead) ||
		(req.Body != nil && req.Body != http.NoBody) || isUpgrade(req) {
		return 0
	}
	return t.proxy.tryTimeout
}

// try sends req through the base transport; with limit > 0 it gives up with errTryTimeout when the
// response headers have not arrived within limit. The body of a response that did arrive in time is
// not bounded by limit.
func (t *retryTransport) try(req *http.Request, limit time.Duration) (*http.Response, error) {
	if limit <= 0 {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(limit, func() { cancel(errTryTimeout) })
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() && req.Context().Err() == nil {
		if err == nil {
			resp.Body.Close()
		}
		cancel(nil)
		return nil, errTryTimeout
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// cancelOnClose releases a try's context once ReverseProxy is done with the body.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// report tells the breaker how the round trip went: transport errors, timeouts and 5xx are failures,
// a client that went away is neither.
func (t *retryTransport) report(req *http.Request, a *attempt, resp *http.Response, err error) {
	outcome := "ok"
	switch {
	case err != nil && req.Context().Err() != nil:
		err = context.Canceled
		outcome = "canceled"
	case err != nil:
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			err = context.Canceled // the client's fault, not the upstream's
			outcome = "client_error"
		} else {
			outcome = "error"
		}
	case resp.StatusCode >= 500:
		err = errUpstream5xx
		outcome = "5xx"
	}
	a.done(err)
	t.outcomes[outcome].Inc()
}

// retryable reports whether req may be sent again to another instance after err, and only while the
// client is still there. A connect failure means nothing reached the upstream, so any method may go
// elsewhere (as nginx's proxy_next_upstream error does), a body too when held shows the failed try
// read none of it; after other failures before a response only bodiless GET and HEAD are retried,
// and never after a timeout: a slow upstream must not get twice the load.
func retryable(req *http.Request, err error, held *heldBody) bool {
	if req.Context().Err() != nil || isUpgrade(req) {
		return false
	}
	if hasBody(req) && (held == nil || held.read.Load() > 0) {
		return false
	}
	if connectFailed(err) {
		return true
	}
	if hasBody(req) || req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// connectFailed reports whether err is a failure to connect: nothing reached the upstream.
func connectFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func hasBody(req *http.Request) bool { return req.Body != nil && req.Body != http.NoBody }

// heldBody is a request body on its first try to an instance of a service with several: it counts
// what the transport read and ignores the transport's Close (which follows any failed try), so a try
// that failed to connect, having read nothing, can send the same body to another instance.
// ReverseProxy closes the body itself when the request ends.
type heldBody struct {
	io.ReadCloser
	read atomic.Int64
}

func (b *heldBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func (b *heldBody) Close() error { return nil }
