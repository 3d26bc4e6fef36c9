package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRealtimeClientJS runs testdata/realtime_client_test.js under Node (skipped where node is not
// installed) against static/realtime.js, the realtime service's browser client that the storefront
// serves: reconnect with backoff and jitter, resume by seq and epoch, resync, close.
func TestRealtimeClientJS(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	out, err := exec.Command(node, "testdata/realtime_client_test.js", "static/realtime.js").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("realtime_client_test.js: %v\n%s", err, out)
	}
}
