package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/goshop/platform/shared"
)

var testConnConfig = connConfig{PingInterval: 25 * time.Second, PongTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}

// pipeListener is a net.Listener over net.Pipe: an HTTP server and the real WebSocket handshake run
// inside a synctest bubble (in-memory pipes block durably, sockets do not), so time is fake.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client end of a new connection to the server.
func (l *pipeListener) dial() net.Conn {
	srvEnd, peer := net.Pipe()
	l.conns <- srvEnd
	return peer
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// startConn serves one anonymous connection with serveConn behind websocket.Accept, over net.Pipe,
// and returns the peer's raw end (nothing sent yet: the caller performs the handshake) and a channel
// closed when serveConn returns and the server has stopped.
func startConn(h *hub) (net.Conn, <-chan struct{}) {
	ln := newPipeListener()
	served := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(served)
		out := &batchWriter{timeout: testConnConfig.WriteTimeout}
		conn, err := websocket.Accept(smallBuffers{w, out}, r, nil)
		if err != nil {
			return
		}
		c, _, _, _, _ := h.register(shared.Identity{}, "", 0, "")
		defer h.unregister(c)
		serveConn(context.Background(), shared.NewLogger(io.Discard, "realtime", "error"), h, c,
			conn, out, testConnConfig, hello{}, nil, false)
	})}
	stopped := make(chan struct{})
	go func() {
		srv.Serve(ln)
		close(stopped)
	}()
	done := make(chan struct{})
	go func() {
		<-served
		ln.Close()
		<-stopped
		close(done)
	}()
	return ln.dial(), done
}

// upgrade sends a WebSocket handshake request on peer and reads the 101 answer, and nothing more.
func upgrade(tb testing.TB, peer net.Conn) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://pipe/ws", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Version", "13")
	go req.Write(peer) // the pipe is unbuffered: write while the server reads
	// One byte at a time so nothing after the 101 (the hello) is read.
	resp, err := http.ReadResponse(bufio.NewReaderSize(oneByteReader{peer}, 16), req)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		tb.Fatalf("handshake: %v, %v; want 101", resp, err)
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1)]) }

// dialPeer completes the handshake on peer with a coder/websocket client.
func dialPeer(tb testing.TB, peer net.Conn, opts *websocket.DialOptions) *websocket.Conn {
	tb.Helper()
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return peer, nil }}
	opts.HTTPClient = &http.Client{Transport: tr}
	c, _, err := websocket.Dial(context.Background(), "ws://pipe/ws", opts)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	return c
}

func TestKeepaliveClosesDeadPeer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newHub(hubConfig{}, nil)
		peer, done := startConn(h)
		upgrade(t, peer)
		go io.Copy(io.Discard, peer) // reads frames, never answers a ping
		start := time.Now()
		<-done
		if got, want := time.Since(start), testConnConfig.PingInterval+testConnConfig.PongTimeout; got != want {
			t.Fatalf("dead peer closed after %s, want %s (ping interval + pong timeout)", got, want)
		}
		if n := h.stats().Connections; n != 0 {
			t.Fatalf("connections = %d after close, want 0", n)
		}
	})
}

func TestKeepaliveKeepsLivePeer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newHub(hubConfig{}, nil)
		peer, done := startConn(h)
		var pings atomic.Int64
		client := dialPeer(t, peer, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
			pings.Add(1)
			return true
		}})
		var received atomic.Int64
		go func() {
			for { // reading answers pings
				if _, _, err := client.Read(context.Background()); err != nil {
					return
				}
				received.Add(1)
			}
		}()
		time.Sleep(10*testConnConfig.PingInterval + time.Second)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("a peer answering pings was disconnected")
		default:
		}
		if n := pings.Load(); n != 10 {
			t.Fatalf("pings in 10 intervals = %d, want 10", n)
		}
		if n := writers(h); n != 0 {
			t.Fatalf("idle connection: %d writers running, want 0 (a writer runs only while messages are queued)", n)
		}
		h.publish("product.updated", json.RawMessage(`{}`), time.Now(), audience{public: true})
		synctest.Wait()
		if got := received.Load(); got != 2 {
			t.Fatalf("messages received = %d, want 2 (hello, product.updated)", got)
		}
		if n := writers(h); n != 0 {
			t.Fatalf("after the queue drained: %d writers running, want 0", n)
		}
		client.Close(websocket.StatusNormalClosure, "")
		<-done
	})
}

// writers counts the connections of h whose writer is running.
func writers(h *hub) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for c := range h.clients {
		c.mu.Lock()
		if c.writing {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

func TestWriteTimeoutClosesStuckPeer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newHub(hubConfig{}, nil)
		peer, done := startConn(h)
		upgrade(t, peer) // then the peer never reads: the hello write blocks
		start := time.Now()
		<-done
		if got := time.Since(start); got != testConnConfig.WriteTimeout {
			t.Fatalf("stuck peer closed after %s, want the write timeout %s", got, testConnConfig.WriteTimeout)
		}
		peer.Close()
	})
}

func TestBufferAge(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newHub(hubConfig{BufferAge: time.Minute}, nil)
		first := h.publish("order.created", json.RawMessage(`{}`), time.Now(), audience{userID: "u1"})
		h.publish("order.confirmed", json.RawMessage(`{}`), time.Now(), audience{userID: "u1"})

		time.Sleep(59 * time.Second)
		c, backlog, resync, _, _ := h.register(shared.Identity{UserID: "u1"}, "", first, h.epoch)
		h.unregister(c)
		if resync || len(backlog) != 1 {
			t.Fatalf("within the age: backlog %d, resync %v; want 1, false", len(backlog), resync)
		}

		time.Sleep(2 * time.Second)
		h.sweep()
		if n := h.stats().BufferedUsers; n != 0 {
			t.Fatalf("buffered users after expiry = %d, want 0", n)
		}
		c, _, resync, _, _ = h.register(shared.Identity{UserID: "u1"}, "", first, h.epoch)
		h.unregister(c)
		if !resync {
			t.Fatal("no resync though the user's missed message expired with its whole buffer")
		}
		c, backlog, resync, _, _ = h.register(shared.Identity{UserID: "u2"}, "", 2, h.epoch)
		h.unregister(c)
		if resync || len(backlog) != 0 {
			t.Fatalf("up-to-date client: backlog %d, resync %v; want 0, false", len(backlog), resync)
		}
		h.publish("inventory.updated", json.RawMessage(`{}`), time.Now(), audience{public: true})
		time.Sleep(61 * time.Second)
		_, _, resync, _, _ = h.register(shared.Identity{}, "", first, h.epoch)
		if !resync {
			t.Fatal("no resync though a public message after since expired")
		}
	})
}

// countingConn records each Write that reaches the "socket".
type countingConn struct {
	net.Conn
	writes    [][]byte
	deadlines []time.Time
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (c *countingConn) SetWriteDeadline(t time.Time) error {
	c.deadlines = append(c.deadlines, t)
	return nil
}

func TestBatchWriter(t *testing.T) {
	t.Parallel()
	nc := &countingConn{}
	out := &batchWriter{nc: nc}
	bw := bufio.NewWriterSize(out, 16)
	put := func(s string) {
		bw.WriteString(s)
		bw.Flush()
	}
	put("a")
	out.hold()
	put("bb")
	put("a message longer than the buffer")
	put("cc")
	if len(nc.writes) != 1 {
		t.Fatalf("socket writes while held = %d, want 1 (before hold)", len(nc.writes))
	}
	if err := out.release(); err != nil {
		t.Fatal(err)
	}
	put("d")
	var got []string
	for _, w := range nc.writes {
		got = append(got, string(w))
	}
	want := []string{"a", "bba message longer than the buffercc", "d"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("socket writes = %q, want %q", got, want)
	}
}

func TestBatchWriterDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nc := &countingConn{}
		out := &batchWriter{nc: nc, timeout: 10 * time.Second}
		start := time.Now()
		out.Write([]byte("a"))
		time.Sleep(4 * time.Second) // 6 s of the deadline left: kept
		out.hold()
		out.Write([]byte("b"))
		if err := out.release(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // 4 s left, under half: moved
		out.Write([]byte("c"))
		time.Sleep(time.Minute) // expired while idle: moved before the next write
		out.Write([]byte("d"))
		want := []time.Time{start.Add(10 * time.Second), start.Add(16 * time.Second), start.Add(76 * time.Second)}
		if len(nc.writes) != 4 || !slices.Equal(nc.deadlines, want) {
			t.Fatalf("%d writes, deadlines %v; want 4 writes, deadlines %v", len(nc.writes), nc.deadlines, want)
		}
	})
}
