package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/realtime/internal/websocket"
	"github.com/goshop/platform/shared"
)

var testConnConfig = connConfig{PingInterval: 25 * time.Second, PongTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}

// startConn runs serveConn for a new anonymous client over net.Pipe and returns the peer's end and a
// channel closed when serveConn returns.
func startConn(h *hub) (net.Conn, <-chan struct{}) {
	srvEnd, peer := net.Pipe()
	c, _, _, _, _ := h.register(shared.Identity{}, 0, "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer h.unregister(c)
		serveConn(context.Background(), shared.NewLogger(io.Discard, "realtime", "error"), h, c,
			websocket.NewConn(srvEnd, false), testConnConfig, hello{}, nil, false)
	}()
	return peer, done
}

func TestKeepaliveClosesDeadPeer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newHub(hubConfig{}, nil)
		peer, done := startConn(h)
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
		client := websocket.NewConn(peer, true)
		go func() {
			for { // reading answers pings
				if _, _, err := client.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		time.Sleep(10 * testConnConfig.PingInterval)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("a peer answering pings was disconnected")
		default:
		}
		h.publish("product.updated", json.RawMessage(`{}`), time.Now(), audience{public: true})
		client.Close(websocket.StatusNormalClosure, "")
		<-done
	})
}

func TestWriteTimeoutClosesStuckPeer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newHub(hubConfig{}, nil)
		_, done := startConn(h) // the peer never reads: the hello write blocks
		start := time.Now()
		<-done
		if got := time.Since(start); got != testConnConfig.WriteTimeout {
			t.Fatalf("stuck peer closed after %s, want the write timeout %s", got, testConnConfig.WriteTimeout)
		}
	})
}

func TestBufferAge(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newHub(hubConfig{BufferAge: time.Minute}, nil)
		first := h.publish("order.created", json.RawMessage(`{}`), time.Now(), audience{userID: "u1"})
		h.publish("order.confirmed", json.RawMessage(`{}`), time.Now(), audience{userID: "u1"})

		time.Sleep(59 * time.Second)
		c, backlog, resync, _, _ := h.register(shared.Identity{UserID: "u1"}, first, h.epoch)
		h.unregister(c)
		if resync || len(backlog) != 1 {
			t.Fatalf("within the age: backlog %d, resync %v; want 1, false", len(backlog), resync)
		}

		time.Sleep(2 * time.Second)
		h.sweep()
		if n := h.stats().BufferedUsers; n != 0 {
			t.Fatalf("buffered users after expiry = %d, want 0", n)
		}
		c, _, resync, _, _ = h.register(shared.Identity{UserID: "u1"}, first, h.epoch)
		h.unregister(c)
		if !resync {
			t.Fatal("no resync though the user's missed message expired with its whole buffer")
		}
		c, backlog, resync, _, _ = h.register(shared.Identity{UserID: "u2"}, 2, h.epoch)
		h.unregister(c)
		if resync || len(backlog) != 0 {
			t.Fatalf("up-to-date client: backlog %d, resync %v; want 0, false", len(backlog), resync)
		}
		h.publish("inventory.updated", json.RawMessage(`{}`), time.Now(), audience{public: true})
		time.Sleep(61 * time.Second)
		_, _, resync, _, _ = h.register(shared.Identity{}, first, h.epoch)
		if !resync {
			t.Fatal("no resync though a public message after since expired")
		}
	})
}
