package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRedisOutageIsReportedAndHealed kills Redis: auth, which cannot keep sessions without it, answers
// /readyz 503 naming redis; the gateway, which only loses its cache and rate limits, stays ready but
// reports redis down in /health/detailed and still serves the catalog; once Redis is back everything
// recovers by itself and logins work again.
func TestRedisOutageIsReportedAndHealed(t *testing.T) {
	users := []string{"auth"}
	platform.StopRedis()
	restarted := false
	defer func() {
		if !restarted {
			platform.StartRedis()
		}
	}()
	for _, p := range users {
		url := platform.URL(p) + "/readyz"
		eventually(t, 15*time.Second, p+" /readyz turns 503 naming redis", func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var body struct {
				Checks map[string]string `json:"checks"`
			}
			json.Unmarshal(b, &body)
			return resp.StatusCode == 503 && strings.Contains(strings.ToLower(string(b)), "redis")
		})
	}
	anon := newClient(t, platform.URL("gateway"))
	anon.must(200, "GET", "/product/products?limit=2&redis=down", nil, nil)
	anon.must(200, "GET", "/readyz", nil, nil)
	var health struct {
		Info struct {
			Redis struct {
				Status string `json:"status"`
			} `json:"redis"`
		} `json:"info"`
	}
	anon.must(503, "GET", "/health/detailed", nil, &health)
	if health.Info.Redis.Status != "down" {
		t.Errorf("gateway /health/detailed redis = %q, want down", health.Info.Redis.Status)
	}

	if err := platform.StartRedis(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	for _, p := range users {
		url := platform.URL(p) + "/readyz"
		eventually(t, 20*time.Second, p+" /readyz back to 200", func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
	}
	c := newClient(t, platform.URL("gateway"))
	c.login(demoEmail, demoPass)
	// The gateway checks its dependencies at most once a second for /health/detailed.
	eventually(t, 5*time.Second, "gateway /health/detailed back to 200", func() bool {
		resp, err := http.Get(platform.URL("gateway") + "/health/detailed")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// TestStorefrontServesTheShop checks the shop's home page lists products from the catalog.
func TestStorefrontServesTheShop(t *testing.T) {
	c := newClient(t, platform.URL("storefront"))
	resp := c.must(200, "GET", "/", nil, nil)
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	if !strings.Contains(page, "<html") || !strings.Contains(page, "Lumen 4K Webcam") && !strings.Contains(page, "$") {
		t.Errorf("GET / on the storefront does not look like a shop page:\n%.2000s", page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp == "" {
		t.Error("storefront sends no Content-Security-Policy")
	}
}
