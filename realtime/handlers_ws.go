package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
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
// orders:read 403. ?since=N&epoch=E resumes. A connection over a cap (connections per user, anonymous
// ones per client address, the address as trusted proxies report it) is refused with 429.
func handleWS(logger *slog.Logger, h *hub, verifier shared.Verifier, sessions sessionResolver, origins originPolicy, trusted shared.TrustedProxies, cc connConfig, live *conns) http.Handler {
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
		var addr string
		if id.UserID == "" {
			addr = trusted.ClientIP(r)
		}
		if h.full(id.UserID, addr) {
			who := "this user"
			if id.UserID == "" {
				who = "anonymous visitors from this address"
			}
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeTooManyRequests, "too many open connections for %s", who))
			return
		}
		if msg := notHandshake(r); msg != "" {
			// After the credentials (their 401 and 403 come first), the handshake itself:
			// websocket.Accept would answer these in plain text (426 or 400); RFC 6455 4.2.1 asks for
			// a 400, and the platform's errors have one shape.
			w.Header().Set("Sec-WebSocket-Version", "13")
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeInvalid, "GET /ws is a WebSocket endpoint: %s", msg))
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
		c, backlog, resync, cur, ok := h.register(id, addr, since, epoch)
		if !ok { // shutting down, or the last slot went to a concurrent connect
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
	budget := clientBudget{tokens: clientBurst, at: start}
	flooded := false
	var readErr error
	for {
		// No context: nothing cancels a read but closing the connection, and a cancellable context
		// would cost coder/websocket a context.AfterFunc per Read, kept for the idle connection.
		_, p, err := conn.Read(context.Background())
		if err != nil {
			readErr = err
			break
		}
		if flooded {
			continue // closing: read on until the peer's close, handle nothing
		}
		if !budget.take(time.Now()) {
			// The writer sends the close after what is queued, as for a slow consumer.
			flooded = true
			logger.InfoContext(ctx, "websocket closing: too many client messages", "user_id", c.id.UserID)
			c.kick(policyViolation, "too many messages")
			continue
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

// A connection may send clientBurst messages at once and clientRate a second after that (the
// storefront sends none, a page that narrows its stock updates one per page). Each costs a read, a
// goroutine and a JSON decode of up to 16 KiB, and a subscription the hub's lock, and no edge limit
// sees them: unbounded, eight anonymous connections sending subscriptions back to back kept realtime
// at a full core. Over the budget the connection is closed with 1008, like a slow consumer.
const (
	clientBurst = 20
	clientRate  = 2
)

// clientBudget is one connection's token bucket of client messages.
type clientBudget struct {
	tokens float64
	at     time.Time
}

// take spends a token at now, false when none is left.
func (b *clientBudget) take(now time.Time) bool {
	b.tokens = min(clientBurst, b.tokens+now.Sub(b.at).Seconds()*clientRate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

// notHandshake returns what makes r no WebSocket opening handshake (RFC 6455 4.1, the checks
// websocket.Accept makes), or "" for a handshake.
func notHandshake(r *http.Request) string {
	keys := r.Header.Values("Sec-WebSocket-Key")
	switch {
	case !r.ProtoAtLeast(1, 1):
		return "the handshake needs HTTP/1.1"
	case !shared.HeaderHasToken(r.Header, "Connection", "upgrade"), !shared.HeaderHasToken(r.Header, "Upgrade", "websocket"):
		return "send Connection: Upgrade and Upgrade: websocket"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "only Sec-WebSocket-Version 13 is supported"
	case len(keys) != 1:
		return "send one Sec-WebSocket-Key"
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return "Sec-WebSocket-Key must be 16 bytes in base64"
	}
	return ""
}
