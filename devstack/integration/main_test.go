// Package integration runs the eight programs, built from this repository, against kfake, Redis
// (redis-server when installed, else miniredis) with in-memory stores, and drives them from outside through the
// gateway as curl and the storefront do. Ports are the defaults plus 1500 (INTEGRATION_PORT_OFFSET
// changes it, so two runs can share a machine), so `make run` may keep running beside it.
package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/goshop/platform/devstack/stack"
)

// offset is added to every default port; INTEGRATION_PORT_OFFSET overrides it.
var offset = 1500

var platform *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if v := os.Getenv("INTEGRATION_PORT_OFFSET"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 60000 {
			fmt.Fprintf(os.Stderr, "INTEGRATION_PORT_OFFSET=%q: want a number 0-60000\n", v)
			return 1
		}
		offset = n
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "goshop-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	t0 := time.Now()
	if err := stack.Build(ctx, root, dir, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	t1 := time.Now()
	platform, err = stack.Start(ctx, stack.Options{Root: root, Dir: dir, PortOffset: offset, Mongo: "mem", Redis: "auto",
		// The tests log in and register more often than one person would within a minute.
		Env: map[string]string{"GATEWAY_AUTH_RATE_LIMIT": "600/m:600"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		dumpLogs(dir)
		return 1
	}
	fmt.Printf("integration: built in %s, platform ready %s after start (redis: %s, stores: %s)\n",
		t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond), platform.RedisMode(), platform.MongoMode())
	code := m.Run()
	if err := platform.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		code = 1
	}
	if code != 0 {
		dumpLogs(dir)
	}
	return code
}

// dumpLogs prints the tail of every program's log, so a CI failure explains itself.
func dumpLogs(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		fmt.Fprintf(os.Stderr, "\n===== %s (tail) =====\n%s\n", filepath.Base(f), b)
	}
}
