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
// only); bad credentials mean 401 before the upgrade. ?since=N&epoch=E resumes.
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
		if h.full(id.UserID) {
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeTooManyRequests, "too many open connections for this user"))
			return
		}
		out := &batchWriter{}
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
		ctx := context.WithoutCancel(r.Context())
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
type batchWriter struct {
	nc   net.Conn
	mu   sync.Mutex
	held *[]byte // non-nil between hold and release
}

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held != nil {
		*b.held = append(*b.held, p...)
		return len(p), nil
	}
	return b.nc.Write(p)
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

// release writes what was collected since hold, failing if the socket does not take it by deadline
// (the caller then closes the connection), and lets writes through again.
func (b *batchWriter) release(deadline time.Time) error {
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
	b.nc.SetWriteDeadline(deadline)
	_, err := b.nc.Write(*buf)
	b.nc.SetWriteDeadline(time.Time{})
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

// serveConn runs one connection: a writer goroutine drains the client's queue and pings; this
// goroutine reads subscriptions. The read loop must run for the whole connection: coder/websocket
// answers pings, sees pongs (so Ping returns) and sees the peer's close only while a Read is in progress.
func serveConn(ctx context.Context, logger *slog.Logger, h *hub, c *client, conn *websocket.Conn, out *batchWriter, cc connConfig, hi hello, backlog []*outMsg, resync bool) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, why := writeLoop(ctx, h, c, conn, out, cc, hi, backlog, resync)
		if code != 0 {
			logger.InfoContext(ctx, "websocket closing", "user_id", c.id.UserID, "code", code, "reason", why)
			conn.Close(websocket.StatusCode(code), why)
		}
		conn.CloseNow()
	}()
	conn.SetReadLimit(16 << 10)
	start := time.Now()
	var readErr error
	for {
		_, p, err := conn.Read(ctx)
		if err != nil {
			readErr = err
			break
		}
		f, ok := parseSubscribe(p)
		if !ok {
			logger.DebugContext(ctx, "ignoring client message", "user_id", c.id.UserID, "bytes", len(p))
			continue
		}
		h.subscribe(c, f)
		ack, _ := json.Marshal(message{Type: "subscribed", Data: mustJSON(subscribeRequest{SKUs: keys(f, true), Categories: keys(f, false)}), OccurredAt: time.Now().UTC()})
		wctx, wcancel := context.WithTimeout(ctx, cc.WriteTimeout)
		err = conn.Write(wctx, websocket.MessageText, ack)
		wcancel()
		if err != nil {
			break
		}
	}
	cancel()
	conn.CloseNow()
	<-done
	logger.InfoContext(ctx, "websocket closed", "user_id", c.id.UserID, "duration_s", time.Since(start).Round(time.Millisecond).Seconds(),
		"peer_close_code", int(websocket.CloseStatus(readErr)))
}

// writeLoop writes the hello, the backlog or a resync, then live messages until the client is kicked
// (its close code is returned) or the connection fails (code 0).
func writeLoop(ctx context.Context, h *hub, c *client, conn *websocket.Conn, out *batchWriter, cc connConfig, hi hello, backlog []*outMsg, resync bool) (int, string) {
	write := func(frame []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, cc.WriteTimeout)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, frame) == nil
	}
	first, _ := json.Marshal(message{Type: "hello", Data: mustJSON(hi), OccurredAt: time.Now().UTC()})
	if !write(first) {
		return 0, ""
	}
	if resync {
		rs, _ := json.Marshal(message{Seq: hi.Seq, Type: "resync",
			Data: mustJSON(map[string]string{"reason": "missed messages are no longer buffered; reload state"}), OccurredAt: time.Now().UTC()})
		if !write(rs) {
			return 0, ""
		}
	}
	for _, m := range backlog {
		if !write(m.frame) {
			return 0, ""
		}
	}
	h.countSent(uint64(len(backlog)))
	ping := time.NewTicker(cc.PingInterval)
	defer ping.Stop()
	var batch [][]byte
	for {
		select {
		case <-ctx.Done():
			return 0, ""
		case <-c.kicked:
			return c.kickCode, c.kickWhy
		case m := <-c.send:
			// Take whatever else is queued too (bounded), and write it all with one syscall: each
			// Write only fills out's buffer, release sends it.
			batch = append(batch[:0], m.frame)
			size := len(m.frame)
		drain:
			for len(batch) < maxBatch && size < maxBatchBytes {
				select {
				case m := <-c.send:
					batch = append(batch, m.frame)
					size += len(m.frame)
				default:
					break drain
				}
			}
			wctx, cancel := context.WithTimeout(ctx, cc.WriteTimeout)
			deadline, _ := wctx.Deadline()
			out.hold()
			var err error
			for _, f := range batch {
				if err = conn.Write(wctx, websocket.MessageText, f); err != nil {
					break
				}
			}
			if rerr := out.release(deadline); err == nil {
				err = rerr
			}
			cancel()
			if err != nil {
				return 0, ""
			}
			h.countSent(uint64(len(batch)))
			clear(batch) // do not pin frames until the next message
		case <-ping.C:
			// Ping off the write loop: waiting for the pong must not delay messages.
			go func() {
				pctx, cancel := context.WithTimeout(ctx, cc.PongTimeout)
				defer cancel()
				if err := conn.Ping(pctx); err != nil {
					conn.CloseNow() // dead peer: Read fails and the connection ends
				}
			}()
		}
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
