package integration

import (
	"bytes"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

// The security group for auth and the services' input handling: scopes of third-party tokens, the
// login throttle, request bodies and metric labels, each through the gateway as an outsider sees it.

// thirdPartyToken runs the authorization code flow for the third-party demo-app through the gateway as
// the signed-in user of c, approves the consent page, and returns the access token for scope.
func thirdPartyToken(t *testing.T, c *client, scope string) string {
	t.Helper()
	var b [32]byte
	crand.Read(b[:])
	verifier := hex.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	params := url.Values{"response_type": {"code"}, "client_id": {"demo-app"}, "redirect_uri": {"http://127.0.0.1:8080/callback"},
		"scope": {scope}, "state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	resp := c.do("GET", "/auth/authorize?"+params.Encode(), nil, nil)
	page, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET /auth/authorize for demo-app: %d, want the consent page; %.300s", resp.StatusCode, page)
	}
	params.Set("csrf_token", string(m[1]))
	params.Set("consent", "approve")
	resp = postForm(t, c, "/auth/authorize", params)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("POST /auth/authorize approve: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = postForm(t, newClient(t, c.base), "/auth/token", url.Values{"grant_type": {"authorization_code"},
		"client_id": {"demo-app"}, "code": {loc.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1:8080/callback"},
		"code_verifier": {verifier}})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := decodeJSON(resp, &tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("POST /auth/token for demo-app: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// postForm posts a form with c's cookies, from the gateway's own origin.
func postForm(t *testing.T, c *client, path string, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp
}

func decodeJSON(resp *http.Response, out any) error {
	raw, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return json.Unmarshal(raw, out)
}

// TestSecurityAuthScopes: a third-party app's token reaches only what the user approved; the same
// user's first-party session reaches everything; no third-party token reaches an admin route.
func TestSecurityAuthScopes(t *testing.T) {
	gw := platform.URL("gateway")
	user := newClient(t, gw)
	user.login(demoEmail, demoPass)
	openid := thirdPartyToken(t, user, "openid")
	ordersRead := thirdPartyToken(t, user, "openid orders:read")
	admin := newClient(t, gw)
	admin.login(adminEmail, adminPass)
	adminApp := thirdPartyToken(t, admin, "openid profile addresses orders:read orders:write")

	bearer := newClient(t, gw) // no cookies: only the token speaks
	tests := []struct {
		name, token, method, path string
		want                      int
	}{
		{"openid only: orders", openid, "GET", "/order/orders", http.StatusForbidden},
		{"openid only: addresses", openid, "GET", "/user/users/me/addresses", http.StatusForbidden},
		{"openid only: profile", openid, "GET", "/user/users/me", http.StatusForbidden},
		{"orders:read: orders", ordersRead, "GET", "/order/orders", http.StatusOK},
		{"orders:read: addresses", ordersRead, "GET", "/user/users/me/addresses", http.StatusForbidden},
		{"orders:read: place an order", ordersRead, "POST", "/order/orders", http.StatusForbidden},
		{"admin's app: user list", adminApp, "GET", "/user/users", http.StatusForbidden},
		{"admin's app: stock adjust", adminApp, "POST", "/inventory/inventory/ELEC-CAM-005/adjust", http.StatusForbidden},
		{"admin's app: own addresses", adminApp, "GET", "/user/users/me/addresses", http.StatusOK},
	}
	for _, tt := range tests {
		var body any
		if tt.method == "POST" {
			body = map[string]any{"delta": 1, "reason": "scope test"}
		}
		var e sharedtest.ErrorBody
		resp := bearer.do(tt.method, tt.path, body, &e, "Authorization", "Bearer "+tt.token, "Idempotency-Key", "scope-test")
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %s %s = %d, want %d (%+v)", tt.name, tt.method, tt.path, resp.StatusCode, tt.want, e.Error)
		}
		if tt.want == http.StatusForbidden && e.Error.Code != "forbidden" {
			t.Errorf("%s: error %+v, want code forbidden", tt.name, e.Error)
		}
	}
	// The same user with the first-party session keeps full rights.
	user.must(http.StatusOK, "GET", "/order/orders", nil, nil)
	user.must(http.StatusOK, "GET", "/user/users/me/addresses", nil, nil)
}

// TestSecurityAuthLoginThrottle: every client here reaches auth from one address (the gateway on
// loopback), like people behind one NAT. Twenty failures on other accounts must not lock out a
// right password; and a known and an unknown email answer alike, step by step.
func TestSecurityAuthLoginThrottle(t *testing.T) {
	gw := platform.URL("gateway")
	attacker := newClient(t, gw)
	for i := range 20 {
		resp := attacker.do("POST", "/auth/login", map[string]string{"email": fmt.Sprintf("spray%d-%d@example.com", i, rand.Int()), "password": "wrong-password"}, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("spray %d: status = %d, want 401", i, resp.StatusCode)
		}
	}
	newClient(t, gw).must(http.StatusOK, "POST", "/auth/login", map[string]string{"email": demoEmail, "password": demoPass}, nil)

	known := fmt.Sprintf("known%d@example.com", rand.Int())
	newClient(t, gw).must(http.StatusCreated, "POST", "/auth/register", map[string]string{"email": known, "password": "a-long-passw0rd", "name": "Known"}, nil)
	unknown := fmt.Sprintf("unknown%d@example.com", rand.Int())
	for i := range 7 {
		var a, b []string
		for _, email := range []string{known, unknown} {
			var e sharedtest.ErrorBody
			resp := attacker.do("POST", "/auth/login", map[string]string{"email": email, "password": "wrong-password"}, &e)
			got := []string{fmt.Sprint(resp.StatusCode), resp.Header.Get("Retry-After"), e.Error.Code, e.Error.Message}
			if a == nil {
				a = got
			} else {
				b = got
			}
		}
		if strings.Join(a, "|") != strings.Join(b, "|") {
			t.Errorf("attempt %d: known email answered %q, unknown %q", i+1, a, b)
		}
	}
}

// TestSecurityAuthBadBodies: through the gateway, a body over a service's own limit is a 413 in the
// error shape, and invalid UTF-8 in a text field is a 400 (an address named FF FE was once stored).
func TestSecurityAuthBadBodies(t *testing.T) {
	gw := platform.URL("gateway")
	admin := newClient(t, gw)
	admin.login(adminEmail, adminPass)
	raw := func(method, path, ct, body string, headers ...string) (int, sharedtest.ErrorBody) {
		req, _ := http.NewRequest(method, gw+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Origin", gw)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := admin.http.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var e sharedtest.ErrorBody
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &e)
		return resp.StatusCode, e
	}
	const js, form = "application/json", "application/x-www-form-urlencoded"
	big := strings.Repeat("a", 200<<10) // over every service limit below, under the gateway's
	tooLarge := []struct{ method, path, ct, body string }{
		{"POST", "/product/products", js, `{"sku":"BIG-1","name":"` + big + `","price":1,"category":"misc"}`},
		{"POST", "/inventory/inventory/ELEC-CAM-005/adjust", js, `{"delta":1,"reason":"` + big + `"}`},
		{"POST", "/auth/token", form, "grant_type=" + big},
		{"POST", "/auth/introspect", form, "token=" + big},
		{"POST", "/auth/revoke", form, "token=" + big},
	}
	for _, tt := range tooLarge {
		if status, e := raw(tt.method, tt.path, tt.ct, tt.body); status != http.StatusRequestEntityTooLarge || e.Error.Code != "too_large" {
			t.Errorf("%s %s with 200 KiB: %d %+v, want 413 too_large", tt.method, tt.path, status, e.Error)
		}
	}
	address := "{\"name\":\"\xff\xfe\",\"street\":\"1 Main St\",\"city\":\"Springfield\",\"zip_code\":\"62701\",\"country\":\"US\"}"
	badUTF8 := []struct{ method, path, ct, body string }{
		{"POST", "/user/users/me/addresses", js, address},
		{"POST", "/user/users/me/addresses", js, strings.Replace(address, "\xff\xfe", `\udcff`, 1)},
		{"PATCH", "/user/users/me", js, "{\"name\":\"Ann\xff\"}"},
		{"POST", "/auth/register", js, "{\"email\":\"utf8@example.com\",\"password\":\"a-long-passw0rd\",\"name\":\"\xfe\"}"},
		{"POST", "/product/products", js, "{\"sku\":\"UTF-1\",\"name\":\"\xff\xfe\",\"price\":1,\"category\":\"misc\"}"},
		{"POST", "/auth/revoke", form, "token=%FF%FE"},
	}
	for _, tt := range badUTF8 {
		if status, _ := raw(tt.method, tt.path, tt.ct, tt.body); status != http.StatusBadRequest {
			t.Errorf("%s %s with invalid UTF-8: %d, want 400", tt.method, tt.path, status)
		}
	}
}

// TestSecurityAuthMetricLabels: 1,000 requests with invented methods and paths, to every program and
// through the gateway, add no method label outside the closed set and no route label that is not a
// pattern.
func TestSecurityAuthMetricLabels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	programs := programNames()
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range 1000 {
		base := platform.URL(programs[i%len(programs)])
		req, _ := http.NewRequest(strings.ToUpper(word(3+rng.IntN(8))), base+"/"+word(rng.IntN(12))+"/"+word(8), nil)
		if i%3 == 0 {
			req.Method = "GET"
		}
		if resp, err := hc.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	closed := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
		"OPTIONS": true, "CONNECT": true, "TRACE": true, "other": true}
	method := regexp.MustCompile(`^http_requests_total\{.*route="([^"]*)",method="([^"]*)"`)
	for _, p := range programs {
		resp, err := http.Get(platform.URL(p) + "/metrics")
		if err != nil {
			t.Fatalf("GET %s /metrics: %v", p, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		series := 0
		for _, line := range strings.Split(string(b), "\n") {
			m := method.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			series++
			if !closed[m[2]] {
				t.Errorf("%s: method label %q outside the closed set: %s", p, m[2], line)
			}
			if strings.Count(m[1], "/") > 6 || len(m[1]) > 80 {
				t.Errorf("%s: route label %q does not look like a pattern", p, m[1])
			}
		}
		if series == 0 || series > 400 {
			t.Errorf("%s: %d request series after 1,000 invented requests; want a bounded set", p, series)
		}
	}
}
