package stack

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestFreezerHoldsTraffic: while frozen, bytes sent to a wrapped listener's connection get no echo;
// after the thaw the held request is answered, and new connections work again.
func TestFreezerHoldsTraffic(t *testing.T) {
	t.Parallel()
	var f freezer
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := f.listener(raw)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(c, c)
		}
	}()
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := func(msg string, within time.Duration) error {
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(within))
		b := make([]byte, len(msg))
		_, err := io.ReadFull(c, b)
		if err == nil && string(b) != msg {
			err = errors.New("echo " + string(b) + ", want " + msg)
		}
		return err
	}
	if err := echo("a", 5*time.Second); err != nil {
		t.Fatalf("thawed: %v", err)
	}
	f.freeze()
	if err := echo("b", 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("frozen: echo err = %v, want no answer", err)
	}
	f.thaw()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "b" {
		t.Fatalf("after thaw: held request answered %q, %v; want b", b, err)
	}
	if err := echo("c", 5*time.Second); err != nil {
		t.Fatalf("after thaw: %v", err)
	}
}
