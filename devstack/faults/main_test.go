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
	"os"
	"testing"
	"time"

	"github.com/goshop/platform/devstack/stack"
)

// healthInterval is the gateway's health check period in this stack; recovery bounds are stated
// in multiples of it.
const healthInterval = 2 * time.Second

// reconcileAfter is ORDER_RECONCILE_AFTER in this stack: short, so a test sees reconciliation work.
const reconcileAfter = 5 * time.Second

var platform *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(stack.RunTests(m, stack.TestSuite{Label: "faults", OffsetEnv: "FAULTS_PORT_OFFSET", DefaultOffset: 20000,
		Options: stack.Options{Mongo: "mem", Redis: "auto", SecondProduct: true,
			Env: map[string]string{
				// The load is a handful of clients on one IP; the limits are not what is tested here.
				"GATEWAY_RATE_LIMIT":      "5000/s:5000",
				"GATEWAY_USER_RATE_LIMIT": "5000/s:5000",
				"GATEWAY_AUTH_RATE_LIMIT": "600/m:600",
				"GATEWAY_HEALTH_INTERVAL": healthInterval.String(),
				// Orders stranded by a lost inventory answer are asked about again after this long.
				"ORDER_RECONCILE_AFTER": reconcileAfter.String(),
			}}},
		func(s *stack.Stack) { platform = s }))
}
