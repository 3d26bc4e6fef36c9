// Package faults injects the failures a production platform meets, one at a time, into the eight
// programs (built from this repository, with in-memory stores so that what breaks is ours and not a
// database's): kill -9 and restart of order and of inventory, a frozen broker, Redis killed and
// restarted, a hung product instance. Each runs under a small checkout load and ends with the
// platform's invariants checked (invariants_test.go). Every test prints what it measured on a
// "faults:" line; docs/reliability.md quotes them.
//
// Ports are the defaults plus 20000 (FAULTS_PORT_OFFSET moves them), so the group runs beside the
// integration package and `make run`.
package faults

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

// offset is added to every default port; FAULTS_PORT_OFFSET overrides it.
var offset = 20000

// healthInterval is the gateway's health check period in this stack; recovery bounds are stated
// in multiples of it.
const healthInterval = 2 * time.Second

var platform *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if v := os.Getenv("FAULTS_PORT_OFFSET"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 60000 {
			fmt.Fprintf(os.Stderr, "FAULTS_PORT_OFFSET=%q: want a number 0-60000\n", v)
			return 1
		}
		offset = n
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "goshop-faults-")
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
		SecondProduct: true,
		Env: map[string]string{
			// The load is a handful of clients on one IP; the limits are not what is tested here.
			"GATEWAY_RATE_LIMIT":      "5000/s:5000",
			"GATEWAY_USER_RATE_LIMIT": "5000/s:5000",
			"GATEWAY_AUTH_RATE_LIMIT": "600/m:600",
			"GATEWAY_HEALTH_INTERVAL": healthInterval.String(),
			// Orders stranded by a lost inventory answer are asked about again after this long.
			"ORDER_RECONCILE_AFTER": reconcileAfter.String(),
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		dumpLogs(dir)
		return 1
	}
	fmt.Printf("faults: built in %s, platform ready %s after start (redis: %s, stores: %s)\n",
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

// reconcileAfter is ORDER_RECONCILE_AFTER in this stack: short, so a test sees reconciliation work.
const reconcileAfter = 5 * time.Second

// dumpLogs prints the tail of every program's log, so a failure explains itself.
func dumpLogs(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		fmt.Fprintf(os.Stderr, "\n===== %s (tail) =====\n%s\n", filepath.Base(f), b)
	}
}
