package stack

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/goshop/platform/shared"
	"github.com/twmb/franz-go/pkg/kfake"
)

// startKafka runs kfake, a Kafka-protocol broker in Go, on addr with the platform's topics
// (3 partitions each). With dir set, the log survives restarts.
// wrap wraps the broker's listener (fault injection); nil leaves it as it is.
func startKafka(port int, dir string, wrap func(net.Listener) net.Listener) (*kfake.Cluster, error) {
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.SeedTopics(3, shared.AllTopics()...),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(3),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			ln, err := net.Listen(network, "127.0.0.1:"+p)
			if err != nil || wrap == nil {
				return ln, err
			}
			return wrap(ln), nil
		}),
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		opts = append(opts, kfake.DataDir(dir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka (kfake) on :%d: %w", port, err)
	}
	return c, nil
}

// redisServer is Redis for the platform: a real redis-server process when one is installed, else
// miniredis in-process (whose keys expire because a ticker advances its clock). Stop and Start let
// tests take Redis away and bring it back on the same port.
type redisServer struct {
	mode string // "redis-server" or "miniredis"
	addr string
	dir  string
	log  io.Writer

	mu   sync.Mutex
	cmd  *exec.Cmd
	mini *miniredis.Miniredis
	stop chan struct{}
}

func newRedis(mode, addr, dir string, log io.Writer) (*redisServer, error) {
	if mode == "auto" || mode == "" {
		mode = "miniredis"
		if _, err := exec.LookPath("redis-server"); err == nil {
			mode = "redis-server"
		}
	}
	if mode != "miniredis" && mode != "redis-server" {
		return nil, fmt.Errorf("redis mode %q: want auto, redis-server or miniredis", mode)
	}
	r := &redisServer{mode: mode, addr: addr, dir: dir, log: log}
	return r, r.Start()
}

// Start starts Redis and waits until it accepts connections.
func (r *redisServer) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil || r.mini != nil {
		return nil
	}
	switch r.mode {
	case "redis-server":
		host, port, _ := net.SplitHostPort(r.addr)
		if err := os.MkdirAll(r.dir, 0o755); err != nil {
			return err
		}
		cmd := exec.Command("redis-server", "--bind", host, "--port", port, "--save", "", "--appendonly", "no",
			"--dir", r.dir, "--protected-mode", "yes")
		cmd.Stdout, cmd.Stderr = r.log, r.log
		// With the slack the launcher was started with, not the Go programs' (TimerSlack).
		if err := startWithSlack(cmd, 0); err != nil {
			return fmt.Errorf("redis-server: %w", err)
		}
		r.cmd = cmd
		go cmd.Wait()
	default:
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr(r.addr); err != nil {
			return fmt.Errorf("miniredis on %s: %w", r.addr, err)
		}
		r.mini, r.stop = m, make(chan struct{})
		go func(stop chan struct{}) {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					m.FastForward(250 * time.Millisecond)
				}
			}
		}(r.stop)
	}
	return waitTCP(context.Background(), r.addr, 10*time.Second)
}

// Stop kills Redis (a crash, not a clean shutdown) and waits until its port refuses connections.
func (r *redisServer) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		r.cmd.Process.Kill()
		r.cmd = nil
	}
	if r.mini != nil {
		close(r.stop)
		r.mini.Close()
		r.mini = nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", r.addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// waitTCP waits until addr accepts a TCP connection.
func waitTCP(ctx context.Context, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not accepting connections after %s: %w", addr, within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
