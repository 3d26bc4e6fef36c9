package integration

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/devstack/apidocs"
)

// TestAPIDocuments: each service's document passes through the gateway byte for byte with its ETag
// (304 on revalidation), the merged document and the reference page are served, and the plain
// routes the rest of the suite does not call (health, stats) answer as documented: the client
// validates every answer against the merged document. The programs' probes and metrics answer on
// their own ports and 404 through the gateway.
func TestAPIDocuments(t *testing.T) {
	c := newClient(t, platform.URL("gateway"))
	for _, svc := range apidocs.Services {
		want, err := os.ReadFile(filepath.Join("..", "..", svc, "openapi.json"))
		if err != nil {
			t.Fatal(err)
		}
		resp := c.must(http.StatusOK, "GET", "/"+svc+"/openapi.json", nil, nil)
		body, _ := io.ReadAll(resp.Body)
		if string(body) != string(want) || resp.Header.Get("Etag") == "" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET /%s/openapi.json: %d bytes ETag %q type %q; want %s/openapi.json as committed (%d bytes), an ETag, JSON",
				svc, len(body), resp.Header.Get("Etag"), resp.Header.Get("Content-Type"), svc, len(want))
		}
		if _, err := apidocs.Parse(context.Background(), want); err != nil {
			t.Errorf("%s/openapi.json: %v", svc, err)
		}
		c.must(http.StatusNotModified, "GET", "/"+svc+"/openapi.json", nil, nil, "If-None-Match", resp.Header.Get("Etag"))
		// A program's probes and metrics are on its own port, not through the gateway.
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			c.must(http.StatusNotFound, "GET", "/"+svc+p, nil, nil)
			resp, err := http.Get(platform.URL(svc) + p)
			if err != nil {
				t.Fatalf("GET %s%s on its own port: %v", svc, p, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s%s on its own port: status = %d, want 200", svc, p, resp.StatusCode)
			}
		}
	}
	merged := c.must(http.StatusOK, "GET", "/openapi.json", nil, nil)
	c.must(http.StatusNotModified, "GET", "/openapi.json", nil, nil, "If-None-Match", merged.Header.Get("Etag"))
	page := c.must(http.StatusOK, "GET", "/docs", nil, nil)
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("GET /docs: CSP %q, want the page's own", csp)
	}
	c.must(http.StatusOK, "GET", "/docs/viewer.js", nil, nil)
	c.must(http.StatusOK, "GET", "/docs/viewer.css", nil, nil)
	c.must(http.StatusNotFound, "GET", "/docs/secret.txt", nil, nil)
	c.must(http.StatusOK, "GET", "/health", nil, nil)
	c.must(http.StatusOK, "GET", "/health/services/product", nil, nil)
	c.must(http.StatusNotFound, "GET", "/health/services/nope", nil, nil)
	c.must(http.StatusOK, "GET", "/realtime/stats", nil, nil)
	c.must(http.StatusOK, "GET", "/product/categories", nil, nil)
	c.must(http.StatusOK, "GET", "/inventory/inventory?limit=5", nil, nil)
}

// TestAPIDocsInBrowser: the reference page renders every operation of the merged document in
// Chromium under the gateway's CSP with no console error (a CSP refusal is one), and "Try it" sends
// a request from the page and shows the answer.
func TestAPIDocsInBrowser(t *testing.T) {
	bin, shots := browserEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	browser := startChrome(ctx, t, bin)
	p := browser.newTab(ctx, t, shots, browser.newContext(ctx, t))
	p.navigate(platform.URL("gateway") + "/docs")
	p.waitFor("the page lists the operations", `document.querySelectorAll('section.op').length > 60`, 10*time.Second)
	var n int
	p.must(`document.querySelectorAll('section.op').length`, &n)
	t.Logf("/docs shows %d operations", n)
	p.must(`(() => {
		const op = [...document.querySelectorAll('section.op')].find(s => s.querySelector('h2').textContent === 'GET/product/categories');
		op.querySelector('details.try').open = true;
		op.querySelector('.try button').click();
		window.__tried = op;
		return true;
	})()`, nil)
	p.waitFor("Try it shows the answer", `window.__tried.querySelector('.try pre').textContent.startsWith('200')`, 10*time.Second)
	if errs := browser.consoleLines(); len(errs) > 0 {
		t.Errorf("console errors on /docs (a CSP refusal shows here): %q", errs)
	}
}
