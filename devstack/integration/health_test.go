package integration

import (
	"net/http"
	"testing"

	"github.com/goshop/platform/devstack/stack"
)

func TestEveryProgramReady(t *testing.T) {
	for _, p := range programNames() {
		url := platform.URL(p) + "/readyz"
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status = %d, want 200", url, resp.StatusCode)
		}
	}
}

func programNames() []string {
	var out []string
	for _, p := range stack.Programs {
		out = append(out, p.Name)
	}
	return out
}
