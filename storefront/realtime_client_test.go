package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientJS runs testdata/client_test.js under Node (skipped where node is not installed): reconnect
// with backoff and jitter, resume by seq and epoch, resync, close.
func TestClientJS(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	out, err := exec.Command(node, "testdata/client_test.js", "static/client.js").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("client_test.js: %v\n%s", err, out)
	}
}
