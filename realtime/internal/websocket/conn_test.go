package websocket

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoServer echoes messages until the peer closes; "close" makes it close with StatusGoingAway.
func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(128 << 10)
		for {
			typ, p, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if string(p) == "close" {
				c.Close(StatusGoingAway, "bye")
				return
			}
			if err := c.Write(r.Context(), typ, p); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestEchoPingClose(t *testing.T) {
	t.Parallel()
	srv := echoServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	for _, size := range []int{0, 5, 125, 126, 70000} {
		msg := bytes.Repeat([]byte("x"), size)
		c.SetReadLimit(1 << 20)
		if err := c.Write(ctx, MessageText, msg); err != nil {
			t.Fatalf("Write(%d): %v", size, err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil || typ != MessageText || !bytes.Equal(got, msg) {
			t.Fatalf("Read(%d) = %v, %d bytes, %v; want text, %d bytes", size, typ, len(got), err, size)
		}
	}
	// A ping needs a concurrent reader for its pong.
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		errc <- err
	}()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := c.Write(ctx, MessageText, []byte("close")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := <-errc; CloseStatus(err) != StatusGoingAway {
		t.Fatalf("Read after server close: err = %v, want status %d", err, StatusGoingAway)
	}
}

func TestClientClose(t *testing.T) {
	t.Parallel()
	srv := echoServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, srv.URL, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	start := time.Now()
	if err := c.Close(StatusNormalClosure, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %s; the server should answer the close at once", d)
	}
	if err := c.Write(ctx, MessageText, []byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestAcceptRejectsPlainRequest(t *testing.T) {
	t.Parallel()
	srv := echoServer(t)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("GET %s: status = %d, want %d", srv.URL, resp.StatusCode, http.StatusUpgradeRequired)
	}
}

func TestReadLimit(t *testing.T) {
	t.Parallel()
	srv := echoServer(t) // server limit 128 KiB
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, srv.URL, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	c.Write(ctx, MessageText, bytes.Repeat([]byte("y"), 200<<10))
	if _, _, err := c.Read(ctx); CloseStatus(err) != StatusMessageTooBig {
		t.Fatalf("Read: err = %v, want close %d", err, StatusMessageTooBig)
	}
}

func TestAcceptKey(t *testing.T) {
	t.Parallel()
	// The example of RFC 6455 section 1.3.
	if got, want := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Fatalf("acceptKey = %q, want %q", got, want)
	}
}

// FuzzRead feeds arbitrary bytes to a server-side connection: it must never panic or allocate beyond
// its read limit, whatever the frames claim.
func FuzzRead(f *testing.F) {
	var buf []byte
	buf = appendFrame(buf, opText, []byte("hello"), true, [4]byte{1, 2, 3, 4})
	buf = appendFrame(buf, opPing, []byte("p"), true, [4]byte{5, 6, 7, 8})
	buf = appendFrame(buf, opClose, []byte{3, 232}, true, [4]byte{})
	f.Add(buf)
	f.Add([]byte{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{0x01, 0x81, 0, 0, 0, 0, 'a', 0x80, 0x81, 0, 0, 0, 0, 'b'})
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			// Drain whatever the server writes (pongs, close frames).
			bufio.NewReader(client).WriteTo(discard{})
		}()
		c := newConn(server, bufio.NewReader(bytes.NewReader(data)), false)
		c.SetReadLimit(1 << 16)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for range 8 {
			if _, p, err := c.Read(ctx); err != nil {
				return
			} else if len(p) > 1<<16 {
				t.Fatalf("Read returned %d bytes over the limit", len(p))
			}
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestFragmentedWithPing sends a text message in three fragments with a ping between them: Read must
// return the whole message and the pong must go out before it.
func TestFragmentedWithPing(t *testing.T) {
	t.Parallel()
	server, client := net.Pipe()
	defer client.Close()
	c := NewConn(server, false)
	defer c.CloseNow()
	mask := [4]byte{9, 8, 7, 6}
	var in []byte
	frag := func(b0 byte, p string) {
		f := appendFrame(nil, 0, []byte(p), true, mask)
		f[0] = b0
		in = append(in, f...)
	}
	frag(0x01, "hel") // text, not final
	in = appendFrame(in, opPing, []byte("k"), true, mask)
	frag(0x00, "lo, ")  // continuation, not final
	frag(0x80, "world") // continuation, final
	go client.Write(in)

	pong := make(chan []byte, 1)
	go func() {
		h, err := readHeader(client)
		if err != nil {
			pong <- nil
			return
		}
		p := make([]byte, h.length)
		io.ReadFull(client, p)
		pong <- append([]byte{h.op}, p...)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, got, err := c.Read(ctx)
	if err != nil || typ != MessageText || string(got) != "hello, world" {
		t.Fatalf("Read = %v, %q, %v; want text %q", typ, got, err, "hello, world")
	}
	if p := <-pong; string(p) != string([]byte{opPong, 'k'}) {
		t.Fatalf("peer got %v, want a pong with the ping's payload", p)
	}
}
