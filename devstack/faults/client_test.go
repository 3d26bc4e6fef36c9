package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// api calls one base URL with a bearer token. Errors are returned, not fatal: under a fault a
// failed call is data.
type api struct {
	base  string
	token string
	http  *http.Client
}

func newAPI(base, token string) *api {
	return &api{base: base, token: token, http: &http.Client{Timeout: 10 * time.Second}}
}

// call sends a JSON body (when not nil) with header pairs and decodes a JSON answer into out (when
// not nil and the status is 2xx). It returns the status, 0 for a transport error.
func (a *api) call(method, path string, body, out any, header ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %d, body is not JSON: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

// must is call that fails the test on anything but a 2xx.
func (a *api) must(tb testing.TB, method, path string, body, out any) {
	tb.Helper()
	if _, err := a.call(method, path, body, out); err != nil {
		tb.Fatal(err)
	}
}

const (
	adminEmail = "admin@shop.local"
	adminPass  = "admin-Passw0rd!"
	password   = "Faults-Passw0rd!"
	customers  = 3
)

var (
	setupOnce sync.Once
	adminTok  string
	custToks  []string
	setupErr  error
)

// tokens logs the admin in and registers the load's customers, once for the package.
func tokens(tb testing.TB) (admin string, cust []string) {
	tb.Helper()
	setupOnce.Do(func() {
		gw := newAPI(platform.URL("gateway"), "")
		login := func(email, pass string) (string, error) {
			var out struct {
				AccessToken string `json:"access_token"`
			}
			_, err := gw.call("POST", "/auth/login", map[string]string{"email": email, "password": pass}, &out)
			return out.AccessToken, err
		}
		if adminTok, setupErr = login(adminEmail, adminPass); setupErr != nil {
			return
		}
		run := time.Now().UnixNano()
		for i := range customers {
			email := fmt.Sprintf("faults-%d-%d@example.com", run, i)
			if _, setupErr = gw.call("POST", "/auth/register", map[string]string{"email": email, "password": password, "name": "Fault Tester"}, nil); setupErr != nil {
				return
			}
			var tok string
			if tok, setupErr = login(email, password); setupErr != nil {
				return
			}
			custToks = append(custToks, tok)
		}
	})
	if setupErr != nil {
		tb.Fatalf("setup: %v", setupErr)
	}
	return adminTok, custToks
}

// newSKU creates a product with stock units on the first product instance (the one order prices
// from) and waits until inventory holds its stock item.
func newSKU(tb testing.TB, admin string, stock int) string {
	tb.Helper()
	sku := fmt.Sprintf("FAULT-%d", time.Now().UnixNano()%1e10)
	newAPI(platform.URL("product"), admin).must(tb, "POST", "/products", map[string]any{
		"sku": sku, "name": "Fault Test Kettle", "description": "made to be ordered under faults", "price": 19.99,
		"currency": "USD", "category": "home-kitchen", "stock": stock}, nil)
	inv := newAPI(platform.URL("inventory"), admin)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var it stockItem
		if _, err := inv.call("GET", "/inventory/"+sku, nil, &it); err == nil && it.OnHand == int64(stock) {
			return sku
		}
		if time.Now().After(deadline) {
			tb.Fatalf("stock item %s not in inventory after 15s", sku)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type stockItem struct {
	SKU       string `json:"sku"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}
