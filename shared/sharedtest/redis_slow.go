package sharedtest

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/redis/go-redis/v9"
)

// SlowRedis is a client (shared.NewRedis, so with the programs' timeouts and retries) to the Redis of
// REDIS_TEST_URL through a proxy that can hold back one reply: after DelayNext, the next reply on any
// connection reaches the client only after the given delay, as a Redis stalled by a fork, a slow disk
// or the network delivers it. Redis has run the command by then: with a delay past the client's read
// timeout (1 s), go-redis gives up on the reply and sends the command again on a new connection.
type SlowRedis struct {
	Client    *redis.Client
	delay     time.Duration
	delayNext atomic.Bool
}

// NewSlowRedis returns a SlowRedis closed when the test ends, or nil when REDIS_TEST_URL is unset
// (the caller skips).
func NewSlowRedis(tb testing.TB, delay time.Duration) *SlowRedis {
	tb.Helper()
	raw := Redis(tb)
	if raw == nil {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	s := &SlowRedis{delay: delay}
	target := raw.Options().Addr
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, target)
		}
	}()
	s.Client, err = shared.NewRedis(shared.RedisConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		Password: raw.Options().Password, DB: raw.Options().DB})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Client.Close() })
	return s
}

// DelayNext holds back the next reply by the delay.
func (s *SlowRedis) DelayNext() { s.delayNext.Store(true) }

func (s *SlowRedis) serve(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c)
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if s.delayNext.CompareAndSwap(true, false) {
				time.Sleep(s.delay)
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
