package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/goshop/platform/shared"
)

// connConfig holds the per-connection timings: a ping every PingInterval (default 25 s) that must be
// answered within PongTimeout (default 10 s) or the connection is dead; each write must finish within
// WriteTimeout (default 10 s).
type connConfig struct {
	PingInterval time.Duration
	PongTimeout  time.Duration
	WriteTimeout time.Duration
}

// conns tracks the live connection goroutines so shutdown can wait for them: http.Server.Shutdown
// does not know about hijacked connections.
type conns struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// add counts one more connection; false once shutdown began.
func (c *conns) add() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// wait refuses new connections and waits for the live ones, at most grace.
func (c *conns) wait(grace time.Duration) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return errors.New("shutdown: websocket connections still open after the grace period")
	}
}

// handleWS upgrades GET /ws. Identity, in order: the Authorization bearer (verified by the
// Authenticate middleware; the gateway injects it from the cookie), ?access_token=, or the session_id
// cookie resolved once through auth's GET /session. No credentials means anonymous (public events
// only); bad credentials mean 401 before the upgrade, and a third-party client's token without
// orders:read 403. ?since=N&epoch=E resumes.
func handleWS(logger *slog.Logger, h *hub, verifier shared.Verifier, sessions sessionResolver, origins originPolicy, cc connConfig, live *conns) http.Handler {
	acceptOpts := origins.acceptOptions()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !origins.allowed(r) {
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeForbidden, "origin %q not allowed", r.Header.Get("Origin")))
			return
		}
		q := r.URL.Query()
		var since uint64
		if s := q.Get("since"); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"since": "must be a non-negative integer"}))
				return
			}
			since = n
		}
		epoch := q.Get("epoch")
		if len(epoch) > 64 {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"epoch": "too long"}))
			return
		}
		id, err := identify(r, verifier, sessions)
		if err != nil {
			if shared.AsError(err).Code == shared.CodeUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			}
			shared.WriteError(w, r, logger, err)
			return
		}
		if id.UserID != "" && !id.Allows(shared.ScopeOrdersRead) {
			// A third-party token would receive the user's order events: it needs orders:read.
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+shared.ScopeOrdersRead+`"`)
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeForbidden, "the token was not granted scope %s", shared.ScopeOrdersRead))
			return
		}
		if h.full(id.UserID) {
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeTooManyRequests, "too many open connections for this user"))
			return
		}
		out := &batchWriter{timeout: cc.WriteTimeout}
		conn, err := websocket.Accept(smallBuffers{w, out}, r, acceptOpts)
		if err != nil {
			logger.DebugContext(r.Context(), "websocket accept", "err", err)
			return
		}
		if !live.add() {
			conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		}
		c, backlog, resync, cur, ok := h.register(id, since, epoch)
		if !ok { // shutting down, or the user's last slot went to a concurrent connect
			live.wg.Done()
			conn.Close(websocket.StatusTryAgainLater, "try again later")
			return
		}
		logger.InfoContext(r.Context(), "websocket connected", "user_id", id.UserID, "role", id.Role,
			"since", since, "backlog", len(backlog), "resync", resync)
		// Serve from a fresh goroutine and return: net/http then drops its per-connection state (its
		// buffers and this deep stack), which would otherwise be most of an idle connection's memory.
		// A fresh context with the request ID for the logs: keeping r.Context() would keep the
		// request's contexts alive as long as the connection.
		ctx := shared.WithRequestID(context.Background(), shared.RequestIDFrom(r.Context()))
		go func() {
			defer live.wg.Done()
			defer h.unregister(c)
			serveConn(ctx, logger, h, c, conn, out, cc, hello{UserID: id.UserID, Role: id.Role, Epoch: h.epoch, Seq: cur}, backlog, resync)
		}()
	})
}

// smallBuffers hands coder/websocket's Accept smaller connection buffers than net/http's Hijack
// does (4 KiB to read, 4 KiB to write): a 512 B reader, unless the client already pipelined frames
// into net/http's, and a 1 KiB writer, enough for one typical message and its header in one flush
// (bufio writes a bigger message straight through). They live as long as the connection, and would
// otherwise be most of an idle connection's memory (issue 7: < 20 KB each). The writer flushes into
// out, which batches socket writes for the write loop.
type smallBuffers struct {
	http.ResponseWriter
	out *batchWriter
}

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	// net/http has flushed the 101 by now and clears the connection's deadlines.
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	br := brw.Reader
	if br.Buffered() == 0 {
		br = bufio.NewReaderSize(nc, 512)
	}
	w.out.nc = nc
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(w.out, 1<<10)), nil
}

// batchWriter is what coder/websocket's write buffer flushes into. Normally it writes through to
// the socket; between hold and release it collects the flushed frames in a pooled buffer and release
// writes them with one syscall. coder/websocket flushes every message and has no batch write, and a
// syscall per message was a third of realtime's CPU under fan-out. Bytes reach the socket in the
// order they were flushed: while held nothing is written through, and release empties the buffer
// before writes go through again.
//
// Every socket write is bounded by a deadline between timeout/2 and timeout ahead (none when timeout
// is 0): the deadline is moved only when less than half of it is left, because moving it on every
// write (a runtime timer update) cost ~5 % of the CPU under routed load, where most writes carry
// one message.
type batchWriter struct {
	nc       net.Conn
	timeout  time.Duration
	mu       sync.Mutex
	held     *[]byte // non-nil between hold and release
	deadline time.Time
}

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held != nil {
		*b.held = append(*b.held, p...)
		return len(p), nil
	}
	b.armLocked()
	return b.nc.Write(p)
}

// armLocked moves the socket's write deadline timeout ahead when less than half of it is left.
func (b *batchWriter) armLocked() {
	if b.timeout <= 0 {
		return
	}
	if now := time.Now(); b.deadline.Sub(now) < b.timeout/2 {
		b.deadline = now.Add(b.timeout)
		b.nc.SetWriteDeadline(b.deadline)
	}
}

// hold starts collecting flushed frames. A nil b does nothing (frames go out one by one).
func (b *batchWriter) hold() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == nil {
		b.held = batchPool.Get().(*[]byte)
	}
}

// release writes what was collected since hold (the caller closes the connection if that fails,
// e.g. when the socket does not take it before the deadline) and lets writes through again.
func (b *batchWriter) release() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	buf := b.held
	b.held = nil
	if buf == nil || len(*buf) == 0 {
		return nil
	}
	b.armLocked()
	_, err := b.nc.Write(*buf)
	if cap(*buf) <= 64<<10 { // do not keep huge buffers alive in the pool
		*buf = (*buf)[:0]
		batchPool.Put(buf)
	}
	return err
}

// hello is the first message of every connection (seq 0: it is not part of any stream). Epoch and Seq
// tell the client what to send back as ?epoch=&since= when it reconnects.
type hello struct {
	UserID string `json:"user_id,omitempty"`
	Role   string `json:"role,omitempty"`
	Epoch  string `json:"epoch"`
	Seq    uint64 `json:"seq"`
}

// serveConn runs one connection until it ends. This goroutine reads (subscriptions; coder/websocket
// also answers pings, sees pongs and sees the peer's close only while a Read is in progress, so one
// always is). Writing happens in short-lived goroutines: first one writes the hello and the backlog
// or a resync, then the hub starts a writer whenever messages are queued for a connection nobody is
// writing to (client.push), which exits when the queue is empty. Pings run on a timer. An idle
// connection is therefore one parked goroutine, its buffers and coder/websocket's state.
func serveConn(ctx context.Context, logger *slog.Logger, h *hub, c *client, conn *websocket.Conn, out *batchWriter, cc connConfig, hi hello, backlog []*outMsg, resync bool) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	s := &session{ctx: ctx, logger: logger, h: h, c: c, conn: conn, out: out, cc: cc}
	c.running.Add(1)
	go s.start(hi, backlog, resync)
	s.schedulePing()

	conn.SetReadLimit(16 << 10)
	start := time.Now()
	var readErr error
	for {
		// No context: nothing cancels a read but closing the connection, and a cancellable context
		// would cost coder/websocket a context.AfterFunc per Read, kept for the idle connection.
		_, p, err := conn.Read(context.Background())
		if err != nil {
			readErr = err
			break
		}
		// Handled on a goroutine of its own, waited for: decoding JSON takes a deep stack, which
		// would otherwise stay with this goroutine, and so with an idle connection, for its life
		// (the runtime shrinks a stack only when a quarter of it is used).
		handled := make(chan struct{})
		go func() {
			defer close(handled)
			s.received(p)
		}()
		<-handled
	}
	cancel()
	s.stopPing()
	conn.CloseNow()
	c.close()
	logger.InfoContext(ctx, "websocket closed", "user_id", c.id.UserID, "duration_s", time.Since(start).Round(time.Millisecond).Seconds(),
		"peer_close_code", int(websocket.CloseStatus(readErr)))
}

// session is one connection's writing side.
type session struct {
	ctx    context.Context // ends with the connection
	logger *slog.Logger
	h      *hub
	c      *client
	conn   *websocket.Conn
	out    *batchWriter
	cc     connConfig

	mu        sync.Mutex
	pingTimer *time.Timer // the next ping
}

// received handles a client message: a subscription is applied and acknowledged through the queue
// (so the messages after the acknowledgement are the filtered ones); anything else is ignored.
func (s *session) received(p []byte) {
	f, ok := parseSubscribe(p)
	if !ok {
		s.logger.DebugContext(s.ctx, "ignoring client message", "user_id", s.c.id.UserID, "bytes", len(p))
		return
	}
	ack, _ := json.Marshal(message{Type: "subscribed", Data: mustJSON(subscribeRequest{SKUs: keys(f, true), Categories: keys(f, false)}), OccurredAt: time.Now().UTC()})
	s.h.subscribe(s.c, f, &outMsg{frame: ack})
}

// ping sends a ping and waits for its pong (off the writers: waiting must not delay messages). No
// pong within PongTimeout closes the connection; otherwise the next ping is PingInterval later.
func (s *session) ping() {
	pctx, cancel := context.WithTimeout(s.ctx, s.cc.PongTimeout)
	defer cancel()
	if err := s.conn.Ping(pctx); err != nil {
		s.conn.CloseNow() // dead peer: Read fails and the connection ends
		return
	}
	s.schedulePing()
}

// schedulePing arranges the next ping PingInterval from now, unless the connection has ended.
func (s *session) schedulePing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() == nil {
		s.pingTimer = time.AfterFunc(s.cc.PingInterval, s.ping)
	}
}

// stopPing cancels the next ping; call after the connection's context ended.
func (s *session) stopPing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
}

// write writes one frame within WriteTimeout.
func (s *session) write(frame []byte) bool {
	wctx, cancel := context.WithTimeout(s.ctx, s.cc.WriteTimeout)
	defer cancel()
	return s.conn.Write(wctx, websocket.MessageText, frame) == nil
}

// start writes the hello, the resync or backlog, and then hands the output to the queue's writers.
func (s *session) start(hi hello, backlog []*outMsg, resync bool) {
	first, _ := json.Marshal(message{Type: "hello", Data: mustJSON(hi), OccurredAt: time.Now().UTC()})
	ok := s.write(first)
	if ok && resync {
		rs, _ := json.Marshal(message{Seq: hi.Seq, Type: "resync",
			Data: mustJSON(map[string]string{"reason": "missed messages are no longer buffered; reload state"}), OccurredAt: time.Now().UTC()})
		ok = s.write(rs)
	}
	for _, m := range backlog {
		if ok = ok && s.write(m.frame); !ok {
			break
		}
	}
	if !ok {
		s.conn.CloseNow()
		s.c.shut()
		s.c.running.Done()
		return
	}
	s.h.countSent(uint64(len(backlog)))
	s.c.release(s.drain)
	s.c.running.Done()
}

// drain is a connection's writer: it writes what is queued, in batches of at most maxBatch messages
// or maxBatchBytes, each with one socket write (each Write only fills out's buffer, release sends
// it), and returns when the queue is empty. A kicked client gets its close frame instead.
func (s *session) drain() {
	defer s.c.running.Done()
	var buf [maxBatch]*outMsg
	for {
		n, done, kicked := s.c.next(buf[:], maxBatchBytes)
		if done {
			return
		}
		if kicked {
			code, why := s.c.kickedWith()
			s.logger.InfoContext(s.ctx, "websocket closing", "user_id", s.c.id.UserID, "code", code, "reason", why)
			s.conn.Close(websocket.StatusCode(code), why)
			s.conn.CloseNow()
			return
		}
		// While held, Write only encodes into out's buffer, and out bounds the socket write by
		// WriteTimeout, so the writes need no context deadline (a deadline costs a timer and a
		// context.AfterFunc per batch; coder/websocket's other writers, pings and closes, bound their
		// own writes, so waiting for its write lock is bounded too).
		s.out.hold()
		var err error
		sent := uint64(0)
		for _, m := range buf[:n] {
			if err = s.conn.Write(context.Background(), websocket.MessageText, m.frame); err != nil {
				break
			}
			if m.seq != 0 { // acknowledgements are not messages of a stream
				sent++
			}
		}
		if rerr := s.out.release(); err == nil {
			err = rerr
		}
		clear(buf[:n]) // do not pin frames
		if err != nil {
			// The connection is broken: the reader sees it, the client stops taking messages.
			s.conn.CloseNow()
			s.c.shut()
			return
		}
		s.h.countSent(sent)
	}
}

// A writer batches at most maxBatch queued messages or maxBatchBytes per socket write.
const (
	maxBatch      = 64
	maxBatchBytes = 64 << 10
)

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}
