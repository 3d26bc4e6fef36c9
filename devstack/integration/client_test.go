package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"
)

// client is a curl-like API client with its own cookie jar.
type client struct {
	tb   testing.TB
	http *http.Client
	base string
}

// A client of the gateway checks every request and answer against the merged OpenAPI document
// (validatingTransport).
func newClient(tb testing.TB, base string) *client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{tb: tb, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if base == platform.URL("gateway") {
		contract := loadContract(base)
		if contract.err != nil {
			tb.Fatalf("OpenAPI contract: %v", contract.err)
		}
		c.http.Transport = &validatingTransport{tb: tb, base: http.DefaultTransport, contract: contract}
	}
	return c
}

// do sends a request with an optional JSON body and headers (name, value pairs) and decodes a JSON
// answer into out when out is not nil.
func (c *client) do(method, path string, body any, out any, headers ...string) *http.Response {
	c.tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.tb.Fatalf("%s %s: status %d, body %q is not JSON: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp
}

// must is do that fails the test unless the status is want.
func (c *client) must(want int, method, path string, body any, out any, headers ...string) *http.Response {
	c.tb.Helper()
	resp := c.do(method, path, body, out, headers...)
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		c.tb.Fatalf("%s %s: status = %d, want %d; body %s", method, path, resp.StatusCode, want, b)
	}
	return resp
}

// loginAnswer is the part of POST /auth/login's answer the tests use.
type loginAnswer struct {
	AccessToken string `json:"access_token"`
	User        struct {
		ID string `json:"id"`
	} `json:"user"`
}

// login signs the client in (its jar keeps the session cookie) and returns the answer.
func (c *client) login(email, password string) loginAnswer {
	c.tb.Helper()
	var a loginAnswer
	c.must(200, "POST", "/auth/login", map[string]string{"email": email, "password": password}, &a)
	return a
}

// newCustomer registers email through the gateway and returns a client signed in as it.
func newCustomer(tb testing.TB, email, password string) (*client, loginAnswer) {
	tb.Helper()
	c := newClient(tb, platform.URL("gateway"))
	c.must(201, "POST", "/auth/register", map[string]string{"email": email, "password": password, "name": "Integration Customer"}, nil)
	return c, c.login(email, password)
}

// newStockedProduct creates a product with units in stock through the gateway as admin, then waits
// until inventory, fed by product.created, shows the stock to anyone (so the gateway's cache holds
// that answer too).
func newStockedProduct(tb testing.TB, admin *client, sku, name string, price float64, units int) {
	tb.Helper()
	admin.must(201, "POST", "/product/products", map[string]any{
		"sku": sku, "name": name, "description": "made by the integration tests", "price": price,
		"currency": "USD", "category": "home-kitchen", "stock": units}, nil)
	anon := newClient(tb, platform.URL("gateway"))
	var s stock
	eventually(tb, 10*time.Second, "inventory creates the stock item of "+sku+" from product.created", func() bool {
		return anon.do("GET", "/inventory/inventory/"+sku, nil, &s).StatusCode == 200 && s.OnHand == units
	})
}

// eventually polls cond every 100 ms until it holds or within passes.
func eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !holdsWithin(within, cond) {
		tb.Fatalf("%s: not within %s", what, within)
	}
}

// holdsWithin polls cond every 100 ms until it holds (true) or within has passed (false), for
// tests that explain a failure with more than eventually's message.
func holdsWithin(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}
