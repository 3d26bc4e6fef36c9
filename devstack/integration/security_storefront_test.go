package integration

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

// The storefront's state-changing routes (storefront/routes.go), with sample path values.
// storefrontPosts lists every form post of storefront/routes.go (path values filled with "x"), plus
// a path no route has, so a route added there is in the CSRF table below without editing this file.
// /logout comes last: the victim's own token signs the victim out there.
func storefrontPosts(tb testing.TB) []string {
	var out []string
	for _, p := range sharedtest.RoutePatterns(tb, filepath.Join("..", "..", "storefront", "routes.go")) {
		if method, path := sharedtest.FillPattern(p, "x"); method == http.MethodPost && path != "/logout" {
			out = append(out, path)
		}
	}
	if len(out) < 10 {
		tb.Fatalf("storefront/routes.go: %d POST routes found, want the whole site's forms", len(out))
	}
	return append(out, "/no/such/page", "/logout")
}

// TestSecurityStorefrontCSRFBoundToSession replays, through the running storefront, each
// state-changing form post of a signed-in customer without a token, with another session's token,
// and with a CSRF key and token the attacker minted and planted next to the victim's sf_sid: each is
// refused with the 403 page. The victim's own token gets past the check.
func TestSecurityStorefrontCSRFBoundToSession(t *testing.T) {
	sf := platform.URL("storefront")
	attacker := newClient(t, sf)
	mintedToken := formToken(attacker, "/login")
	mintedKey := jarCookie(attacker, "sf_csrf")
	other := newClient(t, sf)
	sfSignIn(t, other, demoEmail, demoPass, "/")
	otherToken := formToken(other, "/")

	victim := newClient(t, sf)
	sfSignIn(t, victim, demoEmail, demoPass, "/")
	ownKey := jarCookie(victim, "sf_csrf")
	for _, path := range storefrontPosts(t) {
		for _, row := range []struct {
			name, key, token string
		}{
			{"no token", "", ""},
			{"another session's token", "", otherToken},
			{"minted pair", mintedKey, mintedToken},
		} {
			if row.key != "" {
				setJarCookie(victim, "sf_csrf", row.key)
			}
			resp := postForm(t, victim, path, url.Values{"csrf_token": {row.token}, "sku": {"SKU-X"}, "quantity": {"1"},
				"email": {demoEmail}, "password": {demoPass}})
			setJarCookie(victim, "sf_csrf", ownKey)
			if !csrfRefused(resp) {
				t.Errorf("POST %s with %s: status %d, want the 403 CSRF refusal", path, row.name, resp.StatusCode)
			}
		}
		// The victim's own token passes the check (what the route then answers is its business).
		resp := postForm(t, victim, path, url.Values{"csrf_token": {formToken(victim, "/login")}, "sku": {"SKU-X"},
			"quantity": {"1"}, "email": {demoEmail}, "password": {demoPass}})
		if csrfRefused(resp) || resp.StatusCode >= 500 {
			t.Errorf("POST %s with the session's own token: status %d, want it past the CSRF check and no 5xx", path, resp.StatusCode)
		}
	}
}

// TestSecurityStorefrontOpenRedirect signs in through the running storefront with hostile next
// values: every sign-in ends on "/", never on another host.
func TestSecurityStorefrontOpenRedirect(t *testing.T) {
	sf := platform.URL("storefront")
	for _, next := range []string{"/\t/evil.example/x", "/\r/evil.example", "/\n/evil.example", "//evil.example",
		"/\\evil.example", "/%2F%2Fevil.example", "/%5Cevil.example", "https://evil.example/", "javascript:alert(1)"} {
		c := newClient(t, sf)
		if page := c.must(200, "GET", "/login?next="+url.QueryEscape(next), nil, nil); strings.Contains(html.UnescapeString(readBody(page)), "evil.example") {
			t.Errorf("GET /login?next=%q: the page carries the hostile destination", next)
		}
		if got := sfSignIn(t, c, demoEmail, demoPass, next); got != "/" {
			t.Errorf("sign-in with next=%q ended at %q, want /", next, got)
		}
	}
	if got := sfSignIn(t, newClient(t, sf), demoEmail, demoPass, "/orders"); got != "/orders" {
		t.Errorf("sign-in with next=/orders ended at %q, want /orders", got)
	}
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// formToken loads path on the storefront and returns the CSRF token of its first form.
func formToken(c *client, path string) string {
	c.tb.Helper()
	m := csrfRe.FindStringSubmatch(readBody(c.must(200, "GET", path, nil, nil)))
	if m == nil {
		c.tb.Fatalf("GET %s: no csrf_token in the page", path)
	}
	return html.UnescapeString(m[1])
}

// sfSignIn signs in through the storefront's login form with next (postForm sends the same-origin
// Origin a browser would) and follows its redirects (the authorization callback); it returns where
// the browser is sent at the end.
func sfSignIn(t *testing.T, c *client, email, password, next string) string {
	t.Helper()
	resp := postForm(t, c, "/login", url.Values{"csrf_token": {formToken(c, "/login")}, "email": {email}, "password": {password}, "next": {next}})
	for range 5 {
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
			c.tb.Fatalf("sign-in: status %d, want a redirect: %s", resp.StatusCode, readBody(resp))
		}
		u, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(u.Path, "/auth/") {
			return loc
		}
		resp = c.do("GET", u.RequestURI(), nil, nil) // the storefront's own callback, on this host
	}
	c.tb.Fatal("sign-in: too many redirects")
	return ""
}

// csrfRefused reports whether resp is the storefront's CSRF refusal.
func csrfRefused(resp *http.Response) bool {
	return resp.StatusCode == http.StatusForbidden && strings.Contains(readBody(resp), "This form has expired")
}

func jarCookie(c *client, name string) string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	c.tb.Fatalf("no %s cookie for %s", name, c.base)
	return ""
}

func setJarCookie(c *client, name, value string) {
	u, _ := url.Parse(c.base)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// readBody returns resp's body and leaves it readable again.
func readBody(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}
