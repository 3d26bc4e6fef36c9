// Package integration runs the eight programs, built from this repository, against kfake, Redis
// (redis-server when installed, else miniredis) with in-memory stores, and drives them from outside through the
// gateway as curl and the storefront do. Ports are the defaults plus 1500 (INTEGRATION_PORT_OFFSET
// changes it, so two runs can share a machine), so `make run` may keep running beside it.
package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/goshop/platform/devstack/stack"
)

var platform *stack.Stack

// traces receives every program's spans (TestCheckoutIsOneTrace): tracing is on for the whole suite,
// so every test also runs the traced code paths.
var traces *otlpReceiver

func TestMain(m *testing.M) {
	traces = newOTLPReceiver()
	// The tests log in and register more often than one person would within a minute. Spans are
	// sent every 100 ms, so a test waits little for them.
	opts := stack.Options{Mongo: "mem", Redis: "auto", OTLPEndpoint: traces.srv.URL,
		Env: map[string]string{"GATEWAY_AUTH_RATE_LIMIT": "600/m:600", "OTEL_BSP_SCHEDULE_DELAY": "100"}}
	// INTEGRATION_REPLICAS=N runs N copies of each back-end service (make test-replicas): they share
	// their stores, so the suite then runs on embedded FerretDB.
	if v := os.Getenv("INTEGRATION_REPLICAS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > stack.MaxReplicas {
			fmt.Fprintf(os.Stderr, "INTEGRATION_REPLICAS=%q: want a number 1-%d\n", v, stack.MaxReplicas)
			os.Exit(1)
		}
		opts.Replicas = n
		if n > 1 {
			opts.Mongo = "ferret"
		}
	}
	code := stack.RunTests(contractReport{m}, stack.TestSuite{Label: "integration", OffsetEnv: "INTEGRATION_PORT_OFFSET", DefaultOffset: 1500,
		Options: opts}, func(s *stack.Stack) { platform = s })
	traces.srv.Close()
	os.Exit(code)
}

// contractReport runs the tests, then says how much of the API the OpenAPI check saw.
type contractReport struct{ m *testing.M }

func (r contractReport) Run() int {
	code := r.m.Run()
	if contract.doc != nil {
		n, exercised, missed := contract.coverage()
		fmt.Printf("integration: OpenAPI contract: %d request/response pairs validated; %d of %d operations exercised; not exercised: %s\n",
			n, len(exercised), len(exercised)+len(missed), strings.Join(missed, ", "))
	}
	return code
}
