package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/goshop/platform/devstack/stack"
)

// serviceClient is the confidential OAuth client the capture registers, so that introspection
// answers for real.
const serviceClient = "capture-service"

// secrets are the platform's configuration secrets for one capture run, random each time.
type secrets struct {
	service     string // serviceClient's client secret
	unsubscribe string // user's UNSUBSCRIBE_SECRET, so the script can make a one-click link
}

func newSecrets() secrets {
	b := make([]byte, 32)
	rand.Read(b)
	u := make([]byte, 32)
	rand.Read(u)
	return secrets{service: hex.EncodeToString(b), unsubscribe: hex.EncodeToString(u)}
}

// captureEnv is the platform's extra configuration: auth's clients as the stack registers them plus
// the confidential one; the sign-in routes' rate limit high enough for the script, the budget per credential low enough
// that a burst meets it; the
// unsubscribe key.
func captureEnv(offset int, sec secrets) map[string]string {
	sf := 3000 + offset
	return map[string]string{
		"AUTH_CLIENTS": fmt.Sprintf(`[{"id":"storefront","first_party":true,`+
			`"redirect_uris":["http://localhost:%[1]d/auth/callback","http://127.0.0.1:%[1]d/auth/callback"],`+
			`"grant_types":["authorization_code","refresh_token"],"scopes":["openid","profile","email","offline_access"]},`+
			`{"id":"demo-app","redirect_uris":["%[2]s","http://localhost:8080/callback"],`+
			`"grant_types":["authorization_code","refresh_token"],"scopes":["openid","profile","email","offline_access",`+
			`"profile:write","addresses","orders:read","orders:write"]},`+
			`{"id":"%[3]s","secret":"%[4]s","grant_types":["client_credentials"],"scopes":["service"]}]`,
			sf, demoAppRedirect, serviceClient, sec.service),
		"GATEWAY_AUTH_RATE_LIMIT": "600/m:600",
		"GATEWAY_USER_RATE_LIMIT": "20/s:40",
		"UNSUBSCRIBE_SECRET":      sec.unsubscribe,
	}
}

// script runs the three services' scripts, then the answers the gateway gives for all of them
// (the shared component responses, written identically into the three documents so that the
// gateway's merge keeps one of each).
func script(c *capturer, s *stack.Stack, sec secrets) {
	c.scrub.add(sec.service)
	c.scrub.add(sec.unsubscribe)
	p := authScript(c, s, sec.service)
	userScript(c, s, p, sec)
	realtimeScript(c, s, p)
	gatewayScript(c, p)
	stopped(c, s, p)
}

// stopped captures the gateway's answer for each of the three services while it is stopped: the
// last step, as the platform is closed next.
func stopped(c *capturer, s *stack.Stack, p *people) {
	routes := map[string]string{"auth": "/auth/session", "user": "/user/users/me", "realtime": "/realtime/stats"}
	for _, svc := range services {
		if err := s.StopProgram(svc); err != nil {
			c.problems = append(c.problems, "stop "+svc+": "+err.Error())
			continue
		}
		c.comp(p.anon.do("GET", routes[svc], nil), svc, "Unavailable", 503, "down")
	}
}

// compAll records a's body as the example of component in every document.
func (c *capturer) compAll(a *answer, component string, status int, name string) {
	for _, svc := range services {
		c.comp(a, svc, component, status, name)
	}
}

// gatewayScript captures the gateway's own answers: no credentials, the wrong role, a cross-site
// write, a body over the limit, a cookie write that is not JSON, the rate limit.
func gatewayScript(c *capturer, p *people) {
	c.compAll(p.anon.do("GET", "/user/users/me", nil), "Unauthorized", 401, "missing")
	c.compAll(p.demo.do("GET", "/user/users", nil), "Forbidden", 403, "role")
	c.compAll(p.adminThirdParty.do("GET", "/user/users", nil), "Forbidden", 403, "delegated")
	evil := p.demo.cookieOnly()
	evil.origin = "https://evil.example"
	c.compAll(evil.do("PATCH", "/user/users/me", obj("name", "Mallory")), "Forbidden", 403, "cross_site")
	big := obj("email", "big@example.com", "password", strings.Repeat("x", 70000), "name", "Big")
	c.compAll(p.anon.do("POST", "/auth/register", big), "TooLarge", 413, "too_large")
	c.compAll(p.demo.cookieOnly().do("PATCH", "/user/users/me", url.Values{"name": {"Form"}}), "UnsupportedMediaType", 415, "form")

	// The budget per credential (40 at once in this run): one token's rapid reads meet it; the
	// first 429 is kept.
	var limited *answer
	burst := c.bearerOnly(p.gw, p.demo.bearer)
	for i := 0; i < 200 && limited == nil; i++ {
		if a := burst.do("GET", "/realtime/notifications", nil); a.status == 429 {
			limited = a
		}
	}
	if limited == nil {
		c.problems = append(c.problems, "200 GET /realtime/notifications with one token: none was rate limited")
		return
	}
	c.compAll(limited, "TooManyRequests", 429, "limited")
}

// unsubscribeToken is user's one-click token for userID (user/handlers_unsubscribe.go's scheme).
func unsubscribeToken(key, userID string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("goshop unsubscribe order_emails\x00" + userID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
