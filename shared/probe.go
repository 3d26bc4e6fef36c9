package shared

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// Probe GETs http://<addr>/readyz (a ":port" addr means 127.0.0.1) and returns nil on 200. Programs run
// it for `<program> -healthcheck`, so container images without a shell or curl (distroless) still have
// a healthcheck command.
func Probe(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("probe %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// IsHealthcheck reports whether the program was started as `<program> -healthcheck`.
func IsHealthcheck(args []string) bool {
	return len(args) > 1 && strings.TrimLeft(args[1], "-") == "healthcheck"
}
